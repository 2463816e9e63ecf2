"""Which watched tasks the table shows, and in which order: filters, sort and the engine's updates.

No Textual here: the table widget renders this view and moves a cursor over it. Rows keep their place when the
engine changes them (a live view must not reshuffle under the reader); new tasks are appended; only an explicit
sort or a filter change re-orders.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from mjdash.core.expiry import ExpiryIndex
from mjdash.core.model import Status, Task

STATE_GROUPS: dict[str, frozenset[Status] | None] = {
    "all": None,
    "running": frozenset({Status.GENERATING, Status.UNKNOWN}),
    "success": frozenset({Status.SUCCESS}),
    "failed": frozenset({Status.FAILED, Status.GENERATION_FAILED}),
    "problems": frozenset({Status.NOT_FOUND, Status.ERROR}),
}


@dataclass
class Changes:
    """What one :meth:`TaskView.apply` did to the shown rows."""

    changed: set[str] = field(default_factory=set)  # shown, in place, with new data
    added: int = 0  # appended at the end
    removed: set[str] = field(default_factory=set)  # no longer shown (filtered out or unwatched)

    def __bool__(self) -> bool:
        return bool(self.changed or self.added or self.removed)


class TaskView:
    """Every watched task (``rows_by_id``) and the IDs shown, in display order (``order``)."""

    def __init__(self, expiry_days: float = 14.0) -> None:
        self.rows_by_id: dict[str, Task] = {}
        self.counts: Counter[Status] = Counter()  # watched tasks per state, kept as rows come and go
        self.expiry = ExpiryIndex(expiry_days)  # unsaved results' expiry times, kept as rows come and go
        self.order: list[str] = []
        self.text_filter = ""
        self.state_group = "all"
        self.batch_filter: str | None = None
        self.only: tuple[str, frozenset[str]] | None = None  # (what they are, task IDs): a failure group, say
        self.sort_column: str | None = None
        self.sort_reverse = False
        self._index: dict[str, int] | None = None
        self.reorders = 0  # moves on whenever rows change places (not when rows are only appended or updated)

    def __len__(self) -> int:
        return len(self.order)

    def shows(self, row: Task) -> bool:
        group = STATE_GROUPS[self.state_group]
        return (
            (group is None or row.status in group)
            and (self.batch_filter is None or row.batch == self.batch_filter)
            and (self.only is None or row.task_id in self.only[1])
            and (not self.text_filter or matches(row, self.text_filter))
        )

    def index(self, task_id: str) -> int | None:
        """The display position of a shown task (None when it is not shown)."""
        if self._index is None:
            self._index = {task_id: i for i, task_id in enumerate(self.order)}
        return self._index.get(task_id)

    def load(self, rows: Iterable[Task]) -> None:
        """Every watched task anew (then ``rebuild`` to show them)."""
        self.rows_by_id = {row.task_id: row for row in rows}
        self.counts = Counter(row.status for row in self.rows_by_id.values())
        self.expiry.load(self.rows_by_id.values())

    def rebuild(self) -> None:
        """Recompute what is shown from the filters, in the chosen sort order (or the order tasks were added)."""
        rows = [r for r in self.rows_by_id.values() if self.shows(r)]
        self.order = [r.task_id for r in self._sorted(rows)]
        self._index = None
        self.reorders += 1

    def sort(self, column: str, reverse: bool) -> None:
        self.sort_column, self.sort_reverse = column, reverse
        rows = [self.rows_by_id[task_id] for task_id in self.order]
        self.order = [r.task_id for r in self._sorted(rows)]
        self._index = None
        self.reorders += 1

    def _sorted(self, rows: list[Task]) -> list[Task]:
        column = self.sort_column
        if column is None:
            return rows
        keyed = [(sort_key(r, column), r) for r in rows]
        known = [(key[1], r) for key, r in keyed if key[0] == 0]
        known.sort(key=lambda pair: pair[0], reverse=self.sort_reverse)  # type: ignore[arg-type,return-value]
        return [r for _, r in known] + [r for key, r in keyed if key[0] == 1]  # unknown values last either way

    def apply(self, rows: Iterable[Task]) -> Changes:
        """Take new data for tasks: shown rows change in place, new ones are appended, filtered-out ones go."""
        changes = Changes()
        for row in rows:
            old = self.rows_by_id.get(row.task_id)
            self.rows_by_id[row.task_id] = row
            if old is not None:
                self.counts[old.status] -= 1
            self.counts[row.status] += 1
            self.expiry.replace(old, row)
            shown = self.index(row.task_id) is not None
            if not self.shows(row):
                if shown:
                    changes.removed.add(row.task_id)
            elif not shown:
                self.order.append(row.task_id)
                if self._index is not None:
                    self._index[row.task_id] = len(self.order) - 1
                changes.added += 1
            elif old != row:
                changes.changed.add(row.task_id)
        self._drop(changes.removed)
        return changes

    def remove(self, task_ids: Iterable[str]) -> set[str]:
        """Stop watching tasks; returns those that were shown."""
        gone = set(task_ids)
        for task_id in gone:
            old = self.rows_by_id.pop(task_id, None)
            if old is not None:
                self.counts[old.status] -= 1
                self.expiry.replace(old, None)
        shown = {task_id for task_id in gone if self.index(task_id) is not None}
        self._drop(shown)
        return shown

    def _drop(self, task_ids: set[str]) -> None:
        if task_ids:
            self.order = [task_id for task_id in self.order if task_id not in task_ids]
            self._index = None
            self.reorders += 1


def sort_key(row: Task, column: str) -> tuple[int, object]:
    """A comparable key for a column; unknown values sort last."""
    value: object
    if column == "state":
        value = list(Status).index(row.status)
    elif column == "task":
        value = row.task_id
    elif column in ("type", "prompt", "ar", "speed", "ver"):
        attr = {"type": "task_type", "prompt": "prompt", "ar": "aspect", "speed": "speed", "ver": "version"}[column]
        value = (getattr(row, attr) or "").lower()
    elif column == "created":
        value = row.created_at if row.created_at is not None else row.added_at
    elif column == "took":
        value = row.duration_s
    elif column == "imgs":
        value = row.n_results
    elif column == "checked":
        value = row.last_polled
    else:
        value = (row.error_message or row.last_error or "").lower()
    return (1, 0) if value in (None, "") else (0, value)


def matches(row: Task, needle: str) -> bool:
    """The text filter: over ID, prompt and error, case-insensitive."""
    needle = needle.lower()
    return any(needle in (v or "").lower() for v in (row.task_id, row.prompt, row.error_message, row.last_error))
