"""Snapshots of the main views: fixed clock, seed, URLs and terminal size; the half-block renderer forced.

Regenerate after an intended change with: .venv/bin/pytest tests/ui/test_snapshots.py --snapshot-update
"""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot

from mjdash.core.api.outcomes import Fetch, Outcome
from mjdash.core.engine.events import EngineState, Mode, StateChanged
from mjdash.ui.factory import make_welcome
from mjdash.ui.screens.insight import InsightScreen
from mjdash.ui.screens.resubmit import ResubmitDialog
from tests.ui.conftest import SIZE, T0, Dash, main, settle, wait_until


async def _ready(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    pilot.app.set_focus(None)
    await pilot.pause()


def test_main_screen_with_thumbnails(snap_compare: Any, fixed: Dash) -> None:
    assert snap_compare(fixed.app(run_engine=False), terminal_size=SIZE, run_before=_ready)


def test_failed_task_detail(snap_compare: Any, fixed: Dash) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await pilot.press("down", "down")
        await _ready(pilot)

    assert snap_compare(fixed.app(run_engine=False), terminal_size=SIZE, run_before=run_before)


def test_error_banner(snap_compare: Any, fixed: Dash) -> None:
    app = fixed.app(run_engine=False)

    async def run_before(pilot: Pilot[Any]) -> None:
        await _ready(pilot)
        rejected = Fetch("x", Outcome.UNAUTHORIZED, api_code=401, api_message="You do not have access permissions")
        main(app).state.engine_event(StateChanged(EngineState(Mode.BLOCKED, T0, T0 + 60, rejected.message)))
        await main(app).tick()
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_help_screen(snap_compare: Any, fixed: Dash) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await _ready(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(fixed.app(run_engine=False), terminal_size=SIZE, run_before=run_before)


def test_welcome_screen(snap_compare: Any) -> None:
    assert snap_compare(make_welcome("~/.config/mjdash/config.toml"), terminal_size=SIZE)


def test_narrow_terminal_marked_and_sorted(snap_compare: Any, fixed: Dash) -> None:
    """80×24: the detail pane goes below the table; two tasks marked, sorted by prompt (the header shows ▲)."""

    async def run_before(pilot: Pilot[Any]) -> None:
        await pilot.press("space", "down", "space")
        main(pilot.app).sort_by("prompt")
        await _ready(pilot)

    assert snap_compare(fixed.app(run_engine=False), terminal_size=(80, 24), run_before=run_before)


@pytest.mark.parametrize("theme", ["textual-light", "gruvbox"])
def test_a_theme_chosen_at_run_time_recolours_everything(snap_compare: Any, fixed: Dash, theme: str) -> None:
    """The theme is switched after the first frame (as ctrl+p → theme does): states, times, the header, the detail
    pane's labels and errors and the banner all take its colours."""
    app = fixed.app(run_engine=False)

    async def run_before(pilot: Pilot[Any]) -> None:
        await pilot.press("down", "down")
        await _ready(pilot)
        main(app).state.engine_event(
            StateChanged(EngineState(Mode.OFFLINE, T0, T0 + 30, "network: connection refused"))
        )
        await main(app).tick()
        app.theme = theme
        await _ready(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_insight_screen(snap_compare: Any, fixed: Dash) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await _ready(pilot)
        await pilot.press("i")
        screen = pilot.app.screen
        await wait_until(pilot, lambda: isinstance(screen, InsightScreen) and screen.summary is not None)
        await pilot.pause()

    assert snap_compare(fixed.app(run_engine=False), terminal_size=SIZE, run_before=run_before)


def test_resubmit_dialog(snap_compare: Any, fixed: Dash) -> None:
    """A success, a moderation failure and a timed-out job marked, then `t`: one to send, two skipped and why."""
    task = fixed.sim.add_task(age=600, duration=90, outcome=3, task_type="mj_txt2img", speed="fast")
    task.error_code, task.error_message = 501, "Midjourney job failed: the image generation timed out."
    fixed.store.add([task.task_id], batch="night-run")
    fixed.poll_all()

    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("space", "down", "space", "end", "space", "t")  # rows 0 and 2, and the last
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ResubmitDialog))
        await pilot.pause()

    assert snap_compare(fixed.app(run_engine=False), terminal_size=SIZE, run_before=run_before)
