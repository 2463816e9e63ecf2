"""What one record-info answer means: typed outcomes with one-line human explanations, and the pure
function that turns an HTTP response into a :class:`Fetch`.

The API reports errors both as the HTTP status and as the ``code`` field of a JSON body that may arrive
with HTTP 200; the body's code wins when it is present. An unknown task ID comes back as
``{"code": 422, "msg": "recordInfo is null"}`` or as ``code 200`` with ``data: null``: both are NOT_FOUND.
"""

from __future__ import annotations

import enum
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, TypeVar

from mjdash.core.intake.ids import is_valid
from mjdash.core.model import Status, Task
from mjdash.core.parse import parse_record

if TYPE_CHECKING:
    import httpx

EXCERPT_CHARS = 160


class Outcome(enum.StrEnum):
    """What one record-info request came to."""

    OK = "ok"
    NOT_FOUND = "not_found"
    BAD_REQUEST = "bad_request"  # 400
    UNAUTHORIZED = "unauthorized"  # 401
    NO_CREDITS = "no_credits"  # 402
    VALIDATION = "validation"  # 422
    RATE_LIMITED = "rate_limited"  # 429
    MAINTENANCE = "maintenance"  # 455
    SERVER_ERROR = "server_error"  # 500 and other 5xx
    GENERATION_FAILED = "generation_failed"  # 501 without a record
    FEATURE_DISABLED = "feature_disabled"  # 505
    UNEXPECTED_CODE = "unexpected_code"  # a code the spec does not list
    BAD_BODY = "bad_body"  # not JSON (e.g. an HTML error page from a proxy)
    BAD_SHAPE = "bad_shape"  # JSON, but not the documented envelope
    TIMEOUT = "timeout"
    NETWORK = "network"

    @property
    def transient(self) -> bool:
        """Worth asking again later."""
        return self in _TRANSIENT

    @property
    def kind(self) -> Kind:
        """What it means for whoever asked: the engine has one handler per kind."""
        return _KIND[self]


class Kind(enum.StrEnum):
    """What an outcome means for the engine, in the nine ways it acts on."""

    OK = "ok"  # a record: the task's state
    NOT_FOUND = "not_found"  # an answer about this task that is no record: unknown ID, refused request
    RATE_LIMITED = "rate_limited"  # slow down, every task (429)
    MAINTENANCE = "maintenance"  # come back later, every task (455)
    KEY_REJECTED = "key_rejected"  # the key cannot be used (401, 505)
    NO_CREDITS = "no_credits"  # the account is empty (402)
    SERVER = "server"  # kie.ai failed (5xx)
    NETWORK = "network"  # no answer: connection, timeout
    BAD_BODY = "bad_body"  # an answer that is not the API's (a proxy's page, JSON of another shape)


_KIND = {
    Outcome.OK: Kind.OK,
    Outcome.NOT_FOUND: Kind.NOT_FOUND,
    Outcome.BAD_REQUEST: Kind.NOT_FOUND,
    Outcome.VALIDATION: Kind.NOT_FOUND,
    Outcome.GENERATION_FAILED: Kind.NOT_FOUND,
    Outcome.UNEXPECTED_CODE: Kind.NOT_FOUND,
    Outcome.RATE_LIMITED: Kind.RATE_LIMITED,
    Outcome.MAINTENANCE: Kind.MAINTENANCE,
    Outcome.UNAUTHORIZED: Kind.KEY_REJECTED,
    Outcome.FEATURE_DISABLED: Kind.KEY_REJECTED,
    Outcome.NO_CREDITS: Kind.NO_CREDITS,
    Outcome.SERVER_ERROR: Kind.SERVER,
    Outcome.TIMEOUT: Kind.NETWORK,
    Outcome.NETWORK: Kind.NETWORK,
    Outcome.BAD_BODY: Kind.BAD_BODY,
    Outcome.BAD_SHAPE: Kind.BAD_BODY,
}


# Worth the client's own retry. Not a wrong-shaped JSON answer: asking again at once would get the same.
_TRANSIENT = frozenset(
    {
        Outcome.RATE_LIMITED,
        Outcome.MAINTENANCE,
        Outcome.SERVER_ERROR,
        Outcome.BAD_BODY,
        Outcome.TIMEOUT,
        Outcome.NETWORK,
    }
)

