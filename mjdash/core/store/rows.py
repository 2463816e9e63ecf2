"""What the store hands out: tasks read from their rows, the result of an add, a status change, the change feed.

A row is read into a :class:`~mjdash.core.model.Task` by column position (``ROW_COLUMNS``); ``with_record`` adds
its last answer's details.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from mjdash.core.model import Status, Task
from mjdash.core.parse import details

ROW_COLUMNS = (
    "task_id, batch, note, added_at, status, task_type, prompt, aspect, speed, version, created_at, "
    "completed_at, n_results, error_code, error_message, api_code, last_polled, last_ok, next_due, "
    "consecutive_errors, error_since, last_error, final_seen_at, saved_at, stuck_since, retry_of, retried_by"
)


def from_sql(values: Sequence[Any]) -> Task:
    """A watchlist row (``SELECT ROW_COLUMNS``) as a Task, without its last answer's details."""
    fields = list(values)
    fields[4] = status_of(fields[4])
    return Task(*fields)


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
    row: Task


def with_record(row: Task, raw: Any) -> Task:
    """A watchlist row with its last answer's details (the row's other columns were written from that answer).
    When the row's state moved on without a new record (the task vanished: not_found, or errors), only the
    request parameters are taken from it."""
    if raw is None:
        return row
    status, params, params_raw, urls = details(raw)
    if status is not row.status:
        urls = ()
    return replace(row, params=params, params_raw=params_raw, result_urls=urls)


@dataclass(frozen=True, slots=True)
class Feed:
    """What changed in the watchlist since a reader's mark (``Store.changes_since``).

    ``full`` means the mark is too old to answer from (removals before it were forgotten): read everything."""

    mark: int
    rows: list[Task] = field(default_factory=list)
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
