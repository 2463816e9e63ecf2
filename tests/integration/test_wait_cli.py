"""``mjdash wait`` end to end against the simulator."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from mjdash.core.model import Status
from mjdash.core.store.database import Store
from mjdash.sim.server import Simulator
from tests.conftest import ROOT, SIM_KEY, run_cli


def _env(sim: Simulator, db: Path) -> dict[str, str]:
    return {"MJDASH_BASE_URL": sim.url, "KIE_API_KEY": SIM_KEY, "MJDASH_DB": str(db)}


def test_wait_until_all_succeed_then_nothing_more_is_asked(sim: Simulator, tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    done = sim.add_task(age=100, duration=40, outcome=1)
    soon = sim.add_task(age=30, duration=10_000, outcome=1, speed="fast")
    child = subprocess.Popen(
        [sys.executable, "-m", "mjdash", "wait", "--rate", "20", done.task_id, soon.task_id],
        env={**os.environ, **_env(sim, db)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    while sim.polls(soon.task_id) == 0 and child.poll() is None:  # wait has seen it running…
        threading.Event().wait(0.05)
    sim.finish(soon.task_id)  # …and now it finishes: no race with the wall clock
    out, err = child.communicate(timeout=60)
    r = subprocess.CompletedProcess(child.args, child.returncode, out, err)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"{soon.task_id}  … generating → ✔ success" in r.stdout
    assert "all 2 final: 2 success" in r.stdout
    asked = dict(sim.stats.by_task)
    again = run_cli("wait", done.task_id, soon.task_id, env=_env(sim, db))
    assert again.returncode == 0 and dict(sim.stats.by_task) == asked  # final in the store: not requested


def test_wait_exit_1_when_any_failed(sim: Simulator, tmp_path: Path) -> None:
    ok = sim.add_task(age=100, duration=40, outcome=1)
    bad = sim.add_task(age=100, duration=40, outcome=3)
    r = run_cli("wait", ok.task_id, bad.task_id, env=_env(sim, tmp_path / "w.db"))
    assert r.returncode == 1 and "1 generation_failed, 1 success" in r.stdout


def test_wait_timeout_is_124_and_saves(sim: Simulator, tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    slow = sim.add_task(age=0, duration=10_000)
    r = run_cli("wait", "--timeout", "1", slow.task_id, env=_env(sim, db))
    assert r.returncode == 124 and "timed out" in r.stderr
    with Store(db) as store:
        row = store.row(slow.task_id)
    assert row is not None and row.status is Status.GENERATING and row.last_polled is not None


def test_wait_bad_key_ends_with_one_line(sim: Simulator, tmp_path: Path) -> None:
    task = sim.add_task(age=0, duration=10_000)
    env = {**_env(sim, tmp_path / "w.db"), "KIE_API_KEY": "wrong"}
    r = run_cli("wait", task.task_id, env=env)
    assert r.returncode == 1 and "API key was rejected" in r.stderr and "Traceback" not in r.stderr


def test_wait_ctrl_c_is_130_and_saves(sim: Simulator, tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    slow = sim.add_task(age=0, duration=10_000)
    proc = subprocess.Popen(
        [sys.executable, "-m", "mjdash", "wait", slow.task_id],
        cwd=ROOT,
        env={**os.environ, **_env(sim, db)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert "generating" in proc.stdout.readline()  # it has polled once
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 130 and "interrupted" in err and "Traceback" not in err
    with Store(db) as store:
        assert store.row(slow.task_id).status is Status.GENERATING  # type: ignore[union-attr]


def test_wait_usage(tmp_path: Path) -> None:
    env = {"KIE_API_KEY": "k", "MJDASH_DB": str(tmp_path / "w.db")}
    assert run_cli("wait", env=env).returncode == 2
    assert run_cli("wait", "--batch", "none", env=env).returncode == 2
    assert run_cli("wait", "bad id", env=env).returncode == 2


def test_wait_says_when_a_task_is_stuck(sim: Simulator, tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    stuck = sim.add_task(age=500, duration=10_000, speed="fast")  # 3 × the usual minute for fast tasks, and more
    r = run_cli("wait", "--timeout", "2", stuck.task_id, env=_env(sim, db))
    assert r.returncode == 124
    assert f"{stuck.task_id}  ⚠ stuck: running for 8m" in r.stdout and "usually 1m" in r.stdout
    with Store(db) as store:
        row = store.row(stuck.task_id)
    assert row is not None and row.stuck_since is not None


def test_wait_says_at_once_that_kie_does_not_know_a_task(sim: Simulator, tmp_path: Path) -> None:
    r = run_cli("wait", "--timeout", "2", "0000deadbeef0000deadbeef0000dead", env=_env(sim, tmp_path / "w.db"))
    assert r.returncode == 124
    lines = [line for line in r.stdout.splitlines() if "not found yet" in line]
    assert len(lines) == 1 and "kie.ai may not have registered it; giving up at 20" in lines[0]


def test_jsonl_streams_changes_as_they_happen_and_ends_with_done(sim: Simulator, tmp_path: Path) -> None:
    """Each line is read while wait still runs (flushed per line), then the last says how it ended."""
    import json

    running = sim.add_task(age=30, duration=10_000, outcome=1, speed="fast")
    failed = sim.add_task(age=100, duration=40, outcome=2)
    child = subprocess.Popen(
        [sys.executable, "-m", "mjdash", "wait", "--jsonl", "--rate", "20", running.task_id, failed.task_id],
        env={**os.environ, **_env(sim, tmp_path / "w.db")},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert child.stdout is not None
    seen: list[dict[str, object]] = []
    while not any(e.get("task_id") == running.task_id and e["status"] == "generating" for e in seen):
        seen.append(json.loads(child.stdout.readline()))  # arrives while wait runs: flushed per line
    sim.finish(running.task_id)
    rest = child.stdout.read()  # the same buffered reader: communicate() would skip what readline() read ahead
    assert child.stderr is not None and child.wait(timeout=60) == 1, child.stderr.read()
    events = seen + [json.loads(line) for line in rest.splitlines()]
    assert events[-1] == {"event": "done", "counts": {"failed": 1, "success": 1}, "exit": 1}
    changed = {(e["task_id"], e["status"]) for e in events if e["event"] == "changed"}
    assert {(failed.task_id, "failed"), (running.task_id, "generating"), (running.task_id, "success")} <= changed
    assert next(e for e in events if e["event"] == "changed" and e["status"] == "failed")["error_code"] is not None
    assert {e["event"] for e in events} <= {"changed", "engine", "stuck", "done"}
