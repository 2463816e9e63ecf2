"""The kie.ai client: one ``httpx.AsyncClient``, typed outcomes, bounded retries that honour Retry-After.

Every answer becomes a :class:`Fetch`: either a parsed :class:`~mjdash.core.model.Task` or an
:class:`Outcome` with a one-line human explanation, the API's code, the HTTP status and a short excerpt of
the body. Nothing here raises for anything the network or the API can do.

The API reports errors both as the HTTP status and as the ``code`` field of a JSON body that may arrive
with HTTP 200; the body's code wins when it is present. Transient outcomes (429, 455, 500, proxy error
pages, timeouts, connection errors) are retried by tenacity with exponential backoff and jitter, bounded in
attempts and total time; a Retry-After blocks *every* request of this client (the key's budget is shared)
until it has elapsed.

The API key is held in a :class:`Secret` and attached by an :class:`httpx.Auth` only to requests for the
configured API origin: it never reaches image hosts, logs, exceptions or ``repr``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    stop_before_delay,
    wait_exponential_jitter,
)

from mjdash import __version__
from mjdash.core.api.credentials import DEFAULT_BASE_URL, Secret
from mjdash.core.api.outcomes import (
    CREDITS,
    EXPLANATIONS,
    GENERATE,
    Balance,
    Fetch,
    Outcome,
    Submission,
    explain_code,
    interpret,
    interpret_balance,
    interpret_submission,
    one_line,
    parse_retry_after,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "EXPLANATIONS",
    "Balance",
    "Fetch",
    "KieClient",
    "Outcome",
    "RetryPolicy",
    "Secret",
    "explain_code",
    "interpret",
    "parse_retry_after",
]

RECORD_INFO_PATH = "/api/v1/mj/record-info"
CREDIT_PATH = "/api/v1/chat/credit"
GENERATE_PATH = "/api/v1/mj/generate"
A = TypeVar("A")  # an answer: a Fetch, or a Balance


class BearerForOrigin(httpx.Auth):
    """Adds the bearer key only to requests for the API's own origin."""

    def __init__(self, key: Secret, origin: tuple[str, str, int | None]) -> None:
        self._key = key
        self._origin = origin

    def auth_flow(self, request: httpx.Request):  # type: ignore[no-untyped-def]
        url = request.url
        if (url.scheme, url.host, url.port) == self._origin and self._key:
            request.headers["Authorization"] = f"Bearer {self._key.reveal()}"
        yield request


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard one request tries: at most ``attempts`` tries within ``total_s`` seconds."""

    attempts: int = 4
    total_s: float = 8.0
    initial_s: float = 0.5
    max_wait_s: float = 4.0
    jitter_s: float = 0.5

    @classmethod
    def none(cls) -> RetryPolicy:
        return cls(attempts=1, total_s=0.0)


class _Transient(Exception):
    """Internal: a transient outcome, raised so tenacity retries it."""

    def __init__(self, fetch: Fetch, result: object) -> None:
        super().__init__(fetch.outcome.value)
        self.fetch = fetch  # the outcome (for Retry-After)
        self.result = result  # what the request returned (a Fetch, or a Balance)


Sleep = Callable[[float], Awaitable[None]]


class KieClient:
    """Async client for kie.ai's record-info endpoint. Use as an async context manager, or call aclose()."""

    def __init__(
        self,
        api_key: Secret | str,
        base_url: str = DEFAULT_BASE_URL,
        *,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._key = api_key if isinstance(api_key, Secret) else Secret(api_key)
        if any(c.isspace() or not c.isprintable() for c in self._key.reveal()):
            raise ValueError("the API key has spaces, line breaks or control characters inside it — set it again")
        base = httpx.URL(base_url.rstrip("/") + "/")
        if base.scheme not in ("http", "https") or not base.host:
            raise ValueError(f"the base URL must be an http(s) URL with a host, not {base_url!r}")
        self.base_url = str(base).rstrip("/")
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._monotonic = monotonic
        self._not_before = 0.0  # monotonic time before which no request may go out (Retry-After)
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            auth=BearerForOrigin(self._key, (base.scheme, base.host, base.port)),
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            follow_redirects=False,
            headers={"User-Agent": f"mjdash/{__version__}", "Accept": "application/json"},
            transport=transport,
            limits=httpx.Limits(max_connections=16, max_keepalive_connections=8),
        )

    def __repr__(self) -> str:
        return f"KieClient(base_url={self.base_url!r})"

    async def __aenter__(self) -> KieClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    def _describe(self, exc: httpx.HTTPError) -> str:
        """A failed request in a few words. A protocol error's text can quote the request's headers (the
        Authorization header among them), so only its kind is kept; the key is scrubbed from any other text."""
        name = type(exc).__name__
        if isinstance(exc, httpx.ProtocolError) or not isinstance(exc, httpx.TransportError):
            return name
        key = self._key.reveal()
        text = str(exc).replace(key, "***") if key else str(exc)
        return one_line(f"{name}: {text}", 80)

    @property
    def blocked_for(self) -> float:
        """Seconds left of a Retry-After that blocks this key (0 when none)."""
        return max(0.0, self._not_before - self._monotonic())

    def block(self, seconds: float) -> None:
        """No request of this client goes out for ``seconds`` (honours a Retry-After)."""
        self._not_before = max(self._not_before, self._monotonic() + seconds)

    async def fetch_once(self, task_id: str) -> Fetch:
        """One request, no retry (but it waits out an active Retry-After first)."""
        response = await self._get(task_id, RECORD_INFO_PATH, {"taskId": task_id})
        return response if isinstance(response, Fetch) else self._blocking(interpret(task_id, response))

    async def fetch(self, task_id: str, retry: RetryPolicy | None = None) -> Fetch:
        """Ask about one task, retrying transient outcomes within the retry policy."""
        return await self._retried(lambda: self.fetch_once(task_id), lambda fetch: fetch, retry)

    async def credits_once(self) -> Balance:
        """The account's credit balance: one request, no retry."""
        response = await self._get(CREDITS, CREDIT_PATH, None)
        if isinstance(response, Fetch):
            return Balance(response)
        balance = interpret_balance(response)
        self._blocking(balance.answer)
        return balance

    async def credits(self, retry: RetryPolicy | None = None) -> Balance:
        """The account's credit balance, retrying transient outcomes within the retry policy."""
        return await self._retried(self.credits_once, lambda balance: balance.answer, retry)

    async def generate(self, params: Mapping[str, Any]) -> Submission:
        """Create a task from ``params`` (paramJson's fields): one POST, never retried — it is not idempotent,
        and every accepted call spends credits. A timeout leaves it unknown whether the task was created; a
        connection that could not be opened (``unsent``) did not create one."""
        try:
            response = await self._request("POST", GENERATE_PATH, json=dict(params))
        except httpx.HTTPError as exc:
            unsent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
            return Submission(self._failed(GENERATE, exc), unsent=unsent)
        submission = interpret_submission(response)
        self._blocking(submission.answer)
        return submission

    async def _get(self, label: str, path: str, params: dict[str, str] | None) -> httpx.Response | Fetch:
        """One GET to the API: the response, or the Fetch of a failed one."""
        try:
            return await self._request("GET", path, params=params)
        except httpx.HTTPError as exc:
            return self._failed(label, exc)

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request to the API, after any active Retry-After."""
        wait = self.blocked_for
        if wait > 0:
            await self._sleep(wait)
        return await self._http.request(method, path, **kwargs)

    def _failed(self, label: str, exc: httpx.HTTPError) -> Fetch:
        if isinstance(exc, httpx.TimeoutException):
            return Fetch(label, Outcome.TIMEOUT)
        return Fetch(label, Outcome.NETWORK, excerpt=self._describe(exc))

    def _blocking(self, fetch: Fetch) -> Fetch:
        if fetch.retry_after is not None and fetch.outcome in (Outcome.RATE_LIMITED, Outcome.MAINTENANCE):
            self.block(fetch.retry_after)
        return fetch

    async def _retried(
        self, once: Callable[[], Awaitable[A]], answer: Callable[[A], Fetch], retry: RetryPolicy | None
    ) -> A:
        """``once()`` again while its answer is transient, within the retry policy (and any Retry-After)."""
        policy = retry or self.retry
        if policy.attempts <= 1:
            return await once()
        backoff = wait_exponential_jitter(multiplier=policy.initial_s, max=policy.max_wait_s, jitter=policy.jitter_s)

        def wait(state: RetryCallState) -> float:
            seconds = float(backoff(state))
            outcome = state.outcome
            exc = outcome.exception() if outcome is not None else None
            if isinstance(exc, _Transient) and exc.fetch.retry_after is not None:
                seconds = max(seconds, exc.fetch.retry_after)
            return seconds

        async def attempt() -> A:
            result = await once()
            if answer(result).outcome.transient:
                raise _Transient(answer(result), result)
            return result

        retrying = AsyncRetrying(
            stop=stop_after_attempt(policy.attempts) | stop_before_delay(policy.total_s),
            wait=wait,
            retry=retry_if_exception_type(_Transient),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            result: A = await retrying(attempt)
        except _Transient as exc:
            return cast(A, exc.result)
        return result
