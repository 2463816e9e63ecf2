"""The engine's second pass: work-conserving, fast learning, strict windows, AIMD, stuck, O(log N) choice,
incremental reload, bounded offline probes. All on the fake clock against a scripted API: no sockets, no sleeping."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import random
import statistics
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mjdash.core.api.outcomes import Fetch, Outcome
from mjdash.core.engine.due_queue import MIGRATE_PER_PUT, DueQueue
from mjdash.core.engine.engine import Engine
from mjdash.core.engine.events import Mode, RoundFinished, StateChanged, TaskErrored, TaskStuck
from mjdash.core.engine.extra import within_budget
from mjdash.core.engine.ratelimit import Aimd, RateLimiter
from mjdash.core.engine.schedule import AdaptivePolicy, Durations, NaivePolicy, Tracked, km_median
from mjdash.core.model import Status, Task
from mjdash.core.store.database import Store
from mjdash.sim.server import busiest_second
from tests.clocks import T0, FakeClock, LoopClock
from tests.unit.fake_api import FakeApi, FakeTask

pytestmark = pytest.mark.looptime(noop_cycles=8)  # one virtual timeline: no test waits for wall time


@contextlib.contextmanager
def opened(tmp_path: Path, name: str = "w") -> Iterator[tuple[LoopClock, Store]]:
    clock = LoopClock()
    with Store(tmp_path / f"{name}.db", clock=clock.now) as store:
        yield clock, store


async def inline(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    """The store's I/O run on the loop itself: with no threads the virtual timeline is the same on any machine."""
    return fn(*args, **kwargs)


def make_engine(api: FakeApi, store: Store, clock: LoopClock, **kwargs: Any) -> Engine:
    return Engine(api, store, clock=clock, offload=inline, **kwargs)


async def run_for(poller: Engine, seconds: float, *, until_done: bool = False) -> None:
    """Run the engine for ``seconds`` of loop time (or until every task is final, if sooner)."""
    run = asyncio.ensure_future(poller.run(until_done=until_done))
    await asyncio.wait([run], timeout=seconds)
    poller.stop()
    await run


def batch(api: FakeApi, store: Store, durations: list[float], *, speed: str = "fast", prefix: str = "t") -> list[str]:
    now = api.clock.now()
    ids = [f"{prefix}{i:04d}" for i in range(len(durations))]
    for task_id, seconds in zip(ids, durations, strict=True):
        api.tasks[task_id] = FakeTask(now, seconds, speed=speed)
    store.add(ids)
    return ids


def p95(values: list[float]) -> float:
    return sorted(values)[int(0.95 * (len(values) - 1))]


# -- work-conserving -------------------------------------------------------------------------------------------
async def test_two_tasks_are_looked_at_every_min_interval(tmp_path: Path) -> None:
    """Two tasks at 2 req/s: the budget is ample, so each is asked about every 3 s (the floor), not every 0.1·E."""
    with opened(tmp_path) as (clock, store):
        api = FakeApi(clock, latency=0.05)
        ids = batch(api, store, [7.0, 11.0], speed="relaxed")  # the prior says 300 s: it is wrong by far
        await run_for(make_engine(api, store, clock, rate=2), 60, until_done=True)
    for task_id in ids:
        looks = [t for t, tid in api.calls if tid == task_id]
        assert all(b - a <= 3.2 for a, b in itertools.pairwise(looks))
    assert max(api.delays()) <= 3.2


async def test_forty_short_tasks_at_eight_per_second_beat_a_naive_loop(tmp_path: Path) -> None:
    """The prior (60 s) is ten times too long; the engine still looks at each task every N/R = 5 s or better, and
    its p95 detection delay is no worse than a round-robin loop's at the same rate."""
    rng = random.Random(7)
    durations = [rng.uniform(3, 12) for _ in range(40)]
    results = {}
    for name, policy in (("naive", NaivePolicy()), ("adaptive", AdaptivePolicy())):
        with opened(tmp_path, name) as (clock, store):
            api = FakeApi(clock, latency=0.05)
            batch(api, store, durations)
            await run_for(make_engine(api, store, clock, rate=8, policy=policy), 120, until_done=True)
        results[name] = api.delays()
        assert len(results[name]) == 40
    assert p95(results["adaptive"]) <= p95(results["naive"]) + 0.3
    assert p95(results["adaptive"]) <= 5.5


