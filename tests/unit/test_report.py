"""The report's page and folder: escaping, links, the CSP, and the atomic replace of a previous report."""

from __future__ import annotations

import base64
import hashlib
import html
import re
from pathlib import Path

import httpx
import pytest

from mjdash.core.insight import Summary
from mjdash.core.media.cache import ImageCache
from mjdash.core.media.images import ImageFetcher
from mjdash.core.model import Status, Task
from mjdash.web import report as report_module
from mjdash.web.report import ReportError, check_target, write_report

NOW = 1_800_000_000.0


def _fetcher(tmp_path: Path) -> ImageFetcher:
    return ImageFetcher(
        ImageCache(tmp_path / "cache"), transport=httpx.MockTransport(lambda request: httpx.Response(404))
    )


def _tasks() -> list[Task]:
    return [
        Task("ok1", status=Status.SUCCESS, prompt="<i>a fox</i>", created_at=NOW - 90, completed_at=NOW - 30,
             result_urls=("https://cdn.example/a.png", "javascript:alert(1)")),
        Task("bad1", status=Status.FAILED, prompt="x", error_code=400, error_message="</p><script>alert(2)</script>"),
    ]  # fmt: skip


async def _write(tmp_path: Path, out: Path) -> int:
    tasks = _tasks()
    async with _fetcher(tmp_path) as fetcher:
        return await write_report(
            tasks, out, fetcher, summary=Summary.of(tasks, NOW), records=[], now=NOW, expiry_days=14, title="t <1>"
        )


async def test_text_is_escaped_only_web_urls_link_and_the_policy_names_the_stylesheet(tmp_path: Path) -> None:
    out = tmp_path / "r"
    assert await _write(tmp_path, out) == 0  # the image host answered 404: a placeholder says so
    page = (out / "index.html").read_text()
    assert "&lt;i&gt;a fox&lt;/i&gt;" in page and "<script>" not in page and "<title>t &lt;1&gt;</title>" in page
    assert 'href="https://cdn.example/a.png"' in page and 'href="javascript' not in page
    assert "original 2 (not a web link)" in page and "expired or gone (HTTP 404)" in page
    style = re.search(r"<style>(.*?)</style>", page, re.S)
    assert style is not None
    digest = base64.b64encode(hashlib.sha256(style.group(1).encode()).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in html.unescape(page) and "default-src 'none'" in html.unescape(page)


async def test_a_previous_report_is_replaced_whole_and_a_failure_leaves_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "r"
    await _write(tmp_path, out)
    (out / "index.html").write_text("old")

    def broken(*args: object, **kwargs: object) -> str:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(report_module, "render", broken)
    with pytest.raises(OSError):
        await _write(tmp_path, out)
    assert (out / "index.html").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "home", "r"]  # no temporary folder left
    monkeypatch.undo()
    await _write(tmp_path, out)
    assert (out / "index.html").read_text() != "old"


def test_a_file_or_a_folder_of_other_things_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "me.jpg").write_text("x")
    with pytest.raises(ReportError, match="is a file"):
        check_target(tmp_path / "file")
    with pytest.raises(ReportError, match="holds other files"):
        check_target(tmp_path / "photos")
    check_target(tmp_path / "new")  # a new folder is fine
