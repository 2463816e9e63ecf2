"""The status header: counts per state, batch progress with ETA, the engine's state, expiring results, renderer."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import ProgressBar, Static

from mjdash.core.engine.events import Mode
from mjdash.core.model import Status
from mjdash.core.timefmt import duration
from mjdash.ui.cells import STATES
from mjdash.ui.palette import COMPONENT_CLASSES, NO_COLOUR, Palette, palette_of, redraw_on_theme_change
from mjdash.ui.state.watchlist import HeaderState

MODE_ROLE = {  # the engine's state, by palette role
    Mode.POLLING: "success",
    Mode.IDLE: "success",
    Mode.PAUSED: "warning",
    Mode.RATE_LIMITED: "warning",
    Mode.OFFLINE: "failure",
    Mode.BLOCKED: "failure",
    Mode.FOLLOWING: "accent",
    Mode.STOPPED: "muted",
}


def summary(state: HeaderState, now: float, palette: Palette = NO_COLOUR) -> Text:
    out, muted = Text(), palette["muted"]
    if state.demo:
        out.append(" DEMO ", style=palette["badge"])
        out.append(" ")
    for status in Status:
        count = state.counts.get(status, 0)
        if count:
            icon, word, role = STATES[status]
            out.append(f"{icon} {word} {count}", style=palette[role])
            out.append("  ")
    if not state.total:
        out.append("no tasks yet — press a to add task IDs", style=muted)
    if state.filter_note:
        out.append(f"│ {state.filter_note} ", style=palette["accent"])
    engine = state.engine
    if engine is not None:
        out.append(" │ ", style=muted)
        out.append(f"engine: {engine.describe(now)}", style=palette[MODE_ROLE[engine.mode]])
        if state.rate:
            out.append(f" {state.rate}", style=palette["warning"] if state.rate_limited else muted)
    if state.stuck:
        out.append(" │ ", style=muted)
        out.append(f"⚠ {state.stuck} stuck", style=palette["warning"])
    if state.eta:
        out.append(f" │ eta {duration(state.eta)}", style=muted)
    if state.credits:
        out.append(f" │ {state.credits}", style=muted)
    if state.expiring:
        out.append(" │ ", style=muted)
        out.append(f"⚠ {state.expiring} expire within 48 h unsaved", style=palette["alert"])
    out.append(f" │ images: {state.renderer}", style=muted)
    return out


class StatusHeader(Horizontal):
    COMPONENT_CLASSES = set(COMPONENT_CLASSES)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        # Held, not queried: a tick that lands while the app tears down must find nothing to do, not fail.
        self._summary = Static(id="summary")
        self._progress = ProgressBar(id="progress", show_eta=False, show_percentage=True)

    def compose(self) -> ComposeResult:
        yield self._summary
        yield self._progress

    _last: tuple[str, int, int] = ("", -1, -1)
    _shown: tuple[HeaderState, float] | None = None

    def on_mount(self) -> None:
        redraw_on_theme_change(self, self._restyle)

    def _restyle(self) -> None:
        if self._shown is not None:
            self._last = ("", -1, -1)
            self.render_state(*self._shown)

    def render_state(self, state: HeaderState, now: float) -> None:
        if not self.is_attached:
            return
        self._shown = (state, now)
        text = summary(state, now, palette_of(self))
        key = (text.markup, state.total, state.done)
        if key == self._last:
            return
        self._last = key
        # One line of fixed size: no layout pass (which costs O(rows) with a 10k-row table on screen).
        self._summary.update(text, layout=False)
        self._progress.update(total=max(1, state.total), progress=state.done)
