"""What ``--notify`` tells the desktop about: the batch shown (or everything) done, failures, stuck tasks and
credits running low. Textual-free: the screen hands it each round's news and the state."""

from __future__ import annotations

from collections import Counter

from mjdash.core.model import Status
from mjdash.core.notify import Message, Notifier
from mjdash.core.text import short_id
from mjdash.ui.state.watchlist import News, WatchlistState


class Alerts:
    def __init__(self, notifier: Notifier) -> None:
        self.notifier = notifier
        self._pending: int | None = None  # tasks of the batch shown still running, as last counted
        self._stuck = 0
        self._credits: str | None = None

    def after(self, news: News, state: WatchlistState) -> None:
        view = state.view
        failed_now = sum(n for status, n in view.counts.items() if status.is_failure)
        stuck_now = state.stuck

        def failed_later(n: int) -> Message:
            return "mjdash: tasks failed", f"{n} more failed ({failed_now} in all)"

        def stuck_later(n: int) -> Message:
            return "mjdash: tasks stuck", f"{n} more stuck ({stuck_now} now)"

        failures = [event.change for event in news.finished if event.change.new.is_failure]
        if failures:
            first = failures[0]
            said: Message = ("mjdash: a task failed", f"{short_id(first.task_id)} {first.row.error_message or ''}")
            self.notifier.limited("failed", len(failures), lambda: said, failed_later)
        if stuck_now > self._stuck:
            stuck: Message = ("mjdash: a task is stuck", "running far past its kind's usual time: see ⚠ stuck")
            self.notifier.limited("stuck", stuck_now - self._stuck, lambda: stuck, stuck_later)
        self._stuck = stuck_now
        self.notifier.tick({"failed": failed_later, "stuck": stuck_later})
        if news.finished or self._pending is None:
            self._batch_done(state)

    def _batch_done(self, state: WatchlistState) -> None:
        view = state.view
        batch = view.batch_filter
        counts: Counter[Status] = Counter()
        if batch is None:
            counts.update(view.counts)
        else:
            for row in view.rows_by_id.values():  # only when something finished: not every tick
                if row.batch == batch:
                    counts[row.status] += 1
        pending = sum(n for status, n in counts.items() if not status.is_final)
        if pending == 0 and self._pending:
            summary = ", ".join(f"{n} {status.value}" for status, n in sorted(counts.items()) if n)
            self.notifier.send(f"mjdash: {'batch ' + batch if batch else 'every task'} done", summary)
        self._pending = pending

    def credits(self, warning: str | None) -> None:
        if warning is not None and warning != self._credits:
            self.notifier.send("mjdash: credits", warning)
        self._credits = warning
