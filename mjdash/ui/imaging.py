"""Choosing the image renderer (textual-image), without letting its terminal probe crash or stall us.

textual-image probes the terminal when imported (cell size, Sixel/Kitty support). With stdin not a TTY, or a
0×0 pty, the probe crashes; with ``--images halfcell|none`` it is pointless. In those cases the import runs with
``sys.__stdout__`` looking like a non-TTY, so no probe happens.

Inside tmux, ``auto`` does not probe at all: tmux passes no Kitty graphics by default, and the probe's reply
(``Gi=…``) ends up as the pane's title and stays after mjdash exits. Half-blocks work everywhere.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Iterator
from typing import Any


class _NotATerminal(io.TextIOWrapper):
    def isatty(self) -> bool:
        return False


@contextlib.contextmanager
def _hide_terminal() -> Iterator[None]:
    real = sys.__stdout__
    sys.__stdout__ = _NotATerminal(io.BytesIO())  # type: ignore[misc]
    try:
        yield
    finally:
        sys.__stdout__ = real  # type: ignore[misc]


def _probe_is_safe() -> bool:
    try:
        if not (sys.stdin.isatty() and sys.__stdout__ is not None and sys.__stdout__.isatty()):
            return False
        size = os.get_terminal_size(sys.__stdout__.fileno())
        return size.columns > 0 and size.lines > 0
    except (OSError, ValueError, AttributeError):
        return False


def load_renderer(mode: str) -> tuple[Any, str]:
    """(image widget class or None, renderer name) for ``--images MODE``."""
    if mode == "none":
        return None, "none"
    in_tmux = mode == "auto" and bool(os.environ.get("TMUX"))
    probe = mode in ("auto", "tgp", "sixel") and not in_tmux and _probe_is_safe()
    with contextlib.ExitStack() as stack:
        if not probe:
            stack.enter_context(_hide_terminal())
        from textual_image import renderable
        from textual_image.widget import HalfcellImage, SixelImage, TGPImage
        from textual_image.widget import Image as AutoImage
    if mode == "tgp":
        return TGPImage, "tgp"
    if mode == "sixel":
        return SixelImage, "sixel"
    if mode == "auto" and probe:
        if renderable.Image is renderable.SixelImage:
            return AutoImage, "sixel"
        if renderable.Image is renderable.TGPImage:
            return AutoImage, "tgp"
    return HalfcellImage, "halfcell"
