"""End to end: `mjdash --demo` in a real terminal (tmux, 160×50), keys sent, the screen read back."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (.ci/run installs it)")


class Tmux:
    def __init__(self, session: str) -> None:
        self.session = session

    def run(self, *args: str) -> str:
        return subprocess.run(["tmux", *args], capture_output=True, text=True, timeout=10).stdout

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", self.session)

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", self.session, *keys)

    def wait_for(self, check: Callable[[str], bool], timeout: float = 30.0) -> str:
        """Read the screen until ``check`` holds (a real terminal has no worker to wait on)."""
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if check(screen):
                return screen
            time.sleep(0.2)
        raise AssertionError(f"screen never matched; last screen:\n{screen}")


@pytest.fixture
def tmux(tmp_path) -> Iterator[Tmux]:  # type: ignore[no-untyped-def]
    session = f"mjdash-e2e-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "TERM": "xterm-256color", "HOME": str(tmp_path)}
    command = f"{sys.executable} -m mjdash --demo --images halfcell"
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", session, "-x", "160", "-y", "50", command],
        check=True,
        env=env,
        cwd=ROOT,
        timeout=10,
    )
    t = Tmux(session)
    try:
        yield t
    finally:
        t.run("kill-session", "-t", session)


def test_demo_in_a_real_terminal(tmux: Tmux) -> None:
    screen = tmux.wait_for(lambda s: "DEMO" in s and "generating" in s and "Quit" in s)
    assert "State" in screen and "Prompt" in screen
    # The prompt with brackets is shown literally, not as markup.
    tmux.wait_for(lambda s: "[bold red]not markup[/]" in s or "[bold red]" in s)
    tmux.keys("?")
    tmux.wait_for(lambda s: "mjdash — keys" in s)
    tmux.keys("Escape")  # a lone ESC: wait for it to land before the next key, or they read as alt+key
    tmux.wait_for(lambda s: "mjdash — keys" not in s)
    tmux.keys("3")  # only the successful ones
    tmux.wait_for(lambda s: "showing success" in s)
    tmux.keys("1", "/")
    tmux.wait_for(lambda s: "enter applies, escape clears" in s)  # the filter box is open and focused
    tmux.keys("-l", "lighthouse")
    tmux.keys("Enter")
    screen = tmux.wait_for(lambda s: "filter “lighthouse”" in s)
    table = [line[:95] for line in screen.splitlines()[2:] if "…" in line[:40]]
    assert table and all("lighthouse" in line for line in table)
    tmux.keys("Escape")
    tmux.wait_for(lambda s: "filter “lighthouse”" not in s)
    tmux.keys("q")
    tmux.wait_for(lambda s: "DEMO" not in s, timeout=15)