async def test_budget_is_never_idle_while_a_floor_has_passed(tmp_path: Path) -> None:
    """Young tasks, long priors, a generous rate: every task is still asked about every ~max(3 s, N/R)."""
    with opened(tmp_path) as (clock, store):
        api = FakeApi(clock, latency=0.05)
        ids = batch(api, store, [10_000.0] * 20, speed="relaxed")
        await run_for(make_engine(api, store, clock, rate=4), 60)
    per_task = [sum(tid == t for _, tid in api.calls) for t in ids]
    assert min(per_task) >= 60 / 5 - 2  # N/R = 5 s
    assert len(api.calls) >= 4 * 60 * 0.9


# -- learning ---------------------------------------------------------------------------------------------------
def test_first_completions_move_the_expected_duration_at_once() -> None:
    d = Durations()
    assert d.expected("mj_txt2img", "fast") == 60
    d.learn("mj_txt2img", "fast", 6)
    assert d.expected("mj_txt2img", "fast") == pytest.approx(19, abs=0.1)  # √(60·6)
    assert d.expected(None, None) == pytest.approx(23.2, abs=0.1)  # not yet asked about: √(90·6)
    d.learn("mj_txt2img", "fast", 6)
    assert d.expected("mj_txt2img", "fast") < 13
    d.learn("mj_txt2img", "fast", 6)
    assert d.expected("mj_txt2img", "fast") == 6


async def test_a_batch_far_faster_than_the_prior_is_tracked_as_such(tmp_path: Path) -> None:
    """A script submits a task a second, each done in ~9 s against a 60 s prior, at 1 req/s: once a few tasks
    have finished the pending ones are ranked by what was learned, and the batch is detected about as soon as the
    budget allows."""
    with opened(tmp_path) as (clock, store):
        api = FakeApi(clock, latency=0.05)
        now = clock.now()
        ids = [f"t{i:03d}" for i in range(120)]
        for i, task_id in enumerate(ids):
            api.tasks[task_id] = FakeTask(now + i, 8.0 + (i % 5) * 0.5)
        engine = make_engine(api, store, clock, rate=1)

        async def submit() -> None:
            for task_id in ids:
                store.add([task_id])
                await clock.sleep(1.0)

        adder = asyncio.ensure_future(submit())
        await run_for(engine, 200)
        await adder
    assert engine.policy.durations.expected("mj_txt2img", "fast") < 12
    delays = api.delays()
    assert len(delays) >= 110 and statistics.median(delays) < 6 and p95(delays) < 10


# -- strict windows ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("rate", "most"), [(8, 8), (2, 2), (2.5, 2), (0.5, 1)])
async def test_never_more_than_rate_requests_in_any_second(tmp_path: Path, rate: float, most: int) -> None:
    with opened(tmp_path) as (clock, store):
        api = FakeApi(clock, latency=0.05)
        batch(api, store, [10_000.0] * 100)
        engine = make_engine(api, store, clock, rate=rate, concurrency=8)
        await run_for(engine, 20)  # at start: no burst
        engine.pause()
        await run_for(engine, 30)  # paused, then an idle spell
        engine.resume()
        await run_for(engine, 20)
    times = [t for t, _ in api.calls]
    assert busiest_second(times) <= most
    assert len(times) >= 40 * min(rate, most) * 0.9  # and it does use the budget


