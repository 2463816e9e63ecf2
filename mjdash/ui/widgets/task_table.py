"""The watchlist table, on Textual's line API: it renders only the rows on screen.

A ``DataTable`` re-renders every visible cell after any change (its render caches share one update counter), which
made a 1,000-row tick cost ~180 ms at 10,000 rows. Here each row's rendered line is cached under the text it shows,
so a tick re-renders only rows whose cells changed, and a key press re-renders the two rows the cursor leaves and
enters. The rows and their order live in :class:`~mjdash.ui.task_view.TaskView` (no Textual); this widget draws
them, with a fixed header row, a cursor that stays on its task, marks for acting on several tasks, and sorting by
header click.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from mjdash.core.model import Task
from mjdash.ui.cells import COLUMNS, row_cells
from mjdash.ui.palette import COMPONENT_CLASSES, Palette, palette_of
from mjdash.ui.state.task_view import TaskView

PAD = 1  # blank cells each side of a column
WIDTHS = tuple((key, width or 10) for _, key, width in COLUMNS)
TOTAL_WIDTH = sum(width + 2 * PAD for _, width in WIDTHS)
Signature = tuple[object, ...]


class TaskTable(ScrollView, can_focus=True):
    """Every watched task the filters let through, one row each, keyed by task ID."""

    COMPONENT_CLASSES = {
        "task-table--header",
        "task-table--odd-row",
        "task-table--cursor",
        "task-table--cursor-blurred",
        "task-table--marked",
        "task-table--empty",
        *COMPONENT_CLASSES,
    }
    BINDINGS = [
        Binding("up", "cursor(-1)", "Previous task", key_display="↑", show=False),
        Binding("down", "cursor(1)", "Next task", key_display="↓", show=False),
        Binding("pageup", "page(-1)", "Page up", key_display="pgup", show=False),
        Binding("pagedown", "page(1)", "Page down", key_display="pgdn", show=False),
        Binding("home", "jump(0)", "First task", show=False),
        Binding("end", "jump(-1)", "Last task", show=False),
        Binding("left", "sideways(-1)", "Scroll left", key_display="←", show=False),
        Binding("right", "sideways(1)", "Scroll right", key_display="→", show=False),
        Binding("space", "mark", "Mark", key_display="space"),
    ]

    class Highlighted(Message):
        """The cursor is on another task (or on none: the table is empty)."""

        def __init__(self, task_id: str | None) -> None:
            super().__init__()
            self.task_id = task_id

    class Sorted(Message):
        """The user clicked a column header: sort by it."""

        def __init__(self, column: str) -> None:
            super().__init__()
            self.column = column

    def __init__(self, view: TaskView, now: Callable[[], float], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.now = now
        self.view = view  # owned by the screen's WatchlistState: this widget only reads it
        self.marked: set[str] = set()
        self.cursor_row = 0
        self._announced: str | None = None
        self._lines: LRUCache[str, tuple[Signature, Strip]] = LRUCache(1024)
        self._cell_cache: LRUCache[tuple[object, ...], list[Segment]] = LRUCache(8192)
        self._header: tuple[Signature, Strip] | None = None
        self.virtual_size = Size(TOTAL_WIDTH, 1)
        self._palette: Palette | None = None  # the theme's colours by role, until the styles change

    # -- what is shown ----------------------------------------------------------------------------------------
    @property
    def rows_by_id(self) -> dict[str, Task]:
        return self.view.rows_by_id

    @property
    def row_count(self) -> int:
        return len(self.view)

    @property
    def shown_ids(self) -> list[str]:
        return self.view.order

    @property
    def selected_id(self) -> str | None:
        order = self.view.order
        return order[self.cursor_row] if 0 <= self.cursor_row < len(order) else None

    def selection(self) -> list[str]:
        """The marked tasks in display order, or else the one under the cursor."""
        if self.marked:
            return [task_id for task_id in self.view.order if task_id in self.marked]
        return [self.selected_id] if self.selected_id else []

    def get_cell(self, task_id: str, column: str) -> Text:
        return row_cells(self.view.rows_by_id[task_id], self.now(), self.palette)[column]

    # -- changes ----------------------------------------------------------------------------------------------
    @contextmanager
    def follow(self, *, redraw: bool = False) -> Iterator[None]:
        """The view changes inside this block (its owner applies news, a filter, a sort): afterwards the cursor
        stays on its task (or its place), the first row on screen stays put, and only what changed is redrawn
        (unchanged rows come from the line cache; ``redraw`` drops the cache, for a reload of everything)."""
        keep, top, reorders = self.selected_id, self._top_id(), self.view.reorders
        yield
        if redraw:
            self._lines.clear()
        if self.view.reorders != reorders:
            self.marked &= set(self.view.order)
            self._reshaped(keep, top)
        else:
            self._resize()
            self.refresh()
            self._announce()

    def tick(self) -> None:
        """Durations and "checked" ages move on: repaint the rows on screen whose text changed, and only those
        (an idle table sends nothing to the terminal)."""
        order, top = self.view.order, int(self.scroll_y)
        for index in range(top, min(len(order), top + self._page)):
            cached = self._lines.get(order[index])
            if cached is None or cached[0] != self._cells(order[index])[0]:
                self.refresh_line(index + 1)

    def _top_id(self) -> str | None:
        order, top = self.view.order, int(self.scroll_y)
        return order[top] if 0 <= top < len(order) else None

    def _reshaped(self, keep: str | None, top: str | None = None) -> None:
        """After rows moved: the cursor stays on its task (or its place), the first row on screen stays put."""
        self._resize()
        index = self.view.index(keep) if keep is not None else None
        if top is not None and (top_index := self.view.index(top)) is not None:
            self.scroll_to(y=top_index, animate=False, immediate=True)
        self.move_cursor(self.cursor_row if index is None else index)
        self.refresh()

    def _resize(self) -> None:
        self.virtual_size = Size(TOTAL_WIDTH, len(self.view) + 1)

    # -- the cursor and marks ---------------------------------------------------------------------------------
    @property
    def _page(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def move_cursor(self, row: int) -> None:
        """Put the cursor on a row (clamped) and scroll just enough to show it."""
        old = self.cursor_row
        self.cursor_row = max(0, min(row, len(self.view) - 1))
        top = int(self.scroll_y)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False, immediate=True)
        elif self.cursor_row >= top + self._page:
            self.scroll_to(y=self.cursor_row - self._page + 1, animate=False, immediate=True)
        if old != self.cursor_row:
            self._refresh_rows(old, self.cursor_row)
        self._announce()

    def _refresh_rows(self, *rows: int) -> None:
        for row in rows:
            self.refresh_line(row + 1)  # line 0 is the header

    def _announce(self) -> None:
        selected = self.selected_id
        if selected != self._announced:
            self._announced = selected
            self.post_message(self.Highlighted(selected))

    def action_cursor(self, step: int) -> None:
        self.move_cursor(self.cursor_row + step)

    def action_page(self, pages: int) -> None:
        self.move_cursor(self.cursor_row + pages * self._page)

    def action_jump(self, row: int) -> None:
        self.move_cursor(row if row >= 0 else len(self.view) - 1)

    def action_sideways(self, step: int) -> None:
        self.scroll_to(x=self.scroll_x + step * 8, animate=False, immediate=True)

    def action_mark(self) -> None:
        """Mark or unmark the task under the cursor (remove and save act on marked tasks), then move down."""
        task_id = self.selected_id
        if task_id is None:
            return
        self.marked ^= {task_id}
        self._refresh_rows(self.cursor_row)
        self.move_cursor(self.cursor_row + 1)

    def clear_marks(self) -> bool:
        had = bool(self.marked)
        self.marked.clear()
        self.refresh()
        return had

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y == 0:
            column = self._column_at(offset.x + int(self.scroll_x))
            if column is not None:
                self.post_message(self.Sorted(column))
        else:
            self.move_cursor(int(self.scroll_y) + offset.y - 1)

    @staticmethod
    def _column_at(x: int) -> str | None:
        for key, width in WIDTHS:
            x -= width + 2 * PAD
            if x < 0:
                return key
        return None

    # -- rendering --------------------------------------------------------------------------------------------
    @property
    def palette(self) -> Palette:
        if self._palette is None:
            self._palette = palette_of(self)
        return self._palette

    def notify_style_update(self) -> None:
        """A new theme (or stylesheet): rows are drawn again in its colours (their cached lines no longer match)."""
        super().notify_style_update()
        self._palette = None

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        base = self.rich_style
        if y == 0:
            strip = self._header_strip().apply_style(self.get_component_rich_style("task-table--header"))
        else:
            strip = self._row_strip(scroll_y + y - 1, base)
        return strip.crop_extend(scroll_x, scroll_x + width, base)

    def _row_strip(self, index: int, base: Style) -> Strip:
        order = self.view.order
        if index >= len(order):
            if index == 0:
                return self._empty_strip()
            return Strip.blank(TOTAL_WIDTH, base)
        task_id = order[index]
        strip = self._content_strip(task_id)
        if index == self.cursor_row:
            name = "task-table--cursor" if self.has_focus else "task-table--cursor-blurred"
            return Strip(Segment.apply_style(strip, post_style=self.get_component_rich_style(name)), TOTAL_WIDTH)
        if task_id in self.marked:
            return strip.apply_style(self.get_component_rich_style("task-table--marked"))
        if index % 2:
            return strip.apply_style(self.get_component_rich_style("task-table--odd-row"))
        return strip.apply_style(base)

    def _cells(self, task_id: str) -> tuple[Signature, dict[str, Text]]:
        """A row's cells now, and a signature of what they show (the line cache's key)."""
        cells = row_cells(self.view.rows_by_id[task_id], self.now(), self.palette)
        return (task_id in self.marked, *((cell.plain, cell.style) for cell in cells.values())), cells

    def _content_strip(self, task_id: str) -> Strip:
        """A row's cells as one line, from the cache while its text is unchanged."""
        signature, cells = self._cells(task_id)
        marked = task_id in self.marked
        cached = self._lines.get(task_id)
        if cached is not None and cached[0] == signature:
            return cached[1]
        segments: list[Segment] = []
        for n, (key, width) in enumerate(WIDTHS):
            segments += self._cell_segments("●" if marked and n == 0 else " " * PAD, cells[key], width)
        strip = Strip(segments, TOTAL_WIDTH)
        self._lines[task_id] = (signature, strip)
        return strip

    def _cell_segments(self, lead: str, cell: Text, width: int) -> list[Segment]:
        """One cell laid out, from a cache: a running task's row changes every second in one cell (its elapsed
        time), so the others are not laid out again (a visible row costs a third as much at 100k tasks)."""
        key = (lead, cell.plain, cell.style, cell.justify, width)
        found = self._cell_cache.get(key)
        if found is None:
            text = Text(no_wrap=True, end="")
            text.append(lead, style="bold")
            text.append_text(_fit(cell, width))
            text.append(" " * PAD)
            found = self._cell_cache[key] = list(text.render(self.app.console))
        return found

    def _header_strip(self) -> Strip:
        signature: Signature = (self.view.sort_column, self.view.sort_reverse)
        if self._header is not None and self._header[0] == signature:
            return self._header[1]
        line = Text(no_wrap=True, end="")
        for label, key, width in COLUMNS:
            arrow = (" ▼" if self.view.sort_reverse else " ▲") if key == self.view.sort_column else ""
            line.append(" " * PAD)
            line.append_text(_fit(Text(label + arrow), width or 10))
            line.append(" " * PAD)
        self._header = (signature, Strip(line.render(self.app.console), TOTAL_WIDTH))
        return self._header[1]

    def _empty_strip(self) -> Strip:
        if self.view.rows_by_id:
            message = "No task matches — Escape clears the text filter, 1 shows every state, b picks the batch."
        else:
            message = "The watchlist is empty — press a to add task IDs."
        text = Text(" " + message, no_wrap=True, end="")
        style = self.get_component_rich_style("task-table--empty")
        return Strip(text.render(self.app.console), text.cell_len).apply_style(style)


def _fit(cell: Text, width: int) -> Text:
    """A cell cut (with an ellipsis) or padded to exactly ``width`` cells, honouring right justification."""
    cell = cell.copy()
    cell.truncate(width, overflow="ellipsis")
    gap = width - cell.cell_len
    if cell.justify == "right":
        cell.pad_left(gap)
    else:
        cell.pad_right(gap)
    return cell
