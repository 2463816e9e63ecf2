"""Colours by meaning: widgets say what a piece of text *is* (a success, a warning, a key…), the theme says how
it looks. Each role is a component class ``mj--ROLE`` styled in ``app.tcss`` with the theme's variables
(``$text-success``, ``$text-warning``, ``$text-error``, ``$text-accent``…), so picking another theme from the
command palette recolours the states, the header, the detail pane and the help alike.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from rich.style import Style
from textual.widget import Widget

ROLES = (
    "running",  # a task still generating, its elapsed time
    "success",
    "failure",  # failed tasks and their error text
    "missing",  # not found, or our own error about a task
    "waiting",  # not asked about yet
    "warning",  # stuck tasks, stale looks, a throttled rate
    "alert",  # results about to expire unsaved
    "muted",  # secondary text
    "accent",  # the filter note, keys, labels
    "param",  # parameter names
    "raw",  # paramJson as received
    "badge",  # the DEMO badge
)
COMPONENT_CLASSES = {f"mj--{role}" for role in ROLES}  # a widget's COMPONENT_CLASSES takes these (or a union)

Palette = Mapping[str, Style]
NO_COLOUR: Palette = dict.fromkeys(ROLES, Style())  # for plain output (tests, exports): text without colour


def palette_of(widget: Widget) -> dict[str, Style]:
    """The widget's styles for every role, as its theme and ``app.tcss`` give them now."""
    return {role: widget.get_component_rich_style(f"mj--{role}", partial=True) for role in ROLES}


def redraw_on_theme_change(widget: Widget, redraw: Callable[[], None]) -> None:
    """Call ``redraw`` after each change of theme, once the new theme's styles apply (call it from on_mount)."""

    def changed() -> None:
        widget.call_after_refresh(redraw)

    widget.watch(widget.app, "theme", changed, init=False)
