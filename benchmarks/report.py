"""``mjdash report`` at scale: 1,000 tasks (4,000 results) with their 512 px thumbnails already in the image cache.

Targets: the report is written in under 10 s; in Chromium the page loads within 1 s, and switches the state
filter and scrolls to the end within 200 ms (lazy thumbnails; cards out of view are not laid out). The baseline
in the same run is copying the cached thumbnails alone, the floor for writing them once.

Run: .venv/bin/python benchmarks/report.py   (needs Debian's chromium for the browser part; skipped without it)
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
import time
from pathlib import Path

from mjdash.core.api.outcomes import Fetch, Outcome
from mjdash.core.insight import Summary
from mjdash.core.media.cache import ImageCache
from mjdash.core.media.images import ImageFetcher
from mjdash.core.parse import parse_record
from mjdash.core.store.database import Store
from mjdash.core.store.rows import with_record
from mjdash.sim.images import render_jpeg
from mjdash.web.report import THUMB_PX, write_report

TASKS = 1000
NOW = time.time()


def _record(n: int) -> dict[str, object]:
    task_id = f"{n:032x}"
    flag = 1 if n % 10 else 2
    return {
        "taskId": task_id,
        "successFlag": flag,
        "taskType": "mj_txt2img",
        "createTime": int((NOW - 3600 + n) * 1000),
        "completeTime": int((NOW - 3600 + n + 60 + n % 90) * 1000),
        "paramJson": json.dumps({"prompt": f"a lighthouse number {n}, volumetric fog", "speed": "fast", "version": 7}),
        "resultInfoJson": {
            "resultUrls": [{"resultUrl": f"https://cdn.example/{task_id}_{i}.jpeg"} for i in range(4)]
            if flag == 1
            else []
        },
        "errorCode": None if flag == 1 else 501,
        "errorMessage": None if flag == 1 else "Midjourney job failed: the image generation timed out.",
    }


def build(root: Path) -> tuple[Store, ImageCache, int]:
    store = Store(root / "w.db")
    records = [_record(n) for n in range(TASKS)]
    store.add([str(r["taskId"]) for r in records], batch="bench")
    store.record([Fetch(str(r["taskId"]), Outcome.OK, task=parse_record(r), api_code=200, raw=r) for r in records])
    cache = ImageCache(root / "cache", 4 * 1024**3)
    thumbs = 0
    images = [render_jpeg(1, f"bench{n}", THUMB_PX) for n in range(8)]  # real JPEGs; drawing 4,000 takes a minute
    for task in store.rows():
        for url in with_record(task, store.raw(task.task_id)).result_urls:
            cache.put(cache.thumb_path(url, THUMB_PX), images[thumbs % len(images)])
            thumbs += 1
    return store, cache, thumbs


async def write(store: Store, cache: ImageCache, out: Path) -> float:
    tasks = [with_record(row, raw) for row, raw in store.rows_with_raw()]
    start = time.perf_counter()
    async with ImageFetcher(cache) as fetcher:
        await write_report(
            tasks,
            out,
            fetcher,
            summary=Summary.of(tasks, NOW),
            records=({"task_id": t.task_id} for t in tasks),
            now=NOW,
            expiry_days=14,
            title="bench",
        )
    return time.perf_counter() - start


def copy_baseline(cache: ImageCache, folder: Path) -> float:
    folder.mkdir()
    start = time.perf_counter()
    for n, path in enumerate(sorted((cache.root).rglob("*.jpg"))):
        shutil.copyfile(path, folder / f"{n}.jpg")
    return time.perf_counter() - start


def browser(page_path: Path) -> dict[str, float] | None:
    chromium = shutil.which("chromium")
    if chromium is None:
        return None
    from playwright.sync_api import sync_playwright

    args = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=args)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        start = time.perf_counter()
        page.goto(page_path.as_uri())
        loaded = time.perf_counter() - start
        frame = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
        timings = {"load_ms": loaded * 1000}
        for name, action in (
            ("filter_failed_ms", "document.getElementById('f-failed').checked = true"),
            ("filter_all_ms", "document.getElementById('f-all').checked = true"),
            ("scroll_to_end_ms", "window.scrollTo(0, document.body.scrollHeight)"),
        ):
            start = time.perf_counter()
            page.evaluate(f"() => {{ {action}; }}")
            page.evaluate(frame)
            timings[name] = (time.perf_counter() - start) * 1000
        browser.close()
    return timings


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        store, cache, thumbs = build(root)
        with store:
            seconds = asyncio.run(write(store, cache, root / "report"))
        baseline = copy_baseline(cache, root / "copies")
        size = sum(p.stat().st_size for p in (root / "report").rglob("*")) / 1024**2
        print(f"report of {TASKS} tasks, {thumbs} cached thumbnails: {seconds:.2f} s (target < 10 s), {size:.0f} MB")
        print(f"  baseline, copying the thumbnails alone: {baseline:.2f} s — the report is {seconds / baseline:.1f}x")
        timings = browser(root / "report" / "index.html")
        if timings is None:
            print("  browser: skipped (no chromium)")
        else:
            figures = ", ".join(f"{k} {v:.0f}" for k, v in timings.items())
            print(f"  in Chromium: {figures} (targets: load < 1000, the rest < 200)")


if __name__ == "__main__":
    main()
