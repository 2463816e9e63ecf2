"""Running mjdash's event loops so that nothing stuck in a system call can hold them (or the process) hostage.

A DNS lookup that hangs is the usual culprit: asyncio resolves names in its default executor, httpx bounds the
wait with its connect timeout, but the thread stays blocked in ``getaddrinfo`` — and both ``asyncio.run`` (which
joins the default executor on the way out) and the interpreter (which joins a ThreadPoolExecutor's threads at
exit) would then wait for it, for minutes. :class:`DaemonExecutor` runs those calls on daemon threads and never
waits for them when it shuts down; :func:`run` is ``asyncio.run`` with it installed. The dashboard installs it on
Textual's loop when it mounts.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
MAX_WORKERS = 8


class DaemonExecutor(ThreadPoolExecutor):
    """A small pool of daemon threads. ``shutdown`` never waits: a call stuck in the kernel is abandoned.

    A ThreadPoolExecutor only because asyncio accepts nothing else as a default executor: ``submit`` and
    ``shutdown`` are its own, and the base class never starts a thread (the interpreter joins those at exit)."""

    def __init__(self, max_workers: int = MAX_WORKERS) -> None:
        super().__init__(max_workers=1)
        self._work: queue.SimpleQueue[tuple[Future[Any], Callable[..., Any], tuple[Any, ...], dict[str, Any]] | None]
        self._work = queue.SimpleQueue()
        self._max = max_workers
        self._lock = threading.Lock()
        self._workers = 0
        self._idle = 0
        self._closed = False

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("cannot schedule new work after shutdown")
            self._work.put((future, fn, args, kwargs))
            if self._idle == 0 and self._workers < self._max:
                self._workers += 1
                threading.Thread(target=self._worker, name="mjdash-worker", daemon=True).start()
            else:
                self._idle -= 1 if self._idle else 0
        return future

    def _worker(self) -> None:
        while True:
            item = self._work.get()
            if item is None:
                return
            future, fn, args, kwargs = item
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn(*args, **kwargs))
                except BaseException as exc:  # handed to whoever awaits the future
                    future.set_exception(exc)
            with self._lock:
                self._idle += 1

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop the workers once they are free; never wait for one that is stuck."""
        with self._lock:
            self._closed = True
            workers = self._workers
        for _ in range(workers):
            self._work.put(None)


def install(loop: asyncio.AbstractEventLoop) -> None:
    """Make ``loop`` resolve names and run ``to_thread`` calls on daemon threads it never waits for."""
    loop.set_default_executor(DaemonExecutor())


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)`` whose exit never waits for a thread stuck in a system call (a hanging DNS lookup)."""
    with asyncio.Runner() as runner:
        install(runner.get_loop())
        return runner.run(main)
