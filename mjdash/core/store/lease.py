"""The tables beside the watchlist that let processes share one engine: the lease (who polls), the poll
requests other processes leave for it, and the rate it learned. Plain SQL in short transactions; what to do
with them is ``core/engine/lease.py``'s business."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from mjdash.core.store.database import Store

LEASE = "engine"
EVERYTHING = "*"  # a poll request for every task


@dataclass(frozen=True)
class Holder:
    """Who holds the lease: a process id that is unique per run, its PID and host (for people), its last
    heartbeat (on its own clock) and the lease's term (one more at every change of holder)."""

    owner: str
    pid: int | None
    host: str | None
    heartbeat: float
    term: int


def holder(store: Store) -> Holder | None:
    rows = store.query("SELECT owner, pid, host, heartbeat, term FROM lease WHERE name = ?", (LEASE,))
    return Holder(*rows[0]) if rows else None


def claim(store: Store, me: Holder, seen: Holder | None) -> Holder | None:
    """Take the lease if it is free, ours, or still exactly as ``seen`` (a holder we watched go silent): a
    compare-and-set, so of two processes taking over at once one wins. Returns the lease as held now by us,
    or None when another process holds it."""
    with store.transaction() as db:
        row = db.execute("SELECT owner, pid, host, heartbeat, term FROM lease WHERE name = ?", (LEASE,)).fetchone()
        current = Holder(*row) if row else None
        if current is not None and current.owner != me.owner and current != seen:
            return None
        term = 1 if current is None else current.term + (current.owner != me.owner)
        db.execute(
            "INSERT OR REPLACE INTO lease (name, owner, pid, host, heartbeat, term) VALUES (?, ?, ?, ?, ?, ?)",
            (LEASE, me.owner, me.pid, me.host, me.heartbeat, term),
        )
    return Holder(me.owner, me.pid, me.host, me.heartbeat, term)


def renew(store: Store, owner: str, term: int, now: float) -> bool:
    """Move the heartbeat on; False when the lease is no longer ours (taken over, or released)."""
    with store.transaction() as db:
        changed = db.execute(
            "UPDATE lease SET heartbeat = ? WHERE name = ? AND owner = ? AND term = ?", (now, LEASE, owner, term)
        ).rowcount
    return changed == 1


def release(store: Store, owner: str, term: int) -> None:
    """Give the lease up (on a clean exit): another process takes over at its next look, not after a timeout."""
    with store.transaction() as db:
        db.execute("DELETE FROM lease WHERE name = ? AND owner = ? AND term = ?", (LEASE, owner, term))


def request_polls(store: Store, task_ids: Iterable[str] | None, now: float) -> None:
    """Ask the engine that polls to ask about these tasks now (None: every task)."""
    ids = [EVERYTHING] if task_ids is None else list(task_ids)
    with store.transaction() as db:
        db.executemany("INSERT OR REPLACE INTO poll_requests (task_id, at) VALUES (?, ?)", [(i, now) for i in ids])


def take_requests(store: Store) -> tuple[list[str], bool]:
    """The tasks others asked for, oldest first, and whether every task was asked for; they are taken."""
    with store.transaction() as db:
        ids = [r[0] for r in db.execute("SELECT task_id FROM poll_requests ORDER BY at, task_id")]
        if ids:
            db.execute("DELETE FROM poll_requests")
    everything = EVERYTHING in ids
    return [i for i in ids if i != EVERYTHING], everything


def save_rate(store: Store, rate: float) -> None:
    """The effective rate the engine learned (AIMD), so the next engine starts from it."""
    with store.transaction() as db:
        db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('rate', ?)", (rate,))


def saved_rate(store: Store) -> float | None:
    rows = store.query("SELECT value FROM meta WHERE key = 'rate'")
    return float(rows[0][0]) if rows and isinstance(rows[0][0], int | float) else None
