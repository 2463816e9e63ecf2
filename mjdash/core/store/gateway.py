"""``StoreGateway``: the store's own thread, for code on an event loop.

Store calls get a thread of their own, one call at a time, in order: the loop's default executor also runs DNS
lookups (httpx via anyio) and image decoding, and on a network where lookups hang, queuing behind them would
freeze the table and the detail pane. Built by the dashboard's factory, closed when the dashboard exits.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

from mjdash.core.store.database import Store

R = TypeVar("R")


class StoreGateway:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mjdash-store")

    async def __call__(self, call: Callable[..., R], *args: Any, **kwargs: Any) -> R:
        """Run ``call(*args, **kwargs)`` (a store method, or a function of store reads) on the store's thread."""
        return await asyncio.get_running_loop().run_in_executor(self._thread, partial(call, *args, **kwargs))

    def close(self) -> None:
        """No new calls; one that is running finishes (SQLite is never interrupted half-way)."""
        self._thread.shutdown(wait=False, cancel_futures=True)
