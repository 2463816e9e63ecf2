"""When to ask about a task: the adaptive policy of the refresh engine (and the naive one it is measured against).

The engine is **work-conserving**: whenever a request may leave (rate and concurrency allow) it asks about the
best pending task whose *floor* has passed. The policy gives every task two times (see ``due_queue.py``):

* **The floor** — ``min_interval`` (3 s) after its last look, or its error backoff. Floors stop the engine from
  hammering one task; they are never waiting rooms: with N pending tasks and rate R each task is looked at about
  every max(min_interval, N/R) seconds, whatever its prior says.
* **The rank** — the order among tasks past their floor, which decides where a scarce budget goes. A task's rank
  is the time at which the detection delay it owes reaches ``owed`` seconds: the chance that it finished since its
  last look, given that it had not, times half the time since, p = (F(now) − F(then)) / (1 − F(then)) · gap / 2.
  F(x) = x^k / (1 + x^k), x = age / E, is a log-logistic "finished by now" curve centred on the expected duration
  E. A young task (little chance yet) ranks late, a task near E ranks early, and a task long past E slowly drifts
  later (its hazard falls) but is never starved: its owed delay keeps growing. A task never asked about counts as
  asked about when it was added. A stuck task ranks as if due five minutes after its last look: when the budget
  is scarce it comes after the others, yet it is never left for longer.

Expected durations are learned per (task type, speed) from finished tasks (``Durations``). The first completions
move the estimate at once — a geometric mean of the prior (weighted as one sample) and what was seen, then the
median once there are three — so a batch whose tasks all finish in 10 s against a 60 s prior is tracked as such
within a few completions, and the engine re-ranks the pending tasks of a class whose estimate moved by more than
a quarter. The spread is learned too: k = π / (σ·√3), σ the standard deviation of the log durations.

**Stuck** is a task whose age passed the learned 99th percentile of its class, or ``stuck_factor`` × its expected
duration while there are too few samples. **Errors** back off per task (``error_base``·2^(n−1), at most
``error_max``) and a task is given up after ``give_up_after`` seconds of errors.

The naive policy asks about every pending task in turn, least recently asked first, with the same floor — what a
`curl` loop at the same rate does — and exists to measure the adaptive one against
(``benchmarks/poll_efficiency.py``).
"""

from __future__ import annotations

import functools
import math
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from mjdash.core.model import Status, Task

DEFAULT_BY_SPEED = {"turbo": 30.0, "fast": 60.0, "relaxed": 300.0, "relax": 300.0}
DEFAULT_DURATION = 90.0
MIN_SAMPLES = 3  # from here on the median of what was seen; below, blended with the prior
DEFAULT_SHAPE = 4.0  # log-logistic shape k: larger = durations more alike
SHAPE_SAMPLES = 8
STUCK_SAMPLES = 20  # from here on "stuck" is the learned 99th percentile
KEEP_SAMPLES = 500  # per class
RECENT = 200  # samples the estimates are taken from
STUCK_EVERY = 300.0  # a stuck task ranks as if it were due this long after its last look (low, never starved)

Klass = tuple[str | None, str | None]


@dataclass(slots=True)
class Tracked:
    """The engine's scheduling bookkeeping for one task. The task itself is ``task``, its one record: the row the
    watchlist gave, merged with what the engine's own answers said since."""

    task: Task
    last_polled: float | None = None  # when it was last asked about (by any engine on the database)
    errors: int = 0  # failed requests in a row: the backoff
    error_since: float | None = None  # since when they have been failing: the give-up rule
    forced: bool = False  # asked about once more even though final or given up (a user's refresh)
    gave_up: bool = False
    stuck: bool = False
    klass: Klass | None = None  # the class it is filed under for re-ranking (set by the engine)

    @property
    def task_id(self) -> str:
        return self.task.task_id

    @property
    def status(self) -> Status:
        return self.task.status

    @property
    def added_at(self) -> float:
        return self.task.added_at or 0.0

    @property
    def created_at(self) -> float | None:
        return self.task.created_at

    @property
    def task_type(self) -> str | None:
        return self.task.task_type

    @property
    def speed(self) -> str | None:
        return self.task.speed

    def age(self, now: float) -> float:
        return max(0.0, now - (self.created_at if self.created_at is not None else self.added_at))

    @property
    def pending(self) -> bool:
        """Still to be polled: not final (unless forced), not given up."""
        return self.forced or (not self.status.is_final and not self.gave_up)

    @property
    def key(self) -> Klass:
        return (self.task_type, norm_speed(self.speed))


def norm_speed(speed: str | None) -> str | None:
    return speed.strip().lower() if isinstance(speed, str) and speed.strip() else None


