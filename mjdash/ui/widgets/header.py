"""The status header: counts per state, batch progress with ETA, the engine's state, expiring results, renderer."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import ProgressBar, Static

from mjdash.core.events import EngineState, Mode
from mjdash.core.model import Status
from mjdash.core.timefmt import duration
from mjdash.ui.cells import STATE_STYLE

MODE_STYLE = {
    Mode.POLLING: "green",
    Mode.IDLE: "green",
    Mode.PAUSED: "yellow",
    Mode.RATE_LIMITED: "yellow",
    Mode.OFFLINE: "red",
    Mode.BLOCKED: "red",
    Mode.STOPPED: "dim",
}


@dataclass
class HeaderState:
    counts: Counter[Status] = field(default_factory=Counter)
    total: int = 0
    done: int = 0
    eta: float | None = None
    engine: EngineState | None = None
    expiring: int = 0
    renderer: str = "halfcell"
    demo: bool = False
    filter_note: str = ""
    rate: str = ""  # the engine's effective rate, e.g. "2/s" or "1.4/s (limit 2/s)"
    rate_limited: bool = False
    stuck: int = 0


def summary(state: HeaderState, now: float) -> Text:
    out = Text()
    if state.demo:
        out.append(" DEMO ", style="bold black on yellow")
        out.append(" ")
    for status in Status:
        count = state.counts.get(status, 0)
        if count:
            icon, word, colour = STATE_STYLE[status]
            out.append(f"{icon} {word} {count}", style=colour)
            out.append("  ")
    if not state.total:
        out.append("no tasks yet — press a to add task IDs", style="dim")
    if state.filter_note:
        out.append(f"│ {state.filter_note} ", style="bold cyan")
    engine = state.engine
    if engine is not None:
        out.append(" │ ", style="dim")
        out.append(f"engine: {engine.describe(now)}", style=MODE_STYLE[engine.mode])
        if state.rate:
            out.append(f" {state.rate}", style="yellow" if state.rate_limited else "dim")
    if state.stuck:
        out.append(" │ ", style="dim")
        out.append(f"⚠ {state.stuck} stuck", style="bold yellow")
    if state.eta:
        out.append(f" │ eta {duration(state.eta)}", style="dim")
    if state.expiring:
        out.append(" │ ", style="dim")
        out.append(f"⚠ {state.expiring} expire within 48 h unsaved", style="bold red")
    out.append(f" │ images: {state.renderer}", style="dim")
    return out


class StatusHeader(Horizontal):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        # Held, not queried: a tick that lands while the app tears down must find nothing to do, not fail.
        self._summary = Static(id="summary")
        self._progress = ProgressBar(id="progress", show_eta=False, show_percentage=True)

    def compose(self) -> ComposeResult:
        yield self._summary
        yield self._progress

    _last: tuple[str, int, int] = ("", -1, -1)

    def render_state(self, state: HeaderState, now: float) -> None:
        if not self.is_attached:
            return
        text = summary(state, now)
        key = (text.markup, state.total, state.done)
        if key == self._last:
            return
        self._last = key
        # One line of fixed size: no layout pass (which costs O(rows) with a 10k-row table on screen).
        self._summary.update(text, layout=False)
        self._progress.update(total=max(1, state.total), progress=state.done)
