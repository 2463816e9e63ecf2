"""The engine's view of the watched tasks: who is pending, in which order to ask, counts per state.

:class:`Watched` holds the scheduling bookkeeping (``schedule.Tracked``) of every task in scope, keeps the
pending ones in the :class:`~mjdash.core.due_queue.DueQueue` with the policy's floor and rank, and keeps the
counts per state, the stuck set and the grouping by class up to date as rows arrive from the store's change feed
and answers arrive from the API — so nothing the engine does each second scans every task.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import replace

from mjdash.core.engine.due_queue import DueQueue
from mjdash.core.engine.schedule import AdaptivePolicy, Klass, Tracked
from mjdash.core.model import Status, Task
from mjdash.core.store.rows import Change, Feed

REKEY_CHUNK = 500  # tasks re-ranked per loop pass after an expected duration moved
REKEY_RATIO = 1.25  # how far an expected duration must move for its class to be re-ranked
RUNNING_EVERY = 10.0  # seconds between passes that tell the durations what the running tasks' ages say
FAVOURED = 1e12  # rank bonus of favoured tasks: ahead of every other (forced tasks rank -inf, still first)
RUNNING_SAMPLE = 2000  # running tasks per class those passes look at


class Watched:
    def __init__(self, policy: AdaptivePolicy, favoured: frozenset[str] = frozenset()) -> None:
        self.policy = policy
        self.favoured = favoured  # asked about before any other task whenever they are due (a `wait`'s tasks)
        self.tasks: dict[str, Tracked] = {}
        self.pending: set[str] = set()
        self.favoured_pending: set[str] = set()
        self.stuck: set[str] = set()
        self.counts: Counter[Status] = Counter()
        self.inflight: set[str] = set()
        self._queue = DueQueue()
        self._by_class: dict[Klass, dict[str, None]] = {}  # insertion-ordered: the same order under any hash seed
        self._keyed: dict[Klass, float] = {}  # the expected duration each class was last ranked with
        self._rekey: deque[str] = deque()
        self._removed_inflight: set[str] = set()
        self._youngest: dict[Klass, float] = {}  # per class: the latest start of a task filed under it (the ETA)
        self._running_at = float("-inf")

    # -- rows from the store --------------------------------------------------------------------------------
    def apply(self, feed: Feed) -> list[Change]:
        """Take what the store says; returns the state changes another process learned (ours come back as
        they were written, and change nothing)."""
        for task_id in feed.removed:
            self.forget(task_id)
        return [change for row in feed.rows if (change := self._merge(row)) is not None]

    def replace_all(self, feed: Feed) -> list[Change]:
        """Everything in scope: forget what is no longer there, merge the rest."""
        present = {r.task_id for r in feed.rows}
        return self.apply(Feed(feed.mark, feed.rows, [t for t in self.tasks if t not in present]))

    def forget(self, task_id: str) -> None:
        task = self.tasks.get(task_id)
        if task is None:
            return
        if task_id in self.inflight:
            self._removed_inflight.add(task_id)  # forgotten when its answer comes back
            return
        self.counts[task.status] -= 1
        del self.tasks[task_id]
        self._drop(task)

    def _merge(self, row: Task) -> Change | None:
        known = self.tasks.get(row.task_id)
        if known is None:
            task = tracked(row)
            self.tasks[row.task_id] = task
            self.counts[task.status] += 1
            self.requeue(task)
            return None
        self._removed_inflight.discard(row.task_id)  # removed and added again while in flight
        if row.task_id in self.inflight:
            return None
        change = None
        if row.last_polled is not None and (known.last_polled is None or row.last_polled > known.last_polled):
            # Another process learned something newer (our own writes come back with the same time).
            if row.status is not known.status:
                change = Change(row.task_id, known.status, row.status, row)
            self.update(known, row)
            known.last_polled = row.last_polled
            errors = row.status in (Status.NOT_FOUND, Status.ERROR)
            known.errors = row.consecutive_errors if errors else 0
            known.error_since = row.error_since if errors else None
            known.gave_up = gave_up(row, self.policy)
            known.stuck = known.stuck or row.stuck_since is not None
            self.requeue(known)
        return change

    def force(self, task_ids: Iterable[str]) -> None:
        for task_id in list(task_ids):
            task = self.tasks.get(task_id)
            if task is not None:
                task.forced, task.gave_up = True, False
                self.requeue(task)

    # -- requests -------------------------------------------------------------------------------------------
    def take(self, now: float) -> Tracked | None:
        """The best task past its floor, now in flight; None when none may be asked yet."""
        task_id = self._queue.pop(now)
        if task_id is None:
            return None
        self.inflight.add(task_id)
        return self.tasks[task_id]

    def next_eligible(self) -> float | None:
        return self._queue.next_eligible()

    def answered(self, task: Tracked) -> None:
        """A request about ``task`` ended (whatever the answer): queue it again, or let it go."""
        self.inflight.discard(task.task_id)
        if task.task_id in self._removed_inflight:
            self._removed_inflight.discard(task.task_id)
            self.forget(task.task_id)
        else:
            self.requeue(task)

    # -- bookkeeping ----------------------------------------------------------------------------------------
    def update(self, task: Tracked, record: Task) -> None:
        """What is known of the task now (a newer row, or an answer merged in), its state counted."""
        if record.status is not task.status:
            self.counts[task.status] -= 1
            self.counts[record.status] += 1
        task.task = record

    def set_status(self, task: Tracked, status: Status) -> None:
        if status is not task.status:
            self.update(task, replace(task.task, status=status))

    def mark_stuck(self, task: Tracked) -> None:
        task.stuck = True
        self.stuck.add(task.task_id)

    def requeue(self, task: Tracked) -> None:
        """Put a task (back) in the queue with its floor and rank, or take it out when nothing is to be asked."""
        if task.task_id in self.inflight:
            return  # its answer re-queues it
        if not task.pending:
            self._drop(task)
            return
        self.pending.add(task.task_id)
        rank = self.policy.rank(task)
        if task.task_id in self.favoured:
            self.favoured_pending.add(task.task_id)
            rank -= FAVOURED
        if task.stuck:
            self.stuck.add(task.task_id)
        self._file(task)
        start, klass = task.created_at or task.added_at, task.key
        if start > self._youngest.get(klass, float("-inf")):
            self._youngest[klass] = start
        self._queue.put(task.task_id, self.policy.floor(task), rank)

    def _drop(self, task: Tracked) -> None:
        self._queue.discard(task.task_id)
        self.pending.discard(task.task_id)
        self.favoured_pending.discard(task.task_id)
        self.stuck.discard(task.task_id)
        if task.klass is not None:
            members = self._by_class.get(task.klass, {})
            members.pop(task.task_id, None)
            if not members:
                self._youngest.pop(task.klass, None)
            task.klass = None

    def _file(self, task: Tracked) -> None:
        """Keep pending tasks grouped by class, so a class whose expected duration moved can be re-ranked."""
        key = task.key
        if task.klass == key:
            return
        if task.klass is not None:
            self._by_class.get(task.klass, {}).pop(task.task_id, None)
        self._by_class.setdefault(key, {})[task.task_id] = None
        self._keyed.setdefault(key, self.policy.durations.expected(*key))
        task.klass = key

    def learned(self) -> None:
        """After a new duration sample: re-rank the classes whose expected duration moved by over a quarter
        (a few at a time, in ``rekey_some``: a class may hold tens of thousands of tasks)."""
        for key, members in self._by_class.items():
            expected = self.policy.durations.expected(*key)
            if members and abs(math.log(expected / self._keyed[key])) > math.log(REKEY_RATIO):
                self._keyed[key] = expected
                self._rekey.extend(members)

    def observe_running(self, now: float) -> None:
        """Every RUNNING_EVERY seconds, tell the durations how old each class's running tasks were at their last
        look (a pass over the pending tasks: about 20 ms at 50,000), then re-rank classes whose estimate moved."""
        if now - self._running_at < RUNNING_EVERY:
            return
        self._running_at = now
        for (task_type, speed), members in self._by_class.items():
            step = max(1, len(members) // RUNNING_SAMPLE)  # about RUNNING_SAMPLE of them, spread over the class
            ages = [
                task.age(task.last_polled)
                for task in (self.tasks[t] for t in itertools.islice(members, 0, None, step))
                if task.status is Status.GENERATING and task.last_polled is not None and task.created_at is not None
            ]
            self.policy.durations.running(task_type, speed, ages)
        self.learned()

    def summary(self) -> tuple[int, int, dict[Status, int]]:
        """(total, pending, count per state) of the favoured tasks when there are any (what a `wait` reports),
        else of all. Over the favoured tasks it is a pass over them: once a round."""
        if not self.favoured:
            return len(self.tasks), len(self.pending), {s: n for s, n in self.counts.items() if n > 0}
        counts: Counter[Status] = Counter(self.tasks[t].status for t in self.favoured if t in self.tasks)
        return sum(counts.values()), len(self.favoured_pending), dict(counts)

    def done(self) -> bool:
        """Nothing left to ask about (among the favoured tasks, when there are any)."""
        if self.favoured:
            return not self.favoured_pending and self.favoured.isdisjoint(self.inflight)
        return not self.pending and not self.inflight

    def rekey_some(self) -> None:
        for _ in range(min(REKEY_CHUNK, len(self._rekey))):
            task = self.tasks.get(self._rekey.popleft())
            if task is not None and task.task_id in self._queue:
                self.requeue(task)

    def eta(self, now: float) -> float | None:
        """Seconds until the last pending task is expected to finish: per class, its youngest task's start plus
        the class's expected duration — O(classes), not a pass over 100,000 tasks on the event loop. (A class's
        youngest is kept until the class empties, so a youngest that finished early leaves the ETA a little long.)"""
        if not self.pending:
            return None
        durations = self.policy.durations
        ends = [start + durations.expected(*k) for k, start in self._youngest.items() if self._by_class.get(k)]
        return max(0.0, max(ends) - now) if ends else None


def gave_up(row: Task, policy: AdaptivePolicy) -> bool:
    """Whether the engine that wrote ``row`` gave up on it (the policy's rule, read back from the store)."""
    if row.status not in (Status.NOT_FOUND, Status.ERROR) or row.error_since is None or row.last_polled is None:
        return False
    return policy.out_of_time(row.error_since, row.last_polled)


def tracked(row: Task) -> Tracked:
    """A task as first read: asked about again even if an earlier engine gave up on it (a new run tries once
    more; from then on the same rule applies)."""
    errors_status = row.status in (Status.NOT_FOUND, Status.ERROR)
    return Tracked(
        row,
        last_polled=row.last_polled,
        errors=row.consecutive_errors if errors_status else 0,
        error_since=row.error_since if errors_status else None,
        stuck=row.stuck_since is not None,
    )
