"""The task model and the one tolerant parser of kie.ai's ``record-info`` ``data`` object.

``parse_record`` never raises, whatever JSON value it is given: a field that is missing, null, of the wrong
type or absurd becomes unknown (``None``) for that field only. Known differences between the live API and
its published spec that are handled here:

* ``createTime`` / ``completeTime`` arrive as epoch milliseconds (``1760557318000``), epoch seconds, numeric
  strings of either, or ISO-8601 strings (with or without zone; a naive time is taken as UTC).
* ``paramJson`` is a JSON *string* (as documented) or an object; invalid JSON keeps its raw text.
* ``successFlag`` may be a string (``"1"``); ``version`` inside the params may be a string or a number.
* Result URLs that are not http(s) are dropped from ``result_urls`` (they stay in the raw record).
"""

from __future__ import annotations

import enum
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

# Times outside this window are treated as absurd (unknown), not as data.
_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
_LATEST = datetime(2200, 1, 1, tzinfo=UTC)
# Epoch values above this are milliseconds (1e11 s is the year 5138; 1e11 ms is 1973).
_MS_THRESHOLD = 100_000_000_000


class Status(enum.StrEnum):
    """A task's state: the API's successFlag plus local states."""

    GENERATING = "generating"
    SUCCESS = "success"
    FAILED = "failed"
    GENERATION_FAILED = "generation_failed"
    NOT_FOUND = "not_found"
    ERROR = "error"
    UNKNOWN = "unknown"

    @property
    def is_final(self) -> bool:
        """True when the API will not change this task any more."""
        return self in FINAL_STATES

    @property
    def is_failure(self) -> bool:
        return self in (Status.FAILED, Status.GENERATION_FAILED)


FINAL_STATES = frozenset({Status.SUCCESS, Status.FAILED, Status.GENERATION_FAILED})

_FLAG_TO_STATUS = {
    0: Status.GENERATING,
    1: Status.SUCCESS,
    2: Status.FAILED,
    3: Status.GENERATION_FAILED,
}

_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Task:
    """What is known about one task, parsed from one record-info answer."""

    task_id: str
    status: Status = Status.UNKNOWN
    task_type: str | None = None
    params: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    params_raw: str | None = None  # paramJson text when it was not valid JSON
    prompt: str | None = None
    created_at: datetime | None = None
    completed_at: datetime | None = None
    result_urls: tuple[str, ...] = ()
    error_code: int | None = None
    error_message: str | None = None

    @property
    def duration_s(self) -> float | None:
        """Completion minus creation, in seconds (see :func:`took`)."""
        return took(
            self.created_at.timestamp() if self.created_at else None,
            self.completed_at.timestamp() if self.completed_at else None,
        )

    @property
    def is_video(self) -> bool:
        return (self.task_type or "").startswith("mj_video") or any(
            urlsplit(u).path.lower().endswith((".mp4", ".webm", ".mov")) for u in self.result_urls
        )

    def param(self, key: str) -> str | None:
        """A parameter as display text (numbers and strings alike), or None."""
        value = self.params.get(key)
        if value is None or value == "" or isinstance(value, dict | list):
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    def to_json(self) -> dict[str, Any]:
        """The public JSON shape of a task (used by ``status --json``, ``ls --json`` and exports)."""
        return {
            "task_id": self.task_id,
            "status": self.status.value,
            "task_type": self.task_type,
            "prompt": self.prompt,
            "params": dict(self.params) if self.params_raw is None else self.params_raw,
            "created_at": iso(self.created_at),
            "completed_at": iso(self.completed_at),
            "duration_s": self.duration_s,
            "result_urls": list(self.result_urls),
            "error_code": self.error_code,
            "error_message": self.error_message,
        }


def iso(value: datetime | None) -> str | None:
    """ISO-8601 UTC with a Z, or None."""
    if value is None:
        return None
    if value.tzinfo is not UTC:  # the parser's datetimes are UTC already: no conversion (ls --json makes 50k)
        value = value.astimezone(UTC)
    return value.isoformat().replace("+00:00", "Z")


def iso_epoch(seconds: float | None) -> str | None:
    """``iso`` of epoch seconds."""
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


