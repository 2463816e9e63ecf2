"""The dashboard app and ``make_app``, the one factory the CLI and the tests build it with.

The app owns state and wires the core to the widgets: the refresh engine runs in a worker on this event loop
and reports events, which pile up and are applied once a second in one batch (rows updated in place, header,
banner, toasts). Store reads, image fetches and downloads run in workers; widgets only render.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.widgets import Footer, Input, ProgressBar, Static
from textual.worker import Worker, WorkerState

from mjdash.config import Settings
from mjdash.core import aio
from mjdash.core.clock import Clock
from mjdash.core.events import Event, Mode, RoundFinished, StateChanged, TaskChanged
from mjdash.core.expiry import is_expiring
from mjdash.core.follow import FileFollower, FollowError
from mjdash.core.ids import add_summary, extract
from mjdash.core.images import ImageFetcher
from mjdash.core.model import Status
from mjdash.core.poller import Fetcher, Poller
from mjdash.core.store import Store, StoreError, TaskRow
from mjdash.core.text import safe
from mjdash.ui.announce import JOB_TITLES, banner_text, failure_line, filter_note, finished_toasts
from mjdash.ui.cells import short_id
from mjdash.ui.screens.dialogs import AddDialog, ConfirmDialog
from mjdash.ui.screens.help import HelpScreen
from mjdash.ui.screens.image_view import ImageView
from mjdash.ui.task_actions import TaskActions
from mjdash.ui.view_actions import ViewActions
from mjdash.ui.widgets.detail import DetailPane
from mjdash.ui.widgets.header import HeaderState, StatusHeader
from mjdash.ui.widgets.task_table import TaskTable


@dataclass(frozen=True)
class Notice:
    """A toast the dashboard showed."""

    title: str
    message: str
    severity: str


DETAIL_DELAY = 0.04  # seconds after the cursor stops before the detail pane follows
ENGINE_RESTART = 10.0  # seconds before a refresh engine that failed is started again
EXPIRING_EVERY = 30.0  # seconds between recounts of results about to expire (time alone changes it)


class MjDashApp(ViewActions, TaskActions):
    CSS_PATH = "app.tcss"
    # Under 120 columns the detail pane goes below the table instead of beside it (see app.tcss).
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
    # Under 12 rows the banner keeps to one line, so the table stays visible (see app.tcss).
    VERTICAL_BREAKPOINTS = [(0, "-short"), (12, "-tall")]
    TITLE = "mjdash"
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("a", "add", "Add"),
        Binding("x", "remove", "Remove"),
        Binding("r", "refresh", "Refresh"),
        Binding("R", "refresh_all", "Refresh all", show=False),
        Binding("p", "pause", "Pause"),
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("escape", "clear_filter", "Clear filter", show=False),
        Binding("1", "group('all')", "All", show=False),
        Binding("2", "group('running')", "Running", show=False),
        Binding("3", "group('success')", "Succeeded", show=False),
        Binding("4", "group('failed')", "Failed", show=False),
        Binding("5", "group('problems')", "Problems", show=False),
        Binding("b", "batch", "Batch"),
        Binding("o", "sort_next", "Sort"),
        Binding("O", "sort_reverse", "Reverse sort", show=False),
        Binding("z", "maximize_detail", "Zoom"),
        Binding("v", "view_image", "View image"),
        Binding("c", "copy('id')", "Copy ID"),
        Binding("y", "copy('prompt')", "Copy prompt", show=False),
        Binding("u", "copy('url')", "Copy URL", show=False),
        Binding("w", "open_url", "Open URL", show=False),
        Binding("s", "save('task')", "Save"),
        Binding("S", "save('batch')", "Save batch", show=False),
    ]

    def __init__(
        self,
        *,
        settings: Settings,
        store: Store,
        client: Fetcher | None,
        fetcher: ImageFetcher,
        clock: Clock,
        image_cls: Any,
        renderer: str,
        demo: bool = False,
        follow: Path | None = None,
        bell: bool = False,
        run_engine: bool = True,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.store = store
        self.client = client
        self.fetcher = fetcher
        self.clock = clock
        self.image_cls = image_cls
        self.bell_on_finish = bell
        self.header_state = HeaderState(renderer=renderer, demo=demo)
        self.follower = FileFollower(follow, store) if follow else None
        self.poller: Poller | None = None
        if client is not None and run_engine:
            self.poller = Poller(
                client,
                store,
                rate=settings.rate,
                concurrency=settings.concurrency,
                policy=settings.policy(),
                clock=clock,
                on_event=self.engine_event,
            )
        self._events: list[Event] = []
        self._thumbs_done: str | None = None  # the task whose thumbnails the detail pane shows in full
        self._troubles: dict[str, str] = {}  # lasting problems for the banner, by source: store, engine, follow
        self._mark = 0  # the database's change feed, read up to here
        self.notices: list[Notice] = []  # every toast shown, newest last
        self._cache_noted = False
        self._expiring_at = float("-inf")
        self._expiring_generation = -1

    # -- what it said ---------------------------------------------------------------------------------------------
    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """A toast, also kept in ``notices`` (the last 50) for whoever needs to know what the user was told."""
        self.notices.append(Notice(title, str(message), severity))
        del self.notices[:-50]
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    # -- layout ------------------------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        # Kept as attributes: app.query_one() searches the active screen, which may be a dialog.
        self.header = StatusHeader(id="header")
        self.banner = Static(id="banner")
        self.table = TaskTable(self.clock.now, id="table")
        self.detail = DetailPane(self.image_cls, id="detail")
        self.filter_box = Input(
            placeholder="filter: text in ID, prompt or error — enter applies, escape clears", id="filter"
        )
        self.download_bar = ProgressBar(id="download", show_eta=False)
        yield self.header
        yield self.banner
        with Horizontal(id="main"):
            yield self.table
            yield self.detail
        yield self.filter_box
        yield self.download_bar
        yield Footer()

    async def on_mount(self) -> None:
        aio.install(asyncio.get_running_loop())  # quitting never waits for a DNS lookup that hangs
        self.banner.display = False
        self.filter_box.display = False
        self.download_bar.display = False
        await self.load_all()
        self.table.focus()
        self._refresh_header()
        self._start_engine()
        self.set_interval(1.0, self.tick, name="tick")

    # -- the engine -------------------------------------------------------------------------------------------
    def engine_event(self, event: Event) -> None:
        """The engine's callback: events pile up and are applied on the next tick, in one batch."""
        self._events.append(event)

    async def load_all(self) -> bool:
        """(Re)load the whole watchlist; on a database failure the banner says so and the next tick retries."""
        try:
            self._mark, rows = await self.db(self._read_all)
        except StoreError as exc:
            self._store_failed(exc)
            return False
        self.table.load(rows)
        self._trouble("store", None)
        return True

    def _read_all(self) -> tuple[int, list[TaskRow]]:
        mark = self.store.mark()  # before the rows: a change in between comes again with the feed, harmlessly
        return mark, self.store.rows()

    async def tick(self) -> None:
        """Once a second: apply what the engine learned in one batch, tick the time columns. A database that
        cannot be read meanwhile puts up the banner; everything is read again once it can."""
        if "store" in self._troubles and not await self.load_all():
            return
        try:
            await self._apply_news()
        except StoreError as exc:
            self._store_failed(exc)

    def _store_failed(self, exc: StoreError) -> None:
        self._trouble("store", f"{exc} (the table shows what it had; mjdash tries again every second)")

    def _trouble(self, source: str, message: str | None) -> None:
        """Put up (or, with None, take down) a lasting problem in the banner."""
        if message is None and source not in self._troubles:
            return
        if message is None:
            del self._troubles[source]
        else:
            self._troubles[source] = message
        self._show_banner()

    async def _apply_news(self) -> None:
        """What changed since the last tick, from two sources: the engine's events (finished tasks for toasts,
        its state and rate for the header) and the database's change feed — every row written since the last
        mark, by this dashboard's engine or by any other process (``mjdash add``, ``rm``, ``wait``, another
        dashboard) — so the work is proportional to what changed, not to the size of the watchlist."""
        events, self._events = self._events, []
        finished: list[TaskChanged] = []
        for event in events:
            if isinstance(event, TaskChanged):
                old = event.change.old  # first news of an already finished task is not an event
                if event.change.new.is_final and not old.is_final and old is not Status.UNKNOWN:
                    finished.append(event)
            elif isinstance(event, StateChanged):
                self.header_state.engine = event.state
                self._troubles.pop("engine", None)  # it runs again
                self._show_banner()
            elif isinstance(event, RoundFinished):
                self.header_state.eta = event.eta
                self.header_state.rate = event.describe_rate()
                self.header_state.rate_limited = event.rate_limited
                self.header_state.stuck = event.stuck
                self._trouble("engine", None)  # a round finished: the engine runs again
        if self.follower is not None:
            await self._follow()
        feed = await self.db(self.store.changes_since, self._mark)
        if feed.full:
            await self.load_all()
        else:
            self._mark = feed.mark
            if feed.removed:
                self.table.remove_tasks(feed.removed)
            if feed.rows:
                self.table.apply(feed.rows)
                if self.detail.task_id in {r.task_id for r in feed.rows}:
                    self.load_detail(self.detail.task_id, keep_thumbs=True)
        self.table.tick()
        self._announce(finished)
        self._refresh_header()

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

    def _announce(self, finished: list[TaskChanged]) -> None:
        if finished and self.bell_on_finish:
            self.bell()
        for toast in finished_toasts(finished):
            self.notify(toast.message, title=toast.title, severity=toast.severity, markup=False)

    def _show_banner(self) -> None:
        text = banner_text(self.header_state.engine, self._troubles.values())
        if text is not None:
            self.banner.update(text)
        self.banner.display = text is not None

    def _refresh_header(self) -> None:
        """The header from counts kept as rows change. The expiring count, which time alone changes, is recounted
        over every row at most every EXPIRING_EVERY seconds, off the event loop (100,000 rows take ~80 ms)."""
        view, state, now = self.table.view, self.header_state, self.clock.now()
        state.counts = view.counts
        state.total = len(view.rows_by_id)
        state.done = sum(n for status, n in view.counts.items() if status.is_final)
        if now - self._expiring_at >= EXPIRING_EVERY or view.generation != self._expiring_generation:
            self._expiring_at, self._expiring_generation = now, view.generation
            self._count_expiring(list(view.rows_by_id.values()), now)
        state.filter_note = filter_note(view)
        self.header.render_state(state, now)

    @work(exclusive=True, group="expiring", exit_on_error=False)
    async def _count_expiring(self, rows: list[TaskRow], now: float) -> None:
        days = self.settings.expiry_days
        self.header_state.expiring = await self.db(lambda: sum(1 for r in rows if is_expiring(r, now, days)))
        self.header.render_state(self.header_state, self.clock.now())

    # -- failures ---------------------------------------------------------------------------------------------
    @on(Worker.StateChanged)
    def worker_changed(self, event: Worker.StateChanged) -> None:
        """Every background job that fails ends here: a toast (or, for the engine, a banner and a restart)."""
        if event.state is not WorkerState.ERROR:
            return
        message = failure_line(event.worker.error)
        if event.worker.group == "engine":
            self._trouble("engine", f"The refresh engine stopped: {message} — restarting in {ENGINE_RESTART:.0f} s.")
            self.set_timer(ENGINE_RESTART, self._start_engine)
            return
        title = JOB_TITLES.get(event.worker.group, "Background job failed")
        self.notify(message, title=title, severity="error", markup=False)

    def _start_engine(self) -> None:
        if self.poller is not None:
            self.run_worker(self.poller.run(), group="engine", exclusive=True, exit_on_error=False)

    # -- the detail pane ----------------------------------------------------------------------------------------
    @on(TaskTable.Highlighted)
    def row_highlighted(self, event: TaskTable.Highlighted) -> None:
        if event.task_id is not None:
            self.load_detail(event.task_id, delay=DETAIL_DELAY)
        else:  # nothing shown (an empty watchlist, a filter matching nothing)
            self.workers.cancel_group(self, "detail")
            self.detail.show(None, None, self.clock.now(), self.settings.expiry_days)

    @work(exclusive=True, group="detail", exit_on_error=False)
    async def load_detail(self, task_id: str, keep_thumbs: bool = False, delay: float = 0.0) -> None:
        """Show a task in the detail pane. After a cursor move it waits a moment, so the cursor is painted first
        and holding a key down does not lay out the pane for every row passed (a newer load cancels this one)."""
        if delay:
            await asyncio.sleep(delay)
        task = await self.db(self.store.task, task_id)
        row = self.table.rows_by_id.get(task_id)
        if not keep_thumbs:
            self.detail.task_id = None
        fresh = self.detail.show(task, row, self.clock.now(), self.settings.expiry_days)
        if task is None or (not fresh and self._thumbs_done == task_id):
            return
        self._thumbs_done = None  # a newer load may cancel this one half-way: it then loads them again
        for index, url in enumerate(task.result_urls[:4]):
            self.detail.set_thumbnail(task_id, index, await self.fetcher.thumbnail(url))
        self._thumbs_done = task_id
        if self.fetcher.cache_problem and not self._cache_noted:
            self._cache_noted = True
            self.notify(safe(self.fetcher.cache_problem), title="Image cache", severity="warning", markup=False)

    def action_maximize_detail(self) -> None:
        """Zoom the detail pane to the full width (focus goes to it, to scroll), or back (focus to the table)."""
        zoomed = self.screen.toggle_class("detail-max").has_class("detail-max")
        (self.detail if zoomed else self.table).focus()

    @work(exclusive=True, group="viewer", exit_on_error=False)
    async def action_view_image(self) -> None:
        task_id = self.table.selected_id
        task = await self.db(self.store.task, task_id) if task_id else None
        if task is None or not task.result_urls:
            self.notify("This task has no result images yet.", severity="warning")
            return
        size = max(256, min(1600, self.size.width * 10))
        results = [await self.fetcher.thumbnail(url, size) for url in task.result_urls[:4]]
        await self.push_screen(ImageView(results, 0, self.image_cls))

    # -- using it ----------------------------------------------------------------------------------------------
    def action_add(self) -> None:
        def added(text: str | None) -> None:
            if text:
                self.add_tasks_from(text)

        self.push_screen(AddDialog(), added)

    @work(group="store", exit_on_error=False)
    async def add_tasks_from(self, text: str) -> None:
        """Add the task IDs found in ``text`` (as `mjdash add -` does) and ask about them at once."""
        found = extract(text)
        result = await self.db(self.store.add, found.ids)
        rows = await self.db(self.store.rows, ids=found.ids)
        self.table.apply(rows)
        if self.poller is not None:
            self.poller.force(found.ids)
        message = add_summary(result.added, result.present, found.rejected, found.escapes)
        self.notify(
            safe(message), markup=False, title="Add tasks", severity="warning" if found.rejected else "information"
        )
        self._refresh_header()

    def action_remove(self) -> None:
        task_ids = self.table.selection()
        if not task_ids:
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._remove(task_ids)

        what = f"task {task_ids[0]}" if len(task_ids) == 1 else f"the {len(task_ids)} marked tasks"
        self.push_screen(ConfirmDialog(f"Remove {what} from the watchlist?"), confirmed)

    @work(group="store", exit_on_error=False)
    async def _remove(self, task_ids: list[str]) -> None:
        await self.db(self.store.remove, task_ids)
        self.table.remove_tasks(task_ids)
        if self.poller is not None:
            self.poller.force([])  # reloads the watchlist
        self.notify(f"removed {len(task_ids)} task(s)")
        self._refresh_header()

    def action_refresh(self) -> None:
        task_id = self.table.selected_id
        if self.poller is not None and task_id:
            self.poller.force([task_id])
            self.notify(f"refreshing {short_id(task_id)}")

    def action_refresh_all(self) -> None:
        if self.poller is not None:
            self.notify(f"refreshing all {self.poller.force(None)} tasks")

    def action_pause(self) -> None:
        if self.poller is None:
            return
        if self.poller.state.mode is Mode.PAUSED:
            self.poller.resume()
        else:
            self.poller.pause()

    # -- help and the palette ----------------------------------------------------------------------------------
    def action_help(self) -> None:
        rows = [
            (b.key_display or b.key, b.description)
            for b in (*self.BINDINGS, *TaskTable.BINDINGS)
            if isinstance(b, Binding)
        ]
        self.push_screen(HelpScreen(rows))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for binding in self.BINDINGS:
            if isinstance(binding, Binding) and binding.action not in ("quit", "help"):
                action = binding.action
                yield SystemCommand(
                    binding.description,
                    f"key: {binding.key_display or binding.key}",
                    lambda a=action: self.run_action(a),
                )

    async def on_unmount(self) -> None:
        """Stop the engine and close the HTTP clients on this event loop (their connections belong to it)."""
        if self.poller is not None:
            self.poller.stop()
        await self.fetcher.aclose()
        close = getattr(self.client, "aclose", None)
        if close is not None:
            await close()
