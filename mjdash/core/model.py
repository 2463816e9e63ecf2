"""The one record of a task: what kie.ai said of it in its last answer, and what mjdash knows locally.

A record parsed from an answer (``mjdash.core.parse.parse_record``) has the API's fields only; a record read from
the watchlist also has the local ones (batch, note, when it was added, last polled, saved, stuck…) and carries the
full request parameters and result URLs only when its last answer was read with it (``Store.task``). Times are
epoch seconds. Derived facts — how long it took, whether it is final, whether it is a video — are computed here
and nowhere else; when its files expire is ``mjdash.core.expiry``'s.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit


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

EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Task:
    """One task. The fields up to ``retried_by`` are the watchlist's columns, in ``ROW_COLUMNS`` order."""

    task_id: str
    batch: str | None = None
    note: str | None = None
    added_at: float | None = None  # when it joined the watchlist (None: not in it)
    status: Status = Status.UNKNOWN
    task_type: str | None = None
    prompt: str | None = None
    aspect: str | None = None
    speed: str | None = None
    version: str | None = None
    created_at: float | None = None
    completed_at: float | None = None
    n_results: int = 0
    error_code: int | None = None
    error_message: str | None = None
    api_code: int | None = None  # the code of the last answer
    last_polled: float | None = None
    last_ok: float | None = None
    next_due: float | None = None
    consecutive_errors: int = 0
    error_since: float | None = None
    last_error: str | None = None  # why the last request failed (ours, not the API's error_message)
    final_seen_at: float | None = None
    saved_at: float | None = None
    stuck_since: float | None = None  # when the engine flagged it stuck (None: not stuck)
    retry_of: str | None = None  # the failed task this one resubmitted
    retried_by: str | None = None  # the latest task that resubmitted this one
    # The last answer's details (empty on a watchlist row read without it).
    params: Mapping[str, Any] = field(default_factory=lambda: EMPTY)
    params_raw: str | None = None  # paramJson text when it was not valid JSON
    result_urls: tuple[str, ...] = ()

    @property
    def duration_s(self) -> float | None:
        """Completion minus creation, in seconds (see :func:`took`)."""
        return took(self.created_at, self.completed_at)

    @property
    def is_final(self) -> bool:
        return self.status.is_final

    @property
    def is_video(self) -> bool:
        return (self.task_type or "").startswith("mj_video") or any(
            urlsplit(u).path.lower().endswith((".mp4", ".webm", ".mov")) for u in self.result_urls
        )

    def param(self, key: str) -> str | None:
        """A request parameter as display text (numbers and strings alike), or None."""
        return param_text(self.params, key)

    def merged(self, answer: Task) -> Task:
        """This task as a newer answer describes it: the answer's state, times, results and errors; what it
        leaves unknown about the request (type, prompt, parameters, creation) keeps what was known; the local
        fields stay."""
        return replace(
            self,
            status=answer.status,
            task_type=answer.task_type or self.task_type,
            prompt=answer.prompt or self.prompt,
            aspect=answer.aspect or self.aspect,
            speed=answer.speed or self.speed,
            version=answer.version or self.version,
            created_at=answer.created_at if answer.created_at is not None else self.created_at,
            completed_at=answer.completed_at,
            n_results=answer.n_results,
            error_code=answer.error_code,
            error_message=answer.error_message,
            params=answer.params or self.params,
            params_raw=answer.params_raw,
            result_urls=answer.result_urls,
        )

    def to_json(self) -> dict[str, Any]:
        """The public JSON shape of a task's record (``status --json``; ``ls --json`` and exports add to it)."""
        return {
            "task_id": self.task_id,
            "status": self.status.value,
            "task_type": self.task_type,
            "prompt": self.prompt,
            "params": dict(self.params) if self.params_raw is None else self.params_raw,
            "created_at": iso_epoch(self.created_at),
            "completed_at": iso_epoch(self.completed_at),
            "duration_s": self.duration_s,
            "result_urls": list(self.result_urls),
            "error_code": self.error_code,
            "error_message": self.error_message,
        }


def param_text(params: Mapping[str, Any], key: str) -> str | None:
    """A parameter as display text (numbers and strings alike), or None."""
    value = params.get(key)
    if value is None or value == "" or isinstance(value, dict | list):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def iso_epoch(seconds: float | None) -> str | None:
    """ISO-8601 UTC with a Z of epoch seconds, or None."""
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


def took(created_at: float | None, completed_at: float | None) -> float | None:
    """How long a task took: completion minus creation in seconds, when both are known and in order. The one
    place this is computed."""
    if created_at is None or completed_at is None or completed_at < created_at:
        return None
    return completed_at - created_at
