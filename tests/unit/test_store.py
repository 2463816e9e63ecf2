"""The store: watchlist writes, results and events, and refusing files that are not ours."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from mjdash.core.api.client import Fetch, Outcome
from mjdash.core.model import Status
from mjdash.core.parse import parse_record
from mjdash.core.store.database import Store, StoreError
from mjdash.core.store.schema import SCHEMA_VERSION


class Clock:
    def __init__(self) -> None:
        self.t = 1_800_000_000.0

    def __call__(self) -> float:
        return self.t


def _ok(task_id: str, flag: int, **extra: object) -> Fetch:
    data = {
        "taskId": task_id,
        "successFlag": flag,
        "taskType": "mj_txt2img",
        "createTime": 1_799_999_000_000,
        "paramJson": '{"prompt": "a fox", "speed": "fast", "aspectRatio": "1:1", "version": 7}',
        **extra,
    }
    return Fetch(task_id, Outcome.OK, task=parse_record(data), api_code=200, raw=data)


def test_add_dedupes_and_counts(tmp_path: Path) -> None:
    with Store(tmp_path / "db.sqlite3") as store:
        first = store.add(["a", "b", "c"], batch="b1", note="n")
        again = store.add(["c", "d"])
        assert (first.added, first.present) == (3, 0)
        assert (again.added, again.present) == (1, 1)
        assert [r.task_id for r in store.rows()] == ["a", "b", "c", "d"]
        assert store.rows(batch="b1")[0].note == "n"
        assert store.batches() == ["b1"]


def test_results_events_and_removal(tmp_path: Path) -> None:
    clock = Clock()
    with Store(tmp_path / "db.sqlite3", clock=clock) as store:
        store.add(["t1", "t2"])
        changes = store.record([_ok("t1", 0), _ok("t2", 0)])
        assert [(c.task_id, c.old, c.new) for c in changes] == [
            ("t1", Status.UNKNOWN, Status.GENERATING),
            ("t2", Status.UNKNOWN, Status.GENERATING),
        ]
        clock.t += 60
        done = _ok(
            "t1",
            1,
            completeTime=1_799_999_060_000,
            resultInfoJson={"resultUrls": [{"resultUrl": "https://x.example/1.jpeg"}]},
        )
        changes = store.record([done, Fetch("t2", Outcome.SERVER_ERROR, http_status=500)])
        assert [(c.task_id, c.new) for c in changes] == [("t1", Status.SUCCESS)]
        row = store.row("t1")
        assert row is not None and row.status is Status.SUCCESS and row.n_results == 1
        assert row.prompt == "a fox" and row.speed == "fast" and row.version == "7" and row.duration_s == 60
        assert row.final_seen_at == clock.t
        failed = store.row("t2")
        assert failed is not None and failed.status is Status.GENERATING  # last known data kept
        assert failed.consecutive_errors == 1 and "server error" in (failed.last_error or "")
        task = store.task("t1")
        assert task is not None and task.result_urls == ("https://x.example/1.jpeg",)
        assert [e[3] for e in store.events("t1")] == ["generating", "success"]
        store.record([Fetch("t2", Outcome.NOT_FOUND, api_code=422)])
        assert store.row("t2").status is Status.NOT_FOUND  # type: ignore[union-attr]
        assert store.finished_durations() == [("mj_txt2img", "fast", 60.0)]
        assert store.remove_where(finished=True) == 1
        assert store.remove(["t2", "nope"]) == 1
        assert store.count() == 0 and store.events() == []


def test_results_for_removed_tasks_are_ignored(tmp_path: Path) -> None:
    with Store(tmp_path / "db.sqlite3") as store:
        assert store.record([_ok("gone", 1)]) == []
        assert store.count() == 0


def test_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    with Store(path) as store:
        store.add(["keep"])
        store.record([_ok("keep", 1)])
    with Store(path) as store:
        row = store.row("keep")
        assert row is not None and row.status is Status.SUCCESS


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _siblings(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir())


@pytest.mark.parametrize(
    "content",
    [b"\x00\xffrandom bytes" * 100, b"SQLite format 3\x00" + b"\x13" * 200, b"hello, not a database\n"],
)
def test_foreign_files_are_refused_untouched(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "d" / "db.sqlite3"
    path.parent.mkdir()
    path.write_bytes(content)
    before = _digest(path)
    with pytest.raises(StoreError) as info:
        Store(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)
    assert _digest(path) == before and _siblings(path) == ["db.sqlite3"]


def test_another_programs_sqlite_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "d" / "other.db"
    path.parent.mkdir()
    other = sqlite3.connect(path)
    other.execute("CREATE TABLE notes (x)")
    other.execute("INSERT INTO notes VALUES ('precious')")
    other.commit()
    other.close()
    before = _digest(path)
    with pytest.raises(StoreError, match="another program"):
        Store(path)
    assert _digest(path) == before and _siblings(path) == ["other.db"]


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    Store(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    before = _digest(path)
    with pytest.raises(StoreError, match="newer mjdash"):
        Store(path)
    assert _digest(path) == before


def test_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="is a directory"):
        Store(tmp_path)


def test_unreadable_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "db.sqlite3"
    path.write_bytes(b"whatever")
    # root ignores file modes, so make the read fail the way a mode of 000 would for a user.
    original = Path.open

    def no_permission(self: Path, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        if self == path:
            raise PermissionError(13, "Permission denied")
        return original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "open", no_permission)
    with pytest.raises(StoreError, match="permission denied"):
        Store(path)


def test_empty_file_becomes_a_database(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    path.touch()
    with Store(path) as store:
        store.add(["x"])
        assert store.count() == 1


class FailingConnection:
    """A real connection that, once armed, fails every statement the way SQLite does when something outside goes
    wrong (another process holding the lock, a full disk, a read-only file, a bad disk)."""

    def __init__(self, real: sqlite3.Connection) -> None:
        self.real = real
        self.message: tuple[str, str] | None = None  # (SQLite's words, its error code's name)

    @property
    def in_transaction(self) -> bool:
        return self.real.in_transaction

    def execute(self, *args: Any) -> Any:
        if self.message is not None:
            message, code = self.message
            exc = sqlite3.OperationalError(message)
            exc.sqlite_errorname = code  # as SQLite sets it: mjdash reads the code, not the words
            raise exc
        return self.real.execute(*args)

    def close(self) -> None:
        self.real.close()


@pytest.mark.parametrize(
    ("sqlite_says", "we_say"),
    [
        (("database is locked", "SQLITE_BUSY"), "stayed locked by another mjdash process"),
        (("database or disk is full", "SQLITE_FULL"), "is full — free some space"),
        (("attempt to write a readonly database", "SQLITE_READONLY"), "read-only"),
        (("disk I/O error", "SQLITE_IOERR_WRITE"), "check the disk"),
        (("unable to open database file", "SQLITE_CANTOPEN"), "check that its folder exists"),
    ],
)
def test_failures_in_use_are_one_line_store_errors(tmp_path: Path, sqlite_says: tuple[str, str], we_say: str) -> None:
    connections: list[FailingConnection] = []

    def connect(*args: Any, **kwargs: Any) -> Any:
        connections.append(FailingConnection(sqlite3.connect(*args, **kwargs)))
        return connections[-1]

    with Store(tmp_path / "w.db", connect=connect) as store:
        connections[0].message = sqlite_says
        for call in (lambda: store.add(["a1b2c3"]), store.rows):
            with pytest.raises(StoreError) as caught:
                call()  # type: ignore[operator]
            assert we_say in str(caught.value) and str(tmp_path / "w.db") in str(caught.value)
            assert "\n" not in str(caught.value)


# -- the change feed -----------------------------------------------------------------------------------------------
def test_change_feed_reports_what_other_connections_wrote(tmp_path: Path) -> None:
    clock = Clock()
    with Store(tmp_path / "db.sqlite3", clock=clock) as mine, Store(tmp_path / "db.sqlite3", clock=clock) as other:
        mine.add(["a", "b"])
        mark = mine.mark()
        assert mine.changes_since(mark).empty  # nothing new: one cheap lookup
        other.add(["c"])
        other.record([_ok("a", 1, completeTime=1_799_999_060_000)])
        other.remove(["b"])
        other.mark_saved("a")
        feed = mine.changes_since(mark)
        assert sorted(r.task_id for r in feed.rows) == ["a", "c"] and feed.removed == ["b"]
        assert next(r for r in feed.rows if r.task_id == "a").status is Status.SUCCESS
        assert mine.changes_since(feed.mark).empty
        assert [r.task_id for r in mine.changes_since(mark, ids=["c"]).rows] == ["c"]  # a scope


def test_change_feed_says_read_everything_when_removals_were_forgotten(tmp_path: Path) -> None:
    clock = Clock()
    with Store(tmp_path / "db.sqlite3", clock=clock) as store:
        store.add(["a", "b", "c"])
        mark = store.mark()
        store.remove(["a"])
        clock.t += 8 * 86_400  # tombstones are kept a week
        store.remove(["b"])
        assert store.changes_since(mark).full
        assert not store.changes_since(store.mark()).full


def test_a_version_1_database_is_upgraded_in_place(tmp_path: Path) -> None:
    from mjdash.core.store.schema import APPLICATION_ID, MIGRATIONS

    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(MIGRATIONS[1])
    db.execute("INSERT INTO tasks (task_id, added_at, status) VALUES ('kept', 1.0, 'generating')")
    db.execute("PRAGMA user_version = 1")
    db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    db.commit()
    db.close()
    with Store(path) as store:
        assert [(r.task_id, r.status, r.stuck_since) for r in store.rows()] == [("kept", Status.GENERATING, None)]
        mark = store.mark()
        store.add(["new"])
        assert [r.task_id for r in store.changes_since(mark).rows] == ["new"]


def test_streamed_rows_come_in_order_and_in_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import mjdash.core.store.database as store_module

    monkeypatch.setattr(store_module, "READ_CHUNK", 7)
    clock = Clock()
    with Store(tmp_path / "db.sqlite3", clock=clock) as store:
        for i in range(5):
            clock.t += 1
            store.add([f"t{i}-{j}" for j in range(6)])  # same added_at within a chunk: rowid breaks ties
        streamed = [r.task_id for r in store.iter_rows()]
        assert streamed == [r.task_id for r in store.rows()] and len(streamed) == 30
        assert [r.task_id for r, _ in store.rows_with_raw(ids=["t3-1", "t0-0"])] == ["t0-0", "t3-1"]


def test_a_new_database_and_its_wal_files_are_private(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite3"
    with Store(path) as store:
        store.add(["a"])
        modes = {p.name: p.stat().st_mode & 0o777 for p in tmp_path.glob("new.*")}
    assert modes == {"new.sqlite3": 0o600, "new.sqlite3-wal": 0o600, "new.sqlite3-shm": 0o600}