def parse_time(value: object) -> datetime | None:
    """A timestamp in any shape the API sends, as an aware UTC datetime; None when unknown or absurd."""
    if isinstance(value, bool) or value is None:
        return None
    number: float | None = None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            number = float(text)
        except ValueError:
            try:
                parsed = datetime.fromisoformat(text)
            except ValueError:
                return None
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
            return _sane(parsed.astimezone(UTC))
    if number is None or not math.isfinite(number) or number <= 0:
        return None
    if number >= _MS_THRESHOLD:
        number /= 1000.0
    try:
        return _sane(datetime.fromtimestamp(number, tz=UTC))
    except (OverflowError, OSError, ValueError):
        return None


def _sane(value: datetime) -> datetime | None:
    return value if _EARLIEST <= value < _LATEST else None


def parse_flag(value: object) -> Status:
    """successFlag (int, numeric string or integral float) as a Status; anything else is UNKNOWN."""
    if isinstance(value, bool):
        return Status.UNKNOWN
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            return Status.UNKNOWN
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        return _FLAG_TO_STATUS.get(value, Status.UNKNOWN)
    return Status.UNKNOWN


def _int_or_none(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def _str_or_none(value: object) -> str | None:
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def parse_params(value: object) -> tuple[Mapping[str, Any], str | None]:
    """paramJson as (params, raw text when it could not be parsed)."""
    if isinstance(value, Mapping):
        return MappingProxyType({str(k): v for k, v in value.items()}), None
    if isinstance(value, str):
        if not value.strip():
            return _EMPTY, None
        try:
            decoded = json.loads(value)
        except (ValueError, RecursionError):
            return _EMPTY, value
        if isinstance(decoded, dict):
            return MappingProxyType(decoded), None
        return _EMPTY, value
    return _EMPTY, None


_WEB_URL = re.compile(r"https?://[^\s/?#@]*[^\s/?#@:]", re.IGNORECASE)


def is_web_url(value: object) -> bool:
    """True for an absolute http(s) URL with a host (a regex: urlsplit costs 13 µs a URL at 10k rows)."""
    return isinstance(value, str) and _WEB_URL.match(value.strip()) is not None


def parse_result_urls(value: object) -> tuple[str, ...]:
    """``resultInfoJson.resultUrls[].resultUrl`` (also tolerating a JSON string or bare URL strings)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            return ()
    if not isinstance(value, Mapping):
        return ()
    items = value.get("resultUrls")
    if not isinstance(items, list):
        return ()
    urls: list[str] = []
    for item in items:
        url = item.get("resultUrl") if isinstance(item, Mapping) else item
        if is_web_url(url):
            assert isinstance(url, str)
            urls.append(url.strip())
    return tuple(urls)


def parse_record(data: object, task_id: str | None = None) -> Task:
    """Turn a record-info ``data`` value into a Task. Never raises.

    ``task_id`` is the ID that was asked for; it is used when the record has none (or a bad one).
    """
    if not isinstance(data, Mapping):
        return Task(task_id=task_id or "", status=Status.UNKNOWN)
    record_id = data.get("taskId")
    tid = record_id if isinstance(record_id, str) and record_id else (task_id or "")
    params, params_raw = parse_params(data.get("paramJson"))
    prompt = params.get("prompt")
    task_type = _str_or_none(data.get("taskType")) or _str_or_none(params.get("taskType"))
    return Task(
        task_id=tid,
        status=parse_flag(data.get("successFlag")),
        task_type=task_type,
        params=params,
        params_raw=params_raw,
        prompt=prompt if isinstance(prompt, str) else None,
        created_at=parse_time(data.get("createTime")),
        completed_at=parse_time(data.get("completeTime")),
        result_urls=parse_result_urls(data.get("resultInfoJson")),
        error_code=_int_or_none(data.get("errorCode")),
        error_message=_str_or_none(data.get("errorMessage")),
    )


def took(created_at: float | None, completed_at: float | None) -> float | None:
    """How long a task took: completion minus creation in seconds, when both are known and in order. The one
    place this is computed, for the API's record and for the watchlist's row alike."""
    if created_at is None or completed_at is None or completed_at < created_at:
        return None
    return completed_at - created_at
