"""Resubmitting from the dashboard: the key, the dialog, the new rows marked ↻, and `g` between the two ends."""

from __future__ import annotations

import io
import types
from typing import Any

import httpx
from rich.console import Console
from textual.widgets import Static

from mjdash.core.api.client import KieClient
from mjdash.core.resubmit import sender_for
from mjdash.core.text import short_id
from mjdash.ui.screens.resubmit import ResubmitDialog
from mjdash.ui.widgets.task_table import TaskTable
from tests.clocks import FakeClock
from tests.ui.conftest import SIZE, Dash, settle, wait_until

UPSTREAM = "Midjourney job failed: the image generation timed out."


async def _upstream_failure(dash: Dash) -> str:
    """A failed task worth resubmitting, watched in night-run and polled: the table's last row."""
    task = dash.sim.add_task(age=600, duration=90, outcome=3, task_type="mj_txt2img", speed="fast")
    task.error_code, task.error_message = 501, UPSTREAM
    dash.store.add([task.task_id], batch="night-run")
    await dash.learn()
    return task.task_id


def _text(widget: Any) -> str:
    console = Console(width=120, file=io.StringIO(), record=True)
    console.print(widget.content)
    return console.export_text()


async def test_a_failed_task_is_confirmed_resubmitted_shown_and_linked(fixed: Dash) -> None:
    failed = await _upstream_failure(fixed)
    app = fixed.app(run_engine=False)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        table = app.query_one(TaskTable)
        await settle(pilot)
        await pilot.press("end", "t")
        await wait_until(pilot, lambda: isinstance(app.screen, ResubmitDialog))
        dialog = app.screen
        title = _text(dialog.query_one(".title", Static))
        assert "Resubmit 1 failed task? Each one spends credits." in title
        assert short_id(failed) in _text(dialog.query_one("#resubmit-send", Static))
        assert "credit" in _text(dialog.query_one("#resubmit-credits", Static))
        before = set(fixed.sim.tasks)
        await pilot.press("y")
        await wait_until(pilot, lambda: any(r.retry_of == failed for r in table.rows_by_id.values()))
        [new] = [t for t in fixed.sim.tasks if t not in before]
        assert fixed.sim.tasks[new].params == fixed.sim.tasks[failed].params
        assert table.get_cell(new, "prompt").plain.startswith(f"↻ {short_id(failed)} ")
        assert table.get_cell(failed, "error").plain.startswith(f"↻ {short_id(new)} · ")
        stored = fixed.store.row(new)
        assert stored is not None and (stored.retry_of, stored.batch) == (failed, "night-run")
        await wait_until(pilot, lambda: any(n.message == "resubmitted 1 of 1" for n in app.notices))
        assert table.selected_id == failed
        await pilot.press("g")
        assert table.selected_id == new
        head = app.query_one("#detail-head", Static)  # the pane follows the cursor after a short delay
        await wait_until(pilot, lambda: f"retry of ↻ {failed}" in _text(head))
        await pilot.press("g")
        assert table.selected_id == failed


async def test_the_dialog_lists_what_is_skipped_and_no_sends_nothing(fixed: Dash) -> None:
    failed = await _upstream_failure(fixed)
    app = fixed.app(run_engine=False)
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(TaskTable)
        await settle(pilot)
        succeeded = table.selected_id
        await pilot.press("space", "end", "space", "t")  # the first row (a success) and the failure, marked
        await wait_until(pilot, lambda: isinstance(app.screen, ResubmitDialog))
        skipped = _text(app.screen.query_one("#resubmit-skipped", Static))
        assert "Skipped (1):" in skipped and f"{short_id(succeeded or '')}  success — only failed tasks" in skipped
        before = len(fixed.sim.tasks)
        await pilot.press("n")
        await settle(pilot)
        assert not isinstance(app.screen, ResubmitDialog) and len(fixed.sim.tasks) == before
        assert fixed.store.row(failed).retried_by is None  # type: ignore[union-attr]


async def test_nothing_to_resubmit_is_said_without_a_dialog(fixed: Dash) -> None:
    app = fixed.app(run_engine=False)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("t")
        await wait_until(pilot, lambda: any(n.title == "Resubmit" for n in app.notices))
        assert app.notices[-1].message.startswith("Nothing to resubmit: success — only failed tasks")
        assert not isinstance(app.screen, ResubmitDialog)


async def test_a_dashboard_that_follows_another_engine_sends_at_its_own_pace() -> None:
    """Another process leads (its engine has the budget): the resubmit must not wait for a lease it will not get."""

    def created(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"code": 200, "msg": "success", "data": {"taskId": "new1"}})

    clock = FakeClock()
    following: Any = types.SimpleNamespace(leadership=types.SimpleNamespace(leading=False))
    async with KieClient("k", transport=httpx.MockTransport(created)) as client:
        sender = sender_for(client, 2.0, clock, following)
        answers = [await sender.gate(lambda: client.generate({"prompt": "p"})) for _ in range(3)]
    assert [a.task_id for a in answers] == ["new1"] * 3 and clock.slept >= 0.9  # paced at 2/s, not held
