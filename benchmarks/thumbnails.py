"""Thumbnail benchmark: JPEG draft mode vs a full decode, and a cached task's four thumbnails.

Targets: draft mode at least 3x faster than a full decode of a 2048x2048 JPEG; a cached task's four
thumbnails ready within 50 ms. Run: .venv/bin/python benchmarks/thumbnails.py
"""

from __future__ import annotations

import asyncio
import io
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from mjdash.core.media.cache import ImageCache
from mjdash.core.media.images import THUMB_SIZE, ImageFetcher, make_thumbnail
from mjdash.sim.images import render_jpeg
from mjdash.sim.server import Simulator

RUNS = 15


def median_ms(fn: Callable[[], object], runs: int = RUNS) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def full_decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    image.thumbnail((THUMB_SIZE, THUMB_SIZE), Image.Resampling.LANCZOS)
    return image


async def cached_task(tmp: Path) -> float:
    with Simulator(seed=3, image_size=1024) as sim:
        task = sim.add_task(age=100, duration=30, outcome=1, task_type="mj_txt2img")
        urls = task.result_urls(sim.url)
        async with ImageFetcher(ImageCache(tmp / "cache")) as fetcher:
            await asyncio.gather(*(fetcher.thumbnail(u) for u in urls))  # fill the cache
            times = []
            for _ in range(RUNS):
                start = time.perf_counter()
                results = await asyncio.gather(*(fetcher.thumbnail(u) for u in urls))
                times.append(time.perf_counter() - start)
                assert all(r.ok for r in results)
    return statistics.median(times) * 1000


def main() -> None:
    data = render_jpeg(1, "bench", 0, 2048, quality=90)
    full = median_ms(lambda: full_decode(data))
    draft = median_ms(lambda: make_thumbnail(data, THUMB_SIZE))
    with tempfile.TemporaryDirectory() as tmp:
        cached = asyncio.run(cached_task(Path(tmp)))
    print(f"thumbnails: 2048x2048 JPEG ({len(data) // 1024} KB) -> {THUMB_SIZE} px, median of {RUNS}")
    print(f"  full decode + thumbnail      {full:7.1f} ms")
    print(f"  draft mode + thumbnail       {draft:7.1f} ms   ({full / draft:.1f}x faster; target >= 3x)")
    print(f"  cached task, 4 thumbnails    {cached:7.1f} ms   (target <= 50 ms)")


if __name__ == "__main__":
    main()
