"""The image pipeline against the simulator's image host: safe fetching, cache, thumbnails, odd results."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from mjdash.core.media.cache import ImageCache
from mjdash.core.media.download import download_tasks
from mjdash.core.media.images import ImageFetcher
from mjdash.core.model import Status, Task
from mjdash.core.store.database import Store
from mjdash.sim.server import Simulator


@pytest.fixture
def cache(tmp_path: Path) -> ImageCache:
    return ImageCache(tmp_path / "cache")


def _task(sim: Simulator, **kw: object) -> tuple[str, list[str]]:
    task = sim.add_task(age=100, duration=30, outcome=1, task_type="mj_txt2img", **kw)  # type: ignore[arg-type]
    return task.task_id, task.result_urls(sim.url)


async def test_thumbnails_are_real_distinct_and_cached(sim: Simulator, cache: ImageCache) -> None:
    _, urls = _task(sim)
    async with ImageFetcher(cache) as fetcher:
        results = [await fetcher.thumbnail(u) for u in urls]
        assert all(r.ok and r.thumb is not None and max(r.thumb.size) == 256 for r in results)
        assert len({r.thumb.tobytes() for r in results if r.thumb}) == 4  # distinct pictures
        requests = sim.stats.image_requests
        again = await fetcher.thumbnail(urls[0])
    assert again.ok and sim.stats.image_requests == requests  # from the cache, no request
    assert sim.stats.auth_headers_on_files == 0
    assert cache.thumb_path(urls[0], 256).exists() and cache.original_path(urls[0]).exists()


async def test_cached_thumbnail_outlives_expired_url(sim: Simulator, cache: ImageCache) -> None:
    task_id, urls = _task(sim)
    async with ImageFetcher(cache) as fetcher:
        assert (await fetcher.thumbnail(urls[0])).ok
        sim.expired.add(task_id)
        cache.original_path(urls[0]).unlink()  # only the thumbnail is left locally
        second = await fetcher.thumbnail(urls[1])
        assert not second.ok and second.expired and "expired" in (second.reason or "")
        from mjdash.core.media.images import ImageRefused

        with pytest.raises(ImageRefused, match="expired"):
            await fetcher.original(urls[0])
        first = await fetcher.thumbnail(urls[0])
    assert first.ok and first.expired and first.reason == "original expired on the host"


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/odd/truncated.jpeg", "truncated"),
        ("/odd/notimage.jpeg", "not an image"),
        ("/odd/huge.jpeg", "too large"),
        ("/odd/bomb.png", "decompression bomb"),
        ("/odd/redirect-away.jpeg", "another host"),
        ("/odd/gone.jpeg", "expired"),
        ("/odd/nothing-here.jpeg", "expired"),
    ],
)
async def test_odd_results_get_a_reason(sim: Simulator, cache: ImageCache, path: str, reason: str) -> None:
    async with ImageFetcher(cache, max_bytes=1_000_000) as fetcher:
        result = await fetcher.thumbnail(sim.url + path)
    assert not result.ok and reason in (result.reason or "")
    assert not cache.original_path(sim.url + path).exists()  # nothing bad is cached


async def test_same_host_redirect_is_followed(sim: Simulator, cache: ImageCache) -> None:
    async with ImageFetcher(cache) as fetcher:
        assert (await fetcher.thumbnail(sim.url + "/odd/redirect-same.jpeg")).ok


async def test_hanging_host_times_out_without_blocking_others(sim: Simulator, cache: ImageCache) -> None:
    _, urls = _task(sim)
    async with ImageFetcher(cache, timeout=0.5) as fetcher:
        started = time.monotonic()
        hang, good = await asyncio.gather(fetcher.thumbnail(sim.url + "/odd/hang.jpeg"), fetcher.thumbnail(urls[0]))
        elapsed = time.monotonic() - started
    assert not hang.ok and "timed out" in (hang.reason or "")
    assert good.ok and elapsed < 3


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "data:image/png;base64,AAAA", "javascript:alert(1)", "ftp://x/y"]
)
async def test_non_web_urls_are_refused(cache: ImageCache, url: str) -> None:
    async with ImageFetcher(cache) as fetcher:
        result = await fetcher.thumbnail(url)
    assert not result.ok and (result.reason or "").startswith("refused")


async def test_video_gets_a_placeholder(sim: Simulator, cache: ImageCache) -> None:
    task = sim.add_task(age=500, duration=30, outcome=1, task_type="mj_video")
    async with ImageFetcher(cache) as fetcher:
        result = await fetcher.thumbnail(task.result_urls(sim.url)[0])
    assert result.video and not result.ok and "video" in (result.reason or "")


def test_cache_is_bounded_lru(tmp_path: Path) -> None:
    cache = ImageCache(tmp_path / "c", max_bytes=10_000)
    for i in range(40):
        cache.put(cache.original_path(f"https://x/{i}"), b"x" * 1000)
    cache.trim()
    assert cache.size() <= 10_000
    assert cache.get(cache.original_path("https://x/39")) is not None  # the newest stay
    assert cache.get(cache.original_path("https://x/0")) is None


async def test_download_saves_skips_and_resumes(sim: Simulator, cache: ImageCache, tmp_path: Path) -> None:
    ok_id, ok_urls = _task(sim)
    video = sim.add_task(age=500, duration=30, outcome=1, task_type="mj_video")
    out = tmp_path / "out"
    tasks = [
        Task(ok_id, Status.SUCCESS, result_urls=tuple(ok_urls)),
        Task(video.task_id, Status.SUCCESS, result_urls=tuple(video.result_urls(sim.url))),
        Task("running", Status.GENERATING),
    ]
    with Store(tmp_path / "w.db") as store:
        store.add([ok_id, video.task_id, "running"])
        seen: list[tuple[int, int]] = []
        async with ImageFetcher(cache) as fetcher:
            (out / "partial").mkdir(parents=True)
            (out / f"{ok_id}_1.jpg").write_bytes(b"\xff\xd8 complete from an earlier run")
            report = await download_tasks(tasks, out, fetcher, store, lambda d, t, n: seen.append((d, t)))
            assert report.saved == 4 and report.skipped == 1 and list(report.failed) == ["running"]
            assert sorted(p.name for p in out.glob("*_*.*")) == sorted(
                [f"{ok_id}_{i}.jpg" for i in range(4)] + [f"{video.task_id}_0.mp4"]
            )
            assert seen[-1] == (5, 5)
            again = await download_tasks(tasks[:2], out, fetcher, store)
        assert again.saved == 0 and again.skipped == 5 and again.ok
        assert store.row(ok_id).saved_at is not None  # type: ignore[union-attr]
        assert store.row("running").saved_at is None  # type: ignore[union-attr]
    assert not list(out.glob(".*"))  # no temp files left behind


async def test_an_unusable_cache_falls_back_to_memory_with_one_note(sim: Simulator, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache should be")
    _, urls = _task(sim)
    async with ImageFetcher(ImageCache(blocker / "images")) as fetcher:
        first = await fetcher.thumbnail(urls[0])
        assert first.ok and first.thumb is not None
        assert fetcher.cache_problem is not None and "cannot be written" in fetcher.cache_problem
        requests = sim.stats.image_requests
        again = await fetcher.thumbnail(urls[0])
    assert again.ok and sim.stats.image_requests == requests  # remembered in memory
