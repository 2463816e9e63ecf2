"""One engine per database, with a dashboard: two ``mjdash wait`` processes and the dashboard on the same 40
tasks at 8 requests a second put at most 8 requests into any second at the server, the waits exit as they
should, and the dashboard shows every change (``tests/integration/test_one_engine.py`` has the rest)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from mjdash.core.model import Status
from mjdash.sim.server import busiest_second
from tests.integration.test_one_engine import RATE, SCALE, Waiter
from tests.ui.conftest import SIZE, Dash, main, wait_until


async def test_two_waits_and_a_dashboard_share_one_budget(
    live: Dash, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in SCALE.items():
        monkeypatch.setenv(key, value)
    sim = live.sim
    ids = [sim.add_task(age=0, duration=10_000, outcome=1, speed="fast").task_id for _ in range(40)]
    live.store.add(ids, batch="night")
    dash = dataclasses.replace(live, settings=dataclasses.replace(live.settings, rate=RATE))
    app = dash.app()
    waiters: list[Waiter] = []
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: sim.stats.requests >= 10)  # the dashboard leads
            db = live.settings.db_path
            waiters += [Waiter(sim, db, ids, tmp_path / f"{n}.out") for n in "ab"]
            await wait_until(pilot, lambda: all("following the engine" in w.text for w in waiters), timeout=30)
            asked = sim.stats.requests
            await wait_until(pilot, lambda: sim.stats.requests >= asked + 10 * RATE, timeout=30)  # ~10 s, all three
            for task_id in ids:
                sim.finish(task_id)
            await wait_until(pilot, lambda: all(w.proc.poll() is not None for w in waiters), timeout=60)
            rows = main(app).state.view.rows_by_id
            await wait_until(pilot, lambda: all(rows[t].status is Status.SUCCESS for t in ids))
    finally:
        for waiter in waiters:
            if waiter.proc.poll() is None:
                waiter.proc.kill()
    for waiter in waiters:
        assert waiter.finish() == 0, waiter.text
        assert "all 40 final: 40 success" in waiter.text
    assert busiest_second(sim.stats.arrivals) <= RATE
