"""The refresh engine against a scripted API on a fake clock: no sockets, no sleeping."""

from __future__ import annotations

import asyncio
import itertools
import threading
from pathlib import Path

import pytest

from mjdash.core.api.outcomes import Fetch, Outcome
from mjdash.core.engine.engine import Engine
from mjdash.core.engine.events import Mode, RoundFinished, StateChanged, TaskChanged, TaskErrored
from mjdash.core.engine.schedule import AdaptivePolicy, Durations, NaivePolicy, Tracked, finished_by
from mjdash.core.model import Status, Task
from mjdash.core.store.database import Store, StoreError
from tests.clocks import FakeClock
from tests.unit.fake_api import FakeApi, FakeTask


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(tmp_path: Path, clock: FakeClock) -> Store:
    with Store(tmp_path / "w.db", clock=clock.now) as s:
        yield s  # type: ignore[misc]


def _engine(api: FakeApi, store: Store, clock: FakeClock, events: list, **kw: object) -> Engine:  # type: ignore[type-arg]
    return Engine(api, store, clock=clock, on_event=events.append, **kw)  # type: ignore[arg-type]


async def _run_for(poller: Engine, clock: FakeClock, seconds: float) -> None:
    """Run the engine for ``seconds`` of fake time."""
    watcher = asyncio.ensure_future(_stop_at(poller, clock, clock.now() + seconds))
    await poller.run()
    watcher.cancel()


async def _stop_at(poller: Engine, clock: FakeClock, end: float) -> None:
    while clock.now() < end:
        await asyncio.sleep(0)
    poller.stop()


async def test_polls_until_final_and_never_again(clock: FakeClock, store: Store) -> None:
    api = FakeApi(clock)
    now = clock.now()
    api.tasks = {"a": FakeTask(now, 20), "b": FakeTask(now, 50, flag=2), "done": FakeTask(now - 500, 30)}
    store.add(["a", "b", "done"])
    events: list = []  # type: ignore[type-arg]
    # "done" is already final in the store: it must not be requested again.
    await Engine(api, store, clock=clock, scope=["done"]).run(until_done=True)
    assert store.row("done").status is Status.SUCCESS  # type: ignore[union-attr]
    api.calls.clear()
    engine = _engine(api, store, clock, events)
    await engine.run(until_done=True)
    assert "done" not in {tid for _, tid in api.calls}
    changes = [(e.change.task_id, e.change.new) for e in events if isinstance(e, TaskChanged)]
    assert ("a", Status.SUCCESS) in changes and ("b", Status.FAILED) in changes
    assert store.row("a").status is Status.SUCCESS  # type: ignore[union-attr]
    calls_after = len(api.calls)
    await _engine(api, store, clock, []).run(until_done=True)
    assert len(api.calls) == calls_after  # everything final: nothing asked


async def test_rate_and_concurrency_caps_and_no_duplicate_inflight(clock: FakeClock, store: Store) -> None:
    api = FakeApi(clock)
    now = clock.now()
    ids = [f"t{i:03d}" for i in range(200)]
    for tid in ids:
        api.tasks[tid] = FakeTask(now - 1000, 10_000)  # long overdue: always worth asking
    store.add(ids)
    engine = _engine(api, store, clock, [], rate=5, concurrency=3)
    await _run_for(engine, clock, 60)
    times = [t for t, _ in api.calls]
    assert api.max_inflight <= 3 and not api.duplicate_inflight
    for start in range(int(now) + 5, int(now) + 55, 5):  # any 10 s window: at most rate·10
        assert sum(start <= t < start + 10 for t in times) <= 5 * 10
    assert len(times) >= 5 * 60 * 0.8  # and it does use the budget


async def test_scarce_budget_goes_to_overdue_tasks_before_young_ones(clock: FakeClock, store: Store) -> None:
    api = FakeApi(clock)
    now = clock.now()
    young = [f"young{i}" for i in range(40)]
    overdue = [f"overdue{i}" for i in range(40)]
    for tid in young:
        api.tasks[tid] = FakeTask(now, 600, speed="relaxed")
    for tid in overdue:
        api.tasks[tid] = FakeTask(now - 400, 900, speed="relaxed")
    store.add(young + overdue)
    engine = _engine(api, store, clock, [], rate=1)
    await _run_for(engine, clock, 300)  # 80 tasks at 1 req/s: the budget is scarce (N/R = 80 s)
    asked = [tid for _, tid in api.calls]
    # Each task is asked about once first (until then nothing tells a young task from an overdue one); then,
    # while the young ones cannot have finished yet, the budget goes to the overdue ones.
    assert {tid for _, tid in api.calls[:80]} == set(young + overdue)
    second = {tid for t, tid in api.calls[80:] if t < now + 130}
    assert second and all(tid.startswith("overdue") for tid in second)
    young_looks = sum(tid.startswith("young") for tid in asked)
    assert sum(tid.startswith("overdue") for tid in asked) > young_looks
    assert all(tid in asked for tid in young)  # a young task is still looked at: nothing starves


