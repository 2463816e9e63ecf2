"""Modal dialogs: add tasks, confirm, choose a folder, pick a batch. Each returns its answer via dismiss()."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, TextArea
from textual.widgets.option_list import Option

from mjdash.core.text import safe


class AddDialog(ModalScreen[str | None]):
    """Paste anything that contains task IDs: log lines, JSON answers, CSV, one ID a line."""

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "submit", "Add")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Add tasks — paste text with task IDs (ctrl+s adds, escape cancels)", classes="title")
            yield TextArea(id="paste", soft_wrap=True)
            with Horizontal(classes="buttons"):
                yield Button("Add", id="ok", variant="primary")
                yield Button("Cancel", id="cancel")

    @on(Button.Pressed, "#ok")
    def action_submit(self) -> None:
        self.dismiss(self.query_one("#paste", TextArea).text)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmDialog(ModalScreen[bool]):
    BINDINGS = [Binding("escape", "no", "No"), Binding("y", "yes", "Yes"), Binding("n", "no", "No")]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog small"):
            yield Label(Text(safe(self.question)), classes="title")
            with Horizontal(classes="buttons"):
                yield Button("Yes (y)", id="yes", variant="error")
                yield Button("No (n)", id="no")

    @on(Button.Pressed, "#yes")
    def action_yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#no")
    def action_no(self) -> None:
        self.dismiss(False)


class FolderDialog(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, default: str) -> None:
        super().__init__()
        self.title_text = title
        self.default = default

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog small"):
            yield Label(Text(self.title_text), classes="title")
            yield Input(value=self.default, id="folder")

    @on(Input.Submitted)
    def submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)


ALL_BATCHES = "\x00all"


class BatchPicker(ModalScreen[str | None]):
    """Returns a batch name, ALL_BATCHES, or None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, batches: list[str], current: str | None) -> None:
        super().__init__()
        self.batches = batches
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog small"):
            yield Label("Show which batch?", classes="title")
            options = [Option(Text("All batches"), id=ALL_BATCHES)]
            options += [Option(Text(safe(name)), id=name) for name in self.batches]
            yield OptionList(*options, id="batches")

    @on(OptionList.OptionSelected)
    def chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