def test_rate_limiter_spaces_requests_evenly() -> None:
    clock = FakeClock()
    limiter = RateLimiter(4, clock, margin=0.0)

    async def take(n: int) -> list[float]:
        out = []
        for _ in range(n):
            await limiter.acquire()
            out.append(clock.now())
        return out

    times = asyncio.run(take(9))
    # evenly paced; the fifth waits until 1 s + JITTER after the first, so a late first arrival cannot make five
    assert [round(b - a, 6) for a, b in itertools.pairwise(times)] == [0.25, 0.25, 0.25, 0.3] * 2


def test_requests_that_open_connections_count_as_arriving_late() -> None:
    """The first requests (and the first after the pool went cold) wait for a connect before they leave: the
    window counts them COLD seconds late, so warm requests behind them cannot crowd into their second."""
    clock = FakeClock()
    limiter = RateLimiter(4, clock, margin=0.0, cold=2)

    async def take(n: int) -> list[float]:
        out = []
        for _ in range(n):
            await limiter.acquire()
            out.append(clock.now() - T0)
        return out

    times = asyncio.run(take(6))
    assert times[:4] == pytest.approx([0.0, 0.25, 0.5, 0.75])  # paced as ever…
    assert times[4:] == pytest.approx([0.25 + 1.05, 0.5 + 1.05])  # …but each window starts at a cold one's arrival
    asyncio.run(clock.sleep(10.0))  # idle: the pool's connections closed
    later = asyncio.run(take(5))
    assert later[4] - later[0] == pytest.approx(1.30)  # cold again


# -- AIMD -------------------------------------------------------------------------------------------------------
def test_aimd_cuts_once_per_episode_and_climbs_back() -> None:
    aimd = Aimd(10)
    assert aimd.throttled(100.0) and aimd.rate == pytest.approx(7)
    assert not aimd.throttled(100.5)  # an answer to a request already in flight: same episode
    t = 100.0
    while aimd.limited:
        t += 2.0
        aimd.answered(t)
    assert t - 100 < 120  # back to the configured rate within two minutes of quiet


async def test_against_a_server_limited_below_the_rate(tmp_path: Path) -> None:
    """A server that allows 4 requests a second, an engine configured for 10: after the first throttles the
    effective rate settles under the real limit, with at most about one 429 per 30 s."""
    with opened(tmp_path) as (clock, store):
        api = FakeApi(clock, latency=0.05, limit=4)
        batch(api, store, [100_000.0] * 200)
        events: list[object] = []
        engine = make_engine(api, store, clock, rate=10, concurrency=8, on_event=events.append)
        await run_for(engine, 600)
        later = [t for t in api.throttled if t > clock.now() - 540]  # after the first minute
    assert len(later) <= 540 / 30 + 1
    rounds = [e for e in events if isinstance(e, RoundFinished)]
    assert rounds[-1].rate_limited and 2.5 <= rounds[-1].rate <= 4.5
    assert "limit 10/s" in rounds[-1].describe_rate()
    assert len(api.calls) >= 600 * 3  # and it uses most of what the server allows


# -- stuck ------------------------------------------------------------------------------------------------------
async def test_a_task_far_past_its_kind_is_flagged_stuck_once(tmp_path: Path) -> None:
    with opened(tmp_path) as (clock, store):
        api = FakeApi(clock, latency=0.05)
        now = clock.now()
        api.tasks = {"slow": FakeTask(now - 170, 10_000), "ok": FakeTask(now, 30)}
        store.add(["slow", "ok"])
        events: list[object] = []
        engine = make_engine(api, store, clock, rate=2, on_event=events.append)
        await run_for(engine, 120)
        row = store.row("slow")
    stuck = [e for e in events if isinstance(e, TaskStuck)]
    assert [e.task_id for e in stuck] == ["slow"]  # 3 × 60 s (fast, few samples) passed: once
    assert stuck[0].expected == 60 and stuck[0].age > 180
    assert row is not None and row.stuck_since is not None and row.status is Status.GENERATING
    assert [e for e in events if isinstance(e, RoundFinished)][-1].stuck == 1
    assert sum(tid == "slow" for _, tid in api.calls) > 5  # still polled


