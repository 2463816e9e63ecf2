"""Which task to ask about next, in O(log N): two heaps with lazy deletion.

Every pending task that is not in flight is in the queue with two times:

* ``eligible_at`` — the floor: not before this (``min_interval`` after its last look, or its error backoff);
* ``rank`` — the policy's order among eligible tasks: smaller goes first (the time at which the detection delay
  it owes reaches a threshold; forced tasks rank -inf).

A task waits in the *waiting* heap (by ``eligible_at``) and moves to the *ready* heap (by ``rank``) once its floor
has passed. ``pop`` returns the best ready task however far in the future its rank lies — the engine is
work-conserving: budget is never left idle while some task may be asked about. Re-queueing a task (a new answer,
a re-keyed expectation) pushes a new entry and leaves the old one behind as stale: it is skipped when it surfaces,
and the heaps are rebuilt when stale entries outnumber live ones.
"""

from __future__ import annotations

import heapq

_Entry = tuple[float, int, str, int]  # (time, sequence, task_id, generation)
PROMOTE_AT_ONCE = 1024  # tasks moved to the ready heap per call, at most (about 2 ms)


class DueQueue:
    def __init__(self) -> None:
        self._waiting: list[tuple[float, float, int, str, int]] = []  # (eligible_at, rank, seq, task_id, gen)
        self._ready: list[_Entry] = []  # (rank, seq, task_id, gen)
        self._gen: dict[str, int] = {}  # live tasks -> the generation of their one valid entry
        self._seq = 0

    def __len__(self) -> int:
        return len(self._gen)

    def __contains__(self, task_id: object) -> bool:
        return task_id in self._gen

    def put(self, task_id: str, eligible_at: float, rank: float) -> None:
        """Queue (or re-queue) a task; any earlier entry for it becomes stale."""
        gen = self._gen.get(task_id, 0) + 1
        self._gen[task_id] = gen
        self._seq += 1
        heapq.heappush(self._waiting, (eligible_at, rank, self._seq, task_id, gen))
        self._compact()

    def discard(self, task_id: str) -> None:
        self._gen.pop(task_id, None)

    def pop(self, now: float) -> str | None:
        """The best task whose floor has passed, taken out of the queue; None when none may be asked yet."""
        self._promote(now)
        while self._ready:
            _, _, task_id, gen = heapq.heappop(self._ready)
            if self._gen.get(task_id) == gen:
                del self._gen[task_id]
                return task_id
        return None

    def next_eligible(self) -> float | None:
        """When the earliest waiting task's floor passes (None when nothing waits)."""
        while self._waiting:
            eligible_at, _, _, task_id, gen = self._waiting[0]
            if self._gen.get(task_id) == gen:
                return eligible_at
            heapq.heappop(self._waiting)
        return None

    def _promote(self, now: float) -> None:
        """Move tasks whose floor has passed to the ready heap, at most PROMOTE_AT_ONCE per call: 100,000 tasks
        eligible at start (or re-ranked in chunks) are promoted over a few calls, earliest floor (then best rank)
        first, instead of stalling the event loop for one call (0.3 s) or scanning the whole heap each time."""
        waiting, ready = self._waiting, self._ready
        for _ in range(PROMOTE_AT_ONCE):
            if not waiting or waiting[0][0] > now:
                return
            _, rank, seq, task_id, gen = heapq.heappop(waiting)
            if self._gen.get(task_id) == gen:
                heapq.heappush(ready, (rank, seq, task_id, gen))

    def _compact(self) -> None:
        live = len(self._gen)
        if len(self._waiting) + len(self._ready) <= 2 * live + 64:
            return
        self._waiting = [e for e in self._waiting if self._gen.get(e[3]) == e[4]]
        self._ready = [e for e in self._ready if self._gen.get(e[2]) == e[3]]
        heapq.heapify(self._waiting)
        heapq.heapify(self._ready)