@dataclass
class Durations:
    """Typical durations, learned from finished tasks (estimates cached until the next sample)."""

    samples: dict[Klass, list[float]] = field(default_factory=lambda: defaultdict(list))
    # What the tasks still running say (a Kaplan–Meier median, see ``running``): the estimate is at least this.
    at_least: dict[Klass, float] = field(default_factory=dict)
    # …and their Kaplan–Meier 99th percentile (None: the tasks still running hide it): the stuck threshold.
    tail: dict[Klass, float | None] = field(default_factory=dict)
    _cache: dict[tuple[str, str | None, str | None], float] = field(default_factory=dict)

    def learn(self, task_type: str | None, speed: str | None, seconds: float) -> None:
        if 0 < seconds < 86_400:
            values = self.samples[(task_type, norm_speed(speed))]
            values.append(seconds)
            if len(values) > KEEP_SAMPLES:
                del values[: len(values) - KEEP_SAMPLES]
            self._cache.clear()

    def learn_all(self, rows: Iterable[tuple[str | None, str | None, float]]) -> None:
        for task_type, speed, seconds in rows:
            self.learn(task_type, speed, seconds)

    def running(self, task_type: str | None, speed: str | None, ages: list[float]) -> None:
        """Take the ages of the class's tasks still running at their last look. Early completions are the fast
        ones, and a batch far slower than its prior finishes nothing for a while: the Kaplan–Meier median of the
        finished durations with the running ages as censored observations corrects both, before the batch ends."""
        key = (task_type, norm_speed(speed))
        finished = self.samples.get(key, [])[-RECENT:]
        bound, tail = km_quantile(finished, ages, 0.5) or 0.0, km_quantile(finished, ages, 0.99, lower_from=None)
        if bound != self.at_least.get(key, 0.0) or tail != self.tail.get(key, 0.0):
            self.at_least[key], self.tail[key] = bound, tail
            self._cache.clear()

    def expected(self, task_type: str | None, speed: str | None) -> float:
        return self._cached("e", task_type, norm_speed(speed))

    def shape(self, task_type: str | None, speed: str | None) -> float:
        """The spread of durations as a log-logistic shape k = π / (σ·√3), σ the std of log durations."""
        return self._cached("k", task_type, norm_speed(speed))

    def p99(self, task_type: str | None, speed: str | None) -> float | None:
        """The 99th percentile of durations, once there are enough samples and the tasks still running show it: the
        first to finish are the fast ones, and their p99 alone would call a batch's slow tail stuck. None: unknown."""
        value = self._cached("p99", task_type, norm_speed(speed))
        return value if value > 0 else None

    def _cached(self, what: str, task_type: str | None, speed: str | None) -> float:
        key = (what, task_type, speed)
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self._compute(what, task_type, speed)
        return found

    def _compute(self, what: str, task_type: str | None, speed: str | None) -> float:
        exact = self.samples.get((task_type, speed), [])[-RECENT:]
        if what == "k":
            if len(exact) < SHAPE_SAMPLES:
                return DEFAULT_SHAPE
            sigma = statistics.pstdev(math.log(v) for v in exact)
            return min(10.0, max(2.0, math.pi / (max(sigma, 1e-3) * math.sqrt(3))))
        if what == "p99":
            if len(exact) < STUCK_SAMPLES:
                return 0.0
            key = (task_type, speed)
            if key in self.tail:  # the running tasks were looked at: the censored curve decides
                return self.tail[key] or 0.0
            return statistics.quantiles(exact, n=100, method="inclusive")[98]
        floor = self.at_least.get((task_type, speed), 0.0)
        if len(exact) >= MIN_SAMPLES:
            return max(floor, statistics.median(exact))
        prior = self._prior(task_type, speed)
        if not exact:
            return max(floor, prior)
        # The prior counts as one sample: one completion moves a 60 s prior to √(60·seen) at once.
        return max(floor, math.exp((math.log(prior) + sum(math.log(v) for v in exact)) / (1 + len(exact))))

    def _prior(self, task_type: str | None, speed: str | None) -> float:
        """What a class with no samples of its own is expected to take: what its speed took, else the usual figure
        for its speed, else what everything took (the default blended in while there are few samples)."""
        by_speed = [s for (_, sp), values in self.samples.items() if sp == speed for s in values[-RECENT:]]
        if speed is not None and len(by_speed) >= MIN_SAMPLES:
            base = statistics.median(by_speed)
        elif speed in DEFAULT_BY_SPEED:
            base = DEFAULT_BY_SPEED[speed]
        else:
            everything = [s for values in self.samples.values() for s in values[-RECENT:]]
            if len(everything) >= MIN_SAMPLES:
                base = statistics.median(everything)
            else:
                logs = [math.log(DEFAULT_DURATION), *(math.log(v) for v in everything)]
                base = math.exp(sum(logs) / len(logs))
        if (task_type or "").startswith("mj_video"):
            base *= 2
        return base