def test_stuck_uses_the_learned_p99_once_there_are_samples() -> None:
    policy = AdaptivePolicy(stuck_factor=3.0)
    for seconds in [20.0] * 30 + [60.0, 70.0, 80.0, 90.0, 100.0] * 2:  # mostly 20 s, a long tail
        policy.durations.learn("mj_txt2img", "fast", seconds)
    task = Tracked(
        Task("t", added_at=0.0, status=Status.GENERATING, created_at=0.0, task_type="mj_txt2img", speed="fast")
    )
    assert policy.stuck_after(task) == pytest.approx(100, abs=0.5)  # the p99, not 3 × the 20 s median
    assert not policy.is_stuck(task, 90) and policy.is_stuck(task, 110)


def test_tasks_still_running_raise_an_estimate_their_class_outlived() -> None:
    """No task has finished yet, but half of those running are past the 60 s prior: the estimate follows them,
    so they are neither ranked as long overdue nor flagged stuck."""
    durations = Durations()
    durations.running("mj_txt2img", "fast", [30.0, 90.0, 150.0, 210.0, 270.0, 330.0])
    assert durations.expected("mj_txt2img", "fast") == 90.0  # five outlived 90 s, none finished: at least that
    durations.running("mj_txt2img", "fast", [10.0, 20.0, 30.0])  # young ones only: the prior stands
    assert durations.expected("mj_txt2img", "fast") == 60.0
    assert km_median([10.0, 20.0, 30.0, 40.0], []) == 20.0
    assert km_median([10.0, 20.0], [15.0, 15.0, 50.0, 60.0]) == 20.0  # S(20) = 5/9 > ½: beyond the last finish


# -- cost at scale ----------------------------------------------------------------------------------------------
class CountingPolicy(AdaptivePolicy):
    ranks = 0

    def rank(self, task: Tracked) -> float:
        CountingPolicy.ranks += 1
        return super().rank(task)


async def test_choosing_a_task_does_not_scan_the_watchlist(tmp_path: Path) -> None:
    """5,000 pending tasks: after the first read, each request costs a constant number of rank computations
    (the queue is a heap), not one per pending task."""
    with opened(tmp_path) as (clock, store):
        api = FakeApi(clock, latency=0.05)
        batch(api, store, [100_000.0] * 5000)
        engine = make_engine(api, store, clock, rate=20, concurrency=8, policy=CountingPolicy())
        run = asyncio.ensure_future(engine.run())
        await clock.sleep(1)
        CountingPolicy.ranks, before = 0, len(api.calls)
        await clock.sleep(30)
        engine.stop()
        await run
    requests = len(api.calls) - before
    assert requests > 500
    assert CountingPolicy.ranks <= 2 * requests


