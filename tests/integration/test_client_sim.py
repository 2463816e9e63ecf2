"""The client against the simulator over real loopback sockets."""

from __future__ import annotations

import time

import pytest

from mjdash.core.api.client import KieClient, Outcome, RetryPolicy
from mjdash.core.model import Status
from mjdash.sim.server import Simulator
from tests.conftest import SIM_KEY

FAST = RetryPolicy(attempts=3, total_s=5, initial_s=0.01, max_wait_s=0.05, jitter_s=0.01)


def _client(sim: Simulator, key: str = SIM_KEY, **kw: object) -> KieClient:
    kw.setdefault("retry", FAST)
    return KieClient(key, sim.url, **kw)  # type: ignore[arg-type]


async def test_fetches_running_and_finished_tasks(sim: Simulator) -> None:
    done = sim.add_task(age=100, duration=30, task_type="mj_txt2img")
    running = sim.add_task(age=1, duration=300)
    async with _client(sim) as client:
        a, b = await client.fetch(done.task_id), await client.fetch(running.task_id)
    assert a.ok and a.task is not None and a.task.status is Status.SUCCESS
    assert len(a.task.result_urls) == 4 and a.task.duration_s == pytest.approx(30, abs=1)
    assert b.ok and b.task is not None and b.task.status is Status.GENERATING and b.task.result_urls == ()


async def test_failed_task_carries_error(sim: Simulator) -> None:
    task = sim.add_task(age=100, duration=30, outcome=3)
    async with _client(sim) as client:
        fetch = await client.fetch(task.task_id)
    assert fetch.task is not None and fetch.task.status is Status.GENERATION_FAILED
    assert fetch.task.error_code is not None and fetch.task.error_message


async def test_bad_key_and_unknown_id(sim: Simulator) -> None:
    async with _client(sim, key="wrong") as client:
        bad = await client.fetch("abc")
    assert bad.outcome is Outcome.UNAUTHORIZED and "KIE_API_KEY" in bad.message
    async with _client(sim) as client:
        missing = await client.fetch("0123456789abcdef0123456789abcdef")
    assert missing.outcome is Outcome.NOT_FOUND and missing.status is Status.NOT_FOUND


@pytest.mark.parametrize("code", [400, 401, 402, 404, 422, 501, 505])
async def test_permanent_codes_in_a_200_body(sim: Simulator, code: int) -> None:
    task = sim.add_task(age=100, duration=30)
    sim.inject("code", 1, code)
    async with _client(sim) as client:
        fetch = await client.fetch(task.task_id)
    assert fetch.api_code == code and fetch.http_status == 200
    assert not fetch.outcome.transient
    assert sim.stats.requests == 1  # not retried


@pytest.mark.parametrize(
    ("fault", "arg"), [("500", 0), ("html", 0), ("malformed", 0), ("code", 455), ("code", 429), ("reset", 0)]
)
async def test_transient_faults_are_retried_to_success(sim: Simulator, fault: str, arg: float) -> None:
    task = sim.add_task(age=100, duration=30)
    sim.inject(fault, 2, arg)
    async with _client(sim) as client:
        fetch = await client.fetch(task.task_id)
    assert fetch.ok, fetch.message
    assert sim.stats.requests == 3


async def test_wrong_shape_is_reported_not_retried(sim: Simulator) -> None:
    sim.inject("wrongshape", 1)
    async with _client(sim) as client:
        fetch = await client.fetch("abc")
    assert fetch.outcome is Outcome.BAD_SHAPE and fetch.excerpt and "unexpected" in fetch.excerpt


async def test_persistent_outage_gives_up_within_bounds(sim: Simulator) -> None:
    sim.inject("html", 100)
    async with _client(sim) as client:
        started = time.monotonic()
        fetch = await client.fetch("abc")
    assert fetch.outcome is Outcome.BAD_BODY and fetch.http_status == 502
    assert sim.stats.requests == FAST.attempts
    assert time.monotonic() - started < 3


