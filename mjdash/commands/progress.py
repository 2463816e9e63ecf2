"""One progress bar for the subcommands (``wait``, ``download``), drawn by Rich on a terminal.

On a terminal the bar is redrawn in place, and lines printed meanwhile go above it; on a pipe there is no bar,
only the lines. Every note is API-derived text made safe first (``core.text.safe``) and given to Rich as data,
never as markup.
"""

from __future__ import annotations

from types import TracebackType
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn
from rich.table import Column
from rich.text import Text

from mjdash.core.text import safe


class ProgressBar:
    def __init__(self, out: TextIO, *, tty: bool | None = None) -> None:
        self.out = out
        self.tty = out.isatty() if tty is None else tty
        self.console = Console(file=out, force_terminal=self.tty, highlight=False, markup=False, emoji=False)
        self._progress = Progress(
            BarColumn(bar_width=30, table_column=Column(no_wrap=True, min_width=30)),
            # the counts and the note take what room is left, cut short at the end: the bar always shows
            TextColumn("{task.description}", markup=False, table_column=Column(no_wrap=True, ratio=1)),
            console=self.console,
            auto_refresh=False,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self._task: TaskID | None = None

    def __enter__(self) -> ProgressBar:
        if self.tty:
            self._progress.start()
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        if self.tty:
            self._progress.stop()

    def update(self, done: int, total: int, note: str = "") -> None:
        """Where things stand: the bar, "done/total", then ``note`` (made safe)."""
        if not self.tty:
            return
        description = safe(f"{done}/{total} {' '.join(note.split())}")
        if self._task is None:
            self._task = self._progress.add_task(description, total=max(1, total))
        self._progress.update(self._task, completed=done, total=max(1, total), description=description)
        self._progress.refresh()

    def line(self, text: str) -> None:
        """A line of its own (above the bar on a terminal), made safe."""
        if self.tty:
            self.console.print(Text(safe(text)), soft_wrap=True)
        else:
            self.out.write(safe(text) + "\n")
            self.out.flush()
