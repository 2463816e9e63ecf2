"""The records the store hands out: a watched task's row, the result of an add, a status change, the change feed.

A ``TaskRow`` is built from SQL by column position (``ROW_COLUMNS``); ``task_from`` turns a row and its last
record into the full ``Task``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mjdash.core.model import Status, Task, parse_record, took

ROW_COLUMNS = (
    "task_id, batch, note, added_at, status, task_type, prompt, aspect, speed, version, created_at, "
    "completed_at, n_results, error_code, error_message, api_code, last_polled, last_ok, next_due, "
    "consecutive_errors, error_since, last_error, final_seen_at, saved_at, stuck_since"
)


@dataclass(frozen=True, slots=True)
class TaskRow:
    """What the table and the engine need about one watched task (epoch seconds for times)."""

    task_id: str
    batch: str | None
    note: str | None
    added_at: float
    status: Status
    task_type: str | None
    prompt: str | None
    aspect: str | None
    speed: str | None
    version: str | None
    created_at: float | None
    completed_at: float | None
    n_results: int
    error_code: int | None
    error_message: str | None
    api_code: int | None
    last_polled: float | None
    last_ok: float | None
    next_due: float | None
    consecutive_errors: int
    error_since: float | None
    last_error: str | None
    final_seen_at: float | None
    saved_at: float | None
    stuck_since: float | None = None  # when the engine flagged it stuck (None: not stuck)

    @classmethod
    def from_sql(cls, row: Sequence[Any]) -> TaskRow:
        values = list(row)
        values[4] = status_of(values[4])
        return cls(*values)

    @property
    def duration_s(self) -> float | None:
        return took(self.created_at, self.completed_at)


@dataclass(frozen=True, slots=True)
class AddResult:
    added: int = 0
    present: int = 0

    def __add__(self, other: AddResult) -> AddResult:
        return AddResult(self.added + other.added, self.present + other.present)


@dataclass(frozen=True, slots=True)
class Change:
    """A task whose status changed in a write."""

    task_id: str
    old: Status
    new: Status
    row: TaskRow


def task_from(row: TaskRow, raw: Any) -> Task:
    """The Task for a stored row and its last record. When the row's status moved on without a new record (the
    task vanished: not_found, or errors), the record's details are kept under the row's status."""
    if raw is None:
        return Task(task_id=row.task_id, status=row.status, task_type=row.task_type, prompt=row.prompt)
    task = parse_record(raw, row.task_id)
    if task.status is row.status:
        return task
    return Task(
        task_id=row.task_id,
        status=row.status,
        task_type=task.task_type,
        params=task.params,
        prompt=task.prompt,
        created_at=task.created_at,
        error_code=row.error_code,
        error_message=row.error_message,
    )


@dataclass(frozen=True, slots=True)
class Feed:
    """What changed in the watchlist since a reader's mark (``Store.changes_since``).

    ``full`` means the mark is too old to answer from (removals before it were forgotten): read everything."""

    mark: int
    rows: list[TaskRow] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    full: bool = False

    @property
    def empty(self) -> bool:
        return not (self.rows or self.removed or self.full)


def status_of(value: object) -> Status:
    try:
        return Status(str(value))
    except ValueError:
        return Status.UNKNOWN


def timestamp(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()


def to_datetime(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, tz=UTC)
