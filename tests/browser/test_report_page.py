"""``mjdash report`` in Chromium: the page opens from disk with no network, shows a card per task with its
thumbnails, keeps API text as text, and filters by state."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mjdash.core.api.outcomes import Fetch, Outcome
from mjdash.core.parse import parse_record
from mjdash.core.store.database import Store
from mjdash.sim.server import Simulator
from tests.browser.conftest import ALL_IMAGES_LOADED, wait_until
from tests.conftest import SIM_KEY, run_cli

HOSTILE_PROMPT = "<script>alert(1)</script> & [bold red]not markup[/]"
HOSTILE_ID = "hostile0000000000000000000000001"


def _hostile_record(db: Path) -> None:
    """A record whose result URLs must never become links, and whose error is markup."""
    data = {
        "taskId": HOSTILE_ID,
        "successFlag": 1,
        "taskType": "mj_txt2img",
        "createTime": 1_799_999_000_000,
        "completeTime": 1_799_999_060_000,
        "paramJson": json.dumps({"prompt": '"><img src=x onerror=alert(2)>', "taskType": "mj_txt2img"}),
        "resultInfoJson": {"resultUrls": [{"resultUrl": "javascript:alert(3)"}, {"resultUrl": "file:///etc/passwd"}]},
    }
    with Store(db) as store:
        store.add([HOSTILE_ID], batch="b1")
        store.record([Fetch(HOSTILE_ID, Outcome.OK, task=parse_record(data), api_code=200, raw=data)])


@pytest.fixture
def report(sim: Simulator, tmp_path: Path) -> dict[str, Any]:
    env = {
        "MJDASH_BASE_URL": sim.url,
        "KIE_API_KEY": SIM_KEY,
        "MJDASH_DB": str(tmp_path / "w.db"),
        "MJDASH_CACHE_DIR": str(tmp_path / "cache"),
    }
    done = [sim.add_task(age=300, duration=40.0 + n, outcome=1, task_type="mj_txt2img") for n in range(3)]
    failed = sim.add_task(age=300, duration=30.0, outcome=3, task_type="mj_txt2img")
    failed.params["prompt"] = HOSTILE_PROMPT
    failed.error_code, failed.error_message = 501, "job failed <b>upstream</b>"
    running = sim.add_task(age=5, duration=10_000.0)
    ids = [t.task_id for t in (*done, failed, running)]
    assert run_cli("add", "--batch", "b1", *ids, env=env).returncode == 0
    assert run_cli("wait", "--timeout", "60", *ids[:4], env=env).returncode == 1
    assert run_cli("status", running.task_id, env=env).returncode == 0
    _hostile_record(tmp_path / "w.db")
    out = tmp_path / "report"
    made = run_cli("report", "--batch", "b1", "--out", str(out), env=env)
    assert made.returncode == 0, made.stderr
    assert SIM_KEY not in (out / "index.html").read_text() + (out / "report.json").read_text()
    return {"out": out, "done": [t.task_id for t in done], "failed": failed.task_id, "total": len(ids) + 1}


def _open(page: Any, out: Path) -> list[str]:
    """Open the report from disk with every other request refused; the requests that were tried."""
    tried: list[str] = []

    def refuse(route: Any) -> None:
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            tried.append(route.request.url)
            route.abort()

    page.route("**/*", refuse)
    page.goto((out / "index.html").as_uri())
    return tried


def test_the_report_opens_from_disk_with_every_card_and_its_thumbnails(page: Any, report: dict[str, Any]) -> None:
    tried = _open(page, report["out"])
    assert page.locator("article.card").count() == report["total"]
    images = page.locator("article.card img")
    assert images.count() == 12  # four per finished task, each from thumbs/
    for index in range(images.count()):  # lazy: they load as they come into view
        images.nth(index).scroll_into_view_if_needed()
    wait_until(page, lambda: page.evaluate(ALL_IMAGES_LOADED), "every thumbnail loaded")
    sources = page.eval_on_selector_all("article.card img", "els => els.map(e => e.getAttribute('src'))")
    assert all(s.startswith("thumbs/") for s in sources)
    assert tried == []  # nothing remote: no fonts, scripts, styles or images from anywhere else
    policy = page.get_attribute("meta[http-equiv='Content-Security-Policy']", "content")
    assert "default-src 'none'" in policy and "http" not in policy


def test_api_text_is_text_and_no_script_runs(page: Any, report: dict[str, Any]) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    _open(page, report["out"])
    card = page.locator(f"#t-{report['failed']}")
    assert card.locator(".prompt").inner_text() == HOSTILE_PROMPT
    assert "<b>upstream</b>" in card.locator(".error").inner_text()
    hostile = page.locator(f"#t-{HOSTILE_ID}")
    assert hostile.locator(".prompt").inner_text() == '"><img src=x onerror=alert(2)>'  # from its paramJson
    assert hostile.locator("a").count() == 0  # javascript: and file: results are never links
    hrefs = page.eval_on_selector_all("a", "els => els.map(e => e.getAttribute('href'))")
    assert hrefs and all(h.startswith(("http://", "#t-")) for h in hrefs)
    assert page.locator("script").count() == 0 and page.locator("img[src='x']").count() == 0
    assert dialogs == []  # an inline script would have run while the page loaded, before goto returned


def test_the_state_filter_shows_one_state_at_a_time(page: Any, report: dict[str, Any]) -> None:
    _open(page, report["out"])
    visible = page.locator("article.card:visible")
    page.click("label[for='f-failed']")
    assert visible.count() == 1 and visible.first.get_attribute("id") == f"t-{report['failed']}"
    page.click("label[for='f-success']")
    assert visible.count() == len(report["done"]) + 1  # and the hostile record, a success
    page.click("label[for='f-all']")
    assert visible.count() == report["total"]
