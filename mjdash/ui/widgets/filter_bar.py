"""The text filter's input line: ``/`` opens it, enter applies it, escape clears and hides it."""

from __future__ import annotations

from textual import on
from textual.message import Message
from textual.widgets import Input

HINT = "filter: text in ID, prompt or error — enter applies, escape clears"


class FilterBar(Input):
    class Applied(Message):
        """Show only tasks whose ID, prompt or error contains ``text`` ("" shows all)."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(placeholder=HINT, id=id)

    def open(self) -> None:
        self.display = True
        self.focus()

    def close(self) -> None:
        self.value = ""
        self.display = False

    @on(Input.Submitted)
    def submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(self.Applied(event.value.strip()))
