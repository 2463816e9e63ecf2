"""``mjdash status`` end to end, in a child process, against the simulator."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from mjdash.sim.server import Simulator
from tests.conftest import SIM_KEY, run_cli

KEYS = [
    "task_id",
    "status",
    "task_type",
    "prompt",
    "params",
    "created_at",
    "completed_at",
    "duration_s",
    "result_urls",
    "error_code",
    "error_message",
    "api_code",
]


def _env(sim: Simulator, key: str = SIM_KEY) -> dict[str, str]:
    return {"MJDASH_BASE_URL": sim.url, "KIE_API_KEY": key}


def test_status_json_in_order_including_failures(sim: Simulator) -> None:
    done = sim.add_task(age=100, duration=40, task_type="mj_txt2img")
    failed = sim.add_task(age=100, duration=40, outcome=2)
    running = sim.add_task(age=1, duration=500)
    unknown = "ffffffffffffffffffffffffffffffff"
    result = run_cli("status", "--json", running.task_id, unknown, done.task_id, failed.task_id, env=_env(sim))
    assert result.returncode == 1, result.stderr
    data = json.loads(result.stdout)
    assert [d["task_id"] for d in data] == [running.task_id, unknown, done.task_id, failed.task_id]
    assert all(list(d) == KEYS for d in data)
    assert [d["status"] for d in data] == ["generating", "not_found", "success", "failed"]
    assert data[2]["created_at"].endswith("Z") and len(data[2]["result_urls"]) == 4
    assert data[2]["api_code"] == 200 and data[1]["api_code"] == 422
    assert data[3]["error_code"] is not None
    assert f"{unknown}: kie.ai has no task with this ID" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_status_readable_and_exit_zero(sim: Simulator) -> None:
    task = sim.add_task(age=100, duration=40)
    result = run_cli("status", task.task_id, env=_env(sim))
    assert result.returncode == 0, result.stderr
    assert task.task_id in result.stdout and "success" in result.stdout and "prompt:" in result.stdout


def test_key_never_appears_in_any_output(sim: Simulator) -> None:
    task = sim.add_task(age=100, duration=40)
    outputs = []
    for key in (SIM_KEY, SIM_KEY + "-wrong"):
        for args in (("status", task.task_id), ("status", "--json", task.task_id), ("status", "bad id")):
            r = run_cli(*args, env=_env(sim, key))
            outputs.append(r.stdout + r.stderr)
    sim.inject("html", 10)
    r = run_cli("status", "--retries", "1", task.task_id, env=_env(sim))
    outputs.append(r.stdout + r.stderr)
    assert all(SIM_KEY not in out for out in outputs)
    assert "Traceback" not in "".join(outputs)


def test_usage_errors_exit_2() -> None:
    no_key = run_cli("status", "abc", env={"MJDASH_BASE_URL": "http://127.0.0.1:9"})
    assert no_key.returncode == 2 and "no API key" in no_key.stderr and "KIE_API_KEY" in no_key.stderr
    bad = run_cli("status", "abc", "no/slash", env={"KIE_API_KEY": "k"})
    assert bad.returncode == 2 and "'no/slash'" in bad.stderr
    bad_url = run_cli("status", "abc", "--base-url", "ftp://x", env={"KIE_API_KEY": "k"})
    assert bad_url.returncode == 2 and "ftp://x" in bad_url.stderr


def test_unreachable_api_is_one_line_and_quick() -> None:
    result = run_cli(
        "status", "--retries", "2", "abc", env={"KIE_API_KEY": "k", "MJDASH_BASE_URL": "http://127.0.0.1:9"}
    )
    assert result.returncode == 1
    assert result.stderr.startswith("mjdash: abc: could not reach kie.ai")
    assert "Traceback" not in result.stderr


def test_api_text_cannot_drive_the_terminal(sim: Simulator) -> None:
    task = sim.add_task(age=100, duration=40)
    task.params["prompt"] = "evil \x1b]0;pwned\x07 \x1b[2J \x9b31m [bold red]x[/]"
    result = run_cli("status", task.task_id, env=_env(sim))
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout and "\x9b" not in result.stdout
    assert "\\x1b]0;pwned\\x07" in result.stdout and "[bold red]x[/]" in result.stdout
    as_json = run_cli("status", "--json", task.task_id, env=_env(sim))
    assert "\x1b" not in as_json.stdout and "\x9b" not in as_json.stdout
    assert json.loads(as_json.stdout)[0]["prompt"] == task.params["prompt"]


def test_status_imports_only_what_it_needs(sim: Simulator) -> None:
    """Start-up is import time: no Textual, Pillow, SQLite, store, follower or simulator for a one-off fetch."""
    task = sim.add_task(age=100, duration=40)
    code = (
        "import sys, runpy; sys.argv=['mjdash','status','" + task.task_id + "'];"
        "from mjdash.cli import main; main();"
        "heavy = ('textual', 'textual_image', 'PIL', 'sqlite3', 'mjdash.core.store.database',"
        " 'mjdash.core.intake.follow', 'mjdash.sim.server');"
        "print('LOADED', sorted(m for m in sys.modules if m in heavy or m.split('.')[0] in heavy))"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**_env(sim)}, timeout=30)
    assert "LOADED []" in r.stdout, r.stdout + r.stderr


def test_bad_settings_end_with_one_line_and_exit_2(sim: Simulator, tmp_path: Path) -> None:
    task_id = sim.add_task(age=100, duration=40).task_id
    cases = [
        (["status", "--base-url", "http://127.0.0.1:99999", task_id], {}, "--base-url"),
        (["status", "--base-url", "http://[::1", task_id], {}, "not a valid URL"),
        (["wait", "--timeout", "nan", task_id], {}, "--timeout must be"),
        (["wait", "--rate", "0", task_id], {}, "--rate must be"),
        (["status", "--config", str(tmp_path / "nope.toml"), task_id], {}, "does not exist"),
        (["status", task_id], {"KIE_API_KEY": "sk-SECRETPART\r\nX-Evil: 1"}, "line breaks"),
    ]
    for args, extra, message in cases:
        r = run_cli(*args, env={**_env(sim), **extra})
        assert r.returncode == 2, (args, r.stderr)
        assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert "Traceback" not in r.stderr and "SECRETPART" not in r.stderr + r.stdout


def test_status_cuts_a_huge_prompt_in_its_human_output(sim: Simulator) -> None:
    task = sim.add_task(age=100, duration=40)
    task.params["prompt"] = "x" * 100_000
    human = run_cli("status", task.task_id, env=_env(sim))
    assert "… 96,000 more characters (status --json shows it all)" in human.stdout and len(human.stdout) < 6000
    whole = json.loads(run_cli("status", "--json", task.task_id, env=_env(sim)).stdout)
    assert len(whole[0]["prompt"]) == 100_000
