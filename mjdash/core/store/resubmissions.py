"""Resubmissions in the store: the intent written before each POST, what came of it, and the links it leaves.

The order is what makes double spending impossible: :func:`begin` records the intent (and refuses when the
original already has a retry or an attempt whose outcome nobody knows) in one write transaction, *then* the caller
sends; :func:`sent` adds the new task and links both ways in another. A process killed between the two leaves the
intent 'sending', which every later run reports as an unknown outcome instead of paying again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mjdash.core.model import Task
from mjdash.core.store.sql import bump

if TYPE_CHECKING:
    from mjdash.core.store.database import Store

OPEN = "state IN ('sending', 'unknown')"  # attempts that may have created a task nobody has seen


@dataclass(frozen=True, slots=True)
class Intent:
    """One attempt to resubmit ``original``."""

    id: int
    original: str
    started_at: float
    state: str  # sending, sent, refused, unknown, abandoned
    new_task_id: str | None = None
    detail: str | None = None


def open_intents(store: Store, originals: Sequence[str] | None = None) -> dict[str, Intent]:
    """The latest attempt whose outcome is unknown, per original (of those given, or all)."""
    where, args = "", []
    if originals is not None:  # one parameter however many (SQLite caps their number)
        where, args = " AND original IN (SELECT value FROM json_each(?))", [json.dumps(list(originals))]
    found = store.query(
        f"SELECT id, original, started_at, state, new_task_id, detail FROM resubmissions WHERE {OPEN}{where} "
        "ORDER BY id",
        args,
    )
    return {row[1]: Intent(*row) for row in found}


def intents(store: Store, original: str) -> list[Intent]:
    """Every attempt to resubmit ``original``, oldest first."""
    found = store.query(
        "SELECT id, original, started_at, state, new_task_id, detail FROM resubmissions WHERE original = ? ORDER BY id",
        (original,),
    )
    return [Intent(*row) for row in found]


def begin(store: Store, original: str, body: Mapping[str, Any], *, again: bool = False) -> int | None:
    """Record the intent to send ``body`` for ``original``; its id, or None when another run got there first
    (the original has a retry, or an attempt of unknown outcome, and ``again`` is not given). With ``again``,
    earlier attempts of unknown outcome are marked abandoned: the user has chosen to pay again."""
    now = store.clock()
    with store.transaction() as db:
        found = db.execute("SELECT retried_by FROM tasks WHERE task_id = ?", (original,)).fetchone()
        if found is None:
            return None
        pending = db.execute(f"SELECT count(*) FROM resubmissions WHERE original = ? AND {OPEN}", (original,))
        pending = pending.fetchone()[0]
        if not again and (found[0] is not None or pending):
            return None
        db.execute(
            f"UPDATE resubmissions SET state = 'abandoned', ended_at = ? WHERE original = ? AND {OPEN}",
            (now, original),
        )
        cursor = db.execute(
            "INSERT INTO resubmissions (original, body, started_at, state) VALUES (?, ?, ?, 'sending')",
            (original, json.dumps(dict(body), ensure_ascii=False), now),
        )
        return int(cursor.lastrowid or 0)


def sent(store: Store, intent: int, row: Task) -> None:
    """The attempt created ``row`` (a retry: ``row.retry_of`` is the original): watch it in the original's batch,
    linked both ways. Its columns come from the request (:func:`mjdash.core.resubmit.retry_row`), so it shows its
    prompt before its first poll."""
    with store.transaction() as db:
        rev = bump(db)
        db.execute(
            """INSERT INTO tasks (task_id, batch, added_at, next_due, rev, retry_of, task_type, prompt, aspect,
               speed, version) VALUES (?,(SELECT batch FROM tasks WHERE task_id = ?),?,?,?,?,?,?,?,?,?)
               ON CONFLICT (task_id) DO UPDATE SET retry_of = excluded.retry_of, rev = excluded.rev""",
            (
                row.task_id,
                row.retry_of,
                row.added_at,
                row.added_at,
                rev,
                row.retry_of,
                row.task_type,
                row.prompt,
                row.aspect,
                row.speed,
                row.version,
            ),
        )
        db.execute("UPDATE tasks SET retried_by = ?, rev = ? WHERE task_id = ?", (row.task_id, rev, row.retry_of))
        db.execute(
            "UPDATE resubmissions SET state = 'sent', new_task_id = ?, ended_at = ? WHERE id = ?",
            (row.task_id, row.added_at, intent),
        )


def ended(store: Store, intent: int, state: str, detail: str) -> None:
    """The attempt ended without a new task: 'refused' (nothing was created) or 'unknown'."""
    with store.transaction() as db:
        db.execute(
            "UPDATE resubmissions SET state = ?, detail = ?, ended_at = ? WHERE id = ?",
            (state, detail, store.clock(), intent),
        )
