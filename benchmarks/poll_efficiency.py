"""Refresh-engine benchmark: the adaptive policy against a naive loop at the same budget, over a grid of cases.

Against the simulator over loopback, with time compressed 10× (30× for the sparse first case; every figure is
in simulated seconds). Both
policies run in the same engine with the same rate, the same per-task floor (``min_interval``, 3 s) and the same
concurrency — the naive one asks about every pending task in turn, least recently asked first, which is what a
`curl` loop at that rate does. A batch script submits the tasks (adding each to the watchlist as it goes, as
`mjdash add --follow` does) and the engine polls until every one is final.

For each case and policy it prints: requests; answers of 429; the busiest one-second window of request arrivals
at the server (and as sent by the engine); median, p95 and max detection delay (when mjdash first saw a task
final − when it finished on the server); and the engine's CPU seconds (the event-loop thread: engine and HTTP
client; the simulator runs in a process of its own).

Targets: adaptive p95 never worse than naive; ≤ 0.5× naive where the budget is scarce (N/R > 10 s); no window
over the rate; ≤ 1 answer of 429 per 30 s against a server limited to half the rate.

Run: .venv/bin/python benchmarks/poll_efficiency.py [case-number …]   (about twenty-five minutes for the whole grid)
"""

from __future__ import annotations

import asyncio
import multiprocessing
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mjdash.core.api.client import KieClient, RetryPolicy
from mjdash.core.api.outcomes import Fetch
from mjdash.core.engine.engine import Engine
from mjdash.core.engine.schedule import AdaptivePolicy, NaivePolicy
from mjdash.core.store.database import Store
from mjdash.sim.lifecycle import make_task
from mjdash.sim.server import Simulator, busiest_second

# Pacing margin: the engine keeps consecutive requests (1 + MARGIN)/R apart so that jitter between sending and
# arriving cannot put R + 1 requests into one of the server's seconds. Loopback jitter of a few real milliseconds
# is multiplied by the time compression; on a real network 0.02 (the default) covers 10 ms at 2 req/s.
MARGIN = 0.1
KEY = "bench-key"
BASE = {"turbo": 25.0, "fast": 60.0, "relaxed": 240.0}


@dataclass(frozen=True)
class Case:
    name: str
    tasks: int
    rate: float
    every: float  # simulated seconds between two submissions (0: all at once)
    burst: int = 1  # tasks submitted together each time
    duration: Callable[[random.Random, str], float] | None = None  # None: the simulator's Midjourney-like ones
    task_speed: str | None = None
    server_limit: float | None = None  # requests per simulated second; default: generous
    speed: float = 10.0  # time compression for this case (sparser traffic tolerates more)
    stop_after: float | None = None  # simulated seconds to run (None: until every task is final)
    naive_too: bool = True  # run the naive policy as well (the real-time checks need only the engine)
    scarce: bool = False  # N/R > 10 s: the budget cannot look at every task every 10 s


CASES = [
    Case("2 tasks at a time, 2 req/s", 100, 2.0, every=30.0, task_speed="fast", speed=30.0),
    Case(
        "40 tasks done in 3-12 s, 8 req/s (x5)",
        200,
        8.0,
        every=20.0,
        burst=40,
        task_speed="fast",
        duration=lambda r, s: r.uniform(3, 12),
    ),
    Case("500 tasks, 2 req/s", 500, 2.0, every=1.0, speed=30.0, scarce=True),
    Case("5,000 tasks, 2 req/s", 5000, 2.0, every=1.0, speed=30.0, scarce=True),
    Case(
        "500 tasks 5x the prior, 2 req/s",
        500,
        2.0,
        every=1.0,
        duration=lambda r, s: 5 * BASE[s] * r.lognormvariate(0, 0.35),
        speed=30.0,
        scarce=True,
    ),
    Case("500 tasks, 4 req/s, server allows 2", 500, 4.0, every=1.0, server_limit=2.0, scarce=True),
    # Real time (no compression): at 10-30x a 30 ms stall in either process packs a simulated second's requests
    # together at the server, so the server-side windows and 429s are judged here.
    Case(
        "windows, real time: 200 tasks, 8 req/s",
        200,
        8.0,
        every=0.0,
        duration=lambda r, s: 100_000.0,
        speed=1.0,
        stop_after=60.0,
        naive_too=False,
    ),
    Case(
        "AIMD, real time: 4 req/s, server allows 2",
        200,
        4.0,
        every=0.0,
        duration=lambda r, s: 100_000.0,
        server_limit=2.0,
        speed=1.0,
        stop_after=150.0,
        naive_too=False,
    ),
]


