"""The store's schema, its migrations, and the checks that refuse a file that is not an mjdash database.

Opening refuses — and never alters — anything at the path that is not an mjdash database: a directory,
random bytes, another application's SQLite database, one written by a newer mjdash, or a file it may not
read. An empty (0-byte) file holds nothing to lose and is taken as a new database.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from mjdash.core.errors import StoreError

APPLICATION_ID = 0x6D6A6473  # "mjds"
SCHEMA_VERSION = 4
SQLITE_MAGIC = b"SQLite format 3\x00"
BUSY_TIMEOUT_MS = 15_000

MIGRATIONS: dict[int, str] = {
    1: """
    CREATE TABLE tasks (
        task_id TEXT PRIMARY KEY,
        batch TEXT,
        note TEXT,
        added_at REAL NOT NULL,
        status TEXT NOT NULL DEFAULT 'unknown',
        task_type TEXT,
        prompt TEXT,
        aspect TEXT,
        speed TEXT,
        version TEXT,
        created_at REAL,
        completed_at REAL,
        n_results INTEGER NOT NULL DEFAULT 0,
        error_code INTEGER,
        error_message TEXT,
        api_code INTEGER,
        raw TEXT,
        last_polled REAL,
        last_ok REAL,
        next_due REAL,
        consecutive_errors INTEGER NOT NULL DEFAULT 0,
        error_since REAL,
        last_error TEXT,
        final_seen_at REAL,
        saved_at REAL
    );
    CREATE INDEX tasks_batch ON tasks(batch);
    CREATE INDEX tasks_status ON tasks(status);
    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        task_id TEXT NOT NULL,
        at REAL NOT NULL,
        old_status TEXT,
        new_status TEXT NOT NULL,
        detail TEXT
    );
    CREATE INDEX events_task ON events(task_id, at);
    CREATE TABLE follow_positions (
        path TEXT PRIMARY KEY,
        inode INTEGER,
        offset INTEGER NOT NULL,
        updated_at REAL NOT NULL
    );
    """,
    # 2: a change feed. Every write that touches a task stamps it with the next value of meta.rev; removals leave
    # a row in `removed`. A reader keeps the highest rev it has seen and asks only for what came after it.
    2: """
    ALTER TABLE tasks ADD COLUMN rev INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE tasks ADD COLUMN stuck_since REAL;
    CREATE INDEX tasks_rev ON tasks(rev);
    CREATE INDEX tasks_added ON tasks(added_at);
    CREATE TABLE removed (rev INTEGER NOT NULL, task_id TEXT NOT NULL, at REAL NOT NULL);
    CREATE INDEX removed_rev ON removed(rev);
    CREATE TABLE meta (key TEXT PRIMARY KEY, value);
    INSERT INTO meta (key, value) VALUES ('rev', 0);
    """,
    # 3: one engine per database. `lease` holds the engine that polls (its owner renews the heartbeat every few
    # seconds; another process takes over when it stops); `poll_requests` are tasks other processes want asked
    # about now ('*': every task), served by that engine.
    3: """
    CREATE TABLE lease (
        name TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        pid INTEGER,
        host TEXT,
        heartbeat REAL NOT NULL,
        term INTEGER NOT NULL
    );
    CREATE TABLE poll_requests (task_id TEXT PRIMARY KEY, at REAL NOT NULL);
    """,
    # 4: resubmissions. A task sent again links both ways (retry_of on the new one, retried_by on the original).
    # Each attempt is written to `resubmissions` *before* its POST ('sending'), then marked with what came of it:
    # 'sent' (new_task_id), 'refused' (kie.ai said no: nothing was created), 'unknown' (no answer; a task may or
    # may not exist) or 'abandoned' (the user chose to send again anyway). A row left 'sending' is a process that
    # died mid-request: its outcome is unknown too.
    4: """
    ALTER TABLE tasks ADD COLUMN retry_of TEXT;
    ALTER TABLE tasks ADD COLUMN retried_by TEXT;
    CREATE TABLE resubmissions (
        id INTEGER PRIMARY KEY,
        original TEXT NOT NULL,
        body TEXT NOT NULL,
        started_at REAL NOT NULL,
        state TEXT NOT NULL,
        new_task_id TEXT,
        detail TEXT,
        ended_at REAL
    );
    CREATE INDEX resubmissions_original ON resubmissions(original, state);
    """,
}


def explain_sqlite(exc: sqlite3.Error, path: Path) -> str:
    """One line for a SQLite error met while the database is in use."""
    code = getattr(exc, "sqlite_errorname", None) or ""  # e.g. SQLITE_BUSY, SQLITE_IOERR_WRITE (Python 3.11+)
    primary = code.split("_")[1] if code.startswith("SQLITE_") else ""
    if primary in ("BUSY", "LOCKED"):
        return f"the database {path} stayed locked by another mjdash process for too long — try again"
    if primary == "FULL":
        return f"the disk holding {path} is full — free some space and try again"
    if primary in ("READONLY", "PERM"):
        return f"cannot write {path}: it is read-only — fix its permissions or use --db"
    if primary == "CANTOPEN":
        return f"cannot open {path} — check that its folder exists and may be written, or use --db"
    if primary in ("IOERR", "CORRUPT", "NOTADB"):
        return f"cannot use {path}: {exc} — check the disk, or move the file away and use --db"
    return f"database error in {path}: {exc}"


def check_existing(path: Path) -> bool:
    """Raise StoreError if ``path`` holds something that is not ours; True when there is nothing to lose."""
    if path.is_dir():
        raise StoreError(f"{path} is a directory, not an mjdash database — pass a file path with --db")
    try:
        with path.open("rb") as handle:
            head = handle.read(len(SQLITE_MAGIC))
    except FileNotFoundError:
        return True
    except PermissionError:
        raise StoreError(f"cannot read {path}: permission denied — fix its permissions or use --db") from None
    except OSError as exc:
        raise StoreError(f"cannot read {path}: {exc.strerror} — use another --db") from None
    if not head:
        return True
    if head != SQLITE_MAGIC:
        raise StoreError(f"{path} is not an mjdash database (not SQLite) — move it away or use another --db")
    try:
        probe = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            app_id = probe.execute("PRAGMA application_id").fetchone()[0]
            version = probe.execute("PRAGMA user_version").fetchone()[0]
            tables = probe.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        finally:
            probe.close()
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path} is not a usable SQLite database ({exc}) — move it away or use --db") from None
    if app_id != APPLICATION_ID and (tables or version):
        raise StoreError(f"{path} is another program's SQLite database, not mjdash's — use another --db")
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{path} was written by a newer mjdash (schema {version}, this one knows {SCHEMA_VERSION}) "
            "— upgrade mjdash or use another --db"
        )
    return False


def migrate(db: sqlite3.Connection, path: Path) -> None:
    """Bring the schema to SCHEMA_VERSION; call inside a write transaction."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:  # another process upgraded it after our check
        raise StoreError(f"{path} was written by a newer mjdash — upgrade mjdash")
    for target in range(version + 1, SCHEMA_VERSION + 1):
        for statement in MIGRATIONS[target].split(";"):
            if statement.strip():
                db.execute(statement)
        db.execute(f"PRAGMA user_version = {target}")
    db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
