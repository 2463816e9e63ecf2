"""Store benchmark: 10,000 tasks through `add -`, `ls --json`, and the rows the dashboard table needs; then
`ls --json`, `ls` and `export` of 100,000 tasks (time and peak memory), and `mjdash status` start-up.

Prints whole-process and in-process times (median of a few runs). Target on a 2-core machine: each under 1 s.
Run: .venv/bin/python benchmarks/store.py
"""

from __future__ import annotations

import io
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from mjdash.commands import watchlist
from mjdash.config import Settings
from mjdash.core.api.client import Fetch, Outcome
from mjdash.core.intake.ids import extract
from mjdash.core.parse import parse_record
from mjdash.core.store.database import Store
from mjdash.sim.lifecycle import demo_batch

N = 10_000
RUNS = 3


def median_time(fn: Callable[[], object], runs: int = RUNS) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def populated(path: Path, count: int = N) -> list[str]:
    """A store with ``count`` tasks, each with a realistic last record."""
    rng = random.Random(1)
    ids: list[str] = []
    with Store(path) as store:
        for start in range(0, count, 10_000):
            tasks = demo_batch(rng, time.time(), min(10_000, count - start))
            store.add([t.task_id for t in tasks], batch="bench")
            fetches = []
            for t in tasks:
                data = t.record(time.time() + 10_000, "https://tempfile.example")
                fetches.append(Fetch(t.task_id, Outcome.OK, task=parse_record(data), api_code=200, raw=data))
            store.record(fetches)
            ids += [t.task_id for t in tasks]
    return ids


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="mjdash-bench-"))
    ids = [f"{random.Random(i).getrandbits(128):032x}" for i in range(N)]
    log = "".join(f"2026-11-28 INFO submitted taskId={t} prompt='a fox'\n" for t in ids)
    env = {**os.environ, "MJDASH_DB": str(tmp / "cli.db")}

    def cli_add() -> None:
        (tmp / "cli.db").unlink(missing_ok=True)
        subprocess.run(
            [sys.executable, "-m", "mjdash", "add", "-"],
            input=log,
            text=True,
            env=env,
            check=True,
            capture_output=True,
        )

    def cli_startup() -> None:
        subprocess.run([sys.executable, "-m", "mjdash", "--version"], env=env, check=True, capture_output=True)

    rows = []
    rows.append(("whole process: mjdash add - (10k IDs in log lines)", median_time(cli_add)))
    rows.append(("whole process: mjdash --version (start-up floor)", median_time(cli_startup)))

    def in_add() -> None:
        path = tmp / f"in-{time.perf_counter_ns()}.db"
        with Store(path) as store:
            store.add(extract(log).ids)

    rows.append(("in-process: extract + Store.add of 10k IDs", median_time(in_add)))
    rows.append(("in-process: extract only (10k log lines)", median_time(lambda: extract(log))))

    full = tmp / "full.db"
    populated(full)
    env_full = {**os.environ, "MJDASH_DB": str(full)}

    def cli_ls() -> str:
        return subprocess.run(
            [sys.executable, "-m", "mjdash", "ls", "--json"],
            env=env_full,
            check=True,
            capture_output=True,
            text=True,
        ).stdout

    assert len(json.loads(cli_ls())) == N  # checked outside the timing

    def cli_ls_timed() -> None:  # the command's own time: its output goes to /dev/null, not through our pipe
        subprocess.run(
            [sys.executable, "-m", "mjdash", "ls", "--json"], env=env_full, check=True, stdout=subprocess.DEVNULL
        )

    rows.append(("whole process: mjdash ls --json (10k tasks with records)", median_time(cli_ls_timed, 5)))
    settings = Settings(db_path=full)
    rows.append(
        (
            "in-process: ls --json (10k)",
            median_time(lambda: watchlist.ls(settings, True, None, None, io.StringIO())),
        )
    )
    with Store(full) as store:
        rows.append(("in-process: Store.rows() — what the table needs (10k)", median_time(store.rows)))
        assert len(store.rows()) == N

    width = max(len(name) for name, _ in rows)
    print(f"store benchmark, {N:,} tasks, median of {RUNS} runs (target: each < 1 s; ls --json < 0.6 s)")
    for name, seconds in rows:
        print(f"  {name:<{width}}  {seconds * 1000:8.1f} ms")
    big = tmp / "big.db"
    populated(big, 100_000)
    env_big = {**os.environ, "MJDASH_DB": str(big)}
    print("100,000 tasks, whole process, one run each (targets: ls --json < 6 s in < 150 MB)")
    for args in (["ls", "--json"], ["ls"], ["export", "--format", "json", "--out", str(tmp / "all.json")]):
        seconds, peak = timed_process([sys.executable, "-m", "mjdash", *args], env_big)
        print(f"  mjdash {' '.join(args[:3]):<24} {seconds:6.2f} s   peak {peak:5.0f} MB")
    startup(env_big)


def timed_process(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one child process, its output thrown away."""
    start = time.perf_counter()
    child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    assert status == 0, command
    return time.perf_counter() - start, usage.ru_maxrss / 1024


def startup(env: dict[str, str], runs: int = 11) -> None:
    """mjdash status against the simulator, next to the floor it is measured against. The three commands take
    turns, so a machine that gets busier or quieter during the run moves all three medians alike."""
    from mjdash.sim.server import Simulator

    with Simulator(api_key="k") as sim:
        task_id = sim.add_task(age=100, duration=40).task_id
        env = {**env, "MJDASH_BASE_URL": sim.url, "KIE_API_KEY": "k"}
        url = f"{sim.url}/api/v1/mj/record-info?taskId={task_id}"
        bare = (  # the same request with nothing but httpx and asyncio: what any async httpx client pays
            "import asyncio, httpx\n"
            "async def main():\n"
            "    async with httpx.AsyncClient() as client:\n"
            f"        (await client.get({url!r}, headers={{'Authorization': 'Bearer k'}})).raise_for_status()\n"
            "asyncio.run(main())"
        )
        commands = {
            "pass": [sys.executable, "-c", "pass"],
            "httpx": [sys.executable, "-c", "import httpx"],
            "status": [sys.executable, "-m", "mjdash", "status", task_id],
            "bare": [sys.executable, "-c", bare],
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(runs):
            for name, command in commands.items():
                start = time.perf_counter()
                subprocess.run(command, env=env, check=True, capture_output=True)
                times[name].append(time.perf_counter() - start)
    python, httpx, status, bare = (statistics.median(times[name]) for name in commands)
    floor = 3 * python + (httpx - python)
    print(
        f"start-up, median of {runs} (taking turns): python -c pass {python * 1000:.0f} ms, import httpx "
        f"{httpx * 1000:.0f} ms, mjdash status {status * 1000:.0f} ms "
        f"(target <= 3 x pass + httpx's import = {floor * 1000:.0f} ms); the same GET with bare httpx + asyncio "
        f"{bare * 1000:.0f} ms, so mjdash adds {(status - bare) * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