_CODE_OUTCOME = {
    400: Outcome.BAD_REQUEST,
    401: Outcome.UNAUTHORIZED,
    402: Outcome.NO_CREDITS,
    404: Outcome.NOT_FOUND,
    422: Outcome.VALIDATION,
    429: Outcome.RATE_LIMITED,
    455: Outcome.MAINTENANCE,
    500: Outcome.SERVER_ERROR,
    501: Outcome.GENERATION_FAILED,
    505: Outcome.FEATURE_DISABLED,
}

EXPLANATIONS: dict[Outcome, str] = {
    Outcome.OK: "fetched",
    Outcome.NOT_FOUND: "kie.ai has no task with this ID — check the ID (tasks are kept for a limited time)",
    Outcome.BAD_REQUEST: "kie.ai rejected the request as invalid (400) — check the task ID",
    Outcome.UNAUTHORIZED: "the API key was rejected (401) — check KIE_API_KEY or the config file",
    Outcome.NO_CREDITS: "the kie.ai account is out of credits (402) — top up at kie.ai",
    Outcome.VALIDATION: "kie.ai refused the request parameters (422) — check the task ID",
    Outcome.RATE_LIMITED: "rate limited by kie.ai (429) — slow down (lower --rate) or wait",
    Outcome.MAINTENANCE: "kie.ai is in maintenance (455) — try again later",
    Outcome.SERVER_ERROR: "kie.ai had a server error — try again later",
    Outcome.GENERATION_FAILED: "kie.ai reports the generation failed (501)",
    Outcome.FEATURE_DISABLED: "this kie.ai feature is currently disabled (505) — try again later",
    Outcome.UNEXPECTED_CODE: "kie.ai answered with an unexpected code — see the message",
    Outcome.BAD_BODY: "kie.ai (or a proxy) answered with something that is not JSON — try again later",
    Outcome.BAD_SHAPE: "kie.ai answered JSON of an unexpected shape — mjdash may need an update",
    Outcome.TIMEOUT: "kie.ai did not answer in time — check the network or raise --timeout",
    Outcome.NETWORK: "could not reach kie.ai — check the network and the base URL",
}


def explain_code(code: int | None) -> str | None:
    """The human explanation of an API code from the spec, or None."""
    if code is None:
        return None
    if code == 200:
        return "success"
    outcome = _CODE_OUTCOME.get(code)
    return EXPLANATIONS[outcome] if outcome else None


@dataclass(frozen=True, slots=True)
class Fetch:
    """The result of asking about one task."""

    task_id: str
    outcome: Outcome
    task: Task | None = None
    api_code: int | None = None
    http_status: int | None = None
    api_message: str | None = None  # the body's msg, as sent
    excerpt: str | None = None  # the start of an unparseable body
    retry_after: float | None = None  # seconds, from a Retry-After header
    raw: Any = None  # the body's ``data`` as received (for the store)

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK and self.task is not None

    @property
    def status(self) -> Status:
        """The task's status, or the local state this outcome stands for."""
        if self.task is not None:
            return self.task.status
        return Status.NOT_FOUND if self.outcome is Outcome.NOT_FOUND else Status.ERROR

    @property
    def message(self) -> str:
        """One line for a human: what happened and what to do."""
        text = EXPLANATIONS[self.outcome]
        details = []
        if self.http_status is not None and self.http_status != 200:
            details.append(f"HTTP {self.http_status}")
        if self.api_code is not None and self.outcome is Outcome.UNEXPECTED_CODE:
            details.append(f"code {self.api_code}")
        if self.api_message and self.api_message.lower() not in ("success", "ok"):
            details.append(f"msg: {one_line(self.api_message)}")
        if self.excerpt:
            details.append(f"body: {self.excerpt}")
        return f"{text} ({'; '.join(details)})" if details else text


def one_line(text: str, limit: int = EXCERPT_CHARS) -> str:
    """Collapse whitespace and cut to ``limit`` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Retry-After as seconds (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds:  # NaN
        return None
    return max(0.0, min(seconds, 3600.0))


def interpret(task_id: str, response: httpx.Response) -> Fetch:
    """Turn one record-info response into a Fetch (pure; no I/O)."""
    envelope = _envelope(task_id, response)
    if isinstance(envelope, Fetch):
        return envelope
    code, msg, data, common = envelope
    if code in (200, 501) and isinstance(data, dict):
        return Fetch(task_id, Outcome.OK, task=parse_record(data, task_id), **common)
    if code == 200:
        if data is None:  # the API's answer for an ID it does not know
            return Fetch(task_id, Outcome.NOT_FOUND, **common)
        return Fetch(task_id, Outcome.BAD_SHAPE, excerpt=one_line(response.text, 80), **common)
    if code == 422 and msg and "null" in msg.lower():  # "recordInfo is null": unknown task ID
        return Fetch(task_id, Outcome.NOT_FOUND, **common)
    return _by_code(task_id, code, common)


CREDITS = "credits"  # the "task ID" of a balance request's answer
GENERATE = "generate"  # the "task ID" of a generate request's answer
V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class Reply:
    """An answer about no task: its outcome, typed as a task's are (``answer``), and the value it carries."""

    answer: Fetch

    @property
    def message(self) -> str:
        return self.answer.message


