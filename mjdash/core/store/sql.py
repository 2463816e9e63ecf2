"""The SQL behind the store, apart from its transactions: query filters, the UPDATE for an API answer, the change
feed's counter, and the private creation of a new database file."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from mjdash.core.api.outcomes import Fetch
from mjdash.core.model import Status


def filters(
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
    if ids is not None:  # one parameter however many IDs (SQLite caps the number of parameters)
        clauses.append("task_id IN (SELECT value FROM json_each(?))")
        args.append(json.dumps(list(ids)))
    return clauses, args


def write_fetch(db: sqlite3.Connection, fetch: Fetch, now: float, rev: int, old: Status) -> Status:
    task = fetch.task
    if fetch.ok and task is not None:
        db.execute(
            """UPDATE tasks SET status = ?, task_type = ?, prompt = ?, aspect = ?, speed = ?, version = ?,
               created_at = ?, completed_at = ?, n_results = ?, error_code = ?, error_message = ?,
               api_code = ?, raw = ?, last_polled = ?, last_ok = ?, rev = ?,
               consecutive_errors = 0, error_since = NULL, last_error = NULL,
               final_seen_at = CASE WHEN ? THEN coalesce(final_seen_at, ?) ELSE NULL END,
               stuck_since = CASE WHEN ? THEN NULL ELSE stuck_since END
               WHERE task_id = ?""",
            (
                task.status.value,
                task.task_type,
                task.prompt,
                task.aspect,
                task.speed,
                task.version,
                task.created_at,
                task.completed_at,
                task.n_results,
                task.error_code,
                task.error_message,
                fetch.api_code,
                json.dumps(fetch.raw, ensure_ascii=False),
                now,
                now,
                rev,
                task.status.is_final,
                now,
                task.status.is_final,
                fetch.task_id,
            ),
        )
        return task.status
    new = Status.NOT_FOUND if fetch.status is Status.NOT_FOUND else old
    if new is Status.UNKNOWN:
        new = Status.ERROR
    db.execute(
        """UPDATE tasks SET status = ?, api_code = ?, last_polled = ?, rev = ?,
           consecutive_errors = consecutive_errors + 1, error_since = coalesce(error_since, ?),
           last_error = ? WHERE task_id = ?""",
        (new.value, fetch.api_code or fetch.http_status, now, rev, now, fetch.message, fetch.task_id),
    )
    return new


def create_private(path: Path) -> None:
    """A new database file is created readable by its owner only (it holds prompts and errors); SQLite gives its
    -wal and -shm files the same permissions. An existing file keeps the permissions its owner chose."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def bump(db: sqlite3.Connection) -> int:
    """The next position of the change feed, for the rows this transaction writes."""
    db.execute("UPDATE meta SET value = value + 1 WHERE key = 'rev'")
    return int(db.execute("SELECT value FROM meta WHERE key = 'rev'").fetchone()[0])


def decoded(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None
