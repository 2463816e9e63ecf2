"""How the engine reads the watchlist: everything once, then only the store's change feed (rows changed since a
mark), so a task added, removed or learned about by another process is picked up within a tick at a cost
proportional to what changed. The reads run off the event loop (``offload``)."""

from __future__ import annotations

import gc
from collections.abc import Iterable

from mjdash.core.engine.recorder import Offload
from mjdash.core.engine.watched import Watched
from mjdash.core.store.database import Store
from mjdash.core.store.rows import Change, Feed


class WatchlistReader:
    def __init__(self, store: Store, offload: Offload, scope: Iterable[str] | None = None) -> None:
        self.store, self.offload = store, offload
        self.scope = set(scope) if scope is not None else None  # filtered here: a 50,000-ID SQL list is slow
        self.mark: int | None = None  # None: nothing read yet

    async def read(self, watched: Watched) -> list[Change]:
        """Bring ``watched`` up to date with the store; returns the state changes other processes wrote."""
        if self.mark is None:
            return await self.offload(self._load_all, watched)  # tens of thousands of rows: off the event loop
        feed = await self.offload(self.store.changes_since, self.mark)
        if feed.full:  # removals after our mark may have been forgotten: read everything again
            return await self.offload(self._load_all, watched)
        self.mark = feed.mark
        return watched.apply(self._in_scope(feed))

    def _load_all(self, watched: Watched) -> list[Change]:
        mark = self.store.mark()  # before the rows: a change in between is read again next time, harmlessly
        changes = watched.replace_all(self._in_scope(Feed(mark, list(self.store.iter_rows()))))
        self.mark = mark
        # What was just read lives as long as the engine: keep it out of the cyclic GC's full collections, which
        # would walk 100,000 tasks' objects on the event loop (~40 ms per 300,000 objects) now and then.
        gc.freeze()
        return changes

    def _in_scope(self, feed: Feed) -> Feed:
        scope = self.scope
        if scope is None:
            return feed
        rows = [r for r in feed.rows if r.task_id in scope]
        return Feed(feed.mark, rows, [t for t in feed.removed if t in scope], feed.full)
