"""Which task to ask about next, in O(log N): two heaps with lazy deletion.

Every pending task that is not in flight is in the queue with two times:

* ``eligible_at`` — the floor: not before this (``min_interval`` after its last look, or its error backoff);
* ``rank`` — the policy's order among eligible tasks: smaller goes first (the time at which the detection delay
  it owes reaches a threshold; forced tasks rank -inf).

A task waits in the *waiting* heap (by ``eligible_at``) and moves to the *ready* heap (by ``rank``) once its floor
has passed. ``pop`` returns the best ready task however far in the future its rank lies — the engine is
work-conserving: budget is never left idle while some task may be asked about. Re-queueing a task (a new answer,
a re-keyed expectation) pushes a new entry and leaves the old one behind as stale: it is skipped when it surfaces.
When stale entries outnumber live ones the heaps are compacted a slice at a time (see :class:`_Heap`): rebuilt
in one go, 100,000 re-ranked tasks cost one call 57–103 ms, a stall of the dashboard's event loop.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Any

PROMOTE_AT_ONCE = 1024  # tasks moved to the ready heap per call, at most (about 2 ms)
MIGRATE_PER_PUT = 4  # entries a compaction moves per put: amortised O(1), and 500 re-ranks a pass cost ~2 ms


class _Heap:
    """A binary heap with lazily deleted entries, compacted without a stall.

    ``compact`` makes the current array a *legacy* heap and starts an empty one; each later ``migrate`` moves a
    few entries from the legacy array's end — taking the last element keeps an array a heap — into the new
    heap, dropping the stale ones. Until the legacy heap is empty both are consulted, so the smallest entry is
    always the smaller of their two tops."""

    def __init__(self, live: Callable[[Any], bool]) -> None:
        self.items: list[Any] = []
        self.legacy: list[Any] = []
        self._live = live

    def __len__(self) -> int:
        return len(self.items) + len(self.legacy)

    def push(self, entry: Any) -> None:
        heapq.heappush(self.items, entry)

    def peek(self) -> Any | None:
        items, legacy = self.items, self.legacy
        if items and legacy:
            return items[0] if items[0] < legacy[0] else legacy[0]
        return items[0] if items else (legacy[0] if legacy else None)

    def pop(self) -> Any:
        items, legacy = self.items, self.legacy
        if legacy and (not items or legacy[0] < items[0]):
            return heapq.heappop(legacy)
        return heapq.heappop(items)

    @property
    def compacting(self) -> bool:
        return bool(self.legacy)

    def compact(self) -> None:
        if not self.legacy:
            self.items, self.legacy = [], self.items

    def migrate(self, budget: int = MIGRATE_PER_PUT) -> None:
        legacy, items, live = self.legacy, self.items, self._live
        for _ in range(min(budget, len(legacy))):
            entry = legacy.pop()
            if live(entry):
                heapq.heappush(items, entry)


class DueQueue:
    def __init__(self) -> None:
        self._gen: dict[str, int] = {}  # live tasks -> the generation of their one valid entry
        gen = self._gen
        # (eligible_at, rank, seq, task_id, gen) and (rank, seq, task_id, gen)
        self._waiting = _Heap(lambda e: gen.get(e[3]) == e[4])
        self._ready = _Heap(lambda e: gen.get(e[2]) == e[3])
        self._seq = 0

    def __len__(self) -> int:
        return len(self._gen)

    def __contains__(self, task_id: object) -> bool:
        return task_id in self._gen

    @property
    def entries(self) -> int:
        """Entries held, stale ones included (what compaction keeps below about twice the live tasks)."""
        return len(self._waiting) + len(self._ready)

    def put(self, task_id: str, eligible_at: float, rank: float) -> None:
        """Queue (or re-queue) a task; any earlier entry for it becomes stale."""
        gen = self._gen.get(task_id, 0) + 1
        self._gen[task_id] = gen
        self._seq += 1
        self._waiting.push((eligible_at, rank, self._seq, task_id, gen))
        self._compact()

    def discard(self, task_id: str) -> None:
        self._gen.pop(task_id, None)

    def pop(self, now: float) -> str | None:
        """The best task whose floor has passed, taken out of the queue; None when none may be asked yet."""
        self._promote(now)
        ready = self._ready
        while len(ready):
            _, _, task_id, gen = ready.pop()
            if self._gen.get(task_id) == gen:
                del self._gen[task_id]
                return task_id
        return None

    def next_eligible(self) -> float | None:
        """When the earliest waiting task's floor passes (None when nothing waits)."""
        waiting = self._waiting
        while (top := waiting.peek()) is not None:
            eligible_at, _, _, task_id, gen = top
            if self._gen.get(task_id) == gen:
                return float(eligible_at)
            waiting.pop()
        return None

    def _promote(self, now: float) -> None:
        """Move tasks whose floor has passed to the ready heap, at most PROMOTE_AT_ONCE per call: 100,000 tasks
        eligible at start (or re-ranked in chunks) are promoted over a few calls, earliest floor (then best rank)
        first, instead of stalling the event loop for one call (0.3 s) or scanning the whole heap each time."""
        waiting, ready = self._waiting, self._ready
        for _ in range(PROMOTE_AT_ONCE):
            top = waiting.peek()
            if top is None or top[0] > now:
                return
            _, rank, seq, task_id, gen = waiting.pop()
            if self._gen.get(task_id) == gen:
                ready.push((rank, seq, task_id, gen))

    def _compact(self) -> None:
        """Keep stale entries below about as many as live ones, a few per put (stale entries come from puts: a
        slice per call would still rebuild everything within one pass that re-ranks 500 tasks)."""
        for heap in (self._waiting, self._ready):
            if heap.compacting:
                heap.migrate()
            elif len(heap) > 2 * len(self._gen) + 64:
                heap.compact()
