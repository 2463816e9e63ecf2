"""``mjdash serve`` in a child process, for the tests that talk to it (over loopback) or open it in Chromium."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from tests.conftest import ROOT


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Served:
    url: str
    process: subprocess.Popen[str]

    def stop(self) -> tuple[int, str, str]:
        """Ctrl-C, as a user stops it: (exit status, stdout, stderr)."""
        self.process.send_signal(signal.SIGINT)
        out, err = self.process.communicate(timeout=30)
        return self.process.returncode, out, err


@contextmanager
def serving(env: dict[str, str]) -> Iterator[Served]:
    """Start ``mjdash serve`` on a free loopback port and wait for the line that gives its URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "mjdash", "serve", "--port", str(port)],
        env={**os.environ, **env},
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: a failed test takes the dashboards it started down too
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # blocks until the server is listening (or has died)
        if f"open http://127.0.0.1:{port} in a browser" not in line:
            raise AssertionError(f"mjdash serve did not start: {line}{process.stderr.read() if process.stderr else ''}")
        yield Served(f"http://127.0.0.1:{port}", process)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # after a clean stop: only what it left behind, if anything
        process.communicate(timeout=30)
