"""The one clock for tests that run an event loop: epoch-like time that follows the loop's own clock.

Tests marked ``looptime`` (the ``looptime`` plugin) run on an event loop whose time jumps ahead whenever nothing
is ready to run — every sleeper, the engine, a scripted API, a batch script adding tasks, waits on the same
timeline, and no test waits for wall time to pass. Threads (the store's I/O) and sockets are waited for in real
time, so answers still arrive in order.
"""

from __future__ import annotations

import asyncio

T0 = 1_800_000_000.0  # 2027-01-15 08:00 UTC


class LoopClock:
    """``now()`` is ``start`` plus the loop's time; ``sleep`` is the loop's sleep. Create it inside the loop."""

    def __init__(self, start: float = T0) -> None:
        self.loop = asyncio.get_running_loop()
        self.start = start - self.loop.time()

    def now(self) -> float:
        return self.start + self.loop.time()  # callable from the store's threads too

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))
