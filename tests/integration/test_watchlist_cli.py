"""``mjdash add / rm / ls / export`` end to end, and the store under two processes and a SIGKILL."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from mjdash.core.api.client import Fetch, Outcome
from mjdash.core.parse import parse_record
from mjdash.core.store.database import Store
from tests.conftest import ROOT, run_cli


def _env(db: Path) -> dict[str, str]:
    return {"MJDASH_DB": str(db)}


def test_add_from_stdin_free_text(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    text = (
        '{"code":200,"msg":"success","data":{"taskId":"aaaa1111"}}\n'
        "INFO submitted taskId=bbbb2222 for prompt 'a cat'\n"
        "just words here\n"
        '{"taskId": "not valid!"}\n'
        '{"code":200,"data":{"taskId":"aaaa1111"}}\n'
    )
    r = run_cli("add", "--batch", "night", "-", stdin=text, env=_env(db))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "added 2, already present 0, rejected 1 ('not valid!')"
    again = run_cli("add", "aaaa1111", "cccc3333", env=_env(db))
    assert again.stdout.strip() == "added 1, already present 1, rejected 0"
    bad = run_cli("add", "ok1", "bad value", env=_env(db))
    assert bad.returncode == 2 and "'bad value'" in bad.stderr
    listed = json.loads(run_cli("ls", "--json", env=_env(db)).stdout)
    assert [t["task_id"] for t in listed] == ["aaaa1111", "bbbb2222", "cccc3333"]
    assert listed[0]["batch"] == "night" and listed[2]["batch"] is None
    assert {"task_id", "batch", "status", "added_at", "prompt", "params", "result_urls", "api_code"} <= set(listed[0])


def test_ls_rm_export(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    with Store(db) as store:
        store.add(["t-ok", "t-run", "t-fail"], batch="b1")
        store.add(["other"], batch="b2")
        records = [("t-ok", 1), ("t-run", 0), ("t-fail", 2)]
        fetches = []
        for tid, flag in records:
            data = {
                "taskId": tid,
                "successFlag": flag,
                "paramJson": json.dumps({"prompt": f"p [b]{tid}[/b]\x1b[2J"}),
                "errorMessage": '=HYPERLINK("http://evil.example","blocked")' if flag == 2 else None,
            }
            fetches.append(Fetch(tid, Outcome.OK, task=parse_record(data), api_code=200, raw=data))
        store.record(fetches)
    table = run_cli("ls", env=_env(db)).stdout
    assert "t-ok" in table and "✔ success" in table and "4 tasks" in table
    assert "\x1b" not in table and "[b]t-ok[/b]" in table and "blocked" in table
    failed = json.loads(run_cli("ls", "--json", "--status", "failed", env=_env(db)).stdout)
    assert [t["task_id"] for t in failed] == ["t-fail"]
    exported = run_cli("export", "--format", "csv", "--batch", "b1", env=_env(db)).stdout
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert [r["task_id"] for r in rows] == ["t-ok", "t-run", "t-fail"]
    assert rows[0]["prompt"].startswith("p [b]t-ok[/b]")
    assert rows[2]["error_message"] == '\'=HYPERLINK("http://evil.example","blocked")'  # inert in a spreadsheet
    out = tmp_path / "all.json"
    r = run_cli("export", "--format", "json", "--out", str(out), env=_env(db))
    assert r.returncode == 0 and len(json.loads(out.read_text())) == 4
    assert run_cli("rm", "--finished", env=_env(db)).stdout.strip() == "removed 2"
    assert run_cli("rm", "--batch", "b2", env=_env(db)).stdout.strip() == "removed 1"
    assert run_cli("rm", "t-run", env=_env(db)).stdout.strip() == "removed 1"
    assert "no tasks" in run_cli("ls", env=_env(db)).stdout
    assert run_cli("rm", env=_env(db)).returncode == 2


def test_bad_database_path_is_one_line_and_untouched(tmp_path: Path) -> None:
    db = tmp_path / "notes.txt"
    db.write_text("my precious notes\n")
    for args in (("ls",), ("add", "abc1"), ("export",), ("rm", "--finished")):
        r = run_cli(*args, env=_env(db))
        assert r.returncode == 1 and str(db) in r.stderr and "Traceback" not in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1
    assert db.read_text() == "my precious notes\n"


def test_two_processes_write_at_once(tmp_path: Path) -> None:
    """A script runs `mjdash add` in a loop while the dashboard's process records results."""
    db = tmp_path / "w.db"
    Store(db).close()
    script = (
        "import sys\nfrom mjdash.cli import main\n"
        "for i in range(60):\n"
        "    assert main(['add', '--batch', 's', f'script-{i:03d}']) == 0\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        env={**os.environ, **_env(db)},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    with Store(db) as store:
        for i in range(60):
            store.add([f"dash-{i:03d}"])
            store.record([Fetch(f"dash-{i:03d}", Outcome.SERVER_ERROR)])
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    assert "locked" not in stderr
    with Store(db) as store:
        ids = {r.task_id for r in store.rows()}
    assert ids == {f"script-{i:03d}" for i in range(60)} | {f"dash-{i:03d}" for i in range(60)}


def test_sigkill_during_a_large_add_leaves_a_consistent_prefix(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    ids = [f"{i:032x}" for i in range(20_000)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "mjdash", "add", "-"],
        env={**os.environ, **_env(db)},
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdin is not None
    fed = 0
    # Feed about half, wait until some of it is committed, then kill without warning.
    for i in range(0, 10_000, 500):
        proc.stdin.write("".join(f"log line taskId={t}\n" for t in ids[i : i + 500]).encode())
        fed += 500
    proc.stdin.flush()
    committed = threading.Event()

    def watch() -> None:
        while not committed.is_set():
            if db.exists():
                try:
                    with Store(db) as probe:
                        if probe.count() >= 2000:
                            committed.set()
                            return
                except Exception:
                    pass
            committed.wait(0.02)

    watcher = threading.Thread(target=watch)
    watcher.start()
    watcher.join(timeout=60)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    committed.set()
    with Store(db) as store:
        got = [r.task_id for r in store.rows()]
    assert 2000 <= len(got) <= fed
    assert set(got) == set(ids[: len(got)])  # a prefix of the input, nothing torn


def test_add_follow_until_interrupted(tmp_path: Path) -> None:
    db, log = tmp_path / "w.db", tmp_path / "batch.log"
    log.write_text("taskId=first-1\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "mjdash", "add", "--follow", str(log), "--batch", "live"],
        env={**os.environ, **_env(db)},
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # Ctrl-C as in a terminal: a test run started in the background inherits SIGINT ignored (so does mjdash,
        # rightly: a background job is not for the terminal's Ctrl-C)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert proc.stdout is not None
    try:
        assert proc.stdout.readline().startswith("added 1,")
        with log.open("a") as f:
            f.write("taskId=second-2\n")
        assert proc.stdout.readline().startswith("added 1,")
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()  # never left behind when the test fails
            proc.wait()
    assert proc.returncode == 0 and "Traceback" not in err
    with Store(db) as store:
        assert [(r.task_id, r.batch) for r in store.rows()] == [("first-1", "live"), ("second-2", "live")]


def test_add_follow_of_an_unreadable_path_is_one_line(tmp_path: Path) -> None:
    r = run_cli("add", "--follow", str(tmp_path), env=_env(tmp_path / "w.db"))
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith(f"mjdash: cannot read {tmp_path}:")


def test_export_on_a_full_disk_is_exit_1_and_leaves_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import errno
    import os

    from mjdash.cli import main
    from mjdash.core import atomic

    db, out = tmp_path / "w.db", tmp_path / "exports" / "all.csv"
    with Store(db) as store:
        store.add(["a1", "b2"])
    out.parent.mkdir()
    out.write_text("the previous export\n")

    class FullDisk:
        def __init__(self, fd: int) -> None:
            self.fd = fd

        def write(self, data: str) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

        def __enter__(self) -> FullDisk:
            return self

        def __exit__(self, *exc: object) -> None:
            os.close(self.fd)

    monkeypatch.setenv("MJDASH_DB", str(db))
    monkeypatch.setattr(atomic.os, "fdopen", lambda fd, *a, **k: FullDisk(fd))
    code = main(["export", "--format", "csv", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 1 and "No space left on device" in err and len(err.strip().splitlines()) == 1
    assert [p.name for p in out.parent.iterdir()] == ["all.csv"]  # no temp file left behind
    assert out.read_text() == "the previous export\n"  # and the old export is intact


def test_an_empty_listing_says_why(tmp_path: Path) -> None:
    env = {"MJDASH_DB": str(tmp_path / "w.db")}
    assert "no tasks in the watchlist" in run_cli("ls", env=env).stdout
    assert run_cli("add", "--batch", "real", "t1", "t2", "t3", env=env).returncode == 0
    other = run_cli("ls", "--batch", "nope", env=env).stdout
    assert "no tasks in batch 'nope' (no such batch) (3 in the watchlist)" in other
    expiring = run_cli("ls", "--expiring", env=env).stdout
    assert "expiring within 48 h unsaved (3 in the watchlist)" in expiring


def test_a_reader_that_stops_early_gets_no_traceback(tmp_path: Path) -> None:
    """`mjdash ls | head -1`: the pipe closes before mjdash writes; it stops quietly, as Unix tools do."""
    env = {**os.environ, **_env(tmp_path / "w.db")}
    assert run_cli("add", "a1b2c3d4e5", "f6a7b8c9d0", env=_env(tmp_path / "w.db")).returncode == 0
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the first line is written
    child = subprocess.run(
        [sys.executable, "-m", "mjdash", "ls"], env=env, cwd=ROOT, stdout=write, stderr=subprocess.PIPE, text=True
    )
    os.close(write)
    assert "Traceback" not in child.stderr and child.returncode != 0
