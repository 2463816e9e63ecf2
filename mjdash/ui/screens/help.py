"""`?`: every key the dashboard answers to."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from mjdash.ui.palette import COMPONENT_CLASSES, palette_of


class HelpScreen(ModalScreen[None]):
    COMPONENT_CLASSES = set(COMPONENT_CLASSES)
    BINDINGS = [Binding("escape,q,question_mark", "close", "Close")]

    def __init__(self, bindings: list[tuple[str, str]]) -> None:
        super().__init__()
        self.rows = bindings

    def compose(self) -> ComposeResult:
        table = Table(title="mjdash — keys", expand=True, show_edge=False)
        table.add_column("key", style=palette_of(self)["accent"], no_wrap=True)
        table.add_column("what it does")
        for key, description in self.rows:
            table.add_row(Text(key), Text(description))
        with VerticalScroll(classes="dialog help"):
            yield Static(table)
            yield Static(
                Text(
                    "Mouse: click a row to select it, click a header to sort. ctrl+p: command palette. "
                    "escape closes this.",
                    style="dim",
                )
            )

    def action_close(self) -> None:
        self.dismiss(None)