async def test_rate_limit_pauses_everything_and_resumes(clock: FakeClock, store: Store) -> None:
    api = FakeApi(clock)
    now = clock.now()
    ids = [f"t{i}" for i in range(20)]
    for tid in ids:
        api.tasks[tid] = FakeTask(now - 1000, 5000)
    api.outage = {3: Fetch("t3", Outcome.RATE_LIMITED, api_code=429, http_status=429, retry_after=12.0)}
    store.add(ids)
    events: list = []  # type: ignore[type-arg]
    engine = _engine(api, store, clock, events, rate=4, concurrency=1)
    await _run_for(engine, clock, 40)
    limited_at = api.calls[3][0]
    later = [t for t, _ in api.calls[4:]]
    assert later and min(later) >= limited_at + 12  # nothing before Retry-After elapsed
    assert min(later) <= limited_at + 12 + 1.5  # and it resumed by itself promptly
    modes = [e.state.mode for e in events if isinstance(e, StateChanged)]
    assert Mode.RATE_LIMITED in modes and modes[modes.index(Mode.RATE_LIMITED) + 1] is Mode.POLLING
    limited = next(e.state for e in events if isinstance(e, StateChanged) and e.state.mode is Mode.RATE_LIMITED)
    assert limited.describe(limited_at) == "rate limited — resuming in 12 s"


async def test_offline_then_back(clock: FakeClock, store: Store) -> None:
    api = FakeApi(clock)
    now = clock.now()
    api.tasks = {"a": FakeTask(now - 1000, 5000)}
    api.outage = {i: Fetch("a", Outcome.NETWORK, excerpt="ConnectError") for i in range(6)}
    store.add(["a"])
    events: list = []  # type: ignore[type-arg]
    engine = _engine(api, store, clock, events, rate=10)
    await _run_for(engine, clock, 120)
    modes = [e.state.mode for e in events if isinstance(e, StateChanged)]
    assert Mode.OFFLINE in modes and modes[-2] in (Mode.POLLING, Mode.IDLE)  # last is STOPPED
    assert len(api.calls) > 7  # it kept probing and came back
    row = store.row("a")
    assert row is not None and row.status is Status.GENERATING and row.last_error is None


async def test_unknown_task_backs_off_and_gives_up(clock: FakeClock, store: Store) -> None:
    api = FakeApi(clock)
    store.add(["ghost"])
    events: list = []  # type: ignore[type-arg]
    policy = AdaptivePolicy(error_base=10, error_max=80, give_up_after=300)
    engine = _engine(api, store, clock, events, rate=10, policy=policy)
    await engine.run(until_done=True)
    times = [t for t, _ in api.calls]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert gaps[:4] == pytest.approx([10, 20, 40, 80], abs=1.5)
    assert times[-1] - times[0] >= 300
    assert any(isinstance(e, TaskErrored) and e.gave_up for e in events)
    assert store.row("ghost").status is Status.NOT_FOUND  # type: ignore[union-attr]


async def test_force_refresh_polls_final_tasks_once(clock: FakeClock, store: Store) -> None:
    api = FakeApi(clock)
    api.tasks = {"done": FakeTask(clock.now() - 500, 30)}
    store.add(["done"])
    await _engine(api, store, clock, []).run(until_done=True)
    assert len(api.calls) == 1
    engine = _engine(api, store, clock, [])
    assert engine.force(["done"]) == 1
    await engine.run(until_done=True)
    assert len(api.calls) == 2


async def test_pause_stops_requests(clock: FakeClock, store: Store) -> None:
    api = FakeApi(clock)
    api.tasks = {"a": FakeTask(clock.now() - 1000, 5000)}
    store.add(["a"])
    events: list = []  # type: ignore[type-arg]
    engine = _engine(api, store, clock, events, rate=10)
    engine.pause()
    await _run_for(engine, clock, 30)
    assert api.calls == [] and engine.state.mode is Mode.STOPPED
    assert any(isinstance(e, StateChanged) and e.state.mode is Mode.PAUSED for e in events)


async def test_fatal_outcome_stops_a_wait(clock: FakeClock, store: Store) -> None:
    api = FakeApi(clock)
    api.tasks = {"a": FakeTask(clock.now(), 50)}
    api.outage = {0: Fetch("a", Outcome.UNAUTHORIZED, api_code=401)}
    store.add(["a"])
    engine = _engine(api, store, clock, [], stop_on=[Outcome.UNAUTHORIZED])
    await engine.run(until_done=True)
    assert engine.fatal is not None and engine.fatal.outcome is Outcome.UNAUTHORIZED


