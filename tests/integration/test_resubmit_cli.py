"""``mjdash resubmit`` end to end over loopback: each rule of the command against the simulator, in a child process
as a user runs it."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from mjdash.sim.server import Simulator
from tests.conftest import ROOT, SIM_KEY, run_cli

UPSTREAM = "Midjourney job failed: the image generation timed out."
MODERATION = "The prompt was blocked by content moderation. Please adjust it and try again."


def _env(sim: Simulator, tmp_path: Path) -> dict[str, str]:
    return {"MJDASH_BASE_URL": sim.url, "KIE_API_KEY": SIM_KEY, "MJDASH_DB": str(tmp_path / "w.db")}


def _failed_batch(sim: Simulator, env: dict[str, str], *messages: str) -> list[str]:
    """Failed fast tasks (one per message) in batch b1, polled into the watchlist."""
    tasks = [sim.add_task(age=300, duration=30.0, outcome=3, task_type="mj_txt2img", speed="fast") for _ in messages]
    for task, message in zip(tasks, messages, strict=True):
        task.error_code, task.error_message = 501, message
        task.params["brandNewKey"] = {"nested": True}  # a key the docs do not list: it must pass through
    ids = [t.task_id for t in tasks]
    assert run_cli("add", "--batch", "b1", *ids, env=env).returncode == 0
    assert run_cli("wait", "--timeout", "60", *ids, env=env).returncode == 1  # every one failed
    return ids


def _generated(sim: Simulator, before: set[str]) -> list[str]:
    return [t for t in sim.tasks if t not in before]


def test_dry_run_prints_each_body_and_sends_nothing(sim: Simulator, tmp_path: Path) -> None:
    env = _env(sim, tmp_path)
    [task_id] = _failed_batch(sim, env, UPSTREAM)
    before, requests = set(sim.tasks), sim.stats.requests
    result = run_cli("resubmit", "--batch", "b1", "--dry-run", "--no-callback", env=env)
    assert result.returncode == 0, result.stderr
    heading, _, body = result.stdout.partition("\n")
    assert heading == f"{task_id} (batch b1) would be sent as:"
    expected = {k: v for k, v in sim.tasks[task_id].params.items() if k != "callBackUrl"}
    assert json.loads(body) == expected and expected["brandNewKey"] == {"nested": True}
    assert "dry run: 1 task would be resubmitted; nothing was sent" in result.stderr
    assert set(sim.tasks) == before and sim.stats.requests == requests


def test_without_a_terminal_it_needs_yes(sim: Simulator, tmp_path: Path) -> None:
    env = _env(sim, tmp_path)
    _failed_batch(sim, env, UPSTREAM)
    before = set(sim.tasks)
    result = run_cli("resubmit", "--batch", "b1", env=env, stdin="y\n")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == (
        "mjdash: resubmit spends credits: confirm with --yes (or see what it sends with --dry-run)\n"
    )
    assert set(sim.tasks) == before
    assert run_cli("resubmit", env=env).returncode == 2  # nothing named


def test_resubmitted_tasks_are_watched_and_linked_both_ways(sim: Simulator, tmp_path: Path) -> None:
    env = _env(sim, tmp_path)
    original, moderated = _failed_batch(sim, env, UPSTREAM, MODERATION)
    before = set(sim.tasks)
    result = run_cli("resubmit", "--batch", "b1", "--yes", env=env)
    assert result.returncode == 0, result.stderr
    [new] = _generated(sim, before)
    assert result.stdout == f"{original} {new}\n"
    assert f"skip {moderated}: failed moderation" in result.stderr and "resubmitted 1 of 1" in result.stderr
    assert sim.tasks[new].params == sim.tasks[original].params  # exactly what paramJson held
    listed = {d["task_id"]: d for d in json.loads(run_cli("ls", "--json", env=env).stdout)}
    assert listed[new]["retry_of"] == original and listed[new]["batch"] == "b1"
    assert listed[original]["retried_by"] == new and listed[new]["retried_by"] is None
    out = tmp_path / "all.csv"
    assert run_cli("export", "--out", str(out), env=env).returncode == 0
    rows = {r["task_id"]: r for r in csv.DictReader(out.open(encoding="utf-8"))}
    assert (rows[new]["retry_of"], rows[original]["retried_by"]) == (original, new)
    # Once is enough: a second run sends nothing, and says why; --again sends once more.
    second = run_cli("resubmit", "--batch", "b1", "--yes", env=env)
    assert second.returncode == 0 and second.stdout == "" and set(sim.tasks) == before | {new}
    assert f"skip {original}: already resubmitted as {new} (--again sends it once more)" in second.stderr
    again = run_cli("resubmit", original, "--yes", "--again", env=env)
    assert again.returncode == 0 and len(_generated(sim, before)) == 2
    assert SIM_KEY.encode() not in (tmp_path / "w.db").read_bytes()
    assert SIM_KEY not in result.stdout + result.stderr + again.stdout + again.stderr


def test_named_tasks_that_cannot_be_sent_say_why_and_exit_1(sim: Simulator, tmp_path: Path) -> None:
    env = _env(sim, tmp_path)
    [failed] = _failed_batch(sim, env, MODERATION)
    running = sim.add_task(age=5, duration=10_000.0).task_id
    assert run_cli("add", running, env=env).returncode == 0
    before = set(sim.tasks)
    result = run_cli("resubmit", failed, running, "not-watched", "--yes", env=env)
    assert result.returncode == 1 and set(sim.tasks) == before
    assert f"skip {running}: unknown — only failed tasks" in result.stderr
    assert "skip not-watched: not in the watchlist" in result.stderr
    assert f"skip {failed}: failed moderation" in result.stderr
    included = run_cli("resubmit", failed, "--yes", "--include-moderation", env=env)
    assert included.returncode == 0 and len(_generated(sim, before)) == 1


def test_402_stops_the_run_and_says_how_many_were_sent(sim: Simulator, tmp_path: Path) -> None:
    env = _env(sim, tmp_path)
    _failed_batch(sim, env, UPSTREAM, UPSTREAM, UPSTREAM)
    sim.credits = 8.0 * 1.5  # a fast task costs the simulator's account 8: enough for one
    before = set(sim.tasks)
    result = run_cli("resubmit", "--batch", "b1", "--yes", env=env)
    assert result.returncode == 1
    assert len(_generated(sim, before)) == 1 and result.stdout.count("\n") == 1
    assert "out of credits (402)" in result.stderr
    assert "resubmitted 1 of 3, 1 refused" in result.stderr
    assert "stopped: the kie.ai account is out of credits (402) — top up, then resubmit the rest; 1 task not sent" in (
        result.stderr
    )
    sim.credits = 1_000.0  # topped up: the rest go, the first is not sent twice
    rest = run_cli("resubmit", "--batch", "b1", "--yes", env=env)
    assert rest.returncode == 0 and len(_generated(sim, before)) == 3


def test_a_process_killed_between_its_post_and_the_store_is_never_sent_twice(sim: Simulator, tmp_path: Path) -> None:
    env = _env(sim, tmp_path)
    [original] = _failed_batch(sim, env, UPSTREAM)
    created, release = threading.Event(), threading.Event()

    def hold(task_id: str) -> None:  # the task exists at kie.ai; its ID has not reached mjdash yet
        created.set()
        release.wait(30)

    sim.on_generate = hold
    before = set(sim.tasks)
    child = subprocess.Popen(
        [sys.executable, "-m", "mjdash", "resubmit", "--batch", "b1", "--yes"],
        env={**os.environ, **env},
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert created.wait(60), "the resubmit never reached the simulator"
        child.send_signal(signal.SIGKILL)
        child.wait(30)
    finally:
        release.set()
        child.kill()
        child.communicate()
    sim.on_generate = None
    assert len(_generated(sim, before)) == 1
    result = run_cli("resubmit", "--batch", "b1", "--yes", env=env)
    assert result.returncode == 1 and result.stdout == ""
    assert "1 resubmission with unknown outcome: check kie.ai's logs" in result.stderr
    assert len(_generated(sim, before)) == 1  # nothing was sent again
    listed = json.loads(run_cli("ls", "--json", env=env).stdout)
    assert [d["task_id"] for d in listed] == [original]  # the lost ID is not invented
    forced = run_cli("resubmit", original, "--yes", "--again", env=env)  # the user checked, and chooses to pay
    assert forced.returncode == 0 and len(_generated(sim, before)) == 2


def test_on_a_terminal_it_asks_once_and_no_sends_nothing(sim: Simulator, tmp_path: Path) -> None:
    from mjdash.commands import resubmit
    from mjdash.config import load_settings

    env = _env(sim, tmp_path)
    _failed_batch(sim, env, UPSTREAM)
    settings = load_settings(env)
    asked: list[str] = []
    before = set(sim.tasks)

    def answer(reply: str) -> int:
        return resubmit.run(settings, [], "b1", False, ask=lambda q: asked.append(q) or reply, interactive=lambda: True)

    assert answer("n") == 1 and set(sim.tasks) == before
    assert asked == ["resubmit 1 task (spends credits)? [y/N] "]
    assert answer("y") == 0 and len(_generated(sim, before)) == 1