async def test_timeout_is_an_outcome(sim: Simulator) -> None:
    sim.inject("slow", 5, 1.0)
    async with _client(sim, timeout=0.2, retry=RetryPolicy.none()) as client:
        fetch = await client.fetch("abc")
    assert fetch.outcome is Outcome.TIMEOUT and fetch.outcome.transient


async def test_connection_refused_is_an_outcome() -> None:
    with Simulator() as sim:
        url = sim.url
    async with KieClient("k", url, retry=RetryPolicy.none()) as client:
        fetch = await client.fetch("abc")
    assert fetch.outcome is Outcome.NETWORK and "k" not in (fetch.excerpt or "").split()


async def test_retry_after_blocks_every_request(fake_clock, sim: Simulator) -> None:  # type: ignore[no-untyped-def]
    task = sim.add_task(age=100, duration=30)
    sim.inject("429", 1, 3)
    async with _client(sim, sleep=fake_clock.sleep, monotonic=fake_clock.monotonic) as client:
        fetch = await client.fetch(task.task_id)
        assert fetch.ok
        assert max(fake_clock.sleeps) >= 3.0  # waited out Retry-After before asking again
        sim.inject("429", 1, 30)
        once = await client.fetch_once(task.task_id)
        assert once.outcome is Outcome.RATE_LIMITED and once.retry_after == 30
        assert client.blocked_for == pytest.approx(30)
        before = len(fake_clock.sleeps)
        await client.fetch_once(task.task_id)  # another task's request waits too
        assert fake_clock.sleeps[before] == pytest.approx(30)


async def test_rate_limited_simulator_answers_429(fake_clock) -> None:  # type: ignore[no-untyped-def]
    with Simulator(api_key=SIM_KEY, rate_limit=2) as limited:
        task = limited.add_task(age=100, duration=30)
        kw = {"retry": RetryPolicy.none(), "sleep": fake_clock.sleep, "monotonic": fake_clock.monotonic}
        async with _client(limited, **kw) as client:
            outcomes = [(await client.fetch_once(task.task_id)).outcome for _ in range(5)]
    assert Outcome.RATE_LIMITED in outcomes
    assert limited.stats.rate_limited >= 1


async def test_generate_creates_a_task_whose_params_echo_the_body(sim: Simulator) -> None:
    body = {
        "taskType": "mj_txt2img",
        "prompt": "a heron in the rain",
        "speed": "relaxed",
        "aspectRatio": "16:9",
        "version": "7",
        "someFutureKey": {"kept": True},  # unknown keys pass through
    }
    before = sim.credits
    async with _client(sim) as client:
        submitted = await client.generate(body)
        assert submitted.ok and submitted.task_id is not None
        fetch = await client.fetch(submitted.task_id)
    assert fetch.ok and fetch.task is not None and dict(fetch.task.params) == body
    assert fetch.task.status is Status.GENERATING and sim.credits == before - 4  # a relaxed task's price


async def test_generate_refusals_are_typed_and_never_retried(sim: Simulator) -> None:
    async with _client(sim) as client:
        invalid = await client.generate({"taskType": "mj_txt2img", "speed": "fast"})
        assert invalid.answer.outcome is Outcome.VALIDATION and invalid.answer.api_message == "prompt is required"
        sim.credits = 3.0
        broke = await client.generate({"taskType": "mj_txt2img", "prompt": "p", "speed": "fast"})
        assert broke.answer.outcome is Outcome.NO_CREDITS and broke.task_id is None
        sim.inject("500", count=1)
        asked = sim.stats.requests
        failed = await client.generate({"taskType": "mj_txt2img", "prompt": "p", "speed": "relaxed"})
    assert failed.answer.outcome is Outcome.SERVER_ERROR and sim.stats.requests == asked + 1  # one POST only