def km_quantile(finished: list[float], running: list[float], q: float, lower_from: int | None = 5) -> float | None:
    """The Kaplan–Meier ``q`` quantile of durations: ``finished`` are durations, ``running`` ages of tasks not done
    yet (right-censored). When the survival curve never falls to 1 − q, the quantile lies beyond the last finish
    seen and beyond the ``lower_from``-th largest observation (that many outlived it): the larger of the two is a
    safe lower bound (0: too few observations; None when ``lower_from`` is None: unknown)."""
    observed = sorted([(t, 0) for t in finished] + [(t, 1) for t in running])  # at a tie, finishes count first
    at_risk, surviving, last_finish = len(observed), 1.0, 0.0
    for t, censored in observed:
        if not censored:
            surviving *= 1.0 - 1.0 / at_risk
            last_finish = t
            if surviving <= 1.0 - q + 1e-12:
                return t
        at_risk -= 1
    if lower_from is None:
        return None
    return max(last_finish, observed[-lower_from][0]) if len(observed) >= lower_from else 0.0


def km_median(finished: list[float], running: list[float], lower_from: int = 5) -> float:
    """The Kaplan–Meier median (see :func:`km_quantile`)."""
    return km_quantile(finished, running, 0.5, lower_from) or 0.0


def finished_by(x: float, k: float = 3.0) -> float:
    """A smooth 'share finished by age x·E' curve: 0 at 0, ½ at E, → 1."""
    if x <= 0:
        return 0.0
    xk = x**k
    return xk / (1.0 + xk)


@functools.lru_cache(maxsize=65_536)
def owed_gap(age: float, expected: float, shape: float, owed: float, horizon: float) -> float:
    """Seconds after a look (at ``age``) until the detection delay owed reaches ``owed``: bisection on a log
    scale between 0.05 s and ``horizon`` (15 halvings: a ratio precision of about 0.03 %)."""
    before = finished_by(age / expected, shape)
    rest = max(1e-12, 1.0 - before)

    def owes(gap: float) -> float:
        return (finished_by((age + gap) / expected, shape) - before) / rest * gap / 2

    if owes(horizon) < owed:
        return horizon
    lo, hi = math.log(0.05), math.log(horizon)
    for _ in range(15):
        mid = (lo + hi) / 2
        if owes(math.exp(mid)) < owed:
            lo = mid
        else:
            hi = mid
    return math.exp(hi)


@dataclass
class AdaptivePolicy:
    min_interval: float = 3.0
    horizon: float = 3600.0  # the latest a rank may lie after a look
    owed: float = 1.0  # seconds of owed detection delay that make a task due
    error_base: float = 30.0
    error_max: float = 600.0
    give_up_after: float = 1800.0
    stuck_factor: float = 3.0
    durations: Durations = field(default_factory=Durations)

    def errored(self, task: Tracked, now: float) -> bool:
        """Count one more error answer for ``task``; True when it has erred for ``give_up_after`` (give up)."""
        task.errors += 1
        if task.error_since is None:
            task.error_since = now
        return self.out_of_time(task.error_since, now)

    def out_of_time(self, error_since: float, now: float) -> bool:
        """The one give-up rule: errors since ``error_since`` for ``give_up_after`` seconds or more."""
        return now - error_since >= self.give_up_after

    def expected(self, task: Tracked) -> float:
        return self.durations.expected(task.task_type, task.speed)

    def last_look(self, task: Tracked) -> float:
        return task.last_polled if task.last_polled is not None else task.added_at

    def floor(self, task: Tracked) -> float:
        """Not before: ``min_interval`` after the last look, or the error backoff."""
        if task.forced:
            return float("-inf")
        if task.last_polled is None:
            return task.added_at
        if task.errors:
            return task.last_polled + min(self.error_max, self.error_base * 2 ** min(30, max(0, task.errors - 1)))
        return task.last_polled + self.min_interval

    def rank(self, task: Tracked) -> float:
        """Smaller goes first: when the detection delay this task owes reaches ``owed`` seconds."""
        if task.forced:
            return float("-inf")
        if task.errors:
            return self.floor(task)
        last = self.last_look(task)
        age = round(task.age(last), 1)  # rounded: the gap is cached, and a tenth of a second changes nothing
        k = self.durations.shape(task.task_type, task.speed)
        gap = owed_gap(age, self.expected(task), k, self.owed, self.horizon)
        return last + (max(gap, STUCK_EVERY) if task.stuck else gap)

    def stuck_after(self, task: Tracked) -> float:
        """The age past which a running task is stuck: the learned 99th percentile of its kind (never under 1.5 ×
        its expected duration, which the tasks still running keep honest), or ``stuck_factor`` × the expected
        duration while fewer than 20 of its kind have finished."""
        p99 = self.durations.p99(task.task_type, task.speed)
        expected = self.expected(task)
        return max(p99, 1.5 * expected) if p99 is not None else self.stuck_factor * expected

    def is_stuck(self, task: Tracked, now: float) -> bool:
        if task.status is not Status.GENERATING or task.created_at is None:
            return False
        return task.age(now) > self.stuck_after(task)


@dataclass
class NaivePolicy(AdaptivePolicy):
    """Every pending task in turn, least recently asked first, with the same floor: a `curl` loop."""

    def rank(self, task: Tracked) -> float:
        if task.forced or task.last_polled is None:
            return float("-inf") if task.forced else task.added_at - 1e9
        return task.last_polled
