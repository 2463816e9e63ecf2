"""The banner: what is wrong now and what to do (from ``WatchlistState.banner``), hidden when all is well."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class Banner(Static):
    _shown: str | None = None

    def show(self, text: Text | None) -> None:
        """Show ``text`` (None hides the banner); the same text again costs nothing."""
        if text is not None and text.plain != self._shown:
            self.update(text)
        self._shown = text.plain if text is not None else None
        self.display = text is not None
