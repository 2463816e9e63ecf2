"""Scale benchmark: what the engine and the dashboard cost with tens of thousands of tasks.

1. Engine CPU per request at 500, 5,000 and 50,000 pending tasks (in-process, 20 req/s against an answering stub
   with no HTTP, so only the engine is measured): it should be flat — choosing a task is O(log N).
2. ``mjdash wait`` on 50,000 pending tasks at 20 req/s against ``mjdash sim`` in another process: the whole wait
   process's CPU share over 30 s (target < 0.25 of a core), and the requests it made.
3. The dashboard in a real terminal (tmux 160x50) with 100,000 finished tasks and the engine on: CPU share while
   idle, over 20 s after start-up (target < 5 %), and peak memory (target < 300 MB).
4. The dashboard in-process with 100,000 pending tasks and the engine polling the simulator at 20 req/s: the
   longest stall of the event loop over 20 s (target < 50 ms), measured by a 10 ms heartbeat.

Run: .venv/bin/python benchmarks/scale.py   (about three minutes)
"""

from __future__ import annotations

import asyncio
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from mjdash.config import Settings
from mjdash.core.api.client import Fetch, Outcome, Secret
from mjdash.core.engine.engine import Engine
from mjdash.core.parse import parse_record
from mjdash.core.store.database import Store
from mjdash.sim.lifecycle import make_task
from mjdash.sim.server import Simulator

RATE = 20.0
SIM = [sys.executable, "-m", "mjdash", "sim", "--port", "0"]


class Stub:
    """Answers at once that the task is still running: the engine's own cost, nothing else."""

    def __init__(self) -> None:
        self.calls = 0

    async def fetch_once(self, task_id: str) -> Fetch:
        self.calls += 1
        data = {"taskId": task_id, "successFlag": 0, "createTime": int(time.time() * 1000) - 5000, "taskType": "mj"}
        return Fetch(task_id, Outcome.OK, task=parse_record(data), api_code=200, raw=data)


def fill(path: Path, count: int, *, finished: bool = False, files_url: str = "https://files.example") -> list[str]:
    """A watchlist of ``count`` tasks, each with a realistic last record (running, or finished)."""
    rng = random.Random(count)
    now = time.time()
    ids: list[str] = []
    with Store(path) as store:
        for start in range(0, count, 5000):
            tasks = [
                make_task(rng, now, age=30 if not finished else 500, duration=10_000 if not finished else 60, outcome=1)
                for _ in range(min(5000, count - start))
            ]
            store.add([t.task_id for t in tasks], batch="scale")
            store.record(
                [
                    Fetch(t.task_id, Outcome.OK, task=parse_record(d), api_code=200, raw=d)
                    for t in tasks
                    for d in [t.record(now, files_url)]
                ]
            )
            ids += [t.task_id for t in tasks]
    return ids


async def engine_cost(path: Path) -> tuple[float, int]:
    """CPU seconds per request of the engine's thread, over 15 s at RATE."""
    stub = Stub()
    with Store(path) as store:
        poller = Engine(stub, store, rate=RATE, concurrency=8)
        run = asyncio.ensure_future(poller.run())
        await asyncio.sleep(3)  # the first read of the watchlist, off the clock
        cpu, calls = time.thread_time(), stub.calls
        await asyncio.sleep(15)
        cpu, calls = time.thread_time() - cpu, stub.calls - calls
        poller.stop()
        await run
    return cpu / max(1, calls), calls


