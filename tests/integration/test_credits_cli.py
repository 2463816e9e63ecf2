"""``mjdash credits`` end to end, in a child process, against the simulator's credit endpoint."""

from __future__ import annotations

import json
from datetime import datetime

from mjdash.sim.server import STARTING_CREDITS, TASK_COST, Simulator
from tests.conftest import SIM_KEY, run_cli


def _env(sim: Simulator, key: str = SIM_KEY) -> dict[str, str]:
    return {"MJDASH_BASE_URL": sim.url, "KIE_API_KEY": key}


def test_the_balance_goes_down_as_tasks_are_created(sim: Simulator) -> None:
    first = run_cli("credits", "--json", env=_env(sim))
    assert first.returncode == 0, first.stderr
    data = json.loads(first.stdout)
    assert list(data) == ["credits", "checked_at"] and data["credits"] == STARTING_CREDITS
    assert datetime.fromisoformat(data["checked_at"].replace("Z", "+00:00")).tzinfo is not None
    sim.add_task(age=0, duration=100, speed="fast")
    sim.add_task(age=0, duration=100, speed="turbo")
    second = run_cli("credits", env=_env(sim))
    assert second.returncode == 0, second.stderr
    left = STARTING_CREDITS - TASK_COST["fast"] - TASK_COST["turbo"]
    assert second.stdout == f"credits: {left:,.0f}\n"


def test_refusals_end_with_one_line_and_exit_1(sim: Simulator) -> None:
    wrong = run_cli("credits", env=_env(sim, key="sk-wrong-key-1234"))
    assert wrong.returncode == 1 and wrong.stdout == ""
    assert wrong.stderr.startswith("mjdash: cannot read the credit balance: ") and len(wrong.stderr.splitlines()) == 1
    assert "sk-wrong-key-1234" not in wrong.stderr and "Traceback" not in wrong.stderr
    sim.inject("code", count=10, arg=402, message="Insufficient credits [red]now[/]")
    broke = run_cli("credits", "--json", env=_env(sim))
    assert broke.returncode == 1 and broke.stdout == "" and len(broke.stderr.splitlines()) == 1
    assert "credits" in broke.stderr.lower()


def test_no_key_is_a_usage_error(sim: Simulator) -> None:
    result = run_cli("credits", env={"MJDASH_BASE_URL": sim.url})
    assert result.returncode == 2 and "KIE_API_KEY" in result.stderr and "Traceback" not in result.stderr
