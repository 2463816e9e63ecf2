"""Every answer shape maps to a typed outcome (narrow tests over httpx.MockTransport)."""

from __future__ import annotations

import json

import httpx
import pytest

from mjdash.core.api.client import (
    EXPLANATIONS,
    BearerForOrigin,
    KieClient,
    Outcome,
    RetryPolicy,
    Secret,
    explain_code,
    interpret,
    parse_retry_after,
)
from mjdash.core.api.outcomes import Kind, interpret_balance, interpret_submission
from mjdash.core.model import Status


def _response(status: int, body: object = None, text: str | None = None, **headers: str) -> httpx.Response:
    if text is not None:
        return httpx.Response(status, text=text, headers=headers)
    return httpx.Response(status, json=body, headers=headers)


@pytest.mark.parametrize(
    ("code", "outcome"),
    [
        (400, Outcome.BAD_REQUEST),
        (401, Outcome.UNAUTHORIZED),
        (402, Outcome.NO_CREDITS),
        (404, Outcome.NOT_FOUND),
        (422, Outcome.VALIDATION),
        (429, Outcome.RATE_LIMITED),
        (455, Outcome.MAINTENANCE),
        (500, Outcome.SERVER_ERROR),
        (501, Outcome.GENERATION_FAILED),
        (505, Outcome.FEATURE_DISABLED),
        (503, Outcome.SERVER_ERROR),
        (418, Outcome.UNEXPECTED_CODE),
    ],
)
@pytest.mark.parametrize("http", [200, "same"])
def test_every_spec_code_in_body_or_status(code: int, outcome: Outcome, http: int | str) -> None:
    status = code if http == "same" else 200
    fetch = interpret("t1", _response(status, {"code": code, "msg": "m", "data": None}))
    assert fetch.outcome is outcome
    assert fetch.api_code == code
    assert not fetch.ok
    assert fetch.message.startswith(EXPLANATIONS[outcome])
    assert "\n" not in fetch.message


def test_transient_and_permanent_split() -> None:
    assert {o for o in Outcome if o.transient} == {
        Outcome.RATE_LIMITED,
        Outcome.MAINTENANCE,
        Outcome.SERVER_ERROR,
        Outcome.BAD_BODY,
        Outcome.TIMEOUT,
        Outcome.NETWORK,
    }
    for permanent in (400, 401, 402, 404, 422, 501, 505):
        assert not interpret("t", _response(200, {"code": permanent, "data": None})).outcome.transient


def test_every_outcome_has_one_of_the_nine_kinds() -> None:
    assert {o.kind for o in Outcome} == set(Kind)
    assert interpret("t", _response(200, {"code": 200, "data": None})).outcome.kind is Kind.NOT_FOUND
    assert interpret("t", _response(429, {"code": 429, "msg": "slow"})).outcome.kind is Kind.RATE_LIMITED
    assert interpret("t", _response(200, {"code": 401, "msg": "no"})).outcome.kind is Kind.KEY_REJECTED
    assert interpret("t", _response(200, {"code": 505, "msg": "off"})).outcome.kind is Kind.KEY_REJECTED
    assert interpret("t", _response(502, text="<html>bad gateway</html>")).outcome.kind is Kind.BAD_BODY
    assert interpret("t", _response(200, {"code": 503, "msg": "busy"})).outcome.kind is Kind.SERVER
    assert interpret("t", _response(200, [1])).outcome.kind is Kind.BAD_BODY


def test_explanations_are_human() -> None:
    assert "top up" in (explain_code(402) or "")
    assert "maintenance" in (explain_code(455) or "")
    assert explain_code(200) == "success"
    assert explain_code(None) is None


def test_success_and_unknown_id() -> None:
    ok = interpret("t1", _response(200, {"code": 200, "msg": "success", "data": {"taskId": "t1", "successFlag": 0}}))
    assert ok.ok and ok.task is not None and ok.task.status is Status.GENERATING
    missing = interpret("t1", _response(200, {"code": 422, "msg": "recordInfo is null", "data": None}))
    assert missing.outcome is Outcome.NOT_FOUND and missing.status is Status.NOT_FOUND
    null_data = interpret("t1", _response(200, {"code": 200, "msg": "success", "data": None}))
    assert null_data.outcome is Outcome.NOT_FOUND


