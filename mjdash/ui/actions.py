"""What the main screen's keys do outside the screen — add, save, copy, open — as functions of a store gateway
and plain values, returning what to tell the user. No Textual here: the screen asks, shows and notifies."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from mjdash.core.intake.ids import add_summary, extract
from mjdash.core.media.download import download_tasks
from mjdash.core.media.images import ImageFetcher, ImageResult
from mjdash.core.model import EMPTY, Task
from mjdash.core.resubmit import Plan, Progress, Sender, Step, plan_from, send
from mjdash.core.store.gateway import StoreGateway
from mjdash.core.text import plain, safe

Severity = Literal["information", "warning", "error"]
COPY_LABELS = {"id": "task ID", "prompt": "prompt", "url": "URL"}


@dataclass(frozen=True)
class Said:
    """One line for the user, and how loud."""

    message: str
    severity: Severity = "information"


@dataclass(frozen=True)
class Added:
    ids: list[str]
    rows: list[Task]  # as stored now: shown at once
    said: Said


async def add_from_text(db: StoreGateway, text: str) -> Added:
    """Add the task IDs found in ``text`` (as `mjdash add -` does)."""
    found = extract(text)
    result = await db(db.store.add, found.ids)
    rows = await db(db.store.rows, ids=found.ids)
    message = safe(add_summary(result.added, result.present, found.rejected, found.escapes))
    return Added(found.ids, rows, Said(message, "warning" if found.rejected else "information"))


async def _task(db: StoreGateway, task_id: str | None) -> Task | None:
    return await db(db.store.task, task_id) if task_id else None


async def images(db: StoreGateway, fetcher: ImageFetcher, task_id: str | None, size: int) -> list[ImageResult] | Said:
    """A task's result images at ``size`` for the image viewer, or why there are none."""
    task = await _task(db, task_id)
    if task is None or not task.result_urls:
        return Said("This task has no result images yet.", "warning")
    return [await fetcher.thumbnail(url, size) for url in task.result_urls[:4]]


async def copy(db: StoreGateway, task_id: str | None, what: str, osc52: Callable[[str], None]) -> Said | None:
    """Copy a task's ID, prompt or first result URL: by OSC 52 (``osc52``), and with a clipboard tool if one is
    installed, for terminals that do not support OSC 52. No control characters: a clipboard is no terminal."""
    task = await _task(db, task_id)
    if task is None:
        return None
    value = plain({"id": task.task_id, "prompt": task.prompt or "", "url": (task.result_urls or ("",))[0]}[what])
    if not value:
        return Said(f"This task has no {what}.", "warning")
    osc52(value)
    fallback = await asyncio.to_thread(_system_clipboard, value)
    return Said(f"Copied the {COPY_LABELS[what]}{f' (also to {fallback})' if fallback else ''}.")


def _system_clipboard(value: str) -> str | None:
    for tool in (["wl-copy"], ["xclip", "-selection", "clipboard"], ["xsel", "-b", "-i"], ["pbcopy"]):
        if shutil.which(tool[0]):
            try:
                subprocess.run(tool, input=value.encode(), timeout=2, check=True, capture_output=True)
            except (OSError, subprocess.SubprocessError):
                continue
            return tool[0]
    return None


async def open_result(db: StoreGateway, task_id: str | None) -> Said:
    """Open a task's first result in the browser."""
    task = await _task(db, task_id)
    if task is None or not task.result_urls:
        return Said("This task has no result URL yet.", "warning")
    opened = await asyncio.to_thread(webbrowser.open, task.result_urls[0])
    return Said("Opened in the browser.") if opened else Said("No browser found — copy the URL with u.")


def save_title(scope: str, count: int) -> str:
    if scope == "batch":
        return f"Save the images of all {count} tasks shown to:"
    return "Save this task's images to:" if count == 1 else f"Save the {count} marked tasks' images to:"


DEFAULT_FOLDER = Path.home() / "Downloads" / "mjdash"


async def save(
    db: StoreGateway,
    fetcher: ImageFetcher,
    task_ids: list[str],
    folder: Path,
    progress: Callable[[int, int], None],
) -> Said:
    """Save the tasks' result images to ``folder``; ``progress(done, total)`` as files arrive."""
    tasks = [t for t in await db(lambda: [db.store.task(i) for i in task_ids]) if t]
    total = max(1, sum(len(t.result_urls) for t in tasks))
    progress(0, total)
    report = await download_tasks(tasks, folder, fetcher, db.store, lambda done, _total, _name: progress(done, total))
    failed = sum(len(v) for v in report.failed.values())
    message = f"saved {report.saved}, already there {report.skipped}, failed {failed} — {folder}"
    return Said(safe(message), "warning" if failed else "information")


async def resubmit_plan(db: StoreGateway, task_ids: list[str]) -> Plan:
    """What resubmitting these tasks would send, and what it would skip and why."""
    return await db(plan_from, db.store, ids=task_ids)


async def resubmit(
    db: StoreGateway,
    sender: Sender,
    planned: Plan,
    shown: Callable[[list[Task]], None],
    told: Callable[[Said], None],
) -> Said:
    """Send what ``planned`` says. Each retry is ``shown`` as it is created, after its original, now linked to it;
    waits and refusals are ``told`` as they happen; the run's one line is returned."""
    originals = {c.task.task_id: c.task for c in planned.send}

    def progress(event: Progress) -> None:
        if event.step is Step.SENT and event.retry is not None:
            linked = replace(originals[event.task_id], retried_by=event.retry.task_id, params=EMPTY, result_urls=())
            shown([linked, event.retry])
        elif event.step is Step.WAITING:
            told(Said(safe(f"{event.message} — waiting {event.wait_s:.0f} s, then resubmitting again"), "warning"))
        elif event.step is not Step.SENT:
            told(Said(safe(f"{event.task_id} not resubmitted: {event.message}"), "warning"))

    report = await send(planned.send, sender=sender, db=db, progress=progress)
    severity: Severity = "information" if report.complete else "error" if report.stopped else "warning"
    return Said(safe(report.line(planned)), severity)