async def test_other_processes_changes_arrive_through_the_feed_not_a_full_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with opened(tmp_path) as (clock, store):
        api = FakeApi(clock, latency=0.05)
        batch(api, store, [10_000.0] * 3)
        full_reads: list[int] = []
        real = store.iter_rows

        def spy(**kwargs: object) -> object:
            full_reads.append(1)
            return real(**kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(store, "iter_rows", spy)
        engine = make_engine(api, store, clock, rate=5)
        run = asyncio.ensure_future(engine.run())
        await clock.sleep(5)
        with Store(store.path, clock=clock.now) as other:  # another process's connection
            other.add(["late"])
            api.tasks["late"] = FakeTask(clock.now(), 10_000)
            other.remove(["t0000"])
        changed_at = clock.now()
        await clock.sleep(30)
        engine.stop()
        await run
    asked_after = [(t, tid) for t, tid in api.calls if t > changed_at]
    first_late = min(t for t, tid in asked_after if tid == "late")
    assert first_late - changed_at <= 2.0
    assert "t0000" not in {tid for t, tid in asked_after if t > changed_at + 1.5}
    assert full_reads == [1]


# -- outages ----------------------------------------------------------------------------------------------------
async def test_ten_thousand_network_failures_keep_probing_within_bounds(tmp_path: Path) -> None:
    with opened(tmp_path) as (clock, store):
        api = FakeApi(clock, latency=0)
        batch(api, store, [1e9])
        down = Fetch("t0000", Outcome.NETWORK, excerpt="ConnectError")
        api.outage = {i: down for i in range(10_100)}
        engine = make_engine(api, store, clock, rate=10, seed=1, tick=600)  # a long tick: a week in ~1,000 ticks
        await run_for(engine, 168 * 3600)
    times = [t for t, _ in api.calls]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    early = [g for t, g in zip(times, gaps, strict=False) if t - times[0] < 600]
    late = [g for t, g in zip(times, gaps, strict=False) if t - times[0] > 700]
    assert max(early) <= 15.5 and max(late) <= 61
    assert len({round(g, 3) for g in late}) > 10  # jittered: many processes do not probe in step
    assert len(times) >= 10_000  # a probe a minute for a week, and no OverflowError past 1,026 failures


async def test_first_request_after_an_outage_within_fifteen_seconds(tmp_path: Path) -> None:
    with opened(tmp_path) as (clock, store):
        api = FakeApi(clock, latency=0.05)
        batch(api, store, [1e9])
        down = Fetch("t0000", Outcome.NETWORK, excerpt="ConnectError")
        api.outage = {i: down for i in range(12)}
        events: list[object] = []
        engine = make_engine(api, store, clock, rate=2, seed=3, on_event=events.append)
        await run_for(engine, 300)
    modes = [e.state.mode for e in events if isinstance(e, StateChanged)]
    assert Mode.OFFLINE in modes
    assert api.calls[12][0] - api.calls[11][0] <= 15.5


# -- answers it cannot read --------------------------------------------------------------------------------------
async def test_an_unknown_success_flag_ends_as_an_error_after_give_up_after(tmp_path: Path) -> None:
    with opened(tmp_path) as (clock, store):
        api = FakeApi(clock, latency=0.05)
        api.tasks = {"odd": FakeTask(clock.now() - 10, 0.0, flag=97)}  # "done", in a state the spec does not list
        store.add(["odd"])
        events: list[object] = []
        policy = AdaptivePolicy(give_up_after=300, error_base=10, error_max=60)
        poller = make_engine(api, store, clock, rate=2, policy=policy, on_event=events.append)
        await run_for(poller, 3600, until_done=True)
        row = store.row("odd")
    assert row is not None and row.status is Status.ERROR and "successFlag 97" in (row.last_error or "")
    asked = [t for t, _ in api.calls]
    assert 300 <= asked[-1] - asked[0] <= 400 and len(asked) < 20  # backed off, then given up
    assert any(isinstance(e, TaskErrored) and e.gave_up for e in events)


def test_the_engine_asks_in_the_same_order_under_any_hash_seed() -> None:
    """Ties between equal ranks are broken by arrival order, never by a set's iteration order (which changes with
    PYTHONHASHSEED from one run to the next): the same inputs give the same requests in every process."""
    root = Path(__file__).resolve().parents[2]
    traces = [
        subprocess.run(
            [sys.executable, "-m", "tests.unit.engine_trace"],
            cwd=root,
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2")
    ]
    assert traces[0].count("\n") >= 40
    assert traces[0] == traces[1]


def test_many_tasks_eligible_at_once_are_promoted_a_bounded_number_at_a_time() -> None:
    """Thousands of tasks past their floor at once are promoted a bounded number per call (100,000 at once took
    0.3 s on the event loop), earliest floor then best rank first, so equal floors still go by rank."""
    queue = DueQueue()
    rng = random.Random(5)
    ranks = {f"t{i}": rng.random() for i in range(5_000)}
    for task_id, rank in ranks.items():
        queue.put(task_id, eligible_at=0.0, rank=rank)
    queue.put("later", eligible_at=100.0, rank=-1.0)  # the best rank, but not eligible yet
    taken = [queue.pop(10.0) for _ in range(5_000)]
    assert taken == sorted(ranks, key=ranks.__getitem__)
    assert queue.pop(10.0) is None and queue.pop(100.0) == "later"


def test_the_queue_sheds_stale_entries_a_slice_at_a_time_and_keeps_its_order() -> None:
    """Re-ranking every task leaves stale entries behind; they are dropped a slice per call (no call rebuilds the
    heaps: that stalled the loop 57-103 ms at 100k), memory stays bounded and the order stays exact."""
    queue, rng = DueQueue(), random.Random(3)
    ids = [f"t{i:05d}" for i in range(20_000)]
    ranks = {task_id: rng.random() for task_id in ids}
    for task_id in ids:
        queue.put(task_id, eligible_at=0.0, rank=ranks[task_id])
    for _ in range(20):  # about 20k promoted to the ready heap, so both heaps hold stale entries below
        task_id = queue.pop(1.0)
        assert task_id is not None
        queue.put(task_id, eligible_at=0.0, rank=ranks[task_id])
    shed = []
    for _ in range(3):
        for task_id in ids:
            ranks[task_id] = rng.random()
            before = queue.entries
            queue.put(task_id, eligible_at=0.0, rank=ranks[task_id])
            shed.append(before + 1 - queue.entries)
    assert 0 < max(shed) <= 2 * MIGRATE_PER_PUT  # compactions happened, each put doing a few entries
    assert queue.entries <= 4 * len(queue) + 200
    taken = [queue.pop(1.0) for _ in ids]
    assert taken == sorted(ids, key=ranks.__getitem__)
    assert queue.pop(1.0) is None and len(queue) == 0


def test_the_stuck_threshold_waits_for_the_tail_the_running_tasks_hide() -> None:
    """Twenty quick finishes and forty tasks still running at 40-60 s: the finished ones' p99 (22 s) would call
    the whole slow tail stuck. Until the censored curve shows a 99th percentile, the threshold is 3 × expected."""
    policy = AdaptivePolicy(stuck_factor=3.0)
    for seconds in [20.0 + n / 10 for n in range(20)]:
        policy.durations.learn("mj_txt2img", "fast", seconds)
    policy.durations.running("mj_txt2img", "fast", [40.0 + n / 2 for n in range(40)])
    task = Tracked(
        Task("t", added_at=0.0, status=Status.GENERATING, created_at=0.0, task_type="mj_txt2img", speed="fast")
    )
    assert policy.durations.p99("mj_txt2img", "fast") is None
    expected = policy.expected(task)
    assert expected >= 40.0  # the median lies among the running ones: at least the 5th oldest said so
    assert policy.stuck_after(task) == 3 * expected and not policy.is_stuck(task, 70.0)
    for seconds in [40.0 + n / 2 for n in range(40)]:  # then all of them finished at 40-60 s
        policy.durations.learn("mj_txt2img", "fast", seconds)
    policy.durations.running("mj_txt2img", "fast", [])
    assert policy.durations.p99("mj_txt2img", "fast") == pytest.approx(59.5)  # now the curve shows it


async def test_a_request_besides_the_polls_takes_a_slot_of_the_budget(tmp_path: Path) -> None:
    """The dashboard asks for the credit balance while the engine polls 100 tasks at 4 req/s: the balance
    requests wait for room in the window, so the server never sees more than 4 in a second, all told."""
    with opened(tmp_path) as (clock, store):
        api = FakeApi(clock, latency=0.05)
        batch(api, store, [10_000.0] * 100)
        engine = make_engine(api, store, clock, rate=4, concurrency=8)
        extra: list[float] = []

        async def balance() -> None:
            extra.append(clock.now())

        async def ask_every_second() -> None:
            for _ in range(25):
                await within_budget(engine, balance)
                await clock.sleep(1.0)

        asker = asyncio.ensure_future(ask_every_second())
        await run_for(engine, 30)
        await asker
    times = sorted([t for t, _ in api.calls] + extra)
    assert len(extra) == 25 and busiest_second(times) <= 4
