"""``mjdash serve [--host 127.0.0.1] [--port 8000] [--public]``: the dashboard in a web browser
(``mjdash.web.serve``)."""

from __future__ import annotations

import shlex
import sys

from mjdash.commands.common import EXIT_OK, UsageError, err, need_key
from mjdash.config import Settings
from mjdash.web.serve import DashboardServer, is_loopback


def command_for(settings: Settings, config: str | None) -> str:
    """The dashboard's command line for each browser tab: the same database and config, this Python. The key is
    not on it (a command line is visible to every user of the machine): the dashboard reads it from the
    environment or the config file, as this process did."""
    argv = [sys.executable, "-m", "mjdash", "--db", str(settings.db_path), "--base-url", settings.base_url]
    if config:
        argv += ["--config", config]
    return shlex.join(argv)


def run(settings: Settings, host: str, port: int, *, public: bool = False, config: str | None = None) -> int:
    if not 0 < port < 65536:
        raise UsageError(f"--port {port} is not a port number (1–65535)")
    if not is_loopback(host):
        if not public:
            raise UsageError(
                f"--host {host} would serve the dashboard to other machines: anyone who can reach the port sees "
                "the watchlist and can act on it (resubmit spends credits) — add --public if that is what you want"
            )
        err(
            f"warning: serving on {host}:{port} with --public: anyone who can reach this port sees the watchlist "
            "and can act on it (resubmit spends credits); there is no password"
        )
    need_key(settings)
    server = DashboardServer(command_for(settings, config), host, port, public=public)
    try:
        server.serve()
    except OSError as exc:
        err(f"cannot listen on {host}:{port}: {exc.strerror or exc} — choose another --port")
        return 1
    print("mjdash serve: stopped", flush=True)
    return EXIT_OK
