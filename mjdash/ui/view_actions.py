"""What the table shows: the text filter, state groups, the batch picker and sorting. A mixin of MjDashApp, kept
apart from the actions on tasks; the state itself lives in the table's TaskView."""

from __future__ import annotations

from collections.abc import Callable

from textual import on
from textual.app import App
from textual.widgets import Input

from mjdash.ui.cells import COLUMN_KEYS
from mjdash.ui.screens.dialogs import ALL_BATCHES, BatchPicker
from mjdash.ui.widgets.task_table import TaskTable


class ViewActions(App[str]):
    """Filter, group, batch and sort: the part of MjDashApp that changes what the table shows."""

    table: TaskTable
    filter_box: Input
    _refresh_header: Callable[[], None]
    _sort_index = -1

    def action_filter(self) -> None:
        box = self.filter_box
        box.display = True
        box.focus()

    @on(Input.Submitted, "#filter")
    def filter_submitted(self, event: Input.Submitted) -> None:
        self.table.view.text_filter = event.value.strip()
        self._refilter()
        self.table.focus()

    def action_clear_filter(self) -> None:
        if self.table.clear_marks():  # escape first drops the marks, then the filter
            return
        box = self.filter_box
        box.value = ""
        box.display = False
        if self.table.view.text_filter:
            self.table.view.text_filter = ""
            self._refilter()
        self.table.focus()

    def action_group(self, group: str) -> None:
        self.table.view.state_group = group
        self._refilter()

    def _refilter(self) -> None:
        self.table.rebuild()
        self._refresh_header()

    def action_batch(self) -> None:
        def chosen(name: str | None) -> None:
            if name is None:
                return
            self.table.view.batch_filter = None if name == ALL_BATCHES else name
            self._refilter()

        batches = sorted({r.batch for r in self.table.rows_by_id.values() if r.batch})
        self.push_screen(BatchPicker(batches, self.table.view.batch_filter), chosen)

    @on(TaskTable.Sorted)
    def header_sorted(self, event: TaskTable.Sorted) -> None:
        self._sort_index = COLUMN_KEYS.index(event.column)  # `o` goes on from the clicked column

    def action_sort_next(self) -> None:
        self._sort_index = (self._sort_index + 1) % len(COLUMN_KEYS)
        self.table.sort_by(COLUMN_KEYS[self._sort_index], reverse=False)
        self.notify(f"sorted by {COLUMN_KEYS[self._sort_index]}", timeout=2)

    def action_sort_reverse(self) -> None:
        self.table.sort_by(self.table.view.sort_column or "state", reverse=not self.table.view.sort_reverse)