def test_501_with_a_record_is_a_failed_task() -> None:
    body = {"code": 501, "msg": "failed", "data": {"taskId": "t", "successFlag": 3, "errorMessage": "boom"}}
    fetch = interpret("t", _response(200, body))
    assert fetch.ok and fetch.task is not None
    assert fetch.task.status is Status.GENERATION_FAILED and fetch.api_code == 501


def test_html_page_keeps_status_and_excerpt() -> None:
    fetch = interpret("t", _response(502, text="<html><title>502 Bad Gateway</title>\n\n</html>"))
    assert fetch.outcome is Outcome.BAD_BODY and fetch.outcome.transient
    assert fetch.http_status == 502
    assert fetch.excerpt and "502 Bad Gateway" in fetch.excerpt
    assert "HTTP 502" in fetch.message


def test_wrong_shapes() -> None:
    assert interpret("t", _response(200, [1, 2])).outcome is Outcome.BAD_SHAPE
    assert interpret("t", _response(200, {"msg": "no code"})).outcome is Outcome.BAD_SHAPE
    assert interpret("t", _response(200, {"code": 200, "data": "text"})).outcome is Outcome.BAD_SHAPE
    assert interpret("t", _response(200, text="")).outcome is Outcome.BAD_BODY
    assert interpret("t", _response(200, {"code": "200", "data": {"taskId": "t"}})).ok


def test_retry_after_header() -> None:
    fetch = interpret("t", _response(429, {"code": 429}, **{"Retry-After": "7"}))
    assert fetch.outcome is Outcome.RATE_LIMITED and fetch.retry_after == 7.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after(None) is None


