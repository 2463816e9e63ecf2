"""Result images for the simulator: real JPEGs drawn with Pillow, distinct per task and index."""

from __future__ import annotations

import hashlib
import io
import random
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFilter

# The smallest thing a player would recognise as MP4: an ftyp box. The simulator's video tasks point at it.
FAKE_MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 64


def _rng(seed: int, task_id: str, index: int) -> random.Random:
    digest = hashlib.sha256(f"{seed}:{task_id}:{index}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


@lru_cache(maxsize=128)
def render_jpeg(seed: int, task_id: str, index: int, size: int = 512, quality: int = 85) -> bytes:
    """A colourful, smooth, recognisably different picture for (seed, task, index)."""
    rng = _rng(seed, task_id, index)
    # A tiny random palette image blown up with bicubic resampling gives smooth colour fields cheaply.
    small = Image.new("RGB", (4, 4))
    small.putdata([(rng.randrange(256), rng.randrange(256), rng.randrange(256)) for _ in range(16)])
    image = small.resize((size, size), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(image)
    for _ in range(rng.randrange(3, 7)):
        r = rng.randrange(size // 12, size // 4)
        x, y = rng.randrange(size), rng.randrange(size)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        if rng.random() < 0.5:
            draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
        else:
            draw.rectangle((x - r, y - r // 2, x + r, y + r // 2), fill=colour)
    image = image.filter(ImageFilter.GaussianBlur(radius=max(1, size // 256)))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()
