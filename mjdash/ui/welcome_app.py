"""The tiny app shown when no API key is configured (its screen offers the demo)."""

from __future__ import annotations

from textual.app import App

from mjdash.ui.screens.welcome import WelcomeScreen


class WelcomeApp(App[str]):
    CSS_PATH = "app.tcss"
    TITLE = "mjdash"

    def __init__(self, config_path: str) -> None:
        super().__init__()
        self.config_path = config_path

    def on_mount(self) -> None:
        self.push_screen(WelcomeScreen(self.config_path), self.exit)
