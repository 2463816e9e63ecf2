"""Resubmit's rules: which tasks are sent, what is sent, and what each kind of answer does to the run.

The selection is pure (:func:`plan`); the run is tested here against ``httpx.MockTransport`` for the answers the
simulator cannot give on demand (a timeout after sending, a refused connection) and over loopback in
``tests/integration/test_resubmit_cli.py``.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx
import pytest

from mjdash.core.api.client import KieClient, RetryPolicy
from mjdash.core.api.outcomes import Submission
from mjdash.core.model import Status, Task
from mjdash.core.resubmit import Candidate, Sender, Step, body_of, plan, send, sender_for
from mjdash.core.store import resubmissions
from mjdash.core.store.database import Store
from mjdash.core.store.gateway import StoreGateway
from mjdash.core.store.resubmissions import Intent
from tests.clocks import FakeClock

PARAMS = {
    "taskType": "mj_txt2img",
    "prompt": "a lighthouse",
    "speed": "fast",
    "callBackUrl": "https://example.com/hook",
    "brandNewKey": {"nested": [1, 2]},  # undocumented keys pass through as they are
}


def _failed(task_id: str, message: str = "Midjourney job failed", **extra: Any) -> Task:
    return Task(task_id, status=Status.GENERATION_FAILED, error_code=501, error_message=message, params=PARAMS, **extra)


def test_the_body_is_paramjson_as_recorded_and_no_callback_drops_only_the_callback() -> None:
    task = _failed("a")
    assert body_of(task) == PARAMS
    assert body_of(task, no_callback=True) == {k: v for k, v in PARAMS.items() if k != "callBackUrl"}
    assert body_of(Task("b", status=Status.FAILED, params_raw="{not json")) is None
    assert body_of(Task("c", status=Status.FAILED)) is None


def test_only_final_failures_are_sent_and_every_other_task_says_why() -> None:
    tasks = [
        _failed("sent"),
        Task("running", status=Status.GENERATING, params=PARAMS),
        Task("done", status=Status.SUCCESS, params=PARAMS),
        _failed("moderated", "The prompt was blocked by content moderation"),
        _failed("retried", retried_by="newer"),
        Task("noparams", status=Status.FAILED),
    ]
    found = plan(tasks, missing=["ghost"])
    assert [c.task.task_id for c in found.send] == ["sent"]
    reasons = {s.task_id: s.reason for s in found.skipped}
    assert reasons["ghost"].startswith("not in the watchlist")
    assert reasons["running"].startswith("still running — only failed tasks")
    assert reasons["done"].startswith("success — only failed tasks")
    assert "failed moderation" in reasons["moderated"] and "--include-moderation" in reasons["moderated"]
    assert reasons["retried"] == "already resubmitted as newer (--again sends it once more)"
    assert "parameters are not known" in reasons["noparams"]
    widened = plan(tasks, include_moderation=True, again=True)
    assert [c.task.task_id for c in widened.send] == ["sent", "moderated", "retried"]


def test_an_attempt_of_unknown_outcome_blocks_its_original_until_again() -> None:
    intent = Intent(1, "a", 1_800_000_000.0, "sending")
    found = plan([_failed("a")], open_intents={"a": intent})
    assert found.send == [] and found.unknown == [intent]
    assert "unknown outcome — check kie.ai's logs" in found.skipped[0].reason
    assert [c.task.task_id for c in plan([_failed("a")], open_intents={"a": intent}, again=True).send] == ["a"]


async def _direct(request: Callable[[], Awaitable[Submission]]) -> Submission:
    return await request()


def _store(tmp_path: Path, *ids: str) -> Store:
    store = Store(tmp_path / "w.db", clock=lambda: 1_800_000_000.0)
    store.add(ids, batch="b1")
    return store


async def _run(store: Store, handler: Callable[[httpx.Request], httpx.Response], *ids: str) -> Any:
    clock = FakeClock()
    client = KieClient(
        "k", transport=httpx.MockTransport(handler), sleep=clock.sleep, monotonic=clock.monotonic, retry=RetryPolicy()
    )
    steps: list[Step] = []
    db = StoreGateway(store)
    async with client:
        report = await send(
            [Candidate(_failed(i), dict(PARAMS)) for i in ids],
            sender=Sender(client, _direct, clock.sleep),
            db=db,
            progress=lambda p: steps.append(p.step),
        )
    db.close()
    return report, steps, clock


@pytest.mark.parametrize(
    ("error", "state", "unsent"),
    [(httpx.ReadTimeout("slow"), "unknown", False), (httpx.ConnectError("refused"), "refused", True)],
)
async def test_a_post_without_an_answer_is_never_sent_again_and_stops_the_run(
    tmp_path: Path, error: Exception, state: str, unsent: bool
) -> None:
    posts: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        posts.append(request)
        raise error

    with _store(tmp_path, "a", "b") as store:
        report, _, _ = await _run(store, handler, "a", "b")
        assert len(posts) == 1  # no retry, and nothing after it
        assert report.not_sent == ["b"] and not report.complete
        [attempt] = resubmissions.intents(store, "a")
        assert attempt.state == state
        if unsent:
            assert report.stopped == "could not reach kie.ai; nothing was created" and report.refused
        else:
            assert "it may have created a task: check kie.ai's logs" in report.unknown[0][1]
            assert "POST is not idempotent" in report.unknown[0][1]
            assert resubmissions.open_intents(store) == {"a": attempt}  # the next run will say so


async def test_429_waits_for_retry_after_then_sends_the_same_body(tmp_path: Path) -> None:
    bodies: list[Any] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        if len(bodies) == 1:
            return httpx.Response(429, json={"code": 429, "msg": "slow down"}, headers={"Retry-After": "7"})
        return httpx.Response(200, json={"code": 200, "msg": "success", "data": {"taskId": "new1"}})

    with _store(tmp_path, "a") as store:
        report, steps, clock = await _run(store, handler, "a")
        assert report.sent == [("a", "new1")] and report.complete
        assert steps == [Step.WAITING, Step.SENT] and bodies == [PARAMS, PARAMS]
        assert sum(clock.sleeps) >= 7
        assert store.row("a").retried_by == "new1"  # type: ignore[union-attr]
        new = store.row("new1")
        assert new is not None and (new.retry_of, new.batch, new.prompt) == ("a", "b1", "a lighthouse")


async def test_402_stops_at_once_and_a_422_only_skips_its_task(tmp_path: Path) -> None:
    answers = iter(
        [
            {"code": 422, "msg": "prompt is required"},
            {"code": 200, "msg": "success", "data": {"taskId": "new2"}},
            {"code": 402, "msg": "Insufficient credits"},
        ]
    )

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=next(answers))

    with _store(tmp_path, "a", "b", "c", "d") as store:
        report, steps, _ = await _run(store, handler, "a", "b", "c", "d")
        assert steps == [Step.REFUSED, Step.SENT, Step.REFUSED]
        assert report.sent == [("b", "new2")] and report.not_sent == ["d"]
        assert report.stopped is not None and "out of credits (402)" in report.stopped
        assert [i.state for i in resubmissions.intents(store, "c")] == ["refused"]
        assert resubmissions.open_intents(store) == {}  # a refusal created nothing: the task may be sent again


async def test_a_task_id_that_is_not_one_is_an_unknown_outcome(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"code": 200, "msg": "success", "data": {"taskId": "\x1b]52;c;evil\x07"}})

    with _store(tmp_path, "a") as store:
        report, _, _ = await _run(store, handler, "a")
        assert report.sent == [] and report.unknown and store.count() == 1


async def test_requests_keep_to_the_engines_rate(tmp_path: Path) -> None:
    clock = FakeClock()
    sent_at: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent_at.append(clock.now())
        return httpx.Response(200, json={"code": 200, "msg": "success", "data": {"taskId": f"n{len(sent_at)}"}})

    with _store(tmp_path, "a", "b", "c", "d", "e") as store:
        db = StoreGateway(store)
        async with KieClient("k", transport=httpx.MockTransport(handler), sleep=clock.sleep) as client:
            sender = sender_for(client, 2.0, clock)
            report = await send([Candidate(_failed(i), dict(PARAMS)) for i in "abcde"], sender=sender, db=db)
        db.close()
    assert len(report.sent) == 5
    assert all(later - earlier >= 0.5 for earlier, later in pairwise(sent_at))
