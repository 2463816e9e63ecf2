"""A DNS lookup that hangs (simulated by a getaddrinfo that blocks) is bounded by the request timeout, and no
command waits for the stuck thread on its way out."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from mjdash.core import aio
from mjdash.core.api.client import KieClient, RetryPolicy
from mjdash.core.api.outcomes import Fetch, Outcome
from tests.conftest import ROOT, SIM_KEY

HANGING_RESOLVER = """
import socket, threading
_never = threading.Event()
def _hang(*args, **kwargs):
    _never.wait()
socket.getaddrinfo = _hang
"""


def test_a_hanging_lookup_times_out_and_the_loop_exits(monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()
    real = socket.getaddrinfo

    def hang(*args: object, **kwargs: object) -> object:
        release.wait(120)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", hang)

    async def ask() -> Fetch:
        async with KieClient(SIM_KEY, "http://api.hang.example:8080", timeout=1, retry=RetryPolicy.none()) as client:
            return await client.fetch_once("abc")

    start = time.monotonic()
    try:
        fetch = aio.run(ask())
        elapsed = time.monotonic() - start
    finally:
        release.set()
    assert fetch.outcome is Outcome.TIMEOUT
    assert elapsed < 20  # a request timeout of 1 s, not the two minutes the lookup hangs


@pytest.mark.parametrize("args", [["status", "abc"], ["wait", "--timeout", "2", "abc"]])
def test_commands_exit_on_time_while_a_lookup_hangs(tmp_path: Path, args: list[str]) -> None:
    (tmp_path / "sitecustomize.py").write_text(HANGING_RESOLVER)
    env = {
        "PYTHONPATH": f"{tmp_path}:{ROOT}",
        "MJDASH_BASE_URL": "http://api.hang.example:8080",
        "KIE_API_KEY": SIM_KEY,
        "MJDASH_DB": str(tmp_path / "w.db"),
        "HOME": str(tmp_path),
        "PATH": "/usr/bin:/bin",
    }
    start = time.monotonic()
    r = subprocess.run(
        [sys.executable, "-m", "mjdash", *args, "--timeout" if args[0] == "status" else "--rate", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        cwd=ROOT,
    )
    elapsed = time.monotonic() - start
    assert r.returncode in (1, 124), r.stderr
    assert "Traceback" not in r.stderr
    assert elapsed < 30, f"took {elapsed:.0f} s"  # it used to wait for the stuck lookup: a minute and more
