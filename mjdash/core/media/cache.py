"""The on-disk image cache: originals and thumbnails keyed by URL, atomic writes, size-bounded LRU eviction.

Layout under the platformdirs cache dir: ``orig/<sha256(url)>`` and ``thumb/<size>/<sha256(url)>.jpg``. Every
write goes to a temp file in the same folder and is renamed into place, so a crash never leaves half a file
that is later shown. Reads touch the file's mtime; eviction removes the least recently used files first.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from pathlib import Path

from mjdash.core.atomic import atomic_write

DEFAULT_MAX_BYTES = 512 * 1024 * 1024


def url_key(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest()


class ImageCache:
    def __init__(self, root: str | Path, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.root = Path(root)
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._writes_since_trim = 0

    def original_path(self, url: str) -> Path:
        return self.root / "orig" / url_key(url)

    def thumb_path(self, url: str, size: int) -> Path:
        return self.root / "thumb" / str(size) / f"{url_key(url)}.jpg"

    def gone_path(self, url: str) -> Path:
        return self.root / "gone" / url_key(url)

    def mark_gone(self, url: str) -> None:
        """Remember that the host no longer has this URL (so a cached thumbnail can say so)."""
        self.put(self.gone_path(url), b"")

    def is_gone(self, url: str) -> bool:
        return self.gone_path(url).exists()

    def get(self, path: Path) -> Path | None:
        """The path if cached (and marks it recently used), else None."""
        try:
            os.utime(path)
        except OSError:
            return None
        return path

    def put(self, path: Path, data: bytes) -> Path:
        """Write atomically; may evict old entries to stay under the size bound."""
        atomic_write(path, data)
        with self._lock:
            self._writes_since_trim += 1
            trim = self._writes_since_trim >= 16
            if trim:
                self._writes_since_trim = 0
        if trim:
            self.trim()
        return path

    def size(self) -> int:
        return sum(size for _, size, _ in self._entries())

    def _entries(self) -> list[tuple[float, int, Path]]:
        found: list[tuple[float, int, Path]] = []
        if not self.root.exists():
            return found
        for folder, _, files in os.walk(self.root):
            for name in files:
                path = Path(folder) / name
                try:
                    st = path.stat()
                except OSError:
                    continue
                if name.startswith(".tmp-"):
                    continue
                found.append((st.st_mtime, st.st_size, path))
        return found

    def trim(self) -> int:
        """Evict least recently used files until under the bound. Returns bytes freed."""
        with self._lock:
            entries = sorted(self._entries())
            total = sum(size for _, size, _ in entries)
            freed = 0
            for _, size, path in entries:
                if total - freed <= self.max_bytes:
                    break
                with contextlib.suppress(OSError):
                    path.unlink()
                    freed += size
            return freed