@dataclass(frozen=True, slots=True)
class Balance(Reply):
    """The answer to ``GET /api/v1/chat/credit``."""

    credits: float | None = None

    @property
    def ok(self) -> bool:
        return self.answer.outcome is Outcome.OK and self.credits is not None


@dataclass(frozen=True, slots=True)
class Submission(Reply):
    """The answer to ``POST /api/v1/mj/generate``: the new task's ID."""

    task_id: str | None = None
    unsent: bool = False  # the request never left (no connection): no task was created

    @property
    def ok(self) -> bool:
        return self.answer.outcome is Outcome.OK and self.task_id is not None


def interpret_balance(response: httpx.Response) -> Balance:
    """A credit-balance response (pure; no I/O): ``data`` is the balance, a number."""
    return Balance(*_reply(CREDITS, response, _number))


def interpret_submission(response: httpx.Response) -> Submission:
    """A generate response (pure; no I/O): ``data.taskId`` is the new task."""
    return Submission(*_reply(GENERATE, response, _task_id))


def _reply(label: str, response: httpx.Response, read: Callable[[Any], V | None]) -> tuple[Fetch, V | None]:
    """An answer whose ``data`` carries one value (``read`` finds it, or None: the body has the wrong shape)."""
    envelope = _envelope(label, response)
    if isinstance(envelope, Fetch):
        return envelope, None
    code, _, data, common = envelope
    if code != 200:
        return _by_code(label, code, common), None
    value = read(data)
    if value is None:
        return Fetch(label, Outcome.BAD_SHAPE, excerpt=one_line(response.text, 80), **common), None
    return Fetch(label, Outcome.OK, **common), value


def _task_id(data: object) -> str | None:
    """A new task's ID, when it is one (the watchlist and the terminal get nothing else)."""
    task_id = data.get("taskId") if isinstance(data, dict) else None
    return task_id.strip() if isinstance(task_id, str) and is_valid(task_id.strip()) else None


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _envelope(task_id: str, response: httpx.Response) -> Fetch | tuple[int, str | None, Any, dict[str, Any]]:
    """The API's envelope ``{"code", "msg", "data"}``: (code, msg, data, the Fetch fields they give), or the Fetch
    that ends here — a body that is not JSON, or not an object, or has no code."""
    http = response.status_code
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    text = response.text
    try:
        body = json.loads(text)
    except (ValueError, RecursionError):
        # Not JSON: a proxy's error page, an empty body, a truncated answer. Keep a short excerpt.
        outcome = {429: Outcome.RATE_LIMITED, 401: Outcome.UNAUTHORIZED, 402: Outcome.NO_CREDITS}.get(
            http, Outcome.BAD_BODY
        )
        return Fetch(
            task_id,
            outcome,
            http_status=http,
            excerpt=one_line(text, 80) or "(empty)",
            retry_after=retry_after,
        )
    if not isinstance(body, dict):
        return Fetch(task_id, Outcome.BAD_SHAPE, http_status=http, excerpt=one_line(text, 80))
    code_value = body.get("code")
    code = code_value if isinstance(code_value, int) and not isinstance(code_value, bool) else None
    if code is None and isinstance(code_value, str) and code_value.strip().isdigit():
        code = int(code_value)
    msg = body.get("msg") if isinstance(body.get("msg"), str) else None
    data = body.get("data")
    if code is None:
        code = http if http != 200 else None
    if code is None:
        return Fetch(task_id, Outcome.BAD_SHAPE, http_status=http, api_message=msg, excerpt=one_line(text, 80))
    common: dict[str, Any] = {
        "api_code": code,
        "http_status": http,
        "api_message": msg,
        "retry_after": retry_after,
        "raw": data,
    }
    return code, msg, data, common


def _by_code(task_id: str, code: int, common: dict[str, Any]) -> Fetch:
    """An answer whose code is not success: its outcome by the code."""
    fallback = Outcome.SERVER_ERROR if 500 <= code < 600 else Outcome.UNEXPECTED_CODE
    return Fetch(task_id, _CODE_OUTCOME.get(code, fallback), **common)
