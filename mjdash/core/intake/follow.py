"""Following a growing file of task IDs, like ``tail -F``: survives truncation and rotation.

The position (inode and byte offset of the last complete line read) is stored with the IDs it yielded, in one
transaction, so a restart resumes where it stopped and never re-adds IDs the user has since removed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from mjdash.core.errors import FollowError
from mjdash.core.intake.ids import extract
from mjdash.core.store.database import AddResult, Store

READ_LIMIT = 4 * 1024 * 1024  # bytes per poll; the rest comes on the next one


@dataclass
class FollowResult:
    added: int = 0
    present: int = 0
    rejected: list[str] = field(default_factory=list)
    event: str | None = None  # "waiting", "truncated", "rotated"


class FileFollower:
    """Call :meth:`poll` on a timer; each call reads whatever complete lines were appended since the last."""

    def __init__(self, path: str | Path, store: Store, *, batch: str | None = None) -> None:
        self.path = Path(path).expanduser().absolute()
        self.key = str(self.path)
        self.store = store
        self.batch = batch
        self._handle: BinaryIO | None = None
        self._inode: int | None = None
        self._offset = 0  # offset just after the last complete line consumed
        saved = store.follow_position(self.key)
        self._saved = saved

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def _open(self, start_at_saved: bool) -> bool:
        try:
            handle = self.path.open("rb")
        except FileNotFoundError:
            return False
        inode = os.fstat(handle.fileno()).st_ino
        size = os.fstat(handle.fileno()).st_size
        offset = 0
        if start_at_saved and self._saved is not None:
            saved_inode, saved_offset = self._saved
            if saved_inode == inode and saved_offset <= size:
                offset = saved_offset
        handle.seek(offset)
        self._handle, self._inode, self._offset = handle, inode, offset
        return True

    def _consume(self) -> tuple[AddResult, list[str]]:
        assert self._handle is not None
        self._handle.seek(self._offset)
        data = self._handle.read(READ_LIMIT)
        end = data.rfind(b"\n")
        if end < 0:
            return AddResult(), []
        complete = data[: end + 1]
        found = extract(complete.decode("utf-8", errors="replace"))
        self._offset += len(complete)
        result = self.store.add_followed(found.ids, self.key, self._inode, self._offset, batch=self.batch)
        return result, found.rejected

    def poll(self) -> FollowResult:
        """Add the IDs in lines written since the last poll; FollowError (one line) when the file cannot be read."""
        try:
            return self._poll()
        except OSError as exc:
            self.close()
            raise FollowError(
                f"cannot read {self.path}: {exc.strerror or exc} — fix that, or follow another file"
            ) from None

    def _poll(self) -> FollowResult:
        out = FollowResult()
        if self._handle is None and not self._open(start_at_saved=True):
            out.event = "waiting"
            return out
        assert self._handle is not None
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            stat = None
        current = os.fstat(self._handle.fileno())
        if current.st_size < self._offset:  # truncated in place
            self._offset = 0
            out.event = "truncated"
        self._drain(out)
        if stat is None or stat.st_ino != self._inode:  # rotated (or removed): finish the old, open the new
            self.close()
            if stat is not None and self._open(start_at_saved=False):
                out.event = "rotated"
                self._drain(out)
            elif stat is None:
                out.event = "waiting"
        return out

    def _drain(self, out: FollowResult) -> None:
        while True:
            before = self._offset
            result, rejected = self._consume()
            out.added += result.added
            out.present += result.present
            out.rejected.extend(rejected)
            if self._offset == before:
                return
