"""The test clocks: ``FakeClock`` (time moves only when something sleeps on it) and ``LoopClock`` (epoch-like
time that follows the event loop's own clock, for tests on the ``looptime`` plugin's virtual timeline).

Tests marked ``looptime`` run on an event loop whose time jumps ahead whenever nothing is ready to run — every
sleeper, the engine, a scripted API, a batch script adding tasks, waits on the same timeline, and no test waits
for wall time to pass. Threads (the store's I/O) and sockets are waited for in real time, so answers still arrive
in order.
"""

from __future__ import annotations

import asyncio


class FakeClock:
    """Time moves only when something sleeps; each sleep yields to the loop so other tasks run. ``now`` is epoch
    time (the engine's clock); ``monotonic`` the same time (the HTTP client's retry clock)."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.t = start
        self.slept = 0.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.t

    def monotonic(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        seconds = max(0.0, seconds)
        self.sleeps.append(seconds)
        self.t += seconds
        self.slept += seconds
        await asyncio.sleep(0)


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
