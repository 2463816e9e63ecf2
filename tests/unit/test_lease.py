"""One engine per database: the lease on a fake clock (renewal, takeover, a lost lease, release, a race) and the
engine's side of it on the virtual timeline (a follower sends nothing and hands its requests to the leader)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mjdash.core.engine.engine import Engine
from mjdash.core.engine.events import Event, Mode, StateChanged
from mjdash.core.engine.lease import Lease
from mjdash.core.store import lease as table
from mjdash.core.store.database import Store
from tests.clocks import LoopClock
from tests.unit.fake_api import FakeApi, FakeTask


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[list[Store]]:
    """Three connections to one database, as three processes would have."""
    opened = [Store(tmp_path / "w.db", clock=lambda: 0.0) for _ in range(3)]
    yield opened
    for store in opened:
        store.close()


def test_the_first_process_leads_and_renews(stores: list[Store]) -> None:
    a, b = Lease(stores[0], pid=1, host="one"), Lease(stores[1], pid=2, host="two")
    a.step(0.0)
    b.step(0.0)
    assert a.leading and not b.leading
    assert b.describe() == "following the engine of PID 1 on one"
    a.step(1.0)
    assert table.holder(stores[2]).heartbeat == 0.0  # not due yet: no write  # type: ignore[union-attr]
    a.step(2.0)
    assert table.holder(stores[2]).heartbeat == 2.0  # type: ignore[union-attr]
    assert a.may_send(5.9) and not a.may_send(6.0)  # not renewed for safe_for: renew before sending


def test_a_silent_leader_is_taken_over_after_ttl_of_the_followers_own_clock(stores: list[Store]) -> None:
    a, b = Lease(stores[0]), Lease(stores[1])
    a.step(0.0)
    b.step(100.0)  # the follower's clock is far ahead of the leader's: only its own clock counts
    b.step(105.9)
    assert not b.leading
    b.step(106.0)  # six seconds of its own clock without a heartbeat
    assert b.leading and table.holder(stores[2]).owner == b.owner  # type: ignore[union-attr]
    assert table.holder(stores[2]).term == 2  # type: ignore[union-attr]


def test_a_heartbeat_that_moves_keeps_the_leader(stores: list[Store]) -> None:
    a, b = Lease(stores[0]), Lease(stores[1])
    a.step(0.0)
    for now in range(0, 30):
        a.step(float(now))
        b.step(float(now))
        assert a.leading and not b.leading


def test_a_leader_back_from_a_pause_finds_the_lease_lost_and_stops(stores: list[Store]) -> None:
    """SIGSTOP on the leader: the follower takes over; on SIGCONT the old leader may not send (its renewal is
    old), renews, learns the lease is gone and follows — at no point do two processes may send."""
    a, b = Lease(stores[0], pid=1, host="h"), Lease(stores[1], pid=2, host="h")
    a.step(0.0)
    b.step(0.0)
    b.step(6.0)  # a is stopped: no heartbeat since 0
    assert b.leading and b.may_send(6.0)
    assert not a.may_send(30.0)  # back after 30 s: not before a renewal
    a.step(30.0)
    assert not a.leading and a.describe() == "following the engine of PID 2 on h"
    assert not a.may_send(30.0)


def test_release_hands_over_at_once_and_a_race_has_one_winner(stores: list[Store]) -> None:
    a, b, c = (Lease(store) for store in stores)
    a.step(0.0)
    b.step(0.0)
    c.step(0.0)
    a.release()
    b.step(1.0)  # no need to wait for a timeout
    assert b.leading
    c.step(2.0)
    a.step(2.0)
    c.step(8.0)  # b went silent: c and a both try to take over, each from what it saw
    a.step(8.0)
    assert c.leading and not a.leading  # the compare-and-set: a saw b, but c holds it now


def test_a_clock_that_jumps_back_renews_rather_than_trusting_an_old_heartbeat(stores: list[Store]) -> None:
    a = Lease(stores[0])
    a.step(100.0)
    assert not a.may_send(50.0)  # before its own last renewal: not trusted
    a.step(50.0)
    assert a.leading and a.may_send(50.0)


def test_requests_and_the_learned_rate_are_kept_in_the_database(stores: list[Store]) -> None:
    table.request_polls(stores[0], ["b", "a"], now=1.0)
    table.request_polls(stores[1], None, now=2.0)
    assert table.take_requests(stores[2]) == (["a", "b"], True)
    assert table.take_requests(stores[2]) == ([], False)  # taken
    table.save_rate(stores[0], 1.4)
    assert table.saved_rate(stores[1]) == 1.4


# -- the engine's side ----------------------------------------------------------------------------------------
on_the_loop = pytest.mark.looptime(noop_cycles=8)  # one virtual timeline for both engines


async def _inline(fn: Any, /, *args: Any, **kwargs: Any) -> Any:
    return fn(*args, **kwargs)


@on_the_loop
async def test_a_follower_sends_nothing_and_the_leader_serves_its_requests(tmp_path: Path) -> None:
    clock = LoopClock()
    with Store(tmp_path / "w.db", clock=clock.now) as mine, Store(tmp_path / "w.db", clock=clock.now) as theirs:
        leader_api, follower_api = FakeApi(clock), FakeApi(clock)  # type: ignore[arg-type]
        for api in (leader_api, follower_api):
            api.tasks.update({f"t{i}": FakeTask(clock.now(), 10_000.0) for i in range(3)})
        mine.add([f"t{i}" for i in range(3)])
        events: list[Event] = []

        def engine(store: Store, api: FakeApi, **kwargs: Any) -> Engine:
            return Engine(api, store, clock=clock, offload=_inline, rate=2, lease=Lease(store), **kwargs)

        leader = engine(mine, leader_api)
        running = asyncio.ensure_future(leader.run())
        await clock.sleep(2.0)
        follower = engine(theirs, follower_api, on_event=events.append)
        following = asyncio.ensure_future(follower.run())
        await clock.sleep(60.0)
        assert follower_api.calls == []
        modes = [e.state.mode for e in events if isinstance(e, StateChanged)]
        assert Mode.FOLLOWING in modes
        before = len(leader_api.calls)
        follower.force(["t2"])  # `r` in a following dashboard
        await clock.sleep(1.5)
        assert ("t2" in [tid for _, tid in leader_api.calls[before:]]) and follower_api.calls == []
        leader.aimd.resume_from(1.4)  # what it learned, kept for the next leader
        await clock.sleep(3.0)
        leader.stop()
        await running  # a clean exit releases the lease: the follower takes over at its next look
        await clock.sleep(2.0)
        assert follower_api.calls and follower.aimd.rate == pytest.approx(1.4, abs=0.05)  # not back at 2
        follower.stop()
        await following
