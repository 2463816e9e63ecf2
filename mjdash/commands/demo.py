"""``mjdash --demo`` (text mode): the simulator with a demo batch, its status printed until all are final.

This is the demo until the dashboard lands; then ``--demo`` opens the dashboard on the same simulator.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections import Counter
from datetime import UTC, datetime

from mjdash.commands.common import STATUS_MARK, describe
from mjdash.commands.status import fetch_all
from mjdash.core.api import KieClient, Secret
from mjdash.sim.server import DEFAULT_KEY, Simulator

DEMO_TASKS = 24


async def _loop(sim: Simulator, task_ids: list[str], every: float) -> None:
    async with KieClient(Secret(DEFAULT_KEY), sim.url) as client:
        while True:
            fetches = await fetch_all(client, task_ids)
            now = datetime.now(UTC)
            counts = Counter(f.status for f in fetches)
            if sys.stdout.isatty():
                print("\x1b[2J\x1b[H", end="")
            print(f"mjdash demo — simulator {sim.url} — {now.astimezone():%H:%M:%S}")
            print("  ".join(f"{STATUS_MARK[s]}: {n}" for s, n in sorted(counts.items())))
            print()
            for fetch in fetches:
                if fetch.task is not None:
                    print(describe(fetch.task, now)[0])
            if all(f.status.is_final for f in fetches):
                print("\nall tasks finished.")
                return
            await asyncio.sleep(every)


def run(count: int = DEMO_TASKS, speed: float = 1.0, every: float = 3.0) -> int:
    with Simulator(speed=speed, seed=int(os.environ.get("MJDASH_DEMO_SEED", "7"))) as sim:
        task_ids = sim.demo_batch(count)
        try:
            asyncio.run(_loop(sim, task_ids, every))
        except KeyboardInterrupt:
            print()
    return 0
