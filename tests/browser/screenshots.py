"""The README's pictures of the web pages, taken in Chromium: ``make screenshots`` runs this.

``python -m tests.browser.screenshots`` writes ``screenshots/report.png`` (a report of a small batch) and
``screenshots/serve.png`` (the dashboard served in the browser), from the simulator with a fixed seed.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from mjdash.sim.server import Simulator
from tests.browser.conftest import CHROMIUM_ARGS, chromium_path, wait_until
from tests.browser.test_serve_page import Screen
from tests.conftest import ROOT, SIM_KEY, run_cli
from tests.serving import serving

OUT = ROOT / "screenshots"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, Simulator(api_key=SIM_KEY, seed=7, failure_rate=0.25) as sim:
        home = Path(tmp)
        env = {
            "MJDASH_BASE_URL": sim.url,
            "KIE_API_KEY": SIM_KEY,
            "MJDASH_DB": str(home / "w.db"),
            "MJDASH_CACHE_DIR": str(home / "cache"),
            "HOME": str(home),
        }
        os.environ.update(env)
        tasks = [sim.add_task(age=900 - 40 * n, duration=50.0 + 7 * n) for n in range(10)]
        ids = [t.task_id for t in tasks]
        run_cli("add", "--batch", "night-run", *ids, env=env)
        run_cli("wait", "--timeout", "60", *ids, env=env)
        report = home / "report"
        made = run_cli("report", "--batch", "night-run", "--out", str(report), env=env)
        assert made.returncode == 0, made.stderr
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto((report / "index.html").as_uri())
            first = "() => [...document.images].slice(0, 12).every(i => i.complete && i.naturalWidth > 0)"
            wait_until(page, lambda: page.evaluate(first), "the first thumbnails")
            page.screenshot(path=str(OUT / "report.png"))
            with serving(env) as served:
                page = browser.new_page(viewport={"width": 1400, "height": 860})
                screen = Screen(page)
                page.goto(served.url)
                wait_until(page, lambda: screen.shows(ids[0]), "the dashboard")
                page.focus(".xterm-helper-textarea")  # Textual draws the footer once the page has the focus
                page.keyboard.press("ArrowDown")  # a task with results: the detail pane shows its thumbnails
                wait_until(page, lambda: screen.shows(ids[1]) and screen.shows("Resubmit"), "the footer")
                page.wait_for_timeout(1500)  # a picture, not a test: let the thumbnails draw
                page.screenshot(path=str(OUT / "serve.png"))
                served.stop()
            browser.close()
    print(f"wrote {OUT / 'report.png'} and {OUT / 'serve.png'}")


if __name__ == "__main__":
    main()
