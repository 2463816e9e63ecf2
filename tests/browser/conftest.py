"""A real browser for the web pages: Debian's Chromium (``.ci/run`` installs it) driven by Playwright's Python
driver. Playwright's own browser download needs the internet, so the executable is given."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, sync_playwright

# Headless as root, and quiet: no first-run page, and no background requests to Google's hosts, which this
# machine's closed network would refuse (the pages under test must make none either).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    found = os.environ.get("MJDASH_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.fail("no Chromium: install Debian's chromium package (.ci/run does), or set MJDASH_CHROMIUM")
    return found


def wait_until(page: Any, check: Callable[[], bool], what: str) -> None:
    """Let the page run until ``check()`` holds, looking again after each short wait on the page's own clock.
    (Playwright's ``wait_for_function`` evaluates a string, which a page's Content-Security-Policy forbids.)"""
    for _ in range(600):
        if check():
            return
        page.wait_for_timeout(50)
    raise AssertionError(f"the page never showed {what}")


ALL_IMAGES_LOADED = "() => [...document.images].every(i => i.complete && i.naturalWidth > 0)"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One browser per test file. Not per session: Playwright's sync API keeps an event loop running in this thread
    while it is open, and the other tests start loops of their own."""
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield context.new_page()
    context.close()
