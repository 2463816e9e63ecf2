"""Print the order in which the engine asks about 40 short tasks on a virtual clock (run as a module).

``test_engine_is_deterministic`` runs it under two hash seeds: the engine's choices must not depend on the order
in which Python iterates a set of strings, or a test on the virtual clock passes on one run and fails on the next.
"""

from __future__ import annotations

import asyncio
import random
import sys
import tempfile
from pathlib import Path

import looptime

from mjdash.core.engine.engine import Engine
from mjdash.core.store.database import Store
from tests.clocks import LoopClock
from tests.unit.fake_api import FakeApi, FakeTask


async def _inline(fn, /, *args, **kwargs):  # type: ignore[no-untyped-def]
    return fn(*args, **kwargs)


async def trace(folder: Path) -> list[str]:
    clock = LoopClock()
    rng = random.Random(7)
    with Store(folder / "w.db", clock=clock.now) as store:
        api = FakeApi(clock, latency=0.05)  # type: ignore[arg-type]
        ids = [f"t{i:04d}" for i in range(40)]
        for task_id in ids:
            api.tasks[task_id] = FakeTask(clock.now(), rng.uniform(3, 12))
        store.add(ids)
        engine = Engine(api, store, clock=clock, offload=_inline, rate=8)  # type: ignore[arg-type]
        run = asyncio.ensure_future(engine.run(until_done=True))
        await asyncio.wait([run], timeout=120)
        engine.stop()
        await run
    return [f"{at - clock.start:.3f} {task_id}" for at, task_id in api.calls]


def main() -> None:
    loop = looptime.new_event_loop(noop_cycles=8)
    with tempfile.TemporaryDirectory() as folder:
        calls = loop.run_until_complete(trace(Path(folder)))
    loop.close()
    sys.stdout.write("\n".join(calls) + "\n")


if __name__ == "__main__":
    main()
