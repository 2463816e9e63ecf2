"""The clock the engine runs on. Injected everywhere time matters, so tests drive it and never sleep."""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch (comparable with the API's timestamps)."""
        ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class FakeClock:
    """Time moves only when something sleeps; each sleep yields to the loop so other tasks run."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.t = start
        self.slept = 0.0

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        seconds = max(0.0, seconds)
        self.t += seconds
        self.slept += seconds
        await asyncio.sleep(0)


class TokenBucket:
    """At most ``rate`` acquisitions per clock second on average, bursts up to ``burst``."""

    def __init__(self, rate: float, clock: Clock, burst: float | None = None) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.capacity = max(1.0, burst if burst is not None else min(rate, 4.0))
        self.clock = clock
        self._tokens = self.capacity
        self._last = clock.now()

    def _refill(self) -> None:
        now = self.clock.now()
        self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
        self._last = now

    def wait_time(self) -> float:
        """Seconds until a token is available (0 when one is)."""
        self._refill()
        if self._tokens >= 1.0 - 1e-6:  # float rounding at epoch-sized times must not stall us
            return 0.0
        return max(0.001, (1.0 - self._tokens) / self.rate)

    async def acquire(self) -> None:
        while (wait := self.wait_time()) > 0:
            await self.clock.sleep(wait)
        self._tokens = max(0.0, self._tokens - 1.0)
