"""API text is data on every output path: an answer whose ``msg`` or prompt is full of terminal escapes (set the
title, write the clipboard, clear the screen) and bidi overrides never reaches a terminal raw."""

from __future__ import annotations

import io
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mjdash.commands.wait import Progress
from mjdash.core.api.outcomes import Fetch, Outcome
from mjdash.core.engine.events import EngineState, Mode, RoundFinished, StateChanged, TaskErrored
from mjdash.core.model import Status
from mjdash.core.text import plain, safe
from mjdash.sim.server import Simulator
from mjdash.ui.state.announce import banner_text, failure_line
from tests.conftest import ROOT, SIM_KEY, run_cli

EVIL = "\x1b]0;EVIL-TITLE\x07\x1b]52;c;cHduZWQ=\x07\x1b[2J\x9b31m \u202etxt.exe\u202c"
RAW = ("\x1b", "\x07", "\x9b", "\u202e", "\u202c")


def _env(sim: Simulator, db: Path) -> dict[str, str]:
    return {"MJDASH_BASE_URL": sim.url, "KIE_API_KEY": SIM_KEY, "MJDASH_DB": str(db)}


def _clean(text: str) -> bool:
    return not any(c in text for c in RAW)


@pytest.mark.parametrize("code", [401, 402, 505])
def test_status_and_wait_show_a_hostile_msg_visibly(sim: Simulator, tmp_path: Path, code: int) -> None:
    task = sim.add_task(age=0, duration=10_000)
    sim.inject("code", 1000, code, message=EVIL)
    status = run_cli("status", task.task_id, env=_env(sim, tmp_path / "w.db"))
    waited = run_cli("wait", "--timeout", "3", task.task_id, env=_env(sim, tmp_path / "w.db"))
    for out in (status.stdout + status.stderr, waited.stdout + waited.stderr):
        assert _clean(out), out
    assert "\\x1b]0;EVIL-TITLE\\x07" in status.stderr  # shown, visibly


def test_wait_progress_bar_and_lines_on_a_terminal() -> None:
    out = io.StringIO()
    progress = Progress(out, tty=True)
    blocked = EngineState(Mode.BLOCKED, 0.0, 60.0, EVIL)
    with progress.bar:
        progress(StateChanged(blocked))
        progress(TaskErrored(Fetch("t", Outcome.NO_CREDITS, api_code=402, excerpt=EVIL), 0.0, gave_up=True))
        progress(RoundFinished(0.0, 1, 0, 1, 0, 1, None, rate=2, configured_rate=2, counts={Status.GENERATING: 1}))
    # Rich's own drawing is the only escapes written: colours, cursor up, erase line, hide and show the cursor
    text = re.sub(r"\r|\x1b\[(\?25[lh]|[0-9]*[AK]|[0-9;]*m)", "", out.getvalue())
    assert _clean(text) and "\\x1b]0;EVIL-TITLE" in text and "0/1" in text


def test_banner_toast_and_engine_lines_are_safe() -> None:
    state = EngineState(Mode.BLOCKED, 0.0, 60.0, EVIL)
    banner = banner_text(state, [f"database trouble {EVIL}"])
    assert banner is not None and _clean(banner.plain)
    assert _clean(state.describe(0.0))
    assert _clean(failure_line(OSError(5, EVIL)))
    assert safe("a\u202eb\u2066c") == "a\\u202eb\\u2066c"
    assert plain(f"prompt {EVIL}\nsecond line") == "prompt ]0;EVIL-TITLE]52;c;cHduZWQ=[2J31m txt.exe\nsecond line"


def test_export_csv_to_a_terminal_shows_escapes_and_to_a_pipe_keeps_data(sim: Simulator, tmp_path: Path) -> None:
    task = sim.add_task(age=100, duration=40, outcome=1)
    task.params["prompt"] = f"a prompt {EVIL}"
    env = _env(sim, tmp_path / "w.db")
    assert run_cli("wait", task.task_id, env=env).returncode == 0
    piped = run_cli("export", "--format", "csv", env=env)
    assert EVIL in piped.stdout  # data for a CSV consumer, as it is
    master, slave = pty.openpty()
    child = subprocess.Popen(
        [sys.executable, "-m", "mjdash", "export", "--format", "csv"],
        stdout=slave,
        stderr=subprocess.PIPE,
        env={**os.environ, **env},
        cwd=ROOT,
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    child.wait(timeout=30)
    os.close(master)
    shown = b"".join(chunks).decode()
    assert "a prompt \\x1b]0;EVIL-TITLE\\x07" in shown and _clean(shown)
