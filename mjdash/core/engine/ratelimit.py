"""How fast the engine may ask kie.ai: a strict limiter, and the AIMD controller that finds the server's limit.

**Strict windows.** A server that counts requests per second answers 429 to the R+1-th request in any one-second
window, so a token bucket with a burst above one is not enough: after an idle spell it would send its whole
burst at once. :class:`RateLimiter` enforces two rules together: consecutive requests are at least
``(1 + margin) / rate`` apart (even pacing, no burst ever, at start or after a pause), and no window of
``1 + max(margin, JITTER)`` seconds holds more than ``floor(rate)`` of them. The margin absorbs the jitter between
when a request leaves and when the server stamps it; the window's is absolute, because so is the jitter: a request
that opens a new connection arrived 35 ms late against a loopback simulator, which put 9 requests of an 8/s
engine into one of the server's seconds (``tests/integration/test_one_engine.py``).

**AIMD.** :class:`Aimd` keeps the rate the engine actually uses ("effective") at or below the configured one.
A 429 or 455 cuts it multiplicatively (once per episode: the answers to requests already in flight do not cut it
again); quiet time raises it additively — quickly while well below the rate at which the last cut happened,
slowly near and above it — so against a server limited below the configured rate the engine settles just under
the real limit and probes past it only now and then (``benchmarks/poll_efficiency.py`` counts the 429s).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from mjdash.core.clock import Clock

MIN_RATE = 0.05  # requests per second: AIMD never goes below one request every 20 s
JITTER = 0.05  # seconds a request may arrive later than the next one's pacing assumes (a new connection)


def check_rate(rate: float) -> float:
    if not (isinstance(rate, int | float) and math.isfinite(rate) and rate > 0):
        raise ValueError("rate must be a positive number")
    return float(rate)


class RateLimiter:
    """At most ``rate`` requests in any one-second window, evenly paced; ``set_rate`` takes effect at once."""

    def __init__(self, rate: float, clock: Clock, *, margin: float = 0.02) -> None:
        self.clock = clock
        self.margin = margin
        self._sent: deque[float] = deque()
        self.rate = 0.0
        self._gap = 0.0
        self._per_window = 1
        self.set_rate(rate)

    def set_rate(self, rate: float) -> None:
        self.rate = check_rate(rate)
        self._gap = (1.0 + self.margin) / self.rate
        self._per_window = max(1, math.floor(self.rate + 1e-9))

    @property
    def per_second(self) -> float:
        """The most requests any one-second window will see: ``rate``, or its whole part when that is smaller."""
        return min(self.rate, float(self._per_window))

    def delay(self) -> float:
        """Seconds until the next request may leave (0 when it may now)."""
        if not self._sent:
            return 0.0
        now = self.clock.now()
        wait = self._sent[-1] + self._gap - now
        if len(self._sent) >= self._per_window:
            wait = max(wait, self._sent[-self._per_window] + 1.0 + max(self.margin, JITTER) - now)
        return max(0.0, wait)

    def take(self) -> None:
        """Count a request leaving now (call when ``delay()`` is 0)."""
        self._sent.append(self.clock.now())
        while len(self._sent) > self._per_window:
            self._sent.popleft()

    async def acquire(self) -> None:
        while (wait := self.delay()) > 0:
            await self.clock.sleep(wait)
        self.take()


@dataclass
class Aimd:
    """The effective rate: cut by ``decrease`` on a throttle, raised by steps while answers come back."""

    ceiling: float  # the configured rate: never exceeded
    rate: float = 0.0  # the effective rate (0: start at the ceiling)
    decrease: float = 0.7
    hold: float = 2.0  # seconds after a cut during which further throttles do not cut again
    fast_step: float = 0.1  # of the last throttled rate (or the ceiling), per ``every`` s, while below 85 % of it
    slow_step: float = 0.005  # of the same, per ``every`` seconds, near or above it
    every: float = 2.0
    throttled_at_rate: float | None = None  # the effective rate when the server last said "too fast"
    _last_cut: float = float("-inf")
    _next_raise: float = float("-inf")

    def __post_init__(self) -> None:
        self.ceiling = check_rate(self.ceiling)
        self.rate = min(self.ceiling, self.rate) if self.rate > 0 else self.ceiling

    @property
    def limited(self) -> bool:
        return self.rate < self.ceiling - 1e-9

    def resume_from(self, rate: float) -> None:
        """Start from a rate learned before (by the engine that led before this one), within the ceiling."""
        if rate > 0:
            self.rate = max(MIN_RATE, min(self.ceiling, rate))
            self.throttled_at_rate = self.rate if self.limited else None

    def throttled(self, now: float) -> bool:
        """The server said too fast: cut the rate, once per episode. True when the rate changed."""
        self._next_raise = max(self._next_raise, now + self.every)
        if now - self._last_cut < self.hold:
            return False
        self._last_cut = now
        self.throttled_at_rate = self.rate
        self.rate = max(MIN_RATE, self.rate * self.decrease)
        return True

    def answered(self, now: float) -> bool:
        """An answer came back without a throttle: step the rate up when it is time. True when it changed."""
        if not self.limited or now < self._next_raise:
            return False
        self._next_raise = now + self.every
        base = self.throttled_at_rate or self.ceiling
        step = (self.slow_step if self.rate >= 0.85 * base else self.fast_step) * base
        self.rate = min(self.ceiling, self.rate + step)
        return True
