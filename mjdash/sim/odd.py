"""Badly behaved image hosts (``/odd/…``), for tests and for the demo's placeholders: each answer is one way an
image host can fail a client — truncated, not an image, huge without a length, a decompression bomb, a redirect
to another host, expired, hanging."""

from __future__ import annotations

import struct
import time
import zlib

from mjdash.sim.images import render_jpeg


def odd_answer(kind: str, host: str) -> tuple[int, dict[str, str], bytes]:
    """Badly behaved image hosts, for tests and for the demo's placeholders."""
    if kind == "truncated.jpeg":
        full = render_jpeg(0, "odd", 0, 256)
        return 200, {"Content-Type": "image/jpeg"}, full[: len(full) // 2]
    if kind == "notimage.jpeg":
        return 200, {"Content-Type": "image/jpeg"}, b"<html><body>Access denied</body></html>"
    if kind == "huge.jpeg":  # 3 MB with no Content-Length: the cap must hold while streaming
        return 200, {"Content-Type": "image/jpeg", "X-No-Length": "1"}, b"\xff\xd8" + b"\x00" * 3_000_000
    if kind == "bomb.png":
        return 200, {"Content-Type": "image/png"}, bomb_png(40_000, 40_000)
    if kind == "redirect-away.jpeg":
        port = host.rsplit(":", 1)[-1]
        return 302, {"Location": f"http://localhost:{port}/odd/notimage.jpeg"}, b""
    if kind == "redirect-same.jpeg":
        return 302, {"Location": "/odd/good.jpeg"}, b""
    if kind == "good.jpeg":
        return 200, {"Content-Type": "image/jpeg"}, render_jpeg(0, "odd", 1, 256)
    if kind == "gone.jpeg":
        return 404, {"Content-Type": "text/plain"}, b"expired"
    if kind == "hang.jpeg":
        time.sleep(30)
    return 404, {"Content-Type": "text/plain"}, b"not found"


def bomb_png(width: int, height: int) -> bytes:
    """A PNG header declaring a huge image: a decompression bomb in a few dozen bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )
