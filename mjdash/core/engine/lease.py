"""One engine per database: a lease decides which process polls kie.ai (the *leader*); the others follow.

The lease is a row in the database (``store/lease.py``), not a file lock, so it behaves the same on network
filesystems where ``flock`` lies. The leader renews its heartbeat every ``renew_every`` seconds. Another process
takes over once the heartbeat has not moved for ``ttl`` seconds *of its own clock* (so clocks that disagree
between hosts do not matter), with a compare-and-set: of two processes taking over at once, one wins.

A leader sends requests only within ``safe_for`` seconds of its last renewal (``may_send``). A leader that was
suspended, lost its disk or saw its clock jump finds its renewal old, renews before sending again, learns the
lease is gone, and stops: since ``safe_for`` < ``ttl``, two processes never poll at once — short of a process
suspended between the check and the send, which can let the requests already decided on go out late.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Collection
from typing import Any

from mjdash.core.engine.ratelimit import Aimd
from mjdash.core.engine.watched import Watched
from mjdash.core.store import lease as table
from mjdash.core.store.database import Store
from mjdash.core.store.lease import Holder

Offload = Callable[..., Awaitable[Any]]
TTL = 6.0  # seconds a silent heartbeat is tolerated: with a 1 s look, a takeover within 10 s
RENEW_EVERY = 2.0
SAFE_FOR = 4.0
SCALE_ENV = "MJDASH_LEASE_SCALE"  # all three times scaled (tests with real processes use 0.5: half the wait)


def lease_for(store: Store) -> Lease:
    """The lease every polling process uses (the dashboard, ``wait``)."""
    try:
        scale = float(os.environ.get(SCALE_ENV, "1"))
    except ValueError:
        scale = 1.0
    scale = scale if 0.05 <= scale <= 10 else 1.0
    return Lease(store, ttl=TTL * scale, renew_every=RENEW_EVERY * scale, safe_for=SAFE_FOR * scale)


class Lease:
    def __init__(
        self,
        store: Store,
        *,
        ttl: float = TTL,
        renew_every: float = RENEW_EVERY,
        safe_for: float = SAFE_FOR,
        pid: int | None = None,
        host: str | None = None,
    ) -> None:
        self.store = store
        self.ttl, self.renew_every, self.safe_for = ttl, renew_every, safe_for
        self.owner = uuid.uuid4().hex
        self.pid = os.getpid() if pid is None else pid
        self.host = socket.gethostname() if host is None else host
        self.leading = False
        self.holder: Holder | None = None  # who leads, as last seen
        self._term = 0
        self._renewed_at = float("-inf")
        self._seen: Holder | None = None  # the other holder's lease as first seen unchanged…
        self._seen_at = 0.0  # …and when, on our clock

    def step(self, now: float) -> None:
        """Look at the lease (about once a second): renew it when leading, take it over when its holder has
        been silent for ``ttl``. Blocking (SQLite): run it off the event loop."""
        if self.leading:
            if not (0 <= now - self._renewed_at < self.renew_every):
                self._renew(now)
            return
        current = table.holder(self.store)
        if current is not None and current.owner != self.owner:
            if current != self._seen:
                self._seen, self._seen_at = current, now
            if now - self._seen_at < self.ttl:
                self.holder = current
                return
        self._claim(now, current)

    def may_send(self, now: float) -> bool:
        """Whether a request may leave now: leading, and renewed recently enough."""
        return self.leading and 0 <= now - self._renewed_at < self.safe_for

    def release(self) -> None:
        """On a clean exit: let another process take over at once."""
        if self.leading:
            self.leading = False
            table.release(self.store, self.owner, self._term)

    def describe(self) -> str:
        holder = self.holder
        if self.leading or holder is None:
            return ""
        return f"following the engine of PID {holder.pid} on {holder.host}"

    def _renew(self, now: float) -> None:
        if table.renew(self.store, self.owner, self._term, now):
            self._renewed_at = now
            return
        self.leading = False  # taken over while we were away
        self.holder = table.holder(self.store)
        self._seen, self._seen_at = self.holder, now

    def _claim(self, now: float, seen: Holder | None) -> None:
        me = Holder(self.owner, self.pid, self.host, now, 0)
        won = table.claim(self.store, me, seen)
        if won is None:
            self.holder = table.holder(self.store)
            self._seen, self._seen_at = self.holder, now
            return
        self.leading, self.holder, self._term, self._renewed_at = True, won, won.term, now


class Leadership:
    """The engine's side of the lease: whether it may send, what other processes asked for, the rate it learned.
    Without a lease (``None``) the engine always leads: one process, its own budget."""

    def __init__(self, lease: Lease | None, store: Store, offload: Offload) -> None:
        self.lease, self.store, self.offload = lease, store, offload
        self._rate_saved: float | None = None
        self._asked = False

    @property
    def leading(self) -> bool:
        return self.lease is None or self.lease.leading

    def may_send(self, now: float) -> bool:
        return self.lease is None or self.lease.may_send(now)

    async def look(self, now: float, aimd: Aimd, waited_for: Collection[str]) -> bool | None:
        """Renew or watch the lease: True when this process just became the leader (``aimd`` then starts from
        the rate the last leader learned), False while it follows (the first time, it asks the leader for the
        tasks it waits for), None when it leads as before (the rate it learned is kept for the next one)."""
        if self.lease is None:
            return None
        was = self.lease.leading
        await self.offload(self.lease.step, now)
        if self.lease.leading and not was:
            rate = await self.offload(table.saved_rate, self.store)
            if rate is not None:
                aimd.resume_from(rate)
            return True
        if self.lease.leading:
            await self.save_rate(aimd.rate)
            return None
        if not self._asked and waited_for:
            self._asked = True
            await self.ask(sorted(waited_for), now)
        return False

    async def route(self, watched: Watched, asked: list[str] | None, now: float) -> None:
        """Queue the tasks asked for here (None: every task) and, as the leader, those other processes asked
        for; as a follower, pass what was asked here on to the leader."""
        if self.leading:
            theirs, everything = await self.requests()
            watched.force(watched.tasks.keys() if asked is None or everything else [*asked, *theirs])
        elif asked is None or asked:
            await self.ask(asked, now)

    def describe(self) -> str:
        return self.lease.describe() if self.lease is not None else ""

    async def requests(self) -> tuple[list[str], bool]:
        """(As the leader) the tasks other processes asked for, and whether they asked for every task."""
        if self.lease is None:
            return [], False
        return await self.offload(table.take_requests, self.store)

    async def ask(self, task_ids: list[str] | None, now: float) -> None:
        """(As a follower) ask the leader to poll these tasks (None: every task)."""
        await self.offload(table.request_polls, self.store, task_ids, now)

    async def saved_rate(self) -> float | None:
        return None if self.lease is None else await self.offload(table.saved_rate, self.store)

    async def save_rate(self, rate: float) -> None:
        """(As the leader) keep the learned rate in the database when it moved, for the next leader."""
        if self.lease is None or (self._rate_saved is not None and abs(rate - self._rate_saved) < 0.01 * rate):
            return
        self._rate_saved = rate
        await self.offload(table.save_rate, self.store, rate)

    async def release(self) -> None:
        if self.lease is not None:
            await self.offload(self.lease.release)
