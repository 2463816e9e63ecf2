"""``mjdash report``: a batch as a self-contained contact sheet — ``index.html``, ``thumbs/`` and ``report.json`` —
that opens from disk with no network, and outlives the result URLs (kie.ai deletes them after about two weeks).

* Thumbnails (512 px) come from the image cache, or through the same safe pipeline as the dashboard's
  (``ImageFetcher``: no key, http(s) only, size cap, decode check) where missing, and each is written once.
* The page is rendered by Jinja2 with autoescaping: every prompt, message and URL is text. Only http(s) URLs
  become links. The stylesheet is inline and the page has no script: the state filter is CSS (``:has()`` on
  radio buttons), and a Content-Security-Policy allows the one stylesheet by its hash and images from the
  report's own folder — nothing remote, nothing else.
* Everything is written to a temporary folder beside ``--out``, then renamed into place: an interrupted run
  leaves the previous report as it was.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from mjdash.core.expiry import expires_at
from mjdash.core.insight import Summary, quantile
from mjdash.core.media.images import ImageFetcher, is_video_url
from mjdash.core.model import Status, Task, iso_epoch
from mjdash.core.parse import is_web_url
from mjdash.core.text import safe, safe_json
from mjdash.core.timefmt import duration, local

THUMB_PX = 512
CONCURRENCY = 8  # thumbnails made at once (decoding runs in threads; fetching is capped by the fetcher)
KEY_PARAMS = ("taskType", "aspectRatio", "speed", "version", "stylization", "weirdness", "variety")
STATES: dict[Status, tuple[str, str, str]] = {  # icon, word, filter group
    Status.GENERATING: ("◐", "generating", "running"),
    Status.UNKNOWN: ("·", "waiting", "running"),
    Status.SUCCESS: ("✔", "success", "success"),
    Status.FAILED: ("✖", "failed", "failed"),
    Status.GENERATION_FAILED: ("✖", "generation failed", "failed"),
    Status.NOT_FOUND: ("?", "not found", "problems"),
    Status.ERROR: ("!", "error", "problems"),
}
GROUPS = (
    ("all", "All"),
    ("running", "Running"),
    ("success", "Succeeded"),
    ("failed", "Failed"),
    ("problems", "Problems"),
)


class ReportError(Exception):
    """The report cannot be written where asked (one line, for the user)."""


@dataclass(frozen=True)
class Thumb:
    src: str | None = None  # relative to index.html
    reason: str | None = None  # why there is no image


@dataclass(frozen=True)
class Link:
    number: int
    url: str  # shown as text
    href: str | None  # only for http(s)
    expired: bool


@dataclass(frozen=True)
class Card:
    task: Task
    icon: str
    word: str
    group: str
    prompt: str
    params: list[tuple[str, str]]
    times: str
    error: str | None
    thumbs: list[Thumb]
    links: list[Link]


def check_target(out: Path) -> None:
    """Refuse, before any work, a target that is a file or a folder of something else."""
    if out.exists() and not out.is_dir():
        raise ReportError(f"--out {out} is a file — give a folder for the report")
    if out.is_dir() and any(out.iterdir()) and not (out / "report.json").is_file():
        raise ReportError(f"--out {out} holds other files, not an mjdash report — give a new or empty folder")


async def write_report(
    tasks: Sequence[Task],
    out: Path,
    fetcher: ImageFetcher,
    *,
    summary: Summary,
    records: Iterable[dict[str, Any]],
    now: float,
    expiry_days: float,
    title: str,
    progress: Callable[[int, int], None] = lambda done, total: None,
) -> int:
    """Write the report for ``tasks`` (each with its last record's details) to ``out``; the number of thumbnails
    written. ``records`` are the tasks as ``ls --json`` gives them, for ``report.json``."""
    check_target(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        (work / "thumbs").mkdir()
        thumbs = await _thumbnails(tasks, work / "thumbs", fetcher, progress)
        cards = [_card(task, thumbs[task.task_id], now, expiry_days, fetcher) for task in tasks]
        page = render(cards, summary, title=title, now=now)
        await asyncio.to_thread((work / "index.html").write_text, page, encoding="utf-8")
        data = {"title": title, "generated_at": iso_epoch(now), "summary": summary.to_json(), "tasks": list(records)}
        await asyncio.to_thread((work / "report.json").write_text, safe_json(data, indent=1) + "\n", encoding="utf-8")
        _publish(work, out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return sum(1 for made in thumbs.values() for thumb in made if thumb.src)


def _publish(work: Path, out: Path) -> None:
    """Put the finished folder in place of ``out`` (a previous report there is replaced)."""
    check_target(out)
    os.chmod(work, 0o755)  # mkdtemp makes it private; a report is for sharing
    if not out.exists():
        work.rename(out)
        return
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    out.rename(old)
    work.rename(out)
    shutil.rmtree(old, ignore_errors=True)


async def _thumbnails(
    tasks: Sequence[Task], folder: Path, fetcher: ImageFetcher, progress: Callable[[int, int], None]
) -> dict[str, list[Thumb]]:
    jobs = [(task.task_id, n, url) for task in tasks for n, url in enumerate(task.result_urls[:4])]
    made: dict[str, list[Thumb]] = {task.task_id: [] for task in tasks}
    gate = asyncio.Semaphore(CONCURRENCY)
    done = 0
    progress(0, len(jobs))

    async def one(task_id: str, number: int, url: str) -> tuple[str, int, Thumb]:
        nonlocal done
        async with gate:
            thumb = await _thumbnail(fetcher, url, folder / f"{task_id}_{number}.jpg")
        done += 1
        progress(done, len(jobs))
        return task_id, number, thumb

    for task_id, _, thumb in sorted(await asyncio.gather(*(one(*job) for job in jobs)), key=lambda r: r[:2]):
        made[task_id].append(thumb)
    return made


async def _thumbnail(fetcher: ImageFetcher, url: str, dest: Path) -> Thumb:
    """One result's thumbnail, copied from the cache when it is there, else made (and cached) first."""
    if is_video_url(url):
        return Thumb(reason="video — follow the link to play it")
    cached_path = fetcher.cache.thumb_path(url, THUMB_PX)
    if fetcher.cache.get(cached_path) is None:
        result = await fetcher.thumbnail(url, THUMB_PX)
        if result.thumb is None:
            return Thumb(reason=result.reason or "no image")
        if fetcher.cache.get(cached_path) is None:  # the cache cannot be written: save what was made
            await asyncio.to_thread(result.thumb.save, dest, "JPEG", quality=85)
            return Thumb(src=f"thumbs/{dest.name}")
    try:
        await asyncio.to_thread(shutil.copyfile, cached_path, dest)
    except OSError as exc:
        return Thumb(reason=f"could not copy the cached image ({exc.strerror or type(exc).__name__})")
    return Thumb(src=f"thumbs/{dest.name}")


def _card(task: Task, thumbs: list[Thumb], now: float, expiry_days: float, fetcher: ImageFetcher) -> Card:
    icon, word, group = STATES[task.status]
    if not thumbs:
        thumbs = [Thumb(reason=_no_results(task))]
    expiry = expires_at(task, expiry_days)
    links = [
        Link(
            n + 1,
            safe(url),
            url if is_web_url(url) else None,
            (expiry is not None and expiry < now) or fetcher.cache.is_gone(url),
        )
        for n, url in enumerate(task.result_urls)
    ]
    params = [(key, safe(value)) for key in KEY_PARAMS if (value := task.param(key))]
    times = [f"created {local(task.created_at)}"] if task.created_at else []
    if task.duration_s is not None:
        times.append(f"took {duration(task.duration_s)}")
    error = None
    if task.status.is_failure or task.status in (Status.NOT_FOUND, Status.ERROR):
        code = f"{task.error_code} · " if task.error_code is not None else ""
        error = safe(f"{code}{task.error_message or task.last_error or 'no message'}", newlines=True)
    prompt = safe(task.prompt or "", newlines=True)
    return Card(task, icon, word, group, prompt, params, " · ".join(times), error, thumbs, links)


def _no_results(task: Task) -> str:
    if task.status is Status.SUCCESS:
        return "no result URLs in the last record"
    if task.status.is_failure:
        return "failed: nothing was generated"
    if task.status in (Status.NOT_FOUND, Status.ERROR):
        return "kie.ai had no record of it"
    return "still running when the report was made"


def render(cards: list[Card], summary: Summary, *, title: str, now: float) -> str:
    """The page: its stylesheet inline, allowed by hash; nothing remote."""
    style = resources.files("mjdash.web").joinpath("templates/report.css").read_text(encoding="utf-8")
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    successes = sorted(d for c in cards if c.task.status is Status.SUCCESS and (d := c.task.duration_s) is not None)
    counts = {group: sum(1 for c in cards if c.group == group) for group, _ in GROUPS[1:]}
    return (
        _environment()
        .get_template("report.html.j2")
        .render(
            title=safe(title),
            generated=local(now),
            style=style,
            csp=(
                "default-src 'none'; img-src 'self' file:; "
                f"style-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'"
            ),
            cards=cards,
            summary=summary,
            groups=[(group, label, len(cards) if group == "all" else counts[group]) for group, label in GROUPS],
            p50=duration(quantile(successes, 0.5)) if successes else None,
            p95=duration(quantile(successes, 0.95)) if successes else None,
            credits=None if summary.credits is None else f"{summary.credits:,.0f}",
        )
    )


def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("mjdash.web", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
