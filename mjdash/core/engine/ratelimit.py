"""How fast the engine may ask kie.ai: a strict limiter, and the AIMD controller that finds the server's limit.

**Strict windows.** A server that counts requests per second answers 429 to the R+1-th request in any one-second
window, so a token bucket with a burst above one is not enough: after an idle spell it would send its whole
burst at once. :class:`RateLimiter` enforces two rules together: consecutive requests are at least
``(1 + margin) / rate`` apart (even pacing, no burst ever, at start or after a pause), and no window of
``1 + max(margin, JITTER)`` seconds holds more than ``floor(rate)`` of them. The margin absorbs the jitter between
when a request leaves and when the server stamps it; the window's is absolute, because so is the jitter. A request
that opens a connection arrives later still (35 ms on loopback, well over 50 ms on a busy machine), which put 9
requests of an 8/s engine into one of the server's seconds (``tests/integration/test_one_engine.py``): such a
request is counted in the window as arriving ``COLD`` seconds late.

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
JITTER = 0.05  # seconds a request may arrive later than the next one's pacing assumes
COLD = 0.25  # seconds a request that opens a connection may arrive late (connect, TLS; more on a busy machine)
KEEPALIVE = 5.0  # seconds without requests after which the HTTP pool's connections have closed (httpx's default)


def check_rate(rate: float) -> float:
    if not (isinstance(rate, int | float) and math.isfinite(rate) and rate > 0):
        raise ValueError("rate must be a positive number")
    return float(rate)


class RateLimiter:
    """At most ``rate`` requests in any one-second window, evenly paced; ``set_rate`` takes effect at once.

    The window is counted on when requests are expected to *arrive*. A request that opens a connection (one of
    the first ``cold`` after a start, or after ``KEEPALIVE`` seconds without requests, when the pool's
    connections have closed) waits for the connect before it is sent, so it is counted ``COLD`` seconds late;
    the requests after it on warm connections must not overtake it into the same second."""

    def __init__(self, rate: float, clock: Clock, *, margin: float = 0.02, cold: int = 0) -> None:
        self.clock = clock
        self.margin = margin
        self.cold = cold
        self._sent: deque[float] = deque()  # when the last requests left (for the pacing)
        self._arrive: deque[float] = deque()  # when they are expected at the server, at the latest (the window)
        self._warm = 0  # requests sent since the pool was last cold
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
        if len(self._arrive) >= self._per_window:
            nth = sorted(self._arrive)[-self._per_window]  # a few entries: a late cold one may sort after warm ones
            wait = max(wait, nth + 1.0 + max(self.margin, JITTER) - now)
        return max(0.0, wait)

    def take(self) -> None:
        """Count a request leaving now (call when ``delay()`` is 0)."""
        now = self.clock.now()
        if self._sent and now - self._sent[-1] > KEEPALIVE:
            self._warm = 0
        cold = self._warm < self.cold
        self._warm += 1
        self._sent.append(now)
        self._arrive.append(now + (COLD if cold else 0.0))
        while len(self._sent) > self._per_window:
            self._sent.popleft()
        while len(self._arrive) > self._per_window:
            self._arrive.popleft()

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
