"""The insight screen (key i): what it shows, and Enter on a failure group shows that group's tasks."""

from __future__ import annotations

from textual.widgets import OptionList, Static

from mjdash.core.model import Status
from mjdash.ui.screens.insight import InsightScreen
from tests.ui.conftest import SIZE, Dash, main, settle, wait_until


async def test_a_failure_group_filters_the_table_to_its_tasks(fixed: Dash) -> None:
    app = fixed.app(run_engine=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = main(app)
        failed = [t for t, row in screen.state.view.rows_by_id.items() if row.status is Status.FAILED]
        await pilot.press("i")
        await wait_until(pilot, lambda: isinstance(app.screen, InsightScreen) and app.screen.summary is not None)
        insight = app.screen
        assert isinstance(insight, InsightScreen) and insight.summary is not None
        assert insight.summary.total == 6 and [g.task_ids for g in insight.summary.failures] == [tuple(failed)]
        assert insight.query_one("#insight-failures", OptionList).option_count == 1
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is screen and screen.state.view.order == failed
        assert "only" in screen.state.header(screen.clock.now()).filter_note
        await pilot.press("escape")
        await pilot.pause()
        assert len(screen.state.view.order) == 6 and screen.state.view.only is None


async def test_the_header_and_insight_show_the_balance_from_kie_ai(live: Dash) -> None:
    live.sim.add_task(age=0, duration=10_000, speed="fast")
    app = live.app()
    async with app.run_test(size=SIZE) as pilot:
        screen = main(app)
        expected = f"credits {live.sim.credits:,.0f}"
        await wait_until(pilot, lambda: screen.state.header(screen.clock.now()).credits == expected)
        await pilot.press("i")
        await wait_until(pilot, lambda: isinstance(app.screen, InsightScreen) and app.screen.summary is not None)
        assert expected in str(app.screen.query_one("#insight-credits", Static).render())
