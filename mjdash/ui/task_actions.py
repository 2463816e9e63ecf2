"""Actions on the selected task that reach outside the app: copy (OSC 52 with a fallback), open in the browser,
save images to a folder with a progress bar; and the thread store calls run on. A mixin of MjDashApp, kept
apart to keep app.py small."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import webbrowser
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from textual import work
from textual.app import App

from mjdash.core.download import download_tasks
from mjdash.core.model import Task
from mjdash.core.text import plain
from mjdash.ui.screens.dialogs import FolderDialog

R = TypeVar("R")

if TYPE_CHECKING:
    from textual.widgets import ProgressBar

    from mjdash.core.images import ImageFetcher
    from mjdash.core.store import Store
    from mjdash.ui.widgets.task_table import TaskTable


class TaskActions(App[str]):
    """Copy, open and save: the part of MjDashApp that reaches outside it; and the store's own thread."""

    table: TaskTable
    store: Store
    fetcher: ImageFetcher
    download_bar: ProgressBar
    # Store calls get their own thread: the default executor also runs DNS lookups (httpx via anyio) and image
    # decoding, and on a network where lookups hang, queuing behind them would freeze the table and the detail.
    _store_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mjdash-store")

    async def db(self, call: Callable[..., R], *args: Any, **kwargs: Any) -> R:
        """Run a store call off the UI thread, on the store's thread."""
        return await asyncio.get_running_loop().run_in_executor(self._store_thread, partial(call, *args, **kwargs))

    # -- copy, open, save --------------------------------------------------------------------------------------
    async def _selected_task(self) -> Task | None:
        task_id = self.table.selected_id
        return await self.db(self.store.task, task_id) if task_id else None

    @work(group="clipboard")
    async def action_copy(self, what: str) -> None:
        task = await self._selected_task()
        if task is None:
            return
        value = plain({"id": task.task_id, "prompt": task.prompt or "", "url": (task.result_urls or ("",))[0]}[what])
        if not value:
            self.notify(f"This task has no {what}.", severity="warning")
            return
        self.copy_to_clipboard(value)  # OSC 52
        fallback = await asyncio.to_thread(_system_clipboard, value)
        label = {"id": "task ID", "prompt": "prompt", "url": "URL"}[what]
        self.notify(f"Copied the {label}{' (also to ' + fallback + ')' if fallback else ''}.", timeout=3)

    @work(group="browser")
    async def action_open_url(self) -> None:
        task = await self._selected_task()
        if task is None or not task.result_urls:
            self.notify("This task has no result URL yet.", severity="warning")
            return
        opened = await asyncio.to_thread(webbrowser.open, task.result_urls[0])
        self.notify("Opened in the browser." if opened else "No browser found — copy the URL with u.")

    def action_save(self, scope: str) -> None:
        ids = self.table.selection() if scope == "task" else list(self.table.shown_ids)
        if not ids:
            return
        default = str(Path.home() / "Downloads" / "mjdash")
        if scope == "task":
            title = "Save this task's images to:" if len(ids) == 1 else f"Save the {len(ids)} marked tasks' images to:"
        else:
            title = f"Save the images of all {len(ids)} tasks shown to:"

        def chosen(folder: str | None) -> None:
            if folder:
                self._save(ids, Path(folder).expanduser())

        self.push_screen(FolderDialog(title, default), chosen)

    @work(group="download", exclusive=True)
    async def _save(self, task_ids: list[str], folder: Path) -> None:
        tasks = [t for t in await self.db(lambda: [self.store.task(i) for i in task_ids]) if t]
        bar = self.download_bar
        bar.display = True
        bar.update(total=max(1, sum(len(t.result_urls) for t in tasks)), progress=0)
        report = await download_tasks(
            tasks, folder, self.fetcher, self.store, lambda done, total, name: bar.update(progress=done)
        )
        bar.display = False
        failed = sum(len(v) for v in report.failed.values())
        self.notify(
            f"saved {report.saved}, already there {report.skipped}, failed {failed} — {folder}",
            title="Save",
            markup=False,
            severity="warning" if failed else "information",
        )


def _system_clipboard(value: str) -> str | None:
    """The fallback to OSC 52: a clipboard tool, when the terminal may not support OSC 52."""
    for tool in (["wl-copy"], ["xclip", "-selection", "clipboard"], ["xsel", "-b", "-i"], ["pbcopy"]):
        if shutil.which(tool[0]):
            try:
                subprocess.run(tool, input=value.encode(), timeout=2, check=True, capture_output=True)
            except (OSError, subprocess.SubprocessError):
                continue
            return tool[0]
    return None
