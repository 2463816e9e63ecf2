"""``mjdash serve``: the dashboard in a web browser. textual-serve starts ``mjdash`` (the dashboard, with the same
database, config and key) once per browser tab and streams its screen over a websocket.

textual-serve alone would let any web page the user visits drive the dashboard: a websocket is not bound by the
same-origin policy, and a page can reach 127.0.0.1 (or, by DNS rebinding, a name that points there). So every
request's ``Host`` must be a loopback name unless ``--public``, and the websocket's ``Origin`` must be the page's
own. The page is textual-serve's, but loads its font from the server, not from Google: nothing comes from
elsewhere.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.typedefs import Middleware
from textual_serve.server import Server

TEMPLATES = Path(__file__).parent / "serve_templates"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def is_loopback(host: str) -> bool:
    """``localhost``, 127.0.0.0/8 or ::1 (brackets allowed)."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _hostname(host_header: str) -> str:
    """The name in a Host header, without its port: ``[::1]:8000`` → ``::1``, ``localhost:8000`` → ``localhost``."""
    return urlsplit(f"//{host_header}").hostname or ""


class DashboardServer(Server):
    def __init__(self, command: str, host: str, port: int, *, public: bool) -> None:
        super().__init__(command, host=host, port=port, title="mjdash", templates_path=TEMPLATES)
        self.public = public
        self.sessions: set[asyncio.Task[object]] = set()  # the websocket handlers: one per browser tab
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{port}"

    def initialize_logging(self) -> None:
        """textual-serve logs every connection with Rich; mjdash says what matters itself."""

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        app.middlewares.append(self._guard())
        return app

    def _guard(self) -> Middleware:
        @web.middleware
        async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
            if not self.public and not is_loopback(_hostname(request.host)):
                raise web.HTTPForbidden(text="mjdash serve answers only to this machine's own names (see --public)")
            if request.path != "/ws":
                return await handler(request)
            origin = request.headers.get("Origin", "")
            if urlsplit(origin).netloc.lower() != request.host.lower():
                raise web.HTTPForbidden(text="websocket from another origin refused")
            session = asyncio.current_task()
            assert session is not None
            self.sessions.add(session)
            try:
                return await handler(request)
            finally:
                self.sessions.discard(session)

        return guard

    async def handle_index(self, request: web.Request) -> web.StreamResponse:
        """The page, with its websocket and static URLs on the host the browser used (which the guard checked)."""
        self.public_url = f"{request.scheme}://{request.host}"
        response: web.StreamResponse = await super().handle_index(request)
        return response

    async def on_shutdown(self, app: web.Application) -> None:
        """Ctrl-C: end every tab's session now (its dashboard is told to quit), instead of waiting for the
        browsers to hang up."""
        for session in list(self.sessions):
            session.cancel()

    async def on_startup(self, app: web.Application) -> None:
        print(f"mjdash serve: open {self.url} in a browser — Ctrl-C stops", flush=True)
