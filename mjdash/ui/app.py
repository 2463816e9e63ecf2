"""``MjDashApp``, the one App: the stylesheet, the layout breakpoints, what the user was told, the command
palette, and closing what the dashboard opened. Its first screen is the main screen (or the welcome screen when
no key is configured); ``make_app`` in ``ui/factory.py`` builds it, for the CLI and the tests alike."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.notifications import SeverityLevel
from textual.screen import Screen

Closer = Callable[[], Awaitable[None] | None]


@dataclass(frozen=True)
class Notice:
    """A toast the dashboard showed."""

    title: str
    message: str
    severity: str


class MjDashApp(App[str]):
    CSS_PATH = "app.tcss"
    # Under 120 columns the detail pane goes below the table instead of beside it (see app.tcss).
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
    # Under 12 rows the banner keeps to one line, so the table stays visible (see app.tcss).
    VERTICAL_BREAKPOINTS = [(0, "-short"), (12, "-tall")]
    TITLE = "mjdash"

    def __init__(self, first: Screen[Any], closers: Iterable[Closer] = ()) -> None:
        super().__init__()
        self.first = first
        self.closers = list(closers)  # run on exit, in order: the engine's clients, the store's thread
        self.notices: list[Notice] = []  # every toast shown, newest last (the last 50)

    def get_default_screen(self) -> Screen[Any]:
        return self.first

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """A toast, also kept in ``notices`` for whoever needs to know what the user was told."""
        self.notices.append(Notice(title, str(message), severity))
        del self.notices[:-50]
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def write_terminal(self, sequence: str) -> None:
        """Send an escape sequence to the terminal (a desktop notification) through Textual's output thread, so it
        never lands in the middle of a frame. Textual has no public call for it; its own ``bell()`` and
        ``copy_to_clipboard()`` write through the driver the same way."""
        if not self.is_headless and self._driver is not None:
            self._driver.write(sequence)

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """The palette offers every key of the screen shown, besides Textual's own commands."""
        yield from super().get_system_commands(screen)
        for binding in screen.BINDINGS:
            if isinstance(binding, Binding) and binding.action not in ("app.quit", "help"):
                action = binding.action
                yield SystemCommand(
                    binding.description,
                    f"key: {binding.key_display or binding.key}",
                    lambda a=action: screen.run_action(a),
                )

    async def on_unmount(self) -> None:
        """Close the HTTP clients on this event loop (their connections belong to it), then the store's thread."""
        for close in self.closers:
            result = close()
            if inspect.isawaitable(result):
                await result
