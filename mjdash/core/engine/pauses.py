"""When the engine may send again after an answer that concerns every task: a throttle (429, 455), a rejected
key or empty account, or no usable answer at all. Offline (three failures in a row) it probes with growing,
jittered pauses — at most 15 s for the first ten minutes, then a minute — for as long as it takes, and the
arithmetic never overflows however long that is."""

from __future__ import annotations

import random

OFFLINE_AFTER = 3  # consecutive failures without a usable answer
OFFLINE_PROBE_EARLY = 15.0  # the longest pause between probes in the first ten minutes offline
OFFLINE_PROBE_LATE = 60.0
OFFLINE_EARLY_FOR = 600.0
BLOCKED_PROBE = 60.0
THROTTLE_DEFAULT = 5.0  # seconds, when a throttle comes without Retry-After


class Pauses:
    def __init__(self, seed: int | None = None) -> None:
        self.resume_at = 0.0
        self.failures = 0
        self.offline_since: float | None = None
        self._rng = random.Random(seed)

    def wait(self, now: float) -> float:
        """Seconds before the next request may leave (0: now)."""
        return max(0.0, self.resume_at - now)

    def hurry(self, now: float) -> None:
        """The user asked for a refresh: probe now."""
        self.resume_at = min(self.resume_at, now)

    def throttled(self, now: float, retry_after: float | None) -> None:
        wait = retry_after if retry_after is not None else THROTTLE_DEFAULT
        self.resume_at = max(self.resume_at, now + min(wait, 3600.0))

    def blocked(self, now: float) -> None:
        self.resume_at = now + BLOCKED_PROBE

    def unavailable(self, now: float) -> bool:
        """One more failure without a usable answer; True when the engine is offline (and pauses)."""
        self.failures += 1
        if self.failures < OFFLINE_AFTER:
            return False
        if self.offline_since is None:
            self.offline_since = now
        cap = OFFLINE_PROBE_EARLY if now - self.offline_since < OFFLINE_EARLY_FOR else OFFLINE_PROBE_LATE
        base = min(cap, 2.0 ** min(10, self.failures - OFFLINE_AFTER + 1))
        self.resume_at = now + base * self._rng.uniform(0.8, 1.0)
        return True

    def answered(self) -> None:
        self.failures = 0
        self.offline_since = None
