"""The SQLite store: the watchlist, the last known record of each task, poll bookkeeping and an event log.

One file, WAL mode, a busy timeout and short transactions, so that the dashboard and a script running
``mjdash add`` in a loop can write at the same time. The schema is versioned with ``PRAGMA user_version``
(migrations in ``schema.py``, which also refuses files that are not ours).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mjdash.core.model import FINAL_STATES, Status, Task, parse_record
from mjdash.core.outcomes import Fetch
from mjdash.core.schema import BUSY_TIMEOUT_MS, StoreError, check_existing, explain_sqlite, migrate

__all__ = ["AddResult", "Change", "Store", "StoreError", "TaskRow"]

CHUNK = 500  # rows per write transaction: short enough that another process never waits long

ROW_COLUMNS = (
    "task_id, batch, note, added_at, status, task_type, prompt, aspect, speed, version, created_at, "
    "completed_at, n_results, error_code, error_message, api_code, last_polled, last_ok, next_due, "
    "consecutive_errors, error_since, last_error, final_seen_at, saved_at"
)


@dataclass(frozen=True, slots=True)
class TaskRow:
    """What the table and the poller need about one watched task (epoch seconds for times)."""

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

    @classmethod
    def from_sql(cls, row: Sequence[Any]) -> TaskRow:
        values = list(row)
        values[4] = _status(values[4])
        return cls(*values)

    @property
    def duration_s(self) -> float | None:
        if self.created_at is None or self.completed_at is None or self.completed_at < self.created_at:
            return None
        return self.completed_at - self.created_at


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


def _status(value: object) -> Status:
    try:
        return Status(str(value))
    except ValueError:
        return Status.UNKNOWN


def _ts(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()


def to_datetime(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, tz=UTC)


class Store:
    """The watchlist database. Thread-safe (one connection, one lock); use as a context manager."""

    def __init__(self, path: str | Path, *, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path).expanduser()
        self.clock = clock
        check_existing(self.path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
            )
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open database {self.path}: {exc} — check the path or use --db") from None
        self._lock = threading.RLock()
        try:
            self._db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = NORMAL")
            self._migrate()
        except sqlite3.Error as exc:
            self._db.close()
            raise StoreError(f"cannot use database {self.path}: {exc} — check the path or use --db") from None

    # -- plumbing ------------------------------------------------------------------------------------------
    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One short write transaction (BEGIN IMMEDIATE takes the write lock up front, so no deadlock)."""
        with self._lock, self._explained():
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _migrate(self) -> None:
        with self._write() as db:
            migrate(db, self.path)

    def _query(self, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        with self._lock, self._explained():
            return self._db.execute(sql, args).fetchall()

    @contextmanager
    def _explained(self) -> Iterator[None]:
        """SQLite failures while in use (locked too long, disk full, I/O errors) as a StoreError with one line
        that says what to do; the transaction was rolled back, so nothing half-written stays."""
        try:
            yield
        except sqlite3.Error as exc:
            raise StoreError(explain_sqlite(exc, self.path)) from exc

    # -- the watchlist ---------------------------------------------------------------------------------------
    def add(self, task_ids: Iterable[str], *, batch: str | None = None, note: str | None = None) -> AddResult:
        """Add IDs (already validated); committed in chunks, so a kill leaves a consistent prefix."""
        total = AddResult()
        chunk: list[str] = []
        for task_id in task_ids:
            chunk.append(task_id)
            if len(chunk) >= CHUNK:
                total += self._add_chunk(chunk, batch, note)
                chunk = []
        if chunk:
            total += self._add_chunk(chunk, batch, note)
        return total

    def _add_chunk(self, chunk: list[str], batch: str | None, note: str | None) -> AddResult:
        now = self.clock()
        with self._write() as db:
            before = db.total_changes
            db.executemany(
                "INSERT OR IGNORE INTO tasks (task_id, batch, note, added_at, next_due) VALUES (?,?,?,?,?)",
                [(t, batch, note, now, now) for t in chunk],
            )
            added = db.total_changes - before
        return AddResult(added=added, present=len(chunk) - added)

    def remove(self, task_ids: Iterable[str]) -> int:
        ids = list(task_ids)
        with self._write() as db:
            before = db.total_changes
            db.executemany("DELETE FROM tasks WHERE task_id = ?", [(t,) for t in ids])
            removed = db.total_changes - before
            db.executemany("DELETE FROM events WHERE task_id = ?", [(t,) for t in ids])
        return removed

    def remove_where(self, *, batch: str | None = None, finished: bool = False) -> int:
        clauses, args = self._filters(batch=batch, statuses=FINAL_STATES if finished else None)
        if not clauses:
            raise ValueError("remove_where needs a filter")
        where = " AND ".join(clauses)
        with self._write() as db:
            db.execute(f"DELETE FROM events WHERE task_id IN (SELECT task_id FROM tasks WHERE {where})", args)
            return db.execute(f"DELETE FROM tasks WHERE {where}", args).rowcount

    @staticmethod
    def _filters(
        *,
        batch: str | None = None,
        statuses: Iterable[Status] | None = None,
        ids: Sequence[str] | None = None,
    ) -> tuple[list[str], list[Any]]:
        clauses: list[str] = []
        args: list[Any] = []
        if batch is not None:
            clauses.append("batch = ?")
            args.append(batch)
        if statuses is not None:
            wanted = sorted(s.value for s in statuses)
            clauses.append(f"status IN ({', '.join('?' * len(wanted))})")
            args.extend(wanted)
        if ids is not None:
            clauses.append(f"task_id IN ({', '.join('?' * len(ids))})")
            args.extend(ids)
        return clauses, args

    def rows(
        self,
        *,
        batch: str | None = None,
        statuses: Iterable[Status] | None = None,
        ids: Sequence[str] | None = None,
    ) -> list[TaskRow]:
        """Watched tasks in the order they were added."""
        clauses, args = self._filters(batch=batch, statuses=statuses, ids=ids)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        sql = f"SELECT {ROW_COLUMNS} FROM tasks {where} ORDER BY added_at, rowid"
        return [TaskRow.from_sql(r) for r in self._query(sql, args)]

    def rows_with_raw(
        self, *, batch: str | None = None, statuses: Iterable[Status] | None = None
    ) -> list[tuple[TaskRow, Any]]:
        """Rows with their last record (decoded JSON, or None), for exports."""
        clauses, args = self._filters(batch=batch, statuses=statuses)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        sql = f"SELECT {ROW_COLUMNS}, raw FROM tasks {where} ORDER BY added_at, rowid"
        out: list[tuple[TaskRow, Any]] = []
        for found in self._query(sql, args):
            raw = None
            if found[-1] is not None:
                try:
                    raw = json.loads(found[-1])
                except ValueError:
                    raw = None
            out.append((TaskRow.from_sql(found[:-1]), raw))
        return out

    def row(self, task_id: str) -> TaskRow | None:
        found = self.rows(ids=[task_id])
        return found[0] if found else None

    def count(self) -> int:
        return int(self._query("SELECT count(*) FROM tasks")[0][0])

    def batches(self) -> list[str]:
        return [r[0] for r in self._query("SELECT DISTINCT batch FROM tasks WHERE batch IS NOT NULL ORDER BY 1")]

    def raw(self, task_id: str) -> Any:
        """The last record-info ``data`` as received (decoded), or None."""
        found = self._query("SELECT raw FROM tasks WHERE task_id = ?", (task_id,))
        if not found or found[0][0] is None:
            return None
        try:
            return json.loads(found[0][0])
        except ValueError:
            return None

    def task(self, task_id: str) -> Task | None:
        """The full Task from the last record (params included), or one from the stored columns."""
        row = self.row(task_id)
        if row is None:
            return None
        return task_from(row, self.raw(task_id))

    def events(self, task_id: str | None = None) -> list[tuple[str, float, str | None, str, str | None]]:
        if task_id is None:
            return self._query("SELECT task_id, at, old_status, new_status, detail FROM events ORDER BY id")
        return self._query(
            "SELECT task_id, at, old_status, new_status, detail FROM events WHERE task_id = ? ORDER BY id",
            (task_id,),
        )

    # -- results from the API ------------------------------------------------------------------------------
    def record(self, fetches: Iterable[Fetch], *, next_due: dict[str, float] | None = None) -> list[Change]:
        """Write what a round of requests learned, in one transaction; returns the status changes.

        A fetch that failed keeps the last known data (and status) of the task, except that an ID the API
        does not know becomes ``not_found``. Tasks no longer in the watchlist are ignored.
        """
        now = self.clock()
        due = next_due or {}
        changes: list[Change] = []
        with self._write() as db:
            for fetch in fetches:
                found = db.execute("SELECT status FROM tasks WHERE task_id = ?", (fetch.task_id,)).fetchone()
                if found is None:
                    continue
                old = _status(found[0])
                new = self._write_fetch(db, fetch, now, due.get(fetch.task_id), old)
                if new is not old:
                    detail = fetch.task.error_message if fetch.task else fetch.message
                    db.execute(
                        "INSERT INTO events (task_id, at, old_status, new_status, detail) VALUES (?,?,?,?,?)",
                        (fetch.task_id, now, old.value, new.value, detail),
                    )
                    row = db.execute(f"SELECT {ROW_COLUMNS} FROM tasks WHERE task_id = ?", (fetch.task_id,))
                    changes.append(Change(fetch.task_id, old, new, TaskRow.from_sql(row.fetchone())))
        return changes

    @staticmethod
    def _write_fetch(db: sqlite3.Connection, fetch: Fetch, now: float, due: float | None, old: Status) -> Status:
        task = fetch.task
        if fetch.ok and task is not None:
            db.execute(
                """UPDATE tasks SET status = ?, task_type = ?, prompt = ?, aspect = ?, speed = ?, version = ?,
                   created_at = ?, completed_at = ?, n_results = ?, error_code = ?, error_message = ?,
                   api_code = ?, raw = ?, last_polled = ?, last_ok = ?, next_due = ?,
                   consecutive_errors = 0, error_since = NULL, last_error = NULL,
                   final_seen_at = CASE WHEN ? THEN coalesce(final_seen_at, ?) ELSE NULL END
                   WHERE task_id = ?""",
                (
                    task.status.value,
                    task.task_type,
                    task.prompt,
                    task.param("aspectRatio"),
                    task.param("speed"),
                    task.param("version"),
                    _ts(task.created_at),
                    _ts(task.completed_at),
                    len(task.result_urls),
                    task.error_code,
                    task.error_message,
                    fetch.api_code,
                    json.dumps(fetch.raw, ensure_ascii=False),
                    now,
                    now,
                    due,
                    task.status.is_final,
                    now,
                    fetch.task_id,
                ),
            )
            return task.status
        new = Status.NOT_FOUND if fetch.status is Status.NOT_FOUND else old
        if new is Status.UNKNOWN:
            new = Status.ERROR
        db.execute(
            """UPDATE tasks SET status = ?, api_code = ?, last_polled = ?, next_due = ?,
               consecutive_errors = consecutive_errors + 1, error_since = coalesce(error_since, ?),
               last_error = ? WHERE task_id = ?""",
            (new.value, fetch.api_code or fetch.http_status, now, due, now, fetch.message, fetch.task_id),
        )
        return new

    def set_due(self, due: dict[str, float]) -> None:
        with self._write() as db:
            db.executemany("UPDATE tasks SET next_due = ? WHERE task_id = ?", [(v, k) for k, v in due.items()])

    def mark_saved(self, task_id: str, when: float | None = None) -> None:
        with self._write() as db:
            db.execute("UPDATE tasks SET saved_at = ? WHERE task_id = ?", (when or self.clock(), task_id))

    def finished_durations(self, limit: int = 2000) -> list[tuple[str | None, str | None, float]]:
        """(task_type, speed, seconds) of the most recently finished successful tasks — for learning."""
        found = self._query(
            """SELECT task_type, speed, completed_at - created_at FROM tasks
               WHERE status = 'success' AND completed_at > created_at ORDER BY completed_at DESC LIMIT ?""",
            (limit,),
        )
        return [(r[0], r[1], float(r[2])) for r in found]

    # -- followed files --------------------------------------------------------------------------------------
    def follow_position(self, path: str) -> tuple[int | None, int] | None:
        found = self._query("SELECT inode, offset FROM follow_positions WHERE path = ?", (path,))
        return (found[0][0], int(found[0][1])) if found else None

    def add_followed(
        self, task_ids: list[str], path: str, inode: int | None, offset: int, *, batch: str | None = None
    ) -> AddResult:
        """Add IDs read from a followed file and move its position, in one transaction."""
        now = self.clock()
        with self._write() as db:
            before = db.total_changes
            db.executemany(
                "INSERT OR IGNORE INTO tasks (task_id, batch, added_at, next_due) VALUES (?, ?, ?, ?)",
                [(t, batch, now, now) for t in task_ids],
            )
            added = db.total_changes - before
            db.execute(
                "INSERT OR REPLACE INTO follow_positions (path, inode, offset, updated_at) VALUES (?,?,?,?)",
                (path, inode, offset, now),
            )
        return AddResult(added=added, present=len(task_ids) - added)
