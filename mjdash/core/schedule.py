"""When to ask about a task: the adaptive policy of the refresh engine (and the naive one it is measured against).

The budget (requests per second) is spent where a change is most likely:

* **Expected duration.** Each task has an expected duration E, learned from tasks already finished in the store:
  the median duration for its (task type, speed), else for its speed, else for all tasks; without enough data,
  Midjourney's usual figures (turbo 30 s, fast 60 s, relaxed 5 min; video twice that).
* **Young tasks wait.** Until a task reaches the age by which 2 % of such tasks are done (about 0.4·E) it is
  due only every 0.1·E (and never more often than every ``min_interval``): it almost certainly has not
  finished, and its low priority gives it only budget that nothing likelier wants.
* **The spread is learned too.** F below is log-logistic with shape k = π / (σ·√3), σ the standard deviation
  of the log durations of finished tasks of that (type, speed) — tight when durations are alike, wide if not.
* **Most delay owed first.** Among tasks that are due, the engine asks first about the one whose answer would
  cut the most detection delay: the chance it finished since it was last asked, given that it had not,
  p = (F(now) − F(then)) / (1 − F(then)), times the expected time since it finished, about half the gap since
  then. F(x) = x^k / (1 + x^k), x = age / E, is a log-logistic "finished by now" curve centred on E. A task
  past its typical duration therefore comes before a young one, and no task is starved: the owed delay of a
  task left alone keeps growing. A task never asked about counts as asked about when it was added (type and
  speed unknown: E is the median of everything finished), so a just-submitted batch does not spend a scarce
  budget on tasks that cannot have finished yet; with budget to spare, new tasks are asked about at once.
* **Overdue tasks slow down.** Past 2·E the interval grows with the overrun (at most ``max_interval``): a stuck
  job should not eat the budget of the others.
* **Errors back off per task.** A task the API does not know (or rejects) is retried after
  ``error_base``·2^(n−1) seconds, at most ``error_max``, and given up after ``give_up_after`` seconds.

The naive policy polls every pending task in turn, oldest poll first — "every task every N seconds" at the same
budget — and exists to measure the adaptive one against (``benchmarks/poll_efficiency.py``).
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from mjdash.core.model import Status

DEFAULT_BY_SPEED = {"turbo": 30.0, "fast": 60.0, "relaxed": 300.0, "relax": 300.0}
DEFAULT_DURATION = 90.0
MIN_SAMPLES = 3
DEFAULT_SHAPE = 4.0  # log-logistic shape k: larger = durations more alike
SHAPE_SAMPLES = 8


@dataclass
class Tracked:
    """The engine's view of one task."""

    task_id: str
    status: Status
    added_at: float
    created_at: float | None = None
    task_type: str | None = None
    speed: str | None = None
    last_polled: float | None = None
    errors: int = 0
    error_since: float | None = None
    next_due: float = 0.0
    forced: bool = False
    gave_up: bool = False

    def age(self, now: float) -> float:
        return max(0.0, now - (self.created_at if self.created_at is not None else self.added_at))

    @property
    def pending(self) -> bool:
        """Still to be polled: not final (unless forced), not given up."""
        return self.forced or (not self.status.is_final and not self.gave_up)