class SimProcess:
    """The simulator in a process of its own, so that its answers and arrival stamps never wait for this process's
    GIL (in-process, a few milliseconds of contention become tens of simulated ones). Its clock is the shared
    wall clock run ``speed`` times faster since a start time both processes know."""

    def __init__(self, speed: float, limit: float) -> None:
        self.speed = speed
        self._conn, child = multiprocessing.Pipe()
        self._proc = multiprocessing.Process(target=_serve, args=(child, speed, limit), daemon=True)
        self._proc.start()
        self.url, self.started = self._conn.recv()

    def now(self) -> float:
        return self.started + (time.time() - self.started) * self.speed

    def call(self, *request: object) -> object:
        self._conn.send(request)
        return self._conn.recv()

    def stop(self) -> None:
        self.call("stop")
        self._proc.join(5)


def _serve(conn: Any, speed: float, limit: float) -> None:
    sim = Simulator(api_key=KEY, seed=2026, speed=speed, failure_rate=0.1, rate_limit=limit)
    sim.start()
    conn.send((sim.url, sim.epoch))
    while True:
        command, *args = conn.recv()
        if command == "add":
            sim.add_tasks(args[0])
            conn.send(None)
        elif command == "finishes":
            conn.send({t: sim.tasks[t].finishes_at for t in args[0]})
        elif command == "stats":
            conn.send((sim.stats.requests, sim.stats.rate_limited, sim.stats.arrivals))
        elif command == "stop":
            sim.stop()
            conn.send(None)
            return


class SimClock:
    """The engine runs in simulated time: now() is the simulator's clock, sleeps are compressed."""

    def __init__(self, sim: SimProcess) -> None:
        self.sim = sim

    def now(self) -> float:
        return self.sim.now()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self.sim.speed)


@dataclass
class Observer:
    """Wraps the client to see when each task was first seen final."""

    client: KieClient
    clock: SimClock
    seen_final: dict[str, float] = field(default_factory=dict)
    sent: list[float] = field(default_factory=list)

    async def fetch_once(self, task_id: str) -> Fetch:
        self.sent.append(self.clock.now())
        fetch = await self.client.fetch_once(task_id)
        if fetch.ok and fetch.status.is_final and task_id not in self.seen_final:
            self.seen_final[task_id] = self.clock.now()
        return fetch


async def submit(case: Case, sim: SimProcess, store: Store, clock: SimClock, ids: list[str]) -> None:
    """The batch script: each task is created on the simulator and added to the watchlist at once."""
    rng = random.Random(11)
    for n in range(case.tasks):
        speed = case.task_speed or rng.choices(("fast", "relaxed", "turbo"), weights=(6, 3, 1))[0]
        duration = case.duration(rng, speed) if case.duration else None
        task = make_task(rng, sim.now(), speed=speed, duration=duration, failure_rate=0.1, task_type="mj_txt2img")
        sim.call("add", [task])
        store.add([task.task_id])
        ids.append(task.task_id)
        if case.every and (n + 1) % case.burst == 0:
            await clock.sleep(case.every)


