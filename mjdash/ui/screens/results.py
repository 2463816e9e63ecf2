"""What the main screen does with a task's results — view them full size, copy, open in the browser, save to a
folder — apart from the screen's own work of keeping the table and the detail pane current. The actions behind
them are in ``mjdash.ui.actions`` (no Textual); these ask, show progress and notify."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual import work
from textual.screen import Screen
from textual.widgets import ProgressBar

from mjdash.core.media.images import ImageFetcher
from mjdash.core.store.gateway import StoreGateway
from mjdash.ui import actions
from mjdash.ui.screens.dialogs import FolderDialog
from mjdash.ui.screens.image_view import ImageView
from mjdash.ui.widgets.task_table import TaskTable


class ResultActions(Screen[None]):
    """The main screen's base: the keys on results (v, c, y, u, w, s, S). Its subclass provides these."""

    db: StoreGateway
    fetcher: ImageFetcher
    image_cls: Any
    table: TaskTable
    download_bar: ProgressBar

    @work(exclusive=True, group="viewer", exit_on_error=False)
    async def action_view_image(self) -> None:
        size = max(256, min(1600, self.size.width * 10))
        results = await actions.images(self.db, self.fetcher, self.table.selected_id, size)
        if isinstance(results, actions.Said):
            self.notify(results.message, severity=results.severity)
        else:
            await self.app.push_screen(ImageView(results, 0, self.image_cls))

    @work(group="clipboard")
    async def action_copy(self, what: str) -> None:
        said = await actions.copy(self.db, self.table.selected_id, what, self.app.copy_to_clipboard)
        if said is not None:
            self.notify(said.message, severity=said.severity, timeout=3)

    @work(group="browser")
    async def action_open_url(self) -> None:
        said = await actions.open_result(self.db, self.table.selected_id)
        self.notify(said.message, severity=said.severity)

    def action_save(self, scope: str) -> None:
        ids = self.table.selection() if scope == "task" else list(self.table.shown_ids)
        if not ids:
            return

        def chosen(folder: str | None) -> None:
            if folder:
                self._save(ids, Path(folder).expanduser())

        self.app.push_screen(FolderDialog(actions.save_title(scope, len(ids)), str(actions.DEFAULT_FOLDER)), chosen)

    @work(group="download", exclusive=True, description="save images")
    async def _save(self, task_ids: list[str], folder: Path) -> None:
        bar = self.download_bar
        bar.display = True
        said = await actions.save(
            self.db, self.fetcher, task_ids, folder, lambda done, total: bar.update(total=total, progress=done)
        )
        bar.display = False
        self.notify(said.message, title="Save", markup=False, severity=said.severity)
