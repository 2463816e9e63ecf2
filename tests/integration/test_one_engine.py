"""One engine per database, with real processes: two ``wait``s and a dashboard share one rate budget; killing
the leader (kill -9) hands polling over; a leader stopped (SIGSTOP) and continued never polls beside the new one.

Tasks run until the test finishes them (``sim.finish``), so nothing races the wall clock; the lease's times are
halved (``MJDASH_LEASE_SCALE``) so a takeover takes ~3 s instead of ~6 s.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mjdash.core.model import Status
from mjdash.core.store.database import Store
from mjdash.sim.server import Simulator, busiest_second
from tests.conftest import ROOT, SIM_KEY

RATE = 8
SCALE = {"MJDASH_LEASE_SCALE": "0.5"}


def _until(check: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "not reached in time"
        threading.Event().wait(0.05)


class Waiter:
    """``mjdash wait`` in a child process, its output in a file (readable while it runs)."""

    def __init__(self, sim: Simulator, db: Path, ids: list[str], out: Path) -> None:
        self.out = out
        env = {**os.environ, "MJDASH_BASE_URL": sim.url, "KIE_API_KEY": SIM_KEY, "MJDASH_DB": str(db), **SCALE}
        with out.open("w") as sink:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "mjdash", "wait", "--rate", str(RATE), "--timeout", "120", *ids],
                env=env,
                stdout=sink,
                stderr=subprocess.STDOUT,
                text=True,
                cwd=ROOT,
            )

    @property
    def text(self) -> str:
        return self.out.read_text()

    def finish(self) -> int:
        return self.proc.wait(timeout=60)


@pytest.fixture
def batch(sim: Simulator) -> list[str]:
    return [sim.add_task(age=0, duration=10_000, outcome=1, speed="fast").task_id for _ in range(40)]


@pytest.fixture
def children() -> Iterator[list[Waiter]]:
    started: list[Waiter] = []
    yield started
    for waiter in started:
        if waiter.proc.poll() is None:
            waiter.proc.send_signal(signal.SIGCONT)
            waiter.proc.kill()
            waiter.proc.wait()


def _finish_all(sim: Simulator, ids: list[str]) -> None:
    for task_id in ids:
        sim.finish(task_id)


def test_killing_the_leader_hands_polling_over_within_10_s(
    sim: Simulator, batch: list[str], tmp_path: Path, children: list[Waiter]
) -> None:
    db = tmp_path / "w.db"
    children.append(first := Waiter(sim, db, batch, tmp_path / "a.out"))
    _until(lambda: sim.stats.requests >= 10)  # it leads
    children.append(second := Waiter(sim, db, batch, tmp_path / "b.out"))
    _until(lambda: f"following the engine of PID {first.proc.pid}" in second.text)
    first.proc.kill()
    first.proc.wait()
    killed_at, asked = time.time(), len(sim.stats.arrivals)
    _until(lambda: len(sim.stats.arrivals) > asked + 3)  # the second one polls now
    assert sim.stats.arrivals[asked + 3] - killed_at < 10
    _finish_all(sim, batch)
    assert second.finish() == 0, second.text
    assert "all 40 final: 40 success" in second.text
    with Store(db) as store:  # nothing lost: every answer is in the database
        assert all(r.status is Status.SUCCESS for r in store.rows(ids=batch))
    assert busiest_second(sim.stats.arrivals) <= RATE


def test_a_stopped_leader_never_polls_beside_the_new_one(
    sim: Simulator, batch: list[str], tmp_path: Path, children: list[Waiter]
) -> None:
    db = tmp_path / "w.db"
    children.append(first := Waiter(sim, db, batch, tmp_path / "a.out"))
    _until(lambda: sim.stats.requests >= 10)
    children.append(second := Waiter(sim, db, batch, tmp_path / "b.out"))
    _until(lambda: f"following the engine of PID {first.proc.pid}" in second.text)
    first.proc.send_signal(signal.SIGSTOP)
    asked = len(sim.stats.arrivals)
    _until(lambda: len(sim.stats.arrivals) > asked + 2 * RATE)  # the second one took over and polls
    first.proc.send_signal(signal.SIGCONT)
    _until(lambda: f"following the engine of PID {second.proc.pid}" in first.text)
    asked = len(sim.stats.arrivals)
    _until(lambda: len(sim.stats.arrivals) > asked + 2 * RATE)  # both run for a while: one polls
    _finish_all(sim, batch)
    assert first.finish() == 0, first.text
    assert second.finish() == 0, second.text
    assert busiest_second(sim.stats.arrivals) <= RATE  # two pollers at 8/s would show up as ~16 in a second
