"""Resubmitting from the dashboard (`t`) and moving between a retry and its original (`g`): the main screen's
keys on failed tasks. The plan and the run are ``mjdash.core.resubmit``'s, reached through ``mjdash.ui.actions``;
these ask, show the new rows and notify."""

from __future__ import annotations

from textual import work
from textual.screen import Screen

from mjdash.core.clock import Clock
from mjdash.core.engine.engine import Engine
from mjdash.core.model import Task
from mjdash.core.resubmit import Plan, Sender
from mjdash.core.store.gateway import StoreGateway
from mjdash.core.text import short_id
from mjdash.ui import actions
from mjdash.ui.screens.resubmit import ResubmitDialog
from mjdash.ui.state.watchlist import WatchlistState
from mjdash.ui.widgets.task_table import TaskTable


class RetryActions(Screen[None]):
    """A base of the main screen, which provides these."""

    db: StoreGateway
    table: TaskTable
    state: WatchlistState
    engine: Engine | None
    clock: Clock
    sender: Sender | None

    @property
    def resubmitting(self) -> bool:
        """A run is going on (one at a time: two would each ask for confirmation of the same credits)."""
        return any(w.group == "resubmit" and not w.is_finished for w in self.workers)

    def action_resubmit(self) -> None:
        task_ids = self.table.selection()
        if self.sender is None:
            self.notify("Resubmitting needs an API key (KIE_API_KEY).", severity="warning")
        elif self.resubmitting:
            self.notify("A resubmit is still running: wait for it to finish.", severity="warning")
        elif task_ids:
            self._plan_resubmit(task_ids)

    @work(group="store", exit_on_error=False, description="plan a resubmit")
    async def _plan_resubmit(self, task_ids: list[str]) -> None:
        planned = await actions.resubmit_plan(self.db, task_ids)
        if not planned.send:
            why = planned.skipped[0].reason if len(planned.skipped) == 1 else "none of them is a failed task to send"
            self.notify(f"Nothing to resubmit: {why}", title="Resubmit", severity="warning", markup=False)
            return

        def confirmed(yes: bool | None) -> None:
            if yes and not self.resubmitting:
                self._resubmit(planned)

        self.app.push_screen(ResubmitDialog(planned, self.state.credits.describe()), confirmed)

    # Not exclusive: a run cancelled between its POST and its write leaves an attempt of unknown outcome.
    @work(group="resubmit", exit_on_error=False, description="resubmit tasks")
    async def _resubmit(self, planned: Plan) -> None:
        def shown(rows: list[Task]) -> None:
            with self.table.follow():
                self.state.added(rows)
            if self.engine is not None:
                self.engine.force([rows[-1].task_id])

        def told(said: actions.Said) -> None:
            self.notify(said.message, title="Resubmit", severity=said.severity, markup=False)

        assert self.sender is not None
        told(await actions.resubmit(self.db, self.sender, planned, shown, told))

    def action_linked(self) -> None:
        """`g`: to the task this one resubmitted, or else to the one that resubmitted it."""
        task = self.state.view.rows_by_id.get(self.table.selected_id or "")
        target = task and (task.retry_of or task.retried_by)
        if not target:
            self.notify("This task is neither a resubmission nor resubmitted.", timeout=3)
        elif (index := self.state.view.index(target)) is not None:
            self.table.move_cursor(index)
        else:
            where = "hidden by the filter (escape clears it)" if target in self.state.view.rows_by_id else "not watched"
            self.notify(f"{short_id(target)} is {where}.", severity="warning", markup=False)
