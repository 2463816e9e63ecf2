"""``make_app``: builds the dashboard from its parts — the one factory the CLI and the tests share.

``run_dashboard`` is what ``mjdash`` with no subcommand runs: the real API, or with ``--demo`` the embedded
simulator on an ephemeral port with a throwaway database and a demo batch. Without a key it shows the welcome
screen, which offers the demo.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from mjdash.config import Settings
from mjdash.core.api.client import KieClient, RetryPolicy
from mjdash.core.api.credentials import Secret
from mjdash.core.api.outcomes import Balance
from mjdash.core.clock import Clock, SystemClock
from mjdash.core.engine.engine import Engine, Fetcher
from mjdash.core.engine.extra import within_budget
from mjdash.core.engine.lease import lease_for
from mjdash.core.media.images import ImageFetcher
from mjdash.core.notify import Notifier
from mjdash.core.resubmit import Generator, sender_for
from mjdash.core.store.database import Store
from mjdash.core.store.gateway import StoreGateway
from mjdash.ui.app import Closer, MjDashApp
from mjdash.ui.screens.main import MainScreen
from mjdash.ui.screens.welcome import WelcomeScreen
from mjdash.ui.state.alerts import Alerts
from mjdash.ui.state.watchlist import WatchlistState

DEMO_TASKS = 36


def make_app(
    settings: Settings,
    store: Store,
    *,
    client: Fetcher | None = None,
    fetcher: ImageFetcher | None = None,
    clock: Clock | None = None,
    image_cls: Any = None,
    renderer: str = "none",
    demo: bool = False,
    follow: Path | None = None,
    bell: bool = False,
    run_engine: bool = True,
) -> MjDashApp:
    """The dashboard. ``client`` defaults to a KieClient for ``settings`` (None when there is no key)."""
    if client is None and settings.api_key:
        client = KieClient(settings.api_key, settings.base_url, timeout=settings.timeout, retry=RetryPolicy.none())
    if fetcher is None:
        fetcher = settings.image_fetcher()
    db, clock, terminal = StoreGateway(store), clock or SystemClock(), _Terminal()
    state = WatchlistState(
        renderer=renderer, demo=demo, expiry_days=settings.expiry_days, credits_low=settings.credits_low
    )
    engine = None
    if client is not None and run_engine:
        engine = Engine(
            client,
            store,
            rate=settings.rate,
            concurrency=settings.concurrency,
            policy=settings.policy(),
            clock=clock,
            on_event=state.engine_event,
            lease=lease_for(store),
        )
    main = MainScreen(
        settings=settings,
        db=db,
        engine=engine,
        fetcher=fetcher,
        clock=clock,
        image_cls=image_cls,
        state=state,
        follow=follow,
        bell=bell,
        credits=_credits(engine, client),
        alerts=Alerts(Notifier(terminal.write, clock.now, dict(os.environ), _spawner())) if settings.notify else None,
        sender=sender_for(client, settings.rate, clock, engine) if isinstance(client, Generator) else None,
    )
    closers: list[Closer] = [fetcher.aclose]
    close_client = getattr(client, "aclose", None)
    if close_client is not None:
        closers.append(close_client)
    closers.append(db.close)
    app = MjDashApp(main, closers)
    terminal.app = app
    return app


class _Terminal:
    """Where notifications are written: the app, once it exists (the screen is made before it)."""

    app: MjDashApp | None = None

    def write(self, sequence: str) -> None:
        if self.app is not None:
            self.app.write_terminal(sequence)


def _spawner() -> Callable[[list[str]], None] | None:
    """Runs notify-send off the event loop, output discarded; None when it is not installed."""
    if shutil.which("notify-send") is None:
        return None

    def run(argv: list[str]) -> None:
        with contextlib.suppress(OSError):  # removed since, or not executable: the terminal's escape went out anyway
            subprocess.run(argv, capture_output=True, timeout=10, check=False)

    def spawn(argv: list[str]) -> None:
        asyncio.get_running_loop().run_in_executor(None, run, argv)

    return spawn


def _credits(engine: Engine | None, client: Any) -> Callable[[], Awaitable[Balance]] | None:
    """The balance request, in the engine's budget; none without an engine (snapshots make no request)."""
    ask = getattr(client, "credits_once", None)
    if engine is None or ask is None:
        return None
    return lambda: within_budget(engine, ask)


def make_welcome(config_path: str) -> MjDashApp:
    """The app shown when no key is configured: it exits with "demo" or "quit"."""
    return MjDashApp(WelcomeScreen(config_path))


def run_dashboard(
    settings: Settings, *, images: str = "auto", demo: bool = False, follow: Path | None = None, bell: bool = False
) -> int:
    from mjdash.ui.imaging import load_renderer

    image_cls, renderer = load_renderer(images)
    if demo:
        return _run_demo(settings, image_cls, renderer, bell)
    if not settings.api_key:
        choice = make_welcome(str(settings.config_path)).run()
        if choice == "demo":
            return _run_demo(settings, image_cls, renderer, bell)
        return 0
    with Store(settings.db_path) as store:
        app = make_app(settings, store, image_cls=image_cls, renderer=renderer, follow=follow, bell=bell)
        app.run()
    return 0


def _run_demo(settings: Settings, image_cls: Any, renderer: str, bell: bool) -> int:
    from dataclasses import replace

    from mjdash.sim.server import DEFAULT_KEY, Simulator

    with tempfile.TemporaryDirectory(prefix="mjdash-demo-") as tmp, Simulator(seed=7, image_size=512) as sim:
        ids = sim.demo_batch(DEMO_TASKS)
        demo_settings = replace(
            settings,
            api_key=Secret(DEFAULT_KEY),
            base_url=sim.url,
            db_path=Path(tmp) / "demo.sqlite3",
            cache_dir=Path(tmp) / "cache",
            rate=8.0,
        )
        with Store(demo_settings.db_path) as store:
            store.add(ids, batch="demo")
            app = make_app(demo_settings, store, image_cls=image_cls, renderer=renderer, demo=True, bell=bell)
            app.run()
    return 0
