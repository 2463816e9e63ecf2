"""What the engine learned, written to the store in batches: answers, stuck flags and tasks given up.

The engine shares the dashboard's event loop, and a write can wait for another process's transaction, so a batch
is written in one transaction off the loop (``offload``), one batch at a time so that writes stay in order. A
batch that fails (a full disk, a locked database) is kept and written with the next one: nothing learned is lost.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from mjdash.core.api.outcomes import Fetch
from mjdash.core.store.database import Store
from mjdash.core.store.rows import Change

FLUSH_EVERY = 50  # answers written in one transaction

Offload = Callable[..., Awaitable[Any]]


class Recorder:
    def __init__(self, store: Store, offload: Offload) -> None:
        self.store = store
        self.offload = offload
        self._answers: list[tuple[Fetch, float]] = []  # and when each was asked
        self._stuck: dict[str, float] = {}  # since when
        self._given_up: dict[str, str] = {}  # and why
        self._lock = asyncio.Lock()

    @property
    def full(self) -> bool:
        return len(self._answers) >= FLUSH_EVERY

    def answer(self, fetch: Fetch, at: float) -> None:
        self._answers.append((fetch, at))

    def stuck(self, task_id: str, since: float) -> None:
        self._stuck[task_id] = since

    def give_up(self, task_id: str, reason: str) -> None:
        self._given_up[task_id] = reason

    async def flush(self) -> list[Change]:
        """Write everything kept so far in one transaction; returns the status changes."""
        async with self._lock:
            if not (self._answers or self._stuck or self._given_up):
                return []
            answers, self._answers = self._answers, []
            stuck, self._stuck = self._stuck, {}
            given_up, self._given_up = self._given_up, {}
            try:
                changes: list[Change] = await self.offload(
                    self.store.record,
                    [fetch for fetch, _ in answers],
                    polled_at={fetch.task_id: at for fetch, at in answers},
                    stuck=stuck,
                    given_up=given_up,
                )
            except BaseException:
                self._answers[:0] = answers  # kept for the next flush, in order
                self._stuck = {**stuck, **self._stuck}
                self._given_up = {**given_up, **self._given_up}
                raise
            return changes