@dataclass
class Durations:
    """Typical durations, learned from finished tasks (medians cached until the next sample)."""

    samples: dict[tuple[str | None, str | None], list[float]] = field(default_factory=lambda: defaultdict(list))
    _cache: dict[tuple[str | None, ...], float] = field(default_factory=dict)

    def learn(self, task_type: str | None, speed: str | None, seconds: float) -> None:
        if 0 < seconds < 86_400:
            self.samples[(task_type, _norm(speed))].append(seconds)
            self._cache.clear()

    def learn_all(self, rows: Iterable[tuple[str | None, str | None, float]]) -> None:
        for task_type, speed, seconds in rows:
            self.learn(task_type, speed, seconds)

    def expected(self, task_type: str | None, speed: str | None) -> float:
        key = (task_type, _norm(speed))
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self._expected(*key)
        return found

    def shape(self, task_type: str | None, speed: str | None) -> float:
        """The spread of durations as a log-logistic shape k = π / (σ·√3), σ the std of log durations."""
        key = ("shape", task_type, _norm(speed))
        found = self._cache.get(key)
        if found is None:
            values = self.samples.get((task_type, _norm(speed)), [])[-200:]
            k = DEFAULT_SHAPE
            if len(values) >= SHAPE_SAMPLES:
                sigma = statistics.pstdev(math.log(v) for v in values)
                k = min(10.0, max(2.0, math.pi / (max(sigma, 1e-3) * math.sqrt(3))))
            found = self._cache[key] = k
        return found

    def _expected(self, task_type: str | None, speed: str | None) -> float:
        exact = self.samples.get((task_type, speed), [])
        if len(exact) >= MIN_SAMPLES:
            return statistics.median(exact[-200:])
        by_speed = [s for (_, sp), values in self.samples.items() if sp == speed for s in values[-200:]]
        if speed is not None and len(by_speed) >= MIN_SAMPLES:
            base = statistics.median(by_speed)
        elif speed in DEFAULT_BY_SPEED:
            base = DEFAULT_BY_SPEED[speed]
        else:
            everything = [s for values in self.samples.values() for s in values[-200:]]
            base = statistics.median(everything) if len(everything) >= MIN_SAMPLES else DEFAULT_DURATION
        if (task_type or "").startswith("mj_video") and len(exact) < MIN_SAMPLES:
            base *= 2
        return base


def _norm(speed: str | None) -> str | None:
    return speed.strip().lower() if isinstance(speed, str) and speed.strip() else None


def finished_by(x: float, k: float = 3.0) -> float:
    """A smooth 'share finished by age x·E' curve: 0 at 0, ½ at E, → 1."""
    if x <= 0:
        return 0.0
    xk = x**k
    return xk / (1.0 + xk)


@dataclass
class AdaptivePolicy:
    min_interval: float = 3.0
    max_interval: float = 60.0
    error_base: float = 30.0
    error_max: float = 600.0
    give_up_after: float = 1800.0
    durations: Durations = field(default_factory=Durations)

    def expected(self, task: Tracked) -> float:
        return self.durations.expected(task.task_type, task.speed)

    def shape(self, task: Tracked) -> float:
        return self.durations.shape(task.task_type, task.speed)

    def priority(self, task: Tracked, now: float) -> float:
        """The detection delay already owed: P(finished since the last poll | not before) × half the gap."""
        if task.forced:
            return 1e12
        e, k = self.expected(task), self.shape(task)
        last = task.last_polled if task.last_polled is not None else task.added_at
        before = finished_by(task.age(last) / e, k)
        chance = (finished_by(task.age(now) / e, k) - before) / max(1e-9, 1.0 - before)
        return chance * (now - last) / 2

    def after_poll(self, task: Tracked, now: float) -> float:
        """When a generating task may be polled next."""
        e = self.expected(task)
        age = task.age(now)
        # Young: wait until 2 % of such tasks are done by that age (about 0.38·E for k = 4).
        young_until = e * (0.02 / 0.98) ** (1.0 / self.shape(task))
        if age < young_until:  # a look now and then (spare budget only: its priority is low)
            return now + max(self.min_interval, min(young_until - age, 0.1 * e))
        overrun = max(0.0, age - 2 * e)
        return now + min(self.max_interval, self.min_interval * (1 + overrun / e))

    def after_error(self, task: Tracked, now: float) -> float:
        return now + min(self.error_max, self.error_base * 2 ** max(0, task.errors - 1))


@dataclass
class NaivePolicy(AdaptivePolicy):
    """Every pending task in turn, least recently polled first, as fast as the budget allows."""

    def priority(self, task: Tracked, now: float) -> float:
        if task.last_polled is None:
            return 1e12
        return now - task.last_polled

    def after_poll(self, task: Tracked, now: float) -> float:
        return now