async def test_key_goes_only_to_the_api_origin() -> None:
    seen: list[tuple[str, str | None]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((str(request.url), request.headers.get("authorization")))
        return httpx.Response(200, json={"code": 200, "data": {"taskId": "t"}})

    client = KieClient("sk-very-secret", "https://api.kie.ai", transport=httpx.MockTransport(handler))
    await client.fetch("a&b=c")
    await client.aclose()
    auth = BearerForOrigin(Secret("sk-very-secret"), ("https", "api.kie.ai", None))  # what the client uses
    async with httpx.AsyncClient(auth=auth, transport=httpx.MockTransport(handler)) as other:
        await other.get("https://evil.example/x")  # another origin
        await other.get("http://api.kie.ai/x")  # same host, other scheme
    assert seen[0] == ("https://api.kie.ai/api/v1/mj/record-info?taskId=a%26b%3Dc", "Bearer sk-very-secret")
    assert seen[1][1] is None and seen[2][1] is None
    assert "sk-very-secret" not in repr(client) and "sk-very-secret" not in repr(Secret("sk-very-secret"))


async def test_bounded_retries_end_quickly(fake_clock) -> None:  # type: ignore[no-untyped-def]
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(500, json={"code": 500, "msg": "down"})

    client = KieClient(
        "k",
        transport=httpx.MockTransport(handler),
        sleep=fake_clock.sleep,
        monotonic=fake_clock.monotonic,
        retry=RetryPolicy(attempts=5, total_s=100),
    )
    fetch = await client.fetch("t")
    await client.aclose()
    assert fetch.outcome is Outcome.SERVER_ERROR
    assert calls == 5
    assert len(fake_clock.sleeps) == 4
    assert all(0 < s <= 4.5 for s in fake_clock.sleeps)


async def test_permanent_errors_are_not_retried(fake_clock) -> None:  # type: ignore[no-untyped-def]
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(200, json={"code": 402, "msg": "credits"})

    client = KieClient("k", transport=httpx.MockTransport(handler), sleep=fake_clock.sleep)
    fetch = await client.fetch("t")
    await client.aclose()
    assert fetch.outcome is Outcome.NO_CREDITS and calls == 1 and fake_clock.sleeps == []


def test_bad_base_url_is_refused() -> None:
    with pytest.raises(ValueError, match="base URL"):
        KieClient("k", "ftp://api.kie.ai")


async def test_a_protocol_error_never_carries_the_request_headers_into_a_message() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.LocalProtocolError(f"Illegal header value b'{request.headers['authorization']}'")

    async with KieClient("sk-very-secret", "https://api.kie.ai", transport=httpx.MockTransport(handler)) as client:
        fetch = await client.fetch_once("t")
    assert fetch.outcome is Outcome.NETWORK and "sk-very-secret" not in fetch.message
    assert "LocalProtocolError" in fetch.message


@pytest.mark.parametrize(
    ("response", "outcome", "credits"),
    [
        (_response(200, {"code": 200, "msg": "success", "data": 4992}), Outcome.OK, 4992.0),
        (_response(200, {"code": 200, "msg": "success", "data": "12.5"}), Outcome.OK, 12.5),  # a numeric string
        (_response(200, {"code": 200, "msg": "success", "data": True}), Outcome.BAD_SHAPE, None),
        (_response(200, {"code": 200, "msg": "success", "data": None}), Outcome.BAD_SHAPE, None),
        (_response(200, {"code": 200, "msg": "success", "data": "NaN"}), Outcome.BAD_SHAPE, None),
        (_response(200, {"code": 402, "msg": "Insufficient credits", "data": None}), Outcome.NO_CREDITS, None),
        (_response(401, {"code": 401, "msg": "no", "data": None}), Outcome.UNAUTHORIZED, None),
        (_response(502, text="<html>Bad Gateway</html>"), Outcome.BAD_BODY, None),
    ],
)
def test_the_credit_balance_is_read_like_a_record(response: httpx.Response, outcome: Outcome, credits: float) -> None:
    balance = interpret_balance(response)
    assert balance.answer.outcome is outcome and balance.credits == credits
    assert balance.ok is (outcome is Outcome.OK)
    assert balance.message  # one human line whatever happened


async def test_the_balance_is_retried_and_honours_retry_after(fake_clock) -> None:  # type: ignore[no-untyped-def]
    answers = [
        httpx.Response(429, json={"code": 429, "msg": "slow down"}, headers={"Retry-After": "7"}),
        httpx.Response(200, json={"code": 200, "msg": "success", "data": 10}),
    ]
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return answers.pop(0)

    client = KieClient(
        "k", transport=httpx.MockTransport(handler), sleep=fake_clock.sleep, monotonic=fake_clock.monotonic
    )
    balance = await client.credits()
    await client.aclose()
    assert balance.ok and balance.credits == 10.0
    assert seen == ["/api/v1/chat/credit"] * 2 and max(fake_clock.sleeps) >= 7


@pytest.mark.parametrize(
    ("response", "outcome", "task_id"),
    [
        (_response(200, {"code": 200, "msg": "success", "data": {"taskId": "abc123"}}), Outcome.OK, "abc123"),
        (_response(200, {"code": 200, "msg": "success", "data": {}}), Outcome.BAD_SHAPE, None),
        (_response(200, {"code": 200, "msg": "success", "data": "abc"}), Outcome.BAD_SHAPE, None),
        (_response(200, {"code": 402, "msg": "Insufficient credits", "data": None}), Outcome.NO_CREDITS, None),
        (_response(200, {"code": 422, "msg": "prompt is required", "data": None}), Outcome.VALIDATION, None),
        (_response(200, {"code": 455, "msg": "maintenance", "data": None}), Outcome.MAINTENANCE, None),
    ],
)
def test_a_generate_answer_is_read_like_a_record(response: httpx.Response, outcome: Outcome, task_id: str) -> None:
    submission = interpret_submission(response)
    assert submission.answer.outcome is outcome and submission.task_id == task_id
    assert submission.ok is (outcome is Outcome.OK) and submission.message


async def test_generate_posts_the_body_once_even_on_a_timeout() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        raise httpx.ReadTimeout("slow", request=request)

    client = KieClient("k", transport=httpx.MockTransport(handler), retry=RetryPolicy(attempts=5, total_s=100))
    submission = await client.generate({"taskType": "mj_txt2img", "prompt": "p"})
    await client.aclose()
    assert submission.answer.outcome is Outcome.TIMEOUT and len(seen) == 1  # not idempotent: never sent twice
    assert seen[0].method == "POST" and seen[0].url.path == "/api/v1/mj/generate"
    assert json.loads(seen[0].content) == {"taskType": "mj_txt2img", "prompt": "p"}
    assert seen[0].headers["authorization"] == "Bearer k"