def wait_process(tmp: Path) -> tuple[float, int]:
    """The CPU share of a whole `mjdash wait` process on 50,000 pending tasks, and its requests."""
    ids_file = tmp / "ids.txt"
    sim = subprocess.Popen(
        [*SIM, "--tasks", "50000", "--speed", "0.001", "--ids-file", str(ids_file), "--failure-rate", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert sim.stdout is not None
        url = sim.stdout.readline().split()[3]
        env = {**os.environ, "MJDASH_DB": str(tmp / "wait.db"), "MJDASH_BASE_URL": url, "KIE_API_KEY": "sim-key"}
        subprocess.run([sys.executable, "-m", "mjdash", "add", "--batch", "w", "-"], stdin=ids_file.open(), env=env)
        start = time.monotonic()
        child = subprocess.Popen(
            [sys.executable, "-m", "mjdash", "wait", "--batch", "w", "--rate", str(RATE), "--timeout", "30"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _, _, usage = os.wait4(child.pid, 0)
        elapsed = time.monotonic() - start
    finally:
        sim.terminate()
        sim.wait()
    with Store(tmp / "wait.db") as store:
        polled = sum(1 for r in store.iter_rows() if r.last_polled is not None)
    return (usage.ru_utime + usage.ru_stime) / elapsed, polled


def idle_dashboard(path: Path) -> tuple[float, float]:
    """CPU share over 20 s and peak RSS (MB) of the dashboard in tmux with every task finished."""
    session = f"scale-{uuid.uuid4().hex[:6]}"
    with Simulator(api_key="k") as sim:
        command = (
            f"MJDASH_DB={path} KIE_API_KEY=k MJDASH_BASE_URL={sim.url} exec {sys.executable} -m mjdash --images none"
        )
        subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "160", "-y", "50", command], check=True)
        try:
            pid = int(
                subprocess.run(
                    ["tmux", "display", "-p", "-t", session, "#{pane_pid}"], capture_output=True, text=True
                ).stdout
            )
            time.sleep(10)  # start-up and the first read of 100k rows, off the clock
            before, start = _cpu(pid), time.monotonic()
            time.sleep(20)
            share = (_cpu(pid) - before) / (time.monotonic() - start)
            peak = _peak_mb(pid)
        finally:
            subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
    return share, peak


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def loop_stalls(path: Path, url: str) -> tuple[float, int]:
    """The longest event-loop stall over 20 s with the engine polling 100k pending tasks (and its requests). The
    simulator runs in its own process, as kie.ai would: its server threads must not compete for this one's GIL."""
    from mjdash.ui.factory import make_app
    from mjdash.ui.screens.main import MainScreen
    from mjdash.ui.widgets.task_table import TaskTable

    settings = Settings(
        api_key=Secret("sim-key"), base_url=url, db_path=path, cache_dir=path.parent / "cache", rate=RATE
    )
    with Store(path) as store:
        app = make_app(settings, store, image_cls=None, renderer="none")
        screen = app.first
        assert isinstance(screen, MainScreen) and screen.engine is not None
        async with app.run_test(size=(160, 50)) as pilot:
            while app.query_one(TaskTable).row_count < 100_000:
                await pilot.pause(0.1)
            await pilot.pause(3)
            worst, requests, end = 0.0, screen.engine.requests, time.monotonic() + 20
            while time.monotonic() < end:
                before = time.perf_counter()
                await asyncio.sleep(0.01)
                worst = max(worst, time.perf_counter() - before - 0.01)
            requests = screen.engine.requests - requests
    return worst, requests


def pending_in_a_simulator(tmp: Path, count: int) -> tuple[subprocess.Popen[str], str, Path]:
    """A simulator process with ``count`` tasks that stay pending, and a watchlist of them."""
    ids_file, db = tmp / "pending-ids.txt", tmp / "pending-sim.db"
    sim = subprocess.Popen(
        [*SIM, "--tasks", str(count), "--speed", "0.001", "--ids-file", str(ids_file), "--failure-rate", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert sim.stdout is not None
    url = sim.stdout.readline().split()[3]
    env = {**os.environ, "MJDASH_DB": str(db)}
    subprocess.run([sys.executable, "-m", "mjdash", "add", "-"], stdin=ids_file.open(), env=env, check=True)
    return sim, url, db


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="mjdash-scale-"))
    print("scale benchmark (2-core machine)")
    for count in (500, 5_000, 50_000):
        path = tmp / f"engine-{count}.db"
        fill(path, count)
        per_request, calls = asyncio.run(engine_cost(path))
        print(f"  engine CPU per request, {count:>6,} pending tasks: {per_request * 1e6:6.0f} µs ({calls} requests)")
    share, polled = wait_process(tmp)
    print(f"  mjdash wait, 50,000 pending, {RATE:g} req/s: {share:.2f} of a core, {polled} tasks asked  (< 0.25)")
    finished = tmp / "finished.db"
    fill(finished, 100_000, finished=True)
    if shutil.which("tmux"):
        idle, peak = idle_dashboard(finished)
        print(f"  dashboard idle, 100,000 finished: {idle * 100:.1f} % CPU, peak {peak:.0f} MB  (< 5 %, < 300 MB)")
    sim, url, pending = pending_in_a_simulator(tmp, 100_000)
    try:
        stall, requests = asyncio.run(loop_stalls(pending, url))
    finally:
        sim.terminate()
        sim.wait()
    print(f"  dashboard, 100,000 pending, engine on: longest loop stall {stall * 1000:.0f} ms ({requests} requests)")
    print(f"  (this process's peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB)")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