async def test_rounds_report_progress_and_eta(clock: FakeClock, store: Store) -> None:
    api = FakeApi(clock)
    now = clock.now()
    api.tasks = {"a": FakeTask(now, 30), "b": FakeTask(now - 100, 10)}
    store.add(["a", "b"])
    events: list = []  # type: ignore[type-arg]
    await _engine(api, store, clock, events).run(until_done=True)
    rounds = [e for e in events if isinstance(e, RoundFinished)]
    assert rounds[0].total == 2 and rounds[-1].done == 2 and rounds[-1].pending == 0
    assert any(r.eta is not None and 0 < r.eta <= 60 for r in rounds)


def test_durations_learn_and_defaults() -> None:
    d = Durations()
    assert d.expected("mj_txt2img", "fast") == 60 and d.expected("mj_txt2img", "relaxed") == 300
    assert d.expected("mj_video", "fast") == 120
    d.learn("mj_txt2img", "Fast", 15)
    assert d.expected("mj_txt2img", "fast") == pytest.approx(30)  # the prior counts as one sample: √(60·15)
    for s in (40, 42, 44):
        d.learn("mj_txt2img", "Fast", s)
    assert d.expected("mj_txt2img", "fast") == 41  # from three samples on: the median
    assert d.expected("mj_img2img", "fast") == 41  # same speed, other type


def running(task_id: str, added_at: float, created_at: float, last_polled: float) -> Tracked:
    task = Task(task_id, added_at=added_at, status=Status.GENERATING, created_at=created_at, speed="fast")
    return Tracked(task, last_polled=last_polled)


def test_rank_prefers_likely_changes() -> None:
    policy = AdaptivePolicy()
    now = 10_000.0
    fresh = running("fresh", now, created_at=now - 5, last_polled=now - 3)
    due = running("due", now, created_at=now - 65, last_polled=now - 10)
    stale = running("stale", now, created_at=now - 300, last_polled=now - 120)
    assert policy.rank(stale) < policy.rank(due) < policy.rank(fresh)  # left alone long: not starved
    just_added = Tracked(Task("just_added", added_at=now - 1))
    added_long_ago = Tracked(Task("long_ago", added_at=now - 600))
    order = sorted([fresh, due, just_added, added_long_ago], key=policy.rank)
    assert [t.task_id for t in order] == ["long_ago", "due", "fresh", "just_added"]
    assert finished_by(1.0) == 0.5
    assert policy.floor(fresh) == now  # 3 s after its last look
    assert NaivePolicy().rank(fresh) == fresh.last_polled  # least recently asked first
    stuck = running("stuck", now, created_at=now - 300, last_polled=now - 120)
    stuck.stuck = True
    assert policy.rank(stuck) > policy.rank(fresh)  # stuck: after everything else


async def test_store_io_stays_off_the_event_loop_thread(
    clock: FakeClock, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The engine shares the dashboard's event loop: its reads and writes must not block it."""
    api = FakeApi(clock)
    now = clock.now()
    ids = [f"t{i:03d}" for i in range(120)]  # more than one flush's worth
    api.tasks = {tid: FakeTask(now, 5) for tid in ids}
    store.add(ids)
    loop_thread = threading.get_ident()
    threads: list[int] = []
    for name in ("record", "iter_rows", "changes_since"):
        real = getattr(store, name)

        def spy(*args: object, _real=real, **kwargs: object) -> object:  # type: ignore[no-untyped-def]
            threads.append(threading.get_ident())
            return _real(*args, **kwargs)

        monkeypatch.setattr(store, name, spy)
    await _engine(api, store, clock, [], rate=50, concurrency=8).run(until_done=True)
    assert threads and loop_thread not in threads
    assert all(store.row(tid).status is Status.SUCCESS for tid in ids)  # type: ignore[union-attr]


async def test_a_failed_write_is_kept_and_written_by_the_next_run(
    clock: FakeClock, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = FakeApi(clock)
    api.tasks = {"a": FakeTask(clock.now() - 100, 5)}  # already finished: one answer is final
    store.add(["a"])
    real = store.record
    failures = [StoreError("the disk holding w.db is full — free some space and try again")]

    def record(*args: object, **kwargs: object) -> object:
        if failures:
            raise failures.pop()
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "record", record)
    engine = _engine(api, store, clock, [])
    with pytest.raises(StoreError):
        await engine.run(until_done=True)
    calls = len(api.calls)
    await engine.run(until_done=True)
    assert store.row("a").status is Status.SUCCESS  # type: ignore[union-attr]
    assert len(api.calls) == calls  # written from what was kept, not asked again
