"""What the refresh engine reports to whoever runs it (the dashboard, ``mjdash wait``), through one callback:

* :class:`TaskChanged` — a task's status changed (one per change);
* :class:`TaskErrored` — a request about one task failed (and whether the engine gave up on it);
* :class:`TaskStuck` — a running task passed the age by which 99 % of its kind are done;
* :class:`StateChanged` — the engine's state: polling, paused, rate_limited (with the time it resumes),
  offline (since when), blocked (key rejected, out of credits), idle (nothing to poll);
* :class:`RoundFinished` — once per tick: counts, progress, an ETA, the effective rate and which tasks were
  asked about, for a dashboard to repaint in one batch.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from mjdash.core.api.outcomes import Fetch
from mjdash.core.model import Status
from mjdash.core.store.rows import Change
from mjdash.core.text import safe


class Mode(enum.StrEnum):
    POLLING = "polling"
    IDLE = "idle"
    PAUSED = "paused"
    RATE_LIMITED = "rate_limited"
    OFFLINE = "offline"
    BLOCKED = "blocked"
    FOLLOWING = "following"  # another process's engine polls this database (see engine/lease.py)
    STOPPED = "stopped"


@dataclass(frozen=True)
class EngineState:
    mode: Mode
    since: float
    resume_at: float | None = None
    message: str | None = None

    def describe(self, now: float) -> str:
        """One line for a header or progress bar; the API's message in it is made safe to print."""
        if self.mode is Mode.RATE_LIMITED and self.resume_at is not None:
            return f"rate limited — resuming in {max(0, round(self.resume_at - now))} s"
        if self.mode is Mode.OFFLINE:
            return f"offline for {max(0, round(now - self.since))} s — retrying"
        if self.mode is Mode.BLOCKED:
            return f"paused: {safe(self.message)}" if self.message else "paused"
        if self.mode is Mode.FOLLOWING and self.message:
            return safe(self.message)
        return self.mode.value


@dataclass(frozen=True)
class TaskChanged:
    change: Change
    at: float


@dataclass(frozen=True)
class TaskErrored:
    fetch: Fetch
    at: float
    gave_up: bool = False


@dataclass(frozen=True)
class TaskStuck:
    task_id: str
    at: float
    age: float  # seconds since it was created
    expected: float  # the expected duration of its kind, in seconds


@dataclass(frozen=True)
class StateChanged:
    state: EngineState


@dataclass(frozen=True)
class RoundFinished:
    at: float
    requests: int
    changes: int
    total: int
    done: int
    pending: int
    eta: float | None  # seconds until the last pending task is expected to finish
    rate: float = 0.0  # the effective rate, requests per second (below the configured one after throttles)
    configured_rate: float = 0.0
    stuck: int = 0  # tasks flagged stuck and still running
    counts: dict[Status, int] = field(default_factory=dict)  # tasks per status
    polled: frozenset[str] = frozenset()  # tasks asked about this round (changed or not)

    @property
    def rate_limited(self) -> bool:
        return self.rate < self.configured_rate - 1e-9

    def describe_rate(self) -> str:
        text = f"{self.rate:.2g}/s" if self.rate < 10 else f"{self.rate:.0f}/s"
        return f"{text} (limit {self.configured_rate:g}/s)" if self.rate_limited else text


Event = TaskChanged | TaskErrored | TaskStuck | StateChanged | RoundFinished
