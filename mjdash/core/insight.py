"""A batch at a glance: counts and progress, durations per kind, throughput, failure groups and stuck tasks.

One pass over the tasks (``Summary.of``), no I/O: ``mjdash summary`` feeds it the watchlist's rows, and the
credits come from the API separately. Expected durations are learned from the batch's finished tasks by the
engine's own :class:`~mjdash.core.engine.schedule.Durations`, so the summary's ETA and "expected" agree with
what the engine ranks by.
"""

from __future__ import annotations

import dataclasses
import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from mjdash.core.engine.schedule import RECENT, Durations, norm_speed
from mjdash.core.model import Status, Task
from mjdash.core.triage import FailureGroup, group_failures

RECENT_WINDOW = 600.0  # seconds of "recent" throughput
HISTOGRAM_BINS = 24
CHART_MINUTES = 60  # completions per minute over the last hour


@dataclass(frozen=True)
class KindDurations:
    task_type: str | None
    speed: str | None
    count: int
    p50_s: float
    p95_s: float


@dataclass(frozen=True)
class StuckTask:
    task_id: str
    age_s: float
    expected_s: float


@dataclass(frozen=True)
class Summary:
    counts: dict[Status, int]
    total: int
    done: int
    eta_s: float | None
    durations: list[KindDurations]
    recent_per_min: float  # completions per minute over the last RECENT_WINDOW seconds
    batch_per_min: float  # …and since the batch's first task was created or added
    failures: list[FailureGroup]
    stuck: list[StuckTask]
    credits: float | None = None
    histogram: tuple[list[int], float, float] = ([], 0.0, 0.0)  # durations of successes: counts per bin, range
    per_minute: list[int] = dataclasses.field(default_factory=list)  # completions, a minute each, oldest first

    @property
    def done_fraction(self) -> float:
        return self.done / self.total if self.total else 1.0

    @classmethod
    def of(cls, tasks: Iterable[Task], now: float) -> Summary:
        rows = list(tasks)
        counts = Counter(task.status for task in rows)
        learned = Durations()
        by_kind: dict[tuple[str | None, str | None], list[float]] = {}
        finishes: list[float] = []
        for task in rows:
            if task.completed_at is not None and task.status.is_final:
                finishes.append(task.completed_at)
            if task.status is Status.SUCCESS and (took := task.duration_s) is not None:
                by_kind.setdefault((task.task_type, norm_speed(task.speed)), []).append(took)
        for (task_type, speed), values in by_kind.items():
            learned.learn_all((task_type, speed, took) for took in values[-RECENT:])
        durations = [
            KindDurations(kind[0], kind[1], len(values), quantile(values, 0.5), quantile(values, 0.95))
            for kind, values in sorted(by_kind.items(), key=lambda kv: (str(kv[0][0]), str(kv[0][1])))
        ]
        pending = [task for task in rows if not task.is_final and task.status is not Status.ERROR]
        ends = [_start(task) + learned.expected(task.task_type, task.speed) for task in pending]
        stuck = [
            StuckTask(task.task_id, now - _start(task), learned.expected(task.task_type, task.speed))
            for task in pending
            if task.stuck_since is not None and task.status is Status.GENERATING
        ]
        successes = [d for values in by_kind.values() for d in values]
        first = min((_start(task) for task in rows), default=now)
        span_min = max(now - first, 60.0) / 60
        recent = sum(1 for at in finishes if now - RECENT_WINDOW <= at <= now)
        return cls(
            counts=dict(counts),
            total=len(rows),
            done=sum(n for status, n in counts.items() if status.is_final),
            eta_s=max(0.0, max(ends) - now) if ends else None,
            durations=durations,
            recent_per_min=recent / (RECENT_WINDOW / 60),
            batch_per_min=len(finishes) / span_min,
            failures=group_failures(rows),
            stuck=sorted(stuck, key=lambda s: -s.age_s),
            histogram=histogram(successes),
            per_minute=per_minute(finishes, now),
        )

    def to_json(self) -> dict[str, object]:
        """The ``summary --json`` object."""
        return {
            "counts": {status.value: n for status, n in sorted(self.counts.items()) if n},
            "total": self.total,
            "done_fraction": round(self.done_fraction, 4),
            "eta_s": None if self.eta_s is None else round(self.eta_s, 1),
            "durations": [
                {"task_type": d.task_type, "speed": d.speed, "count": d.count, "p50_s": d.p50_s, "p95_s": d.p95_s}
                for d in self.durations
            ],
            "throughput_per_min": {"last_10_min": round(self.recent_per_min, 2), "batch": round(self.batch_per_min, 2)},
            "failures": [group.to_json() for group in self.failures],
            "stuck": [
                {"task_id": s.task_id, "age_s": round(s.age_s), "expected_s": round(s.expected_s)} for s in self.stuck
            ],
            "credits": self.credits,
        }


def histogram(values: list[float], bins: int = HISTOGRAM_BINS) -> tuple[list[int], float, float]:
    """How many values fall in each of ``bins`` equal bins between the smallest and the largest."""
    if not values:
        return [], 0.0, 0.0
    lo, hi = min(values), max(values)
    width = (hi - lo) / bins or 1.0
    counts = [0] * bins
    for value in values:
        counts[min(bins - 1, int((value - lo) / width))] += 1
    return counts, lo, hi


def per_minute(finishes: list[float], now: float, minutes: int = CHART_MINUTES) -> list[int]:
    """Completions in each of the last ``minutes`` minutes, oldest first."""
    counts = [0] * minutes
    for at in finishes:
        back = int((now - at) // 60)
        if 0 <= back < minutes:
            counts[minutes - 1 - back] += 1
    return counts


def _start(task: Task) -> float:
    return task.created_at if task.created_at is not None else (task.added_at or 0.0)


def quantile(values: list[float], q: float) -> float:
    """The q-quantile (inclusive method) to a tenth; the value itself for one value."""
    if len(values) == 1:
        return round(values[0], 1)
    return round(statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1], 1)
