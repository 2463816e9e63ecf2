"""The resubmit dialog: how many tasks will be sent (each spends credits), which are skipped and why, and the
credit balance when it is known. Yes (y) sends, No (n, escape) sends nothing."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Label, Static

from mjdash.core.resubmit import Plan, count
from mjdash.core.text import safe, short_id
from mjdash.ui.screens.dialogs import ConfirmDialog

LISTED = 8  # tasks listed per section; the rest are counted


class ResubmitDialog(ConfirmDialog):
    """A confirmation (its keys and buttons) with the plan spelled out."""

    def __init__(self, planned: Plan, credits: str) -> None:
        super().__init__(f"Resubmit {count(len(planned.send), 'failed task')}? Each one spends credits.")
        self.planned = planned
        self.credits = credits

    def compose(self) -> ComposeResult:
        planned = self.planned
        with Vertical(classes="dialog small", id="resubmit"):
            yield Label(Text(self.question), classes="title")
            yield Static(Text(self.credits or "credit balance not known yet"), id="resubmit-credits")
            with VerticalScroll(id="resubmit-lists"):
                yield Static(self._send_list(), id="resubmit-send")
                if planned.skipped:
                    yield Static(self._skipped_list(), id="resubmit-skipped")
            with Horizontal(classes="buttons"):
                yield Button("Resubmit (y)", id="yes", variant="error")
                yield Button("Cancel (n)", id="no")

    def _send_list(self) -> Text:
        lines = Text.assemble(("Sent again with the same parameters, in the same batch:\n", "bold"))
        for candidate in self.planned.send[:LISTED]:
            prompt = " ".join((candidate.task.prompt or "").split())[:70]
            lines.append(f"  ↻ {short_id(candidate.task.task_id)}  {safe(prompt)}\n")
        return _more(lines, len(self.planned.send))

    def _skipped_list(self) -> Text:
        skipped = self.planned.skipped
        lines = Text.assemble((f"Skipped ({len(skipped)}):\n", "bold"))
        for item in skipped[:LISTED]:
            lines.append(f"  {short_id(item.task_id)}  {safe(item.reason)}\n")
        if self.planned.unknown:
            lines.append(
                f"{count(len(self.planned.unknown), 'resubmission')} with unknown outcome: check kie.ai's logs\n",
                style="bold",
            )
        return _more(lines, len(skipped))


def _more(lines: Text, total: int) -> Text:
    if total > LISTED:
        lines.append(f"  … and {total - LISTED} more\n")
    return lines
