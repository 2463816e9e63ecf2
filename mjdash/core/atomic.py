"""Atomic file writes: the content appears at its path whole, or not at all, and no temporary file is left behind.

Written to a temporary file in the same folder (so the rename stays on one filesystem), then renamed over the
path. On any failure — a full disk, a kill signal raised as an exception, an error while producing the content —
the temporary file is removed and the path keeps what it had.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any


@contextlib.contextmanager
def atomic_file(path: Path, *, binary: bool = False, mode: int | None = None) -> Iterator[IO[Any]]:
    """A handle to write ``path`` through; the file appears when the block ends without an error. ``mode`` sets
    its permission bits (mkstemp creates it 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        if mode is not None:
            os.fchmod(fd, mode)
        handle = os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8", newline="")
        with handle:
            yield handle
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write(path: Path, data: bytes) -> Path:
    with atomic_file(path, binary=True) as handle:
        handle.write(data)
    return path
