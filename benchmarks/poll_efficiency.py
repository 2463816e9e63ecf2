"""Refresh-engine benchmark: adaptive policy vs naive round-robin at the same request budget.

Against the simulator with time compressed (SPEED×): a batch script submits 500 tasks with Midjourney-like
durations (fast ~1 min, relaxed ~4 min, turbo ~25 s, 10 % failures), one per simulated second, and each is added
to the watchlist as it is submitted (as `mjdash add --follow` does). Each strategy polls with the same rate cap
until every task is final. Detection latency = when mjdash first saw a task final − when it
finished on the server (simulated seconds). A third run sets the engine's rate above the server's limit.

Run: .venv/bin/python benchmarks/poll_efficiency.py   (about two minutes)
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from mjdash.core.api import KieClient, RetryPolicy
from mjdash.core.outcomes import Fetch, Outcome
from mjdash.core.poller import Poller
from mjdash.core.schedule import AdaptivePolicy, NaivePolicy
from mjdash.core.store import Store
from mjdash.sim.server import Simulator

TASKS = 500
SPEED = 30.0  # simulated seconds per real second
RATES = (2.0, 5.0)  # request budgets per simulated second: mjdash's default, and a generous one
SUBMIT_EVERY = 1.0  # simulated seconds between two submissions
KEY = "bench-key"


class SimClock:
    """The engine runs in simulated time: now() is the simulator's clock, sleeps are compressed."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    def now(self) -> float:
        return self.sim.now()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / SPEED)


@dataclass
class Observer:
    """Wraps the client to see when each task was first seen final, and every 429."""

    client: KieClient
    clock: SimClock
    seen_final: dict[str, float] = field(default_factory=dict)
    throttled_at: list[float] = field(default_factory=list)  # real seconds
    ok_at: list[float] = field(default_factory=list)  # real seconds
    retry_after: list[float] = field(default_factory=list)

    async def fetch_once(self, task_id: str) -> Fetch:
        fetch = await self.client.fetch_once(task_id)
        real = time.monotonic()
        if fetch.outcome is Outcome.RATE_LIMITED:
            self.throttled_at.append(real)
            self.retry_after.append(fetch.retry_after or 0.0)
        elif fetch.ok:
            self.ok_at.append(real)
            if fetch.status.is_final and task_id not in self.seen_final:
                self.seen_final[task_id] = self.clock.now()
        return fetch


async def submit(sim: Simulator, store: Store, clock: SimClock, ids: list[str]) -> None:
    """The batch script: one task a simulated second, each added to the watchlist at once."""
    for _ in range(TASKS):
        task_id = sim.add_task(age=0).task_id
        store.add([task_id])
        ids.append(task_id)
        await clock.sleep(SUBMIT_EVERY)


async def run_one(policy: AdaptivePolicy, rate: float, server_limit: float | None) -> dict[str, float]:
    sim = Simulator(api_key=KEY, seed=2026, speed=SPEED, failure_rate=0.1, rate_limit=server_limit)
    sim.start()
    clock = SimClock(sim)
    ids: list[str] = []
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "b.db", clock=clock.now) as store:
        async with KieClient(KEY, sim.url, retry=RetryPolicy.none(), timeout=10) as client:
            observer = Observer(client, clock)
            poller = Poller(observer, store, rate=rate, concurrency=8, clock=clock, policy=policy, reload_every=1)
            started = time.monotonic()
            sim_started = sim.now()
            engine = asyncio.ensure_future(poller.run())
            await submit(sim, store, clock, ids)
            while len(observer.seen_final) < TASKS:
                await clock.sleep(1.0)
            poller.stop()
            await engine
            elapsed = time.monotonic() - started
    sim.stop()
    latencies = [observer.seen_final[t] - sim.tasks[t].finishes_at for t in ids if t in observer.seen_final]
    latencies.sort()
    recoveries = []
    for t in observer.throttled_at:
        after = [ok for ok in observer.ok_at if ok > t]
        if after:
            recoveries.append(after[0] - t)
    return {
        "requests": sim.stats.requests,
        "429s": sim.stats.rate_limited,
        "median": statistics.median(latencies),
        "p95": latencies[int(0.95 * (len(latencies) - 1))],
        "max": latencies[-1],
        "detected": len(latencies),
        "sim_seconds": sim.now() - sim_started,
        "real_seconds": elapsed,
        "max_recovery": max(recoveries) if recoveries else 0.0,
        "max_retry_after": max(observer.retry_after) if observer.retry_after else 0.0,
        "real_rate": sim.stats.requests / elapsed,
    }


def main() -> None:
    print(f"poll efficiency: {TASKS} tasks submitted 1/s, time x{SPEED:g}, concurrency 8; latencies in simulated s")
    runs = []
    for rate in RATES:
        generous = rate * SPEED * 1.5  # server limit (real req/s) above the engine's rate
        runs.append((f"naive round-robin, {rate:g} req/s", asyncio.run(run_one(NaivePolicy(), rate, generous))))
        runs.append((f"adaptive (mjdash), {rate:g} req/s", asyncio.run(run_one(AdaptivePolicy(), rate, generous))))
    over = RATES[-1]
    tight = over * SPEED / 2  # server limit (real req/s) below the engine's rate
    runs.append((f"adaptive, {over:g} req/s, server {over / 2:g}", asyncio.run(run_one(AdaptivePolicy(), over, tight))))
    print()
    print(f"{'strategy':<36} {'requests':>8} {'429s':>5} {'median':>8} {'p95':>8} {'max':>8} {'found':>6}")
    for name, r in runs:
        print(
            f"{name:<36} {r['requests']:>8.0f} {r['429s']:>5.0f} {r['median']:>7.1f}s {r['p95']:>7.1f}s "
            f"{r['max']:>7.1f}s {r['detected']:>6.0f}"
        )
    print()
    within = [r for _, r in runs[:-1]]
    for i, rate in enumerate(RATES):
        naive, adaptive = within[2 * i], within[2 * i + 1]
        print(
            f"{rate:g} req/s: p95 adaptive / naive = {adaptive['p95'] / naive['p95']:.2f} (target <= 0.5), "
            f"median {adaptive['median'] / naive['median']:.2f}, "
            f"with {adaptive['requests'] / naive['requests']:.2f}x the requests"
        )
    print(f"429s within the server's limit: {sum(r['429s'] for r in within):.0f} (target 0)")
    limited = runs[-1][1]
    print(
        f"over the limit: {limited['429s']:.0f} 429s; longest wait from a 429 to the next answer "
        f"{limited['max_recovery']:.2f} s real (Retry-After {limited['max_retry_after']:.0f} s); "
        f"sustained {limited['real_rate']:.0f} real req/s against a limit of {tight:g}"
    )
    ok = all(r["429s"] == 0 for r in within) and limited["max_recovery"] <= limited["max_retry_after"] + 0.5
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
