"""What the main screen's keys do outside the screen — add, save, copy, open — as functions of a store gateway
and plain values, returning what to tell the user. No Textual here: the screen asks, shows and notifies."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from mjdash.core.download import download_tasks
from mjdash.core.ids import add_summary, extract
from mjdash.core.images import ImageFetcher
from mjdash.core.model import Task
from mjdash.core.rows import TaskRow
from mjdash.core.store_gateway import StoreGateway
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
    rows: list[TaskRow]  # as stored now: shown at once
    said: Said


async def add_from_text(db: StoreGateway, text: str) -> Added:
    """Add the task IDs found in ``text`` (as `mjdash add -` does)."""
    found = extract(text)
    result = await db(db.store.add, found.ids)
    rows = await db(db.store.rows, ids=found.ids)
    message = safe(add_summary(result.added, result.present, found.rejected, found.escapes))
    return Added(found.ids, rows, Said(message, "warning" if found.rejected else "information"))


def copy_value(task: Task, what: str) -> str:
    """The ID, the prompt or the first result URL, without control characters (a clipboard is no terminal)."""
    return plain({"id": task.task_id, "prompt": task.prompt or "", "url": (task.result_urls or ("",))[0]}[what])


async def system_clipboard(value: str) -> str | None:
    """The fallback to OSC 52, for terminals that do not support it: a clipboard tool, if one is installed."""
    return await asyncio.to_thread(_system_clipboard, value)


def _system_clipboard(value: str) -> str | None:
    for tool in (["wl-copy"], ["xclip", "-selection", "clipboard"], ["xsel", "-b", "-i"], ["pbcopy"]):
        if shutil.which(tool[0]):
            try:
                subprocess.run(tool, input=value.encode(), timeout=2, check=True, capture_output=True)
            except (OSError, subprocess.SubprocessError):
                continue
            return tool[0]
    return None


async def open_in_browser(url: str) -> Said:
    opened = await asyncio.to_thread(webbrowser.open, url)
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
