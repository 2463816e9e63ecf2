"""Dashboard fixtures: the app is built by make_app, the same factory as the CLI's, against the simulator."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from textual.pilot import Pilot

from mjdash.config import Settings
from mjdash.core.api.client import KieClient, RetryPolicy, Secret
from mjdash.core.media.cache import ImageCache
from mjdash.core.media.images import ImageFetcher
from mjdash.core.store.database import Store
from mjdash.sim.server import Simulator
from mjdash.ui.app import MjDashApp
from mjdash.ui.factory import make_app
from mjdash.ui.screens.main import MainScreen
from tests.clocks import FakeClock
from tests.conftest import SIM_KEY

T0 = 1_800_000_000.0  # 2027-01-15 08:00 UTC: the fixed "now" of deterministic tests
PUBLIC_FILES = "http://files.sim.test"
SIZE = (160, 50)


def main(app: Any) -> MainScreen:
    """The dashboard's main screen (whatever dialog is on top of it)."""
    assert isinstance(app, MjDashApp) and isinstance(app.first, MainScreen)
    return app.first


def halfcell() -> Any:
    from mjdash.ui.imaging import load_renderer

    return load_renderer("halfcell")[0]


def forwarding_transport(sim: Simulator) -> httpx.AsyncBaseTransport:
    """Sends image requests for the fixed public host to the simulator over loopback (stable URLs on screen)."""
    inner = httpx.AsyncClient()

    async def handler(request: httpx.Request) -> httpx.Response:
        real = await inner.get(sim.url + request.url.raw_path.decode())
        return httpx.Response(real.status_code, headers=real.headers, content=real.content)

    return httpx.MockTransport(handler)


@dataclass
class Dash:
    sim: Simulator
    store: Store
    settings: Settings
    tmp: Path
    clock: Any = None

    def app(self, *, run_engine: bool = True, **kwargs: Any) -> MjDashApp:
        client = KieClient(SIM_KEY, self.sim.url, retry=RetryPolicy.none(), timeout=5)
        cache = ImageCache(self.tmp / "cache")
        public = self.sim.files_url != self.sim.url  # result URLs on a fixed public host (stable snapshots)
        fetcher = ImageFetcher(cache, transport=forwarding_transport(self.sim) if public else None)
        return make_app(
            self.settings,
            self.store,
            client=client,
            fetcher=fetcher,
            clock=self.clock,
            image_cls=halfcell(),
            renderer="halfcell",
            run_engine=run_engine,
            **kwargs,
        )

    def poll_all(self) -> None:
        """Fetch every watched task once (what the engine would have learned)."""
        asyncio.run(self.learn())

    async def learn(self) -> None:
        """``poll_all`` from inside a running event loop."""
        async with KieClient(SIM_KEY, self.sim.url, retry=RetryPolicy.none()) as client:
            fetches = [await client.fetch_once(r.task_id) for r in self.store.rows()]
        self.store.record(fetches)


def _settings(tmp: Path, sim: Simulator) -> Settings:
    return Settings(
        api_key=Secret(SIM_KEY),
        base_url=sim.url,
        db_path=tmp / "w.db",
        cache_dir=tmp / "cache",
        rate=20.0,
        concurrency=4,
    )


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Dash]:
    """The simulator on the real clock: the engine polls it for real."""
    with Simulator(api_key=SIM_KEY, seed=5, failure_rate=0.0) as sim, Store(tmp_path / "w.db") as store:
        yield Dash(sim, store, _settings(tmp_path, sim), tmp_path)


@pytest.fixture
def fixed(tmp_path: Path) -> Iterator[Dash]:
    """A frozen world for snapshots: fixed clock, seed, URLs; a batch in every state, already polled once."""
    with (
        Simulator(api_key=SIM_KEY, seed=11, clock=lambda: T0, files_url=PUBLIC_FILES, failure_rate=0.0) as sim,
        Store(tmp_path / "w.db", clock=lambda: T0) as store,
    ):
        tasks = [
            sim.add_task(age=400, duration=62, outcome=1, task_type="mj_txt2img", speed="fast"),
            sim.add_task(age=30, duration=300, outcome=1, task_type="mj_img2img", speed="relaxed"),
            sim.add_task(age=900, duration=95, outcome=2, task_type="mj_txt2img", speed="fast"),
            sim.add_task(age=700, duration=140, outcome=1, task_type="mj_video", speed="fast"),
            sim.add_task(age=50, duration=70, outcome=1, task_type="mj_style_reference", speed="fast"),
        ]
        tasks[4].params["prompt"] = "literal [bold red]not markup[/] and \x1b]0;title\x07 escapes"
        store.add([t.task_id for t in tasks], batch="night-run")
        store.add(["0000deadbeef0000deadbeef0000dead"], batch="night-run")
        dash = Dash(sim, store, _settings(tmp_path, sim), tmp_path, clock=FakeClock(T0))
        dash.poll_all()
        yield dash


async def wait_until(pilot: Pilot[Any], check: Callable[[], bool], timeout: float = 15.0) -> None:
    """Let the app run until ``check()`` holds (workers and the engine do real I/O over loopback)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        if loop.time() > deadline:
            raise AssertionError("the dashboard did not reach the expected state in time")
        await pilot.pause(0.05)


async def settle(pilot: Pilot[Any]) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
