"""Following a growing file: appends, partial lines, truncation, rotation, restarts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mjdash.core.intake.follow import FileFollower, FollowError
from mjdash.core.store.database import Store


def _ids(store: Store) -> list[str]:
    return [r.task_id for r in store.rows()]


def test_follow_appends_partial_lines_truncation_rotation(tmp_path: Path) -> None:
    log = tmp_path / "batch.log"
    with Store(tmp_path / "w.db") as store:
        follower = FileFollower(log, store, batch="f")
        assert follower.poll().event == "waiting"  # the file does not exist yet
        log.write_text("taskId=id-001\ntaskId=id-00")
        assert follower.poll().added == 1
        with log.open("a") as f:
            f.write("2\nnoise\n")
        assert follower.poll().added == 1
        assert _ids(store) == ["id-001", "id-002"]
        log.write_text("taskId=id-003\n")  # truncated and rewritten
        result = follower.poll()
        assert result.event == "truncated" and result.added == 1
        os.rename(log, tmp_path / "batch.log.1")  # rotated
        with (tmp_path / "batch.log.1").open("a") as f:
            f.write("taskId=id-004\n")  # a last line in the old file
        log.write_text("taskId=id-005\n")
        result = follower.poll()
        assert result.event == "rotated" and result.added == 2
        assert _ids(store) == ["id-001", "id-002", "id-003", "id-004", "id-005"]
        assert all(r.batch == "f" for r in store.rows())
        follower.close()


def test_restart_resumes_and_does_not_re_add_removed(tmp_path: Path) -> None:
    log = tmp_path / "batch.log"
    log.write_text("taskId=id-001\ntaskId=id-002\n")
    with Store(tmp_path / "w.db") as store:
        first = FileFollower(log, store)
        assert first.poll().added == 2
        first.close()
        store.remove(["id-001"])
        with log.open("a") as f:
            f.write("taskId=id-003\n")
        second = FileFollower(log, store)
        assert second.poll().added == 1
        assert _ids(store) == ["id-002", "id-003"]
        second.close()


def test_an_unreadable_path_is_a_one_line_error_until_it_is_fixed(tmp_path: Path) -> None:
    log = tmp_path / "batch.log"
    log.mkdir()  # a directory where the file should be (chmod cannot make a file unreadable for root)
    with Store(tmp_path / "w.db") as store:
        follower = FileFollower(log, store)
        with pytest.raises(FollowError) as caught:
            follower.poll()
        assert str(caught.value).startswith(f"cannot read {log}:") and "\n" not in str(caught.value)
        log.rmdir()
        log.write_text("taskId=id-001\n")
        assert follower.poll().added == 1  # fixed: it goes on by itself
        follower.close()
