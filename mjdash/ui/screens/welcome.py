"""Shown when no API key is configured: how to set one, and the demo one key away."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Vertical
from textual.screen import Screen
from textual.widgets import Button, Static

WELCOME = """\
mjdash watches Midjourney tasks on the kie.ai API.

No API key is configured. Set one of:

  • the environment variable   export KIE_API_KEY=your-key
  • the config file            {config}
                               api_key = "your-key"   (then chmod 600 it)

Get a key at https://kie.ai/api-key. Then run mjdash again.

Or try everything now on the built-in simulator: press d for the demo."""


class WelcomeScreen(Screen[None]):
    """The app exits with "demo" or "quit"."""

    BINDINGS = [Binding("d", "demo", "Demo"), Binding("q,escape", "quit_app", "Quit")]

    def __init__(self, config_path: str) -> None:
        super().__init__()
        self.config_path = config_path

    def compose(self) -> ComposeResult:
        with Center(), Vertical(id="welcome"):
            yield Static(Text(WELCOME.format(config=self.config_path)), id="welcome-text")
            yield Button("Start the demo (d)", id="demo", variant="primary")
            yield Button("Quit (q)", id="quit")

    @on(Button.Pressed, "#demo")
    def action_demo(self) -> None:
        self.app.exit("demo")

    @on(Button.Pressed, "#quit")
    def action_quit_app(self) -> None:
        self.app.exit("quit")