async def run_one(case: Case, policy: AdaptivePolicy) -> dict[str, float]:
    limit = case.server_limit if case.server_limit is not None else case.rate * 4
    sim = SimProcess(case.speed, limit)
    clock = SimClock(sim)
    ids: list[str] = []
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "b.db", clock=clock.now) as store:
        async with KieClient(KEY, sim.url, retry=RetryPolicy.none(), timeout=10) as client:
            observer = Observer(client, clock)
            poller = Engine(observer, store, rate=case.rate, concurrency=8, clock=clock, policy=policy, margin=MARGIN)
            cpu = time.thread_time()
            sim_started = sim.now()
            engine = asyncio.ensure_future(poller.run())
            await submit(case, sim, store, clock, ids)
            limit_s = case.stop_after or 20_000.0
            while len(observer.seen_final) < case.tasks and sim.now() - sim_started < limit_s:
                await clock.sleep(1.0)
            poller.stop()
            await engine
            cpu = time.thread_time() - cpu
    finishes = sim.call("finishes", ids)
    requests, throttled, arrivals = sim.call("stats")  # type: ignore[misc]
    sim.stop()
    assert isinstance(finishes, dict)
    latencies = sorted(observer.seen_final[t] - finishes[t] for t in ids if t in observer.seen_final) or [0.0]
    return {
        "requests": requests,
        "429s": throttled,
        "window": busiest_second(arrivals),
        "sent_window": busiest_second(observer.sent),
        "median": statistics.median(latencies),
        "p95": latencies[int(0.95 * (len(latencies) - 1))],
        "max": latencies[-1],
        "detected": len(observer.seen_final),
        "sim_seconds": sim.now() - sim_started,
        "cpu": cpu,
    }


def main() -> None:
    chosen = [CASES[int(a) - 1] for a in sys.argv[1:]] or CASES
    print(f"poll efficiency: concurrency 8, floor 3 s, margin {MARGIN}; delays in simulated seconds")
    print(
        f"{'case':<38} {'policy':<9} {'requests':>8} {'429s':>5} {'busiest':>7} {'(sent)':>6} {'median':>7} "
        f"{'p95':>7} {'max':>7} {'found':>6} {'cpu s':>6}"
    )
    verdicts: list[str] = []
    ok = True
    for case in chosen:
        results = {}
        policies = [("naive", NaivePolicy()), ("adaptive", AdaptivePolicy())][0 if case.naive_too else 1 :]
        for name, policy in policies:
            r = results[name] = asyncio.run(run_one(case, policy))
            print(
                f"{case.name:<38} {name:<9} {r['requests']:>8.0f} {r['429s']:>5.0f} {r['window']:>5.0f}/s "
                f"{r['sent_window']:>4.0f}/s {r['median']:>6.1f}s {r['p95']:>6.1f}s {r['max']:>6.1f}s "
                f"{r['detected']:>6.0f} {r['cpu']:>6.2f}",
                flush=True,
            )
        adaptive = results["adaptive"]
        if case.stop_after is None:
            ratio = adaptive["p95"] / results["naive"]["p95"]
            target = 0.5 if case.scarce else 1.05  # never worse (5 % is noise at 100 tasks); half where scarce
            line = (
                f"{case.name}: p95 adaptive/naive {ratio:.2f} (<= {target:g}), "
                f"busiest window as sent {adaptive['sent_window']:.0f} (<= {case.rate:g})"
            )
            good = ratio <= target and adaptive["sent_window"] <= case.rate
        else:
            allowed = min(case.rate, case.server_limit or case.rate)
            line = f"{case.name}: busiest window at the server {adaptive['window']:.0f} (<= {allowed:g})"
            good = adaptive["window"] <= allowed
            if case.server_limit is not None:
                per_30 = adaptive["429s"] / (adaptive["sim_seconds"] / 30)
                line += f", {per_30:.2f} answers of 429 per 30 s (<= 1)"
                good = adaptive["window"] <= case.rate and per_30 <= 1.0
        verdicts.append(("ok   " if good else "MISS ") + line)
        ok = ok and good
    print()
    print("\n".join(verdicts))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
