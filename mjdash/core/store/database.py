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
from pathlib import Path
from typing import Any

from mjdash.core.api.outcomes import Fetch
from mjdash.core.model import FINAL_STATES, Status, Task
from mjdash.core.store.rows import ROW_COLUMNS, AddResult, Change, Feed, from_sql, status_of, with_record
from mjdash.core.store.schema import BUSY_TIMEOUT_MS, StoreError, check_existing, explain_sqlite, migrate
from mjdash.core.store.sql import bump, create_private, decoded, filters, write_fetch

__all__ = ["AddResult", "Change", "Feed", "Store", "StoreError", "with_record"]

CHUNK = 500  # rows per write transaction: short enough that another process never waits long
READ_CHUNK = 1000  # rows per read when streaming: constant memory however large the watchlist
REMOVED_KEPT_S = 7 * 86_400  # removals are remembered this long for readers of the change feed


class Store:
    """The watchlist database. Thread-safe (one connection, one lock); use as a context manager."""

    def __init__(
        self,
        path: str | Path,
        *,
        clock: Callable[[], float] = time.time,
        connect: Callable[..., sqlite3.Connection] = sqlite3.connect,
    ) -> None:
        """``connect`` opens the SQLite connection (tests hand in one that fails the way a full disk does)."""
        self.path = Path(path).expanduser()
        self.clock = clock
        check_existing(self.path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            create_private(self.path)
            self._db = connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False)
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
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One short write transaction (BEGIN IMMEDIATE takes the write lock up front, so no deadlock); also
        used by the tables kept beside the watchlist (``store/lease.py``)."""
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
        with self.transaction() as db:
            migrate(db, self.path)

    def query(self, sql: str, args: Sequence[Any] = ()) -> list[Any]:
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
        with self.transaction() as db:
            added = self._insert(db, chunk, batch, note)
        return AddResult(added=added, present=len(chunk) - added)

    def _insert(self, db: sqlite3.Connection, task_ids: list[str], batch: str | None, note: str | None) -> int:
        """Insert new IDs (known ones are left as they are); returns how many were new."""
        now, rev = self.clock(), bump(db)
        before = db.total_changes
        db.executemany(
            "INSERT OR IGNORE INTO tasks (task_id, batch, note, added_at, next_due, rev) VALUES (?,?,?,?,?,?)",
            [(t, batch, note, now, now, rev) for t in task_ids],
        )
        return db.total_changes - before

    def remove(self, task_ids: Iterable[str]) -> int:
        ids = list(task_ids)
        with self.transaction() as db:
            return self._delete(db, "task_id IN (SELECT value FROM json_each(?))", [json.dumps(ids)])

    def remove_where(self, *, batch: str | None = None, finished: bool = False) -> int:
        clauses, args = filters(batch=batch, statuses=FINAL_STATES if finished else None)
        if not clauses:
            raise ValueError("remove_where needs a filter")
        with self.transaction() as db:
            return self._delete(db, " AND ".join(clauses), args)

    def _delete(self, db: sqlite3.Connection, where: str, args: Sequence[Any]) -> int:
        """Delete tasks and their events, leaving a tombstone for readers of the change feed."""
        now, rev = self.clock(), bump(db)
        db.execute(
            f"INSERT INTO removed (rev, task_id, at) SELECT ?, task_id, ? FROM tasks WHERE {where}", [rev, now, *args]
        )
        db.execute(f"DELETE FROM events WHERE task_id IN (SELECT task_id FROM tasks WHERE {where})", args)
        removed = db.execute(f"DELETE FROM tasks WHERE {where}", args).rowcount
        forgotten = db.execute("SELECT max(rev) FROM removed WHERE at < ?", (now - REMOVED_KEPT_S,)).fetchone()[0]
        if forgotten is not None:
            db.execute("DELETE FROM removed WHERE rev <= ?", (forgotten,))
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('forgotten', ?)", (forgotten,))
        return int(removed)

    def rows(
        self,
        *,
        batch: str | None = None,
        statuses: Iterable[Status] | None = None,
        ids: Sequence[str] | None = None,
    ) -> list[Task]:
        """Watched tasks in the order they were added."""
        clauses, args = filters(batch=batch, statuses=statuses, ids=ids)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        sql = f"SELECT {ROW_COLUMNS} FROM tasks {where} ORDER BY added_at, rowid"
        return [from_sql(r) for r in self.query(sql, args)]

    def iter_rows(
        self, *, batch: str | None = None, statuses: Iterable[Status] | None = None, ids: Sequence[str] | None = None
    ) -> Iterator[Task]:
        """``rows()``, streamed: constant memory however large the watchlist."""
        for values in self._stream(ROW_COLUMNS, batch=batch, statuses=statuses, ids=ids):
            yield from_sql(values)

    def rows_with_raw(
        self, *, batch: str | None = None, statuses: Iterable[Status] | None = None, ids: Sequence[str] | None = None
    ) -> Iterator[tuple[Task, Any]]:
        """Rows with their last record (decoded JSON, or None), streamed, for exports."""
        for values in self._stream(f"{ROW_COLUMNS}, raw", batch=batch, statuses=statuses, ids=ids):
            yield from_sql(values[:-1]), decoded(values[-1])

    def _stream(
        self,
        columns: str,
        *,
        batch: str | None = None,
        statuses: Iterable[Status] | None = None,
        ids: Sequence[str] | None = None,
    ) -> Iterator[tuple[Any, ...]]:
        """Rows in the order added, read a thousand at a time by keyset pagination on the added_at index: no
        lock or read transaction is held between chunks, and memory stays flat."""
        clauses, args = filters(batch=batch, statuses=statuses, ids=ids)
        where = " AND ".join(clauses) or "1"
        after: tuple[float, int] = (float("-inf"), -1)
        while True:
            found = self.query(
                f"SELECT {columns}, added_at, rowid FROM tasks WHERE {where} AND (added_at, rowid) > (?, ?) "
                f"ORDER BY added_at, rowid LIMIT {READ_CHUNK}",
                [*args, *after],
            )
            for values in found:
                yield values[:-2]
            if len(found) < READ_CHUNK:
                return
            after = (found[-1][-2], found[-1][-1])

    # -- the change feed ------------------------------------------------------------------------------------------
    def mark(self) -> int:
        """The current position of the change feed: every write that touches a task moves it on."""
        return int(self.query("SELECT value FROM meta WHERE key = 'rev'")[0][0])

    def snapshot(self) -> tuple[int, list[Task]]:
        """The feed's mark, then every row: follow on with ``changes_since(mark)`` (a change between the two reads
        comes again with the feed, harmlessly)."""
        return self.mark(), self.rows()

    def changes_since(self, mark: int, *, ids: Sequence[str] | None = None) -> Feed:
        """Rows added or changed and IDs removed after ``mark`` — by this process or any other. Cheap when nothing
        changed (one indexed lookup). ``full`` when removals after ``mark`` may have been forgotten."""
        with self._lock, self._explained():
            db = self._db
            db.execute("BEGIN")  # one snapshot for the mark and what came after it
            try:
                now_mark = int(db.execute("SELECT value FROM meta WHERE key = 'rev'").fetchone()[0])
                if now_mark == mark:
                    return Feed(mark)
                forgotten = db.execute("SELECT value FROM meta WHERE key = 'forgotten'").fetchone()
                if forgotten is not None and int(forgotten[0]) > mark:
                    return Feed(now_mark, full=True)
                clauses, args = filters(ids=ids)
                extra = "".join(f" AND {c}" for c in clauses)
                rows = [
                    from_sql(r)
                    for r in db.execute(
                        f"SELECT {ROW_COLUMNS} FROM tasks WHERE rev > ?{extra} ORDER BY rev", [mark, *args]
                    )
                ]
                removed = [r[0] for r in db.execute(f"SELECT task_id FROM removed WHERE rev > ?{extra}", [mark, *args])]
            finally:
                db.execute("COMMIT")
        return Feed(now_mark, rows, removed)

    def row(self, task_id: str) -> Task | None:
        found = self.rows(ids=[task_id])
        return found[0] if found else None

    def count(self) -> int:
        return int(self.query("SELECT count(*) FROM tasks")[0][0])

    def batches(self) -> list[str]:
        return [r[0] for r in self.query("SELECT DISTINCT batch FROM tasks WHERE batch IS NOT NULL ORDER BY 1")]

    def raw(self, task_id: str) -> Any:
        """The last record-info ``data`` as received (decoded), or None."""
        found = self.query("SELECT raw FROM tasks WHERE task_id = ?", (task_id,))
        return decoded(found[0][0]) if found else None

    def task(self, task_id: str) -> Task | None:
        """The task with its last answer's details (parameters, result URLs), or None when not watched."""
        row = self.row(task_id)
        if row is None:
            return None
        return with_record(row, self.raw(task_id))

    def events(self, task_id: str | None = None) -> list[tuple[str, float, str | None, str, str | None]]:
        if task_id is None:
            return self.query("SELECT task_id, at, old_status, new_status, detail FROM events ORDER BY id")
        return self.query(
            "SELECT task_id, at, old_status, new_status, detail FROM events WHERE task_id = ? ORDER BY id",
            (task_id,),
        )

    # -- results from the API ------------------------------------------------------------------------------
    def record(
        self,
        fetches: Iterable[Fetch],
        *,
        polled_at: dict[str, float] | None = None,
        stuck: dict[str, float] | None = None,
        given_up: dict[str, str] | None = None,
    ) -> list[Change]:
        """Write what a round of requests learned, in one transaction; returns the status changes.

        A fetch that failed keeps the last known data (and status) of the task, except that an ID the API
        does not know becomes ``not_found``. Tasks no longer in the watchlist are ignored. ``polled_at`` gives when
        each was asked (default: now); ``stuck`` flags running tasks as stuck since the given time (a task that
        reaches a final state is no longer stuck); ``given_up`` ends tasks the engine gave up on as ``error``, with
        the reason as their last error.
        """
        now = self.clock()
        when = polled_at or {}
        changes: list[Change] = []
        with self.transaction() as db:
            rev = bump(db)
            for fetch in fetches:
                found = db.execute("SELECT status FROM tasks WHERE task_id = ?", (fetch.task_id,)).fetchone()
                if found is None:
                    continue
                old = status_of(found[0])
                at = when.get(fetch.task_id, now)
                new = write_fetch(db, fetch, at, rev, old)
                if new is not old:
                    detail = fetch.task.error_message if fetch.task else fetch.message
                    db.execute(
                        "INSERT INTO events (task_id, at, old_status, new_status, detail) VALUES (?,?,?,?,?)",
                        (fetch.task_id, at, old.value, new.value, detail),
                    )
                    row = db.execute(f"SELECT {ROW_COLUMNS} FROM tasks WHERE task_id = ?", (fetch.task_id,))
                    changes.append(Change(fetch.task_id, old, new, from_sql(row.fetchone())))
            for task_id, reason in (given_up or {}).items():
                found = db.execute("SELECT status FROM tasks WHERE task_id = ?", (task_id,)).fetchone()
                if found is None or status_of(found[0]).is_final:
                    continue
                db.execute(
                    "UPDATE tasks SET status = 'error', last_error = ?, rev = ? WHERE task_id = ?",
                    (reason, rev, task_id),
                )
                old = status_of(found[0])
                if old is not Status.ERROR:
                    db.execute(
                        "INSERT INTO events (task_id, at, old_status, new_status, detail) VALUES (?,?,?,?,?)",
                        (task_id, now, old.value, Status.ERROR.value, reason),
                    )
                    row = db.execute(f"SELECT {ROW_COLUMNS} FROM tasks WHERE task_id = ?", (task_id,))
                    changes.append(Change(task_id, old, Status.ERROR, from_sql(row.fetchone())))
            if stuck:
                db.executemany(
                    "UPDATE tasks SET stuck_since = coalesce(stuck_since, ?), rev = ? WHERE task_id = ? "
                    "AND status NOT IN ('success', 'failed', 'generation_failed')",
                    [(since, rev, task_id) for task_id, since in stuck.items()],
                )
        return changes

    def mark_saved(self, task_id: str, when: float | None = None) -> None:
        with self.transaction() as db:
            rev = bump(db)
            db.execute("UPDATE tasks SET saved_at = ?, rev = ? WHERE task_id = ?", (when or self.clock(), rev, task_id))

    def finished_durations(self, limit: int = 2000) -> list[tuple[str | None, str | None, float]]:
        """(task_type, speed, seconds) of the most recently finished successful tasks — for learning."""
        found = self.query(
            """SELECT task_type, speed, completed_at - created_at FROM tasks
               WHERE status = 'success' AND completed_at > created_at ORDER BY completed_at DESC LIMIT ?""",
            (limit,),
        )
        return [(r[0], r[1], float(r[2])) for r in found]

    # -- followed files --------------------------------------------------------------------------------------
    def follow_position(self, path: str) -> tuple[int | None, int] | None:
        found = self.query("SELECT inode, offset FROM follow_positions WHERE path = ?", (path,))
        return (found[0][0], int(found[0][1])) if found else None

    def add_followed(
        self, task_ids: list[str], path: str, inode: int | None, offset: int, *, batch: str | None = None
    ) -> AddResult:
        """Add IDs read from a followed file and move its position, in one transaction."""
        now = self.clock()
        with self.transaction() as db:
            added = self._insert(db, task_ids, batch, None)
            db.execute(
                "INSERT OR REPLACE INTO follow_positions (path, inode, offset, updated_at) VALUES (?,?,?,?)",
                (path, inode, offset, now),
            )
        return AddResult(added=added, present=len(task_ids) - added)
