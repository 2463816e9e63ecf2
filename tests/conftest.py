"""Shared fixtures: an isolated environment, the simulator on a loopback port, a fake clock."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mjdash.sim.server import Simulator
from tests.clocks import FakeClock

ROOT = Path(__file__).resolve().parent.parent
SIM_KEY = "sk-test-SECRET-4f2a9c"  # distinctive, so a leak is easy to find in any output


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test sees the user's config, data, cache, key or base URL."""
    home = tmp_path / "home"
    home.mkdir()
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(var, str(home / var.lower()))
    for var in ("KIE_API_KEY", "MJDASH_BASE_URL", "MJDASH_DB", "MJDASH_CONFIG", "MJDASH_CACHE_DIR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    return home


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(api_key=SIM_KEY, seed=42, failure_rate=0.0) as simulator:
        yield simulator


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


def run_cli(
    *args: str, env: dict[str, str] | None = None, stdin: str | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m mjdash ARGS`` in a child process, as a user would."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "mjdash", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        cwd=ROOT,
    )
