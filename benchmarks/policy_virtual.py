"""The refresh engine's policy on a virtual clock: 500 tasks at 2 req/s, durations 1× or 5× the prior.

``poll_efficiency.py`` runs the engine against the simulator in a process of its own, with time compressed
30×: about four minutes a case, and a few milliseconds of stall in either process move its figures. This runs
the same engine against the scripted API of the unit tests (``tests/unit/fake_api.py``) on looptime's virtual
clock: about eight seconds a case, the same figures on every run, so a change to the policy can be judged by
its effect alone. Delay = when the engine first saw a task final − when it finished.

Run: .venv/bin/python benchmarks/policy_virtual.py [--owed SECONDS] [--true-prior]
  --owed        the owed-delay threshold of the adaptive policy (default 1 s)
  --true-prior  give the policy the durations' true medians as its prior (what is left is not learning)
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import looptime

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the tests' scripted API and clock

from mjdash.core.engine import schedule
from mjdash.core.engine.engine import Engine
from mjdash.core.engine.schedule import AdaptivePolicy, NaivePolicy
from mjdash.core.store.database import Store
from tests.clocks import LoopClock
from tests.unit.fake_api import FakeApi, FakeTask

BASE = {"turbo": 25.0, "fast": 60.0, "relaxed": 240.0}  # as in poll_efficiency.py
TASKS, RATE = 500, 2.0


async def _inline(fn: Any, /, *args: Any, **kwargs: Any) -> Any:
    return fn(*args, **kwargs)


async def run(policy: AdaptivePolicy, factor: float) -> tuple[float, float, float, int]:
    """One batch: a task submitted every second, durations ``factor`` × BASE × lognormal(0, 0.35), 10 % failed."""
    clock, rng = LoopClock(), random.Random(11)
    with tempfile.TemporaryDirectory() as folder, Store(Path(folder) / "w.db", clock=clock.now) as store:
        api = FakeApi(clock, latency=0.05)  # type: ignore[arg-type]
        engine = Engine(
            api,  # type: ignore[arg-type]
            store,
            clock=clock,  # type: ignore[arg-type]
            offload=_inline,
            rate=RATE,
            concurrency=8,
            policy=policy,
        )
        running = asyncio.ensure_future(engine.run())
        ids = []
        for n in range(TASKS):
            speed = rng.choices(("fast", "relaxed", "turbo"), weights=(6, 3, 1))[0]
            duration = factor * BASE[speed] * rng.lognormvariate(0, 0.35)
            task_id = f"t{n:04d}"
            api.tasks[task_id] = FakeTask(clock.now(), duration, flag=2 if rng.random() < 0.1 else 1, speed=speed)
            store.add([task_id])
            ids.append(task_id)
            await asyncio.sleep(1.0)
        while len(api.seen_final) < TASKS:
            await asyncio.sleep(5.0)
        engine.stop()
        await running
    delays = sorted(api.seen_final[t] - (api.tasks[t].created + api.tasks[t].duration) for t in ids)
    return statistics.median(delays), delays[int(0.95 * (len(delays) - 1))], delays[-1], len(api.calls)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--owed", type=float, default=1.0)
    parser.add_argument("--true-prior", action="store_true")
    args = parser.parse_args()
    print(f"policy on a virtual clock: {TASKS} tasks, {RATE:g} req/s; delays in seconds")
    print(f"{'case':<28} {'policy':<9} {'requests':>8} {'median':>7} {'p95':>7} {'max':>7}  p95 / naive")
    for factor in (1.0, 5.0):
        if args.true_prior:
            schedule.DEFAULT_BY_SPEED.update({k: v * factor for k, v in BASE.items()})
        naive_p95 = 0.0
        for name, policy in (("naive", NaivePolicy()), ("adaptive", AdaptivePolicy(owed=args.owed))):
            loop = looptime.new_event_loop(noop_cycles=8)
            median, p95, worst, requests = loop.run_until_complete(run(policy, factor))
            loop.close()
            naive_p95 = naive_p95 or p95
            ratio = f"{p95 / naive_p95:.2f}" if name == "adaptive" else ""
            case = f"durations {factor:g}× the prior"
            print(f"{case:<28} {name:<9} {requests:>8} {median:>6.1f}s {p95:>6.1f}s {worst:>6.1f}s  {ratio}")


if __name__ == "__main__":
    main()
