"""``WatchlistState``: the one in-memory model of what the dashboard shows. No Textual here.

It takes two inputs — the engine's events, and the store's change feed (every row any process wrote since the
last mark: this dashboard's engine, ``mjdash add``, ``rm``, ``wait``, another dashboard) — and says what they
changed. It holds every watched row, which of them are shown in which order (its ``view``), the counts per state,
the batches, the engine's mode and effective rate, the lasting problems for the banner, and the count of results
about to expire. The main screen owns one; the table, the header and the detail pane only render it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from rich.text import Text

from mjdash.core.api.outcomes import Balance, Outcome
from mjdash.core.credit_watch import CreditWatch
from mjdash.core.engine.events import EngineState, Event, RoundFinished, StateChanged, TaskChanged
from mjdash.core.model import Status, Task
from mjdash.core.store.rows import Feed
from mjdash.ui.state.announce import banner_text, filter_note
from mjdash.ui.state.task_view import Changes, TaskView


@dataclass
class HeaderState:
    """What the header shows: a snapshot the header widget renders."""

    counts: Counter[Status] = field(default_factory=Counter)
    total: int = 0
    done: int = 0
    eta: float | None = None
    engine: EngineState | None = None
    expiring: int = 0
    renderer: str = "halfcell"
    demo: bool = False
    filter_note: str = ""
    rate: str = ""  # the engine's effective rate, e.g. "2/s" or "1.4/s (limit 2/s)"
    rate_limited: bool = False
    stuck: int = 0
    credits: str = ""  # "credits 4,976 · 120/h · 41 h left"


@dataclass(frozen=True)
class News:
    """What one round of input changed."""

    changes: Changes  # to the rows shown
    finished: list[TaskChanged]  # tasks that finished since the last round (for toasts)
    updated: frozenset[str]  # every task whose row changed (shown or not)
    reload: bool = False  # the feed cannot say what changed (a gap in it): read everything again


class WatchlistState:
    def __init__(
        self, *, renderer: str = "none", demo: bool = False, expiry_days: float = 14.0, credits_low: float | None = None
    ) -> None:
        self.view = TaskView(expiry_days)
        self.credits = CreditWatch(low=credits_low)
        self.mark = 0  # the store's change feed, read up to here
        self.engine: EngineState | None = None
        self.eta: float | None = None
        self.rate = ""
        self.rate_limited = False
        self.stuck = 0
        self.troubles: dict[str, str] = {}  # lasting problems for the banner, by source: store, engine, follow
        self.renderer, self.demo = renderer, demo
        self._events: list[Event] = []

    # -- input ------------------------------------------------------------------------------------------------
    def engine_event(self, event: Event) -> None:
        """The engine's callback: events pile up and are taken in one batch by :meth:`take`."""
        self._events.append(event)

    def load(self, mark: int, rows: Iterable[Task]) -> None:
        """Everything anew (start-up, or after a gap in the feed)."""
        self.mark = mark
        self.view.load(rows)
        self.view.rebuild()

    def take(self, feed: Feed | None) -> News:
        """The engine's events since the last call, and the store's change feed (None: not read this time)."""
        events, self._events = self._events, []
        finished: list[TaskChanged] = []
        for event in events:
            if isinstance(event, TaskChanged):
                old = event.change.old  # first news of an already finished task is not an event
                if event.change.new.is_final and not old.is_final and old is not Status.UNKNOWN:
                    finished.append(event)
            elif isinstance(event, StateChanged):
                self.engine = event.state
                self.troubles.pop("engine", None)  # it runs again
            elif isinstance(event, RoundFinished):
                self.eta = event.eta
                self.rate = event.describe_rate()
                self.rate_limited = event.rate_limited
                self.stuck = event.stuck
                self.troubles.pop("engine", None)  # a round finished: the engine runs again
        if feed is None:
            return News(Changes(), finished, frozenset())
        if feed.full:
            return News(Changes(), finished, frozenset(), reload=True)
        self.mark = feed.mark
        changes = Changes()
        if feed.removed:
            changes.removed |= self.view.remove(feed.removed)
        if feed.rows:
            for row in feed.rows:
                if row.task_id not in self.view.rows_by_id:  # new tasks: what the balance paid for
                    self.credits.tasks_added(row.added_at or 0.0, 1)
            applied = self.view.apply(feed.rows)
            changes.changed |= applied.changed
            changes.added += applied.added
            changes.removed |= applied.removed
        return News(changes, finished, frozenset(r.task_id for r in feed.rows))

    def added(self, rows: Iterable[Task]) -> Changes:
        """Rows this dashboard just added (shown at once; the feed brings them again, harmlessly)."""
        return self.view.apply(rows)

    def removed(self, task_ids: Iterable[str]) -> set[str]:
        return self.view.remove(task_ids)

    def trouble(self, source: str, message: str | None) -> bool:
        """Put up (or, with None, take down) a lasting problem; True when the banner changes."""
        if message is None:
            return self.troubles.pop(source, None) is not None
        changed = self.troubles.get(source) != message
        self.troubles[source] = message
        return changed

    # -- the filters ------------------------------------------------------------------------------------------
    def set_filter(
        self,
        *,
        text: str | None = None,
        group: str | None = None,
        batch: str | bool | None = False,
        only: tuple[str, frozenset[str]] | bool | None = False,
    ) -> None:
        """Change what is shown (``batch=None`` shows every batch, ``only=None`` every task; the default leaves
        either as it is). ``only`` is (what they are, task IDs): the tasks of a failure group, say."""
        view = self.view
        if only is not False:
            view.only = only if isinstance(only, tuple) else None
        if text is not None:
            view.text_filter = text
        if group is not None:
            view.state_group = group
        if batch is not False:
            view.batch_filter = batch if isinstance(batch, str) else None
        view.rebuild()

    def sort(self, column: str, reverse: bool | None = None) -> None:
        """Sort by a column's data; by default the same column again flips the direction."""
        view = self.view
        if reverse is None:
            reverse = not view.sort_reverse if column == view.sort_column else False
        view.sort(column, reverse)

    # -- output -----------------------------------------------------------------------------------------------
    def batches(self) -> list[str]:
        return sorted({r.batch for r in self.view.rows_by_id.values() if r.batch})

    def banner(self) -> Text | None:
        return banner_text(self.engine, self.troubles.values())

    def header(self, now: float) -> HeaderState:
        view = self.view
        return HeaderState(
            counts=Counter(view.counts),
            total=len(view.rows_by_id),
            done=sum(n for status, n in view.counts.items() if status.is_final),
            eta=self.eta,
            engine=self.engine,
            expiring=view.expiry.count(now),
            renderer=self.renderer,
            demo=self.demo,
            filter_note=filter_note(view),
            rate=self.rate,
            rate_limited=self.rate_limited,
            stuck=self.stuck,
            credits=self.credits.describe(),
        )

    def credits_checked(self, balance: Balance, now: float) -> str | None:
        """Take an answer about the balance; returns the banner's warning about credits, or None."""
        if balance.ok and balance.credits is not None:
            self.credits.seen(now, balance.credits)
        elif balance.answer.outcome is Outcome.NO_CREDITS:
            self.credits.seen(now, 0.0)
        else:
            self.credits.problem = balance.answer.outcome.value.replace("_", " ")
        pending = sum(n for status, n in self.view.counts.items() if not status.is_final)
        return self.credits.warning(pending)
