"""``mjdash serve`` in Chromium: the dashboard loads in the page, shows the watchlist, and takes key presses.

The page draws the terminal on a canvas, so what it shows is read where it arrives: the websocket frames that
carry the dashboard's screen to the page."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mjdash.sim.server import Simulator
from tests.browser.conftest import wait_until
from tests.conftest import SIM_KEY, run_cli
from tests.serving import serving

_ESCAPES = re.compile(rb"\x1b\[[0-9;?]*[ -/]*[@-~]")


class Screen:
    """Everything the page's websocket received, as text without escape sequences."""

    def __init__(self, page: Any) -> None:
        self.data = bytearray()
        page.on("websocket", lambda ws: ws.on("framereceived", self._received))

    def _received(self, frame: str | bytes) -> None:
        self.data += frame if isinstance(frame, bytes) else frame.encode()

    def shows(self, text: str) -> bool:
        return text.encode() in _ESCAPES.sub(b"", bytes(self.data))


def test_the_dashboard_in_a_browser_shows_the_watchlist_and_takes_keys(
    sim: Simulator, tmp_path: Path, page: Any
) -> None:
    env = {"MJDASH_BASE_URL": sim.url, "KIE_API_KEY": SIM_KEY, "MJDASH_DB": str(tmp_path / "w.db")}
    first, second = (sim.add_task(age=300, duration=40.0, outcome=1).task_id for _ in range(2))
    assert run_cli("add", first, second, env=env).returncode == 0
    with serving(env) as served:
        screen = Screen(page)
        page.goto(served.url)
        wait_until(page, lambda: screen.shows(first[:9]) and screen.shows(second[:9]), "the table's task IDs")
        wait_until(page, lambda: screen.shows(first), "the first task in the detail pane")
        assert not screen.shows(second)  # only its short ID, in the table
        page.focus(".xterm-helper-textarea")  # where the page's terminal takes keys from
        page.keyboard.press("ArrowDown")
        wait_until(page, lambda: screen.shows(second), "the second task after ↓")
        status, _, err = served.stop()
    assert status == 0 and "Traceback" not in err
