"""The main screen: the watchlist table, the header, the banner and the detail pane, over one ``WatchlistState``.

The screen owns the state and the refresh engine, which runs in a worker on this event loop. Once a second it
hands the state what arrived — the engine's events and the store's change feed — and redraws what the state says
changed. Store reads, image fetches and downloads run in workers; the widgets only render, and send messages up.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Footer, ProgressBar
from textual.worker import Worker, WorkerState

from mjdash.config import Settings
from mjdash.core import aio
from mjdash.core.api.outcomes import Balance
from mjdash.core.clock import Clock
from mjdash.core.engine.engine import Engine
from mjdash.core.engine.events import Mode
from mjdash.core.insight import Summary
from mjdash.core.intake.follow import FileFollower, FollowError
from mjdash.core.media.images import ImageFetcher
from mjdash.core.resubmit import Sender
from mjdash.core.store.database import StoreError
from mjdash.core.store.gateway import StoreGateway
from mjdash.core.text import short_id
from mjdash.ui import actions
from mjdash.ui.cells import COLUMN_KEYS
from mjdash.ui.keys import MAIN_KEYS
from mjdash.ui.screens.dialogs import ALL_BATCHES, AddDialog, BatchPicker, ConfirmDialog
from mjdash.ui.screens.help import HelpScreen
from mjdash.ui.screens.insight import Chosen, InsightScreen
from mjdash.ui.screens.results import ResultActions
from mjdash.ui.screens.retries import RetryActions
from mjdash.ui.state.alerts import Alerts
from mjdash.ui.state.announce import JOB_TITLES, failure_line, finished_toasts
from mjdash.ui.state.watchlist import News, WatchlistState
from mjdash.ui.widgets.banner import Banner
from mjdash.ui.widgets.credits import CreditPoller
from mjdash.ui.widgets.detail import DetailPane
from mjdash.ui.widgets.filter_bar import FilterBar
from mjdash.ui.widgets.header import StatusHeader
from mjdash.ui.widgets.task_table import TaskTable

DETAIL_DELAY = 0.04  # seconds after the cursor stops before the detail pane follows
ENGINE_RESTART = 10.0  # seconds before a refresh engine that failed is started again


class MainScreen(ResultActions, RetryActions):
    BINDINGS = MAIN_KEYS

    def __init__(
        self,
        *,
        settings: Settings,
        db: StoreGateway,
        engine: Engine | None,
        fetcher: ImageFetcher,
        clock: Clock,
        image_cls: Any,
        state: WatchlistState,
        follow: Path | None = None,
        bell: bool = False,
        credits: Callable[[], Awaitable[Balance]] | None = None,
        alerts: Alerts | None = None,
        sender: Sender | None = None,
    ) -> None:
        """``engine`` (None: nobody polls) must report to ``state.engine_event``; ``make_app`` wires them.
        ``sender`` resubmits tasks (None: no key)."""
        super().__init__()
        self.settings, self.db, self.store = settings, db, db.store
        self.fetcher, self.clock, self.image_cls = fetcher, clock, image_cls
        self.state = state
        self.bell_on_finish, self.alerts = bell, alerts
        self.follower = FileFollower(follow, db.store) if follow else None
        self.engine = engine
        self.sender = sender
        self.credit_poller = CreditPoller(credits) if credits is not None else None
        self.engine_restart = ENGINE_RESTART  # seconds before a failed engine is started again
        # Kept as attributes: queries search the active screen, which may be a dialog.
        self.header = StatusHeader(id="header")
        self.banner = Banner(id="banner")
        self.table = TaskTable(state.view, clock.now, id="table")
        self.detail = DetailPane(
            image_cls, lambda task_id: db(db.store.task, task_id), fetcher, clock.now, settings.expiry_days, id="detail"
        )
        self.filter_box = FilterBar(id="filter")
        self.download_bar = ProgressBar(id="download", show_eta=False)

    def compose(self) -> ComposeResult:
        yield self.header
        yield self.banner
        with Horizontal(id="main"):
            yield self.table
            yield self.detail
        yield self.filter_box
        yield self.download_bar
        if self.credit_poller is not None:
            yield self.credit_poller
        yield Footer()

    async def on_mount(self) -> None:
        aio.install(asyncio.get_running_loop())  # quitting never waits for a DNS lookup that hangs
        await self.load_all()
        gc.freeze()  # the rows just read live long: full collections need not walk them (~40 ms per 300k objects)
        self.table.focus()
        self._show_header()
        self._start_engine()
        self.set_interval(1.0, self.tick, name="tick")

    async def on_unmount(self) -> None:
        """Stop the engine; the app closes the clients and the store's thread after this."""
        if self.engine is not None:
            self.engine.stop()

    # -- news -------------------------------------------------------------------------------------------------
    async def load_all(self) -> bool:
        """(Re)load the whole watchlist; on a database failure the banner says so and the next tick retries."""
        try:
            mark, rows = await self.db(self.store.snapshot)
        except StoreError as exc:
            self._store_failed(exc)
            return False
        with self.table.follow(redraw=True):
            self.state.load(mark, rows)
        self._trouble("store", None)
        return True

    async def tick(self) -> None:
        """Once a second: what the engine learned and what any process wrote, in one batch; the time columns
        move on. A database that cannot be read puts up the banner; everything is read again once it can."""
        if "store" in self.state.troubles and not await self.load_all():
            return
        if self.follower is not None:
            await self._follow()
        try:
            feed = await self.db(self.store.changes_since, self.state.mark)
        except StoreError as exc:
            self._store_failed(exc)
            feed = None
        with self.table.follow():
            news = self.state.take(feed)
        self._show(news)
        if news.reload:
            await self.load_all()

    def _show(self, news: News) -> None:
        self.detail.refresh_if(news.updated)
        self.table.tick()
        if news.finished and self.bell_on_finish:
            self.app.bell()
        if self.alerts is not None:  # --notify
            self.alerts.after(news, self.state)
        for toast in finished_toasts(news.finished):
            self.notify(toast.message, title=toast.title, severity=toast.severity, markup=False)
        self._show_banner()
        self._show_header()

    async def _follow(self) -> None:
        """Read what the followed file gained (the new IDs come back through the change feed)."""
        assert self.follower is not None
        try:
            result = await self.db(self.follower.poll)
        except FollowError as exc:
            self._trouble("follow", f"{exc} (mjdash keeps trying)")
            return
        self._trouble("follow", None)
        if result.added:
            self.notify(f"{result.added} new task(s) from {self.follower.path.name}", title="Following", markup=False)

    def _store_failed(self, exc: StoreError) -> None:
        self._trouble("store", f"{exc} (the table shows what it had; mjdash tries again every second)")

    def _trouble(self, source: str, message: str | None) -> None:
        if self.state.trouble(source, message):
            self._show_banner()

    @on(CreditPoller.Checked)
    def credits_checked(self, event: CreditPoller.Checked) -> None:
        warning = self.state.credits_checked(event.balance, self.clock.now())
        self._trouble("credits", warning)
        if self.alerts is not None:
            self.alerts.credits(warning)
        self._show_header()

    def _show_banner(self) -> None:
        self.banner.show(self.state.banner())

    def _show_header(self) -> None:
        now = self.clock.now()
        self.header.render_state(self.state.header(now), now)

    # -- failures ---------------------------------------------------------------------------------------------
    @on(Worker.StateChanged)
    def worker_changed(self, event: Worker.StateChanged) -> None:
        """Every background job that fails ends here: a toast (or, for the engine, a banner and a restart)."""
        if event.state is not WorkerState.ERROR:
            return
        message = failure_line(event.worker.error)
        if event.worker.group == "engine":
            restart = self.engine_restart
            self._trouble("engine", f"The refresh engine stopped: {message} — restarting in {restart:.0f} s.")
            self.set_timer(restart, self._start_engine)
            return
        title = JOB_TITLES.get(event.worker.group, "Background job failed")
        self.notify(message, title=title, severity="error", markup=False)

    def _start_engine(self) -> None:
        if self.engine is not None:
            self.run_worker(self.engine.run(), group="engine", exclusive=True, exit_on_error=False)

    # -- the detail pane ----------------------------------------------------------------------------------------
    @on(TaskTable.Highlighted)
    def row_highlighted(self, event: TaskTable.Highlighted) -> None:
        if event.task_id is not None:
            self.detail.load(event.task_id, delay=DETAIL_DELAY)
        else:  # nothing shown (an empty watchlist, a filter matching nothing)
            self.detail.clear()

    def action_maximize_detail(self) -> None:
        """Zoom the detail pane to the full width (focus goes to it, to scroll), or back (focus to the table)."""
        zoomed = self.toggle_class("detail-max").has_class("detail-max")
        (self.detail if zoomed else self.table).focus()

    # -- the watchlist ------------------------------------------------------------------------------------------
    def action_add(self) -> None:
        def added(text: str | None) -> None:
            if text:
                self.add_tasks_from(text)

        self.app.push_screen(AddDialog(), added)

    # Workers given big arguments get a description: Textual's default is repr() of each (0.7 s for 100k rows).
    @work(group="store", exit_on_error=False, description="add tasks")
    async def add_tasks_from(self, text: str) -> None:
        """Add the task IDs found in ``text`` (as `mjdash add -` does) and ask about them at once."""
        added = await actions.add_from_text(self.db, text)
        with self.table.follow():
            self.state.added(added.rows)
        if self.engine is not None:
            self.engine.force(added.ids)
        self.notify(added.said.message, markup=False, title="Add tasks", severity=added.said.severity)
        self._show_header()

    def action_remove(self) -> None:
        task_ids = self.table.selection()
        if not task_ids:
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._remove(task_ids)

        what = f"task {task_ids[0]}" if len(task_ids) == 1 else f"the {len(task_ids)} marked tasks"
        self.app.push_screen(ConfirmDialog(f"Remove {what} from the watchlist?"), confirmed)

    @work(group="store", exit_on_error=False, description="remove tasks")
    async def _remove(self, task_ids: list[str]) -> None:
        await self.db(self.store.remove, task_ids)
        with self.table.follow():
            self.state.removed(task_ids)
        if self.engine is not None:
            self.engine.force([])  # reloads the watchlist
        self.notify(f"removed {len(task_ids)} task(s)")
        self._show_header()

    def action_refresh(self) -> None:
        task_id = self.table.selected_id
        if self.engine is not None and task_id:
            self.engine.force([task_id])
            self.notify(f"refreshing {short_id(task_id)}")

    def action_refresh_all(self) -> None:
        if self.engine is not None:
            self.notify(f"refreshing all {self.engine.force(None)} tasks")

    def action_pause(self) -> None:
        if self.engine is None:
            return
        if self.engine.state.mode is Mode.PAUSED:
            self.engine.resume()
        else:
            self.engine.pause()

    # -- what is shown ------------------------------------------------------------------------------------------
    def action_filter(self) -> None:
        self.filter_box.open()

    @on(FilterBar.Applied)
    def filter_applied(self, event: FilterBar.Applied) -> None:
        self._refilter(text=event.text)
        self.table.focus()

    def action_clear_filter(self) -> None:
        if self.table.clear_marks():  # escape first drops the marks, then the filter
            return
        self.filter_box.close()
        if self.state.view.text_filter or self.state.view.only is not None:
            self._refilter(text="", only=None)
        self.table.focus()

    def action_group(self, group: str) -> None:
        self._refilter(group=group)

    def action_batch(self) -> None:
        def chosen(name: str | None) -> None:
            if name is not None:
                self._refilter(batch=None if name == ALL_BATCHES else name)

        self.app.push_screen(BatchPicker(self.state.batches(), self.state.view.batch_filter), chosen)

    def _refilter(self, **what: Any) -> None:
        with self.table.follow():
            self.state.set_filter(**what)
        self._show_header()

    def sort_by(self, column: str, reverse: bool | None = None) -> None:
        """Sort by a column's data (not the rendered text), the cursor staying on its task."""
        with self.table.follow():
            self.state.sort(column, reverse)

    @on(TaskTable.Sorted)
    def header_sorted(self, event: TaskTable.Sorted) -> None:
        self.sort_by(event.column)

    def action_sort_next(self) -> None:
        """`o`: the next column (after the one sorted by last, however that was chosen), ascending."""
        view = self.state.view
        column = COLUMN_KEYS[(COLUMN_KEYS.index(view.sort_column) + 1) % len(COLUMN_KEYS) if view.sort_column else 0]
        self.sort_by(column, reverse=False)
        self.notify(f"sorted by {column}", timeout=2)

    def action_sort_reverse(self) -> None:
        view = self.state.view
        self.sort_by(view.sort_column or "state", reverse=not view.sort_reverse)

    def action_insight(self) -> None:
        def chosen(group: Chosen | None) -> None:
            if group is not None:  # a failure group: the table shows its tasks
                self._refilter(only=group, group="all")

        async def load() -> Summary:  # a pass over every row: on the store's thread
            return await self.db(Summary.of, list(self.state.view.rows_by_id.values()), self.clock.now())

        self.app.push_screen(InsightScreen(load, self.state.credits.describe), chosen)

    def action_help(self) -> None:
        keys = [b for b in (*self.BINDINGS, *TaskTable.BINDINGS) if isinstance(b, Binding)]
        self.app.push_screen(HelpScreen([(b.key_display or b.key, b.description) for b in keys]))
