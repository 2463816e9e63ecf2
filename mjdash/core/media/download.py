"""Saving results to a folder: ``DIR/<taskId>_<n>.<ext>``, skipping what is already saved, resumable.

Used by ``mjdash download`` and by the dashboard (selected task or whole batch), reporting progress through a
callback. A file is written to a temp name and renamed, so a file with the final name is always complete:
re-running after an interruption skips those and fetches the rest. A task whose results are all saved is
marked saved in the store (for expiry warnings).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from mjdash.core.atomic import atomic_write
from mjdash.core.media.images import ImageFetcher, ImageRefused, decode, is_video_url
from mjdash.core.model import Task
from mjdash.core.store.database import Store

_FORMAT_EXT = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}


@dataclass
class DownloadReport:
    saved: int = 0
    skipped: int = 0
    failed: dict[str, list[str]] = field(default_factory=dict)  # task_id -> reasons
    total: int = 0

    @property
    def ok(self) -> bool:
        return not self.failed


Progress = Callable[[int, int, str], None]  # done, total, current file name


def _existing(out_dir: Path, task_id: str, index: int) -> Path | None:
    for path in out_dir.glob(f"{task_id}_{index}.*"):
        if not path.name.startswith(".") and path.stat().st_size > 0:
            return path
    return None


def _write(out_dir: Path, name: str, data: bytes) -> Path:
    return atomic_write(out_dir / name, data)


async def _save_one(fetcher: ImageFetcher, url: str, out_dir: Path, task_id: str, index: int) -> Path:
    if is_video_url(url):
        data = await fetcher.fetch_bytes(url)
        if not data:
            raise ImageRefused("empty video file")
        suffix = Path(url.split("?")[0]).suffix.lstrip(".").lower() or "mp4"
        return await asyncio.to_thread(_write, out_dir, f"{task_id}_{index}.{suffix}", data)
    data = await fetcher.original(url)  # from the cache when it has it; never depends on writing it
    image: Image.Image = await asyncio.to_thread(decode, data)
    ext = _FORMAT_EXT.get(image.format or "", (image.format or "bin").lower())
    return await asyncio.to_thread(_write, out_dir, f"{task_id}_{index}.{ext}", data)


async def download_tasks(
    tasks: list[Task],
    out_dir: Path,
    fetcher: ImageFetcher,
    store: Store | None = None,
    progress: Progress | None = None,
) -> DownloadReport:
    """Save every result of ``tasks`` (finished ones; others are reported) into ``out_dir``."""
    report = DownloadReport()
    jobs: list[tuple[Task, int, str]] = []
    for task in tasks:
        if not task.result_urls:
            report.failed.setdefault(task.task_id, []).append(f"no results ({task.status.value})")
            continue
        jobs.extend((task, i, url) for i, url in enumerate(task.result_urls))
    report.total = len(jobs)
    done = 0
    lock = asyncio.Lock()

    async def run(task: Task, index: int, url: str) -> None:
        nonlocal done
        name = f"{task.task_id}_{index}"
        try:
            if await asyncio.to_thread(_existing, out_dir, task.task_id, index) is not None:
                report.skipped += 1
            else:
                await _save_one(fetcher, url, out_dir, task.task_id, index)
                report.saved += 1
        except ImageRefused as exc:
            report.failed.setdefault(task.task_id, []).append(f"#{index}: {exc}")
        except OSError as exc:
            report.failed.setdefault(task.task_id, []).append(f"#{index}: cannot write ({exc.strerror})")
        async with lock:
            done += 1
            if progress is not None:
                progress(done, report.total, name)

    await asyncio.gather(*(run(t, i, u) for t, i, u in jobs))
    for reasons in report.failed.values():  # in file order, whatever order the downloads finished in
        reasons.sort(key=lambda r: int(r[1 : r.index(":")]) if r.startswith("#") else -1)
    if store is not None:
        for task in tasks:
            if task.result_urls and task.task_id not in report.failed:
                store.mark_saved(task.task_id)
    return report
