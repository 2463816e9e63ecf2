"""One result image, large. Left/right go through the task's images; escape closes."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from mjdash.core.media.images import ImageResult
from mjdash.core.text import safe


class ImageView(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,q,v", "close", "Close"),
        Binding("left,h", "step(-1)", "Previous"),
        Binding("right,l", "step(1)", "Next"),
    ]

    def __init__(self, results: list[ImageResult], index: int, image_cls: Any) -> None:
        super().__init__()
        self.results = results
        self.index = index
        self.image_cls = image_cls

    def compose(self) -> ComposeResult:
        yield Static(id="image-title")
        yield Container(id="image-big")
        yield Footer()

    def on_mount(self) -> None:
        self.show()

    def show(self) -> None:
        result = self.results[self.index]
        title = f"image {self.index + 1} of {len(self.results)}  {safe(result.url)}"
        self.query_one("#image-title", Static).update(Text(title, overflow="ellipsis", no_wrap=True))
        box = self.query_one("#image-big", Container)
        box.remove_children()
        if result.thumb is not None and self.image_cls is not None:
            box.mount(self.image_cls(result.thumb))
        else:
            box.mount(Static(Text(safe(result.reason or "no image"), style="dim italic")))

    def action_step(self, delta: int) -> None:
        self.index = (self.index + delta) % len(self.results)
        self.show()

    def action_close(self) -> None:
        self.dismiss(None)
