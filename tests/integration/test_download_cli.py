"""``mjdash download`` and ``mjdash ls --expiring`` end to end."""

from __future__ import annotations

import json
from pathlib import Path

from mjdash.core.api.client import Fetch, Outcome
from mjdash.core.parse import parse_record
from mjdash.core.store.database import Store
from mjdash.sim.server import Simulator
from tests.conftest import SIM_KEY, run_cli


def _record(store: Store, sim: Simulator, task_id: str) -> None:
    data = sim.tasks[task_id].record(sim.now(), sim.url)
    store.record([Fetch(task_id, Outcome.OK, task=parse_record(data), api_code=200, raw=data)])


def test_download_and_expiry(sim: Simulator, tmp_path: Path) -> None:
    db, out = tmp_path / "w.db", tmp_path / "saved"
    old = sim.add_task(age=13 * 86400, duration=60, outcome=1, task_type="mj_txt2img")  # expires in < 1 day
    new = sim.add_task(age=100, duration=60, outcome=1, task_type="mj_txt2img")
    with Store(db) as store:
        store.add([old.task_id, new.task_id], batch="b")
        _record(store, sim, old.task_id)
        _record(store, sim, new.task_id)
    env = {"MJDASH_DB": str(db), "MJDASH_CACHE_DIR": str(tmp_path / "cache"), "KIE_API_KEY": SIM_KEY}
    expiring = json.loads(run_cli("ls", "--json", "--expiring", env=env).stdout)
    assert [t["task_id"] for t in expiring] == [old.task_id]
    assert expiring[0]["saved"] is False and expiring[0]["expires_at"].endswith("Z")
    r = run_cli("download", "--batch", "b", "--out", str(out), env=env)
    assert r.returncode == 0, r.stderr
    assert "saved 8, already there 0, failed 0" in r.stdout
    assert len(list(out.glob("*.jpg"))) == 8
    assert json.loads(run_cli("ls", "--json", "--expiring", env=env).stdout) == []  # saved now
    assert SIM_KEY not in r.stdout + r.stderr


def test_download_reports_what_could_not_be_saved(sim: Simulator, tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    task = sim.add_task(age=100, duration=60, outcome=1, task_type="mj_txt2img")
    with Store(db) as store:
        store.add([task.task_id, "notyet"])
        _record(store, sim, task.task_id)
    sim.expired.add(task.task_id)
    env = {"MJDASH_DB": str(db), "MJDASH_CACHE_DIR": str(tmp_path / "cache")}
    r = run_cli("download", "--all", "--out", str(tmp_path / "o"), env=env)
    assert r.returncode == 1
    assert f"{task.task_id}: #0: expired or gone (HTTP 404)" in r.stderr
    assert "notyet: no results (unknown)" in r.stderr
    assert run_cli("download", "--out", str(tmp_path / "o"), env=env).returncode == 2
    assert run_cli("download", "ghost1", "--out", str(tmp_path / "o"), env=env).returncode == 2


def test_download_does_not_depend_on_the_image_cache(sim: Simulator, tmp_path: Path) -> None:
    db, out, blocker = tmp_path / "w.db", tmp_path / "saved", tmp_path / "blocker"
    blocker.write_text("a file where the cache folder should be")
    task = sim.add_task(age=100, duration=60, outcome=1, task_type="mj_txt2img")
    with Store(db) as store:
        store.add([task.task_id])
        _record(store, sim, task.task_id)
    env = {"MJDASH_DB": str(db), "MJDASH_CACHE_DIR": str(blocker), "KIE_API_KEY": SIM_KEY}
    r = run_cli("download", task.task_id, "--out", str(out), env=env)
    assert r.returncode == 0, r.stderr
    assert "saved 4, already there 0, failed 0" in r.stdout and "image cache" in r.stderr
    assert len(list(out.glob("*.jpg"))) == 4
