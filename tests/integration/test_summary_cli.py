"""``mjdash summary`` end to end: the watchlist filled by ``mjdash wait`` over loopback, then summarised."""

from __future__ import annotations

import json
from pathlib import Path

from mjdash.sim.server import Simulator
from tests.conftest import SIM_KEY, run_cli

KEYS = [
    "counts",
    "total",
    "done_fraction",
    "eta_s",
    "durations",
    "throughput_per_min",
    "failures",
    "stuck",
    "credits",
]


def _env(sim: Simulator, tmp_path: Path) -> dict[str, str]:
    return {"MJDASH_BASE_URL": sim.url, "KIE_API_KEY": SIM_KEY, "MJDASH_DB": str(tmp_path / "w.db")}


def test_a_batch_summarised_with_failures_grouped_and_credits(sim: Simulator, tmp_path: Path) -> None:
    env = _env(sim, tmp_path)
    done = [sim.add_task(age=300, duration=40.0 + n, outcome=1, task_type="mj_txt2img", speed="fast") for n in range(3)]
    timed_out = [sim.add_task(age=300, duration=30.0, outcome=3) for _ in range(2)]
    for n, task in enumerate(timed_out):  # one cause, with task-specific numbers in the message
        task.error_code, task.error_message = 501, f"Midjourney job {n + 7} failed: timed out after {300 + n} s"
    waiting = sim.add_task(age=5, duration=10_000.0, task_type="mj_txt2img", speed="fast")
    finished = [t.task_id for t in done + timed_out]
    assert run_cli("add", "--batch", "b1", *finished, waiting.task_id, env=env).returncode == 0
    assert run_cli("wait", "--timeout", "60", *finished, env=env).returncode == 1  # two failed
    result = run_cli("summary", "--batch", "b1", "--json", env=env)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert list(data) == KEYS
    assert data["counts"] == {"generation_failed": 2, "success": 3, "unknown": 1} and data["total"] == 6
    assert data["done_fraction"] == round(5 / 6, 4) and data["eta_s"] is not None
    assert [(d["task_type"], d["speed"], d["count"], d["p50_s"]) for d in data["durations"]] == [
        ("mj_txt2img", "fast", 3, 41.0)
    ]
    [group] = data["failures"]
    assert (group["kind"], group["error_code"], group["count"]) == ("upstream", 501, 2)
    assert sorted(group["task_ids"]) == sorted(t.task_id for t in timed_out) and "resubmit" in group["advice"]
    assert data["stuck"] == [] and data["credits"] == sim.credits
    human = run_cli("summary", "--batch", "b1", env=env)
    assert human.returncode == 0, human.stderr
    assert "batch b1 — 6 tasks" in human.stdout and "upstream · code 501 · 2 tasks" in human.stdout
    assert "→ usually transient" in human.stdout and f"credits: {int(sim.credits):,}" in human.stdout


def test_offline_asks_nothing_and_an_unknown_batch_is_one_line(sim: Simulator, tmp_path: Path) -> None:
    env = _env(sim, tmp_path)
    task = sim.add_task(age=300, duration=40.0, outcome=1)
    assert run_cli("add", "--batch", "b1", task.task_id, env=env).returncode == 0
    asked = sim.stats.requests
    offline = run_cli("summary", "--offline", "--json", env=env)
    assert offline.returncode == 0 and json.loads(offline.stdout)["credits"] is None
    assert sim.stats.requests == asked
    unknown = run_cli("summary", "--batch", "nope", env=env)
    assert unknown.returncode == 1 and unknown.stdout == ""
    assert unknown.stderr == "mjdash: no tasks in batch 'nope' (batches: b1) — check the name with mjdash ls\n"
    no_key = run_cli("summary", env={k: v for k, v in env.items() if k != "KIE_API_KEY"})
    assert no_key.returncode == 0 and "credits: unknown — no API key" in no_key.stderr
