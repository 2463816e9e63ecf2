"""The refresh engine: decides which task to ask kie.ai about when, within a rate and concurrency budget.

Used by the dashboard and by ``mjdash wait``. It polls only tasks that are not final (a forced refresh
excepted), never two requests for one task at once, and it is work-conserving: whenever the rate limiter and the
concurrency cap let a request leave, it asks about the best task past its floor (``schedule.py`` says which,
``due_queue.py`` finds it in O(log N)). Every answer is written through the store; what happened is reported as
events (``events.py``).

* **Rate.** Never more than ``rate`` requests in any one-second window, evenly paced (``ratelimit.py``). A 429 or
  455 pauses the whole engine until Retry-After and lowers its effective rate (AIMD); it climbs back while the
  server answers.
* **The watchlist** is read once, then followed through the store's change feed (``reader.py``).
* **Outages.** Offline, or with a rejected key or no credits, it pauses and probes by itself (``pauses.py``).
* **One engine per database.** With a ``lease`` only the process holding it polls (``lease.py``).
* **Stuck** tasks (older than 99 % of their kind) are reported once, flagged in the store, and asked about last.
The clock is injected: the unit tests run hours of engine time in milliseconds without sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable
from typing import Protocol

from mjdash.core.api.outcomes import Fetch, Kind, Outcome
from mjdash.core.clock import Clock, SystemClock
from mjdash.core.engine.events import (
    EngineState,
    Event,
    Mode,
    RoundFinished,
    StateChanged,
    TaskChanged,
    TaskErrored,
    TaskStuck,
)
from mjdash.core.engine.lease import Leadership, Lease
from mjdash.core.engine.pauses import Pauses
from mjdash.core.engine.ratelimit import Aimd, RateLimiter
from mjdash.core.engine.reader import WatchlistReader
from mjdash.core.engine.recorder import Offload, Recorder
from mjdash.core.engine.schedule import AdaptivePolicy, Tracked
from mjdash.core.engine.watched import Watched
from mjdash.core.errors import StoreError
from mjdash.core.model import Status
from mjdash.core.store.database import Store

__all__ = ["Engine", "Fetcher"]

DEFAULT_RATE = 2.0  # requests per second: well inside kie.ai's documented per-key limits
DEFAULT_CONCURRENCY = 4


class Fetcher(Protocol):
    async def fetch_once(self, task_id: str) -> Fetch: ...


class Engine:
    def __init__(
        self,
        client: Fetcher,
        store: Store,
        *,
        rate: float = DEFAULT_RATE,
        concurrency: int = DEFAULT_CONCURRENCY,
        clock: Clock | None = None,
        policy: AdaptivePolicy | None = None,
        on_event: Callable[[Event], None] | None = None,
        scope: Iterable[str] | None = None,
        tick: float = 1.0,
        stop_on: Iterable[Outcome] = (),
        margin: float = 0.02,
        seed: int | None = None,
        offload: Offload = asyncio.to_thread,
        lease: Lease | None = None,
        watch: Iterable[str] | None = None,
    ) -> None:
        """``scope`` limits the tasks read at all; ``watch`` the ones a caller waits for (asked about first,
        counted in rounds, ``until_done``); ``lease`` shares one engine between the processes on a database."""
        self.client = client
        self.store = store
        self.clock = clock or SystemClock()
        self.policy = policy or AdaptivePolicy()
        self.aimd = Aimd(rate)
        self.limiter = RateLimiter(rate, self.clock, margin=margin, cold=concurrency)
        self.concurrency = concurrency
        self.on_event = on_event or (lambda event: None)
        self.reader = WatchlistReader(store, offload, scope)
        self.tick = tick
        self.stop_on = frozenset(stop_on)
        self.offload = offload  # runs the store's I/O off the event loop (tests on a virtual clock run it inline)
        self.requests = 0
        self.fatal: Fetch | None = None
        self.pauses = Pauses(seed)
        self.watched = Watched(self.policy, frozenset(watch or ()))
        self.leadership = Leadership(lease, store, offload)
        self._paused = False
        self._stopping = False
        self._state = EngineState(Mode.IDLE, self.clock.now())
        self._round_requests = 0
        self._round_changes = 0
        self._polled_round: set[str] = set()
        self.recorder = Recorder(store, offload)
        self._reload_now = False
        self._force_all = False
        self._force_ids: dict[str, None] = {}  # in the order asked (a set's order changes with the hash seed)
        self._wake: asyncio.Event | None = None
        self._handlers: dict[Kind, Callable[[Tracked, Fetch, float, float | None], None]] = {
            Kind.OK: self._on_record,
            Kind.NOT_FOUND: self._on_no_record,
            Kind.RATE_LIMITED: self._on_throttle,
            Kind.MAINTENANCE: self._on_throttle,
            Kind.KEY_REJECTED: self._on_blocked,
            Kind.NO_CREDITS: self._on_blocked,
            Kind.SERVER: self._on_unavailable,
            Kind.NETWORK: self._on_unavailable,
            Kind.BAD_BODY: self._on_unavailable,
        }
        self.policy.durations.learn_all(store.finished_durations())

    # -- control ------------------------------------------------------------------------------------------
    @property
    def state(self) -> EngineState:
        return self._state

    @property
    def effective_rate(self) -> float:
        """Requests per second the engine allows itself now (below the configured rate after throttles)."""
        return self.limiter.per_second

    def pause(self) -> None:
        self._paused = True
        self._set_state(Mode.PAUSED)

    def resume(self) -> None:
        self._paused = False
        self._set_state(Mode.POLLING)
        self._poke()

    def stop(self) -> None:
        self._stopping = True
        self._poke()

    def force(self, task_ids: Iterable[str] | None = None) -> int:
        """Poll these tasks (all when None) as soon as possible, final ones included; also reads the change feed
        (so tasks just added are known). Returns how many were asked for. Cheap: the work happens in the loop."""
        if task_ids is None:
            self._force_all = True
            count = len(self.watched.tasks)
        else:
            wanted = dict.fromkeys(task_ids)
            self._force_ids.update(wanted)
            count = len(wanted)
        self._reload_now = True
        if self._state.mode in (Mode.OFFLINE, Mode.BLOCKED, Mode.RATE_LIMITED):
            self.pauses.hurry(self.clock.now())
        self._poke()
        return count

    def _poke(self) -> None:
        if self._wake is not None:
            self._wake.set()

    # -- the watchlist --------------------------------------------------------------------------------------
    async def _sync(self) -> None:
        """Read what changed in the watchlist, look at the lease, then queue what was asked for meanwhile."""
        self._reload_now = False
        for change in await self.reader.read(self.watched):  # learned by another process (the leader)
            self.on_event(TaskChanged(change, self.clock.now()))
        became = await self.leadership.look(self.clock.now(), self.aimd, self.watched.favoured_pending)
        if became is True:
            self.limiter.set_rate(self.aimd.rate)  # the rate the last leader learned
            self._set_state(Mode.POLLING)
        elif became is False:
            self._set_state(Mode.FOLLOWING, message=self.leadership.describe())
        asked = None if self._force_all else list(self._force_ids)
        self._force_all, self._force_ids = False, {}
        await self.leadership.route(self.watched, asked, self.clock.now())

    # -- the loop -------------------------------------------------------------------------------------------
    async def run(self, *, until_done: bool = False) -> None:
        """Poll until stopped (or, with ``until_done``, until no task is pending)."""
        self._stopping = False
        self._wake = asyncio.Event()
        await self._sync()
        if self.leadership.leading:
            self._set_state(Mode.POLLING)
        running: set[asyncio.Task[None]] = set()
        next_tick = self.clock.now() + self.tick
        try:
            while not self._stopping:
                now = self.clock.now()
                if now >= next_tick:
                    await self._finish_round()
                    await self._sync()
                    self.watched.observe_running(now)
                    next_tick = now + self.tick
                elif self._reload_now:
                    await self._sync()
                self.watched.rekey_some()
                watched = self.watched
                if (until_done and watched.done()) or self.fatal is not None:
                    break
                until_tick = max(0.001, next_tick - now)
                if not self.leadership.may_send(now):  # following, or leading but not renewed lately
                    await (self._sync() if self.leadership.leading else self._sleep(until_tick))
                    continue
                wait = self._blocked_for(now)
                if wait <= 0 and len(watched.inflight) >= self.concurrency:
                    wait = 1.0 / self.limiter.rate  # a finishing request wakes the loop sooner
                if wait <= 0:
                    wait = self.limiter.delay()
                if wait > 0:
                    await self._sleep(min(wait, until_tick))
                    continue
                task = watched.take(now)
                if task is None:
                    self._set_idle(not watched.pending)
                    nxt = watched.next_eligible()
                    await self._sleep(min(until_tick, nxt - now if nxt is not None else self.tick))
                    continue
                self._set_idle(False)
                self.limiter.take()
                job = asyncio.ensure_future(self._poll(task))
                running.add(job)
                job.add_done_callback(running.discard)
                await asyncio.sleep(0)
        finally:
            if running:
                await asyncio.gather(*running, return_exceptions=True)
            await self._finish_round()
            with contextlib.suppress(StoreError):
                await self.leadership.release()  # another process takes over at once
            self._set_state(Mode.STOPPED)

    async def _sleep(self, seconds: float) -> None:
        """Sleep on the clock, waking early when poked (force, resume, stop, a finished request)."""
        assert self._wake is not None
        if self._wake.is_set():
            self._wake.clear()
            return
        sleeper = asyncio.ensure_future(self.clock.sleep(max(0.001, seconds)))
        waker = asyncio.ensure_future(self._wake.wait())
        _, pending = await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
        for job in pending:
            job.cancel()
        self._wake.clear()

    def _set_idle(self, idle: bool) -> None:
        if idle and self._state.mode is Mode.POLLING:
            self._set_state(Mode.IDLE)
        elif not idle and self._state.mode is Mode.IDLE:
            self._set_state(Mode.POLLING)

    def _blocked_for(self, now: float) -> float:
        if self._paused:
            return self.tick
        return self.pauses.wait(now)

    async def _poll(self, task: Tracked) -> None:
        try:
            fetch = await self.client.fetch_once(task.task_id)
            self._handle(task, fetch)
        finally:
            self.watched.answered(task)
            self._poke()
        if self.recorder.full:
            await self._flush(self.clock.now())

    # -- answers --------------------------------------------------------------------------------------------
    def _handle(self, task: Tracked, fetch: Fetch) -> None:
        now = self.clock.now()
        self.requests += 1
        self._round_requests += 1
        self._polled_round.add(task.task_id)
        previous, task.last_polled = task.last_polled, now
        self._handlers[fetch.outcome.kind](task, fetch, now, previous)

    def _on_throttle(self, task: Tracked, fetch: Fetch, now: float, previous: float | None) -> None:
        """429 / 455: pause everything until Retry-After, and lower the effective rate (once per episode). The
        answer said nothing about the task, so it does not count as a look: it is asked about again first."""
        task.last_polled = previous
        if self.aimd.throttled(now):
            self.limiter.set_rate(self.aimd.rate)
        self.pauses.throttled(now, fetch.retry_after)
        self._set_state(Mode.RATE_LIMITED, resume_at=self.pauses.resume_at, message=fetch.message)

    def _on_blocked(self, task: Tracked, fetch: Fetch, now: float, previous: float | None) -> None:
        """The key was rejected or the account is out of credits: pause, probing once a minute."""
        self.recorder.answer(fetch, now)
        self.on_event(TaskErrored(fetch, now))
        if fetch.outcome in self.stop_on:
            self.fatal = fetch
        self.pauses.blocked(now)
        self._set_state(Mode.BLOCKED, resume_at=self.pauses.resume_at, message=fetch.message)

    def _on_unavailable(self, task: Tracked, fetch: Fetch, now: float, previous: float | None) -> None:
        """No usable answer — no connection or none in time, a 5xx, a body that is not the API's: after three in
        a row, offline, probing with growing pauses (``pauses.py``)."""
        self.recorder.answer(fetch, now)
        self.on_event(TaskErrored(fetch, now))
        if self.pauses.unavailable(now) and self._state.mode is not Mode.OFFLINE:
            self._set_state(Mode.OFFLINE, resume_at=self.pauses.resume_at, message=fetch.message)

    def _answered(self, fetch: Fetch, now: float) -> None:
        """The API answered about a task: the key and the network are fine."""
        self.pauses.answered()
        if self.aimd.answered(now):
            self.limiter.set_rate(self.aimd.rate)
        if self._state.mode in (Mode.RATE_LIMITED, Mode.OFFLINE, Mode.BLOCKED):
            self._set_state(Mode.POLLING)
        self.recorder.answer(fetch, now)

    def _on_record(self, task: Tracked, fetch: Fetch, now: float, previous: float | None) -> None:
        """The task's record: its state, and what its finishing teaches about its kind."""
        self._answered(fetch, now)
        task.forced = False
        if fetch.task is None or fetch.task.status is Status.UNKNOWN:
            self._unreadable(task, fetch, now)
            return
        parsed = fetch.task
        self.watched.update(task, task.task.merged(parsed))
        task.errors, task.error_since = 0, None
        if parsed.status is Status.SUCCESS and parsed.duration_s:
            self.policy.durations.learn(task.task_type, task.speed, parsed.duration_s)
            self.watched.learned()
        if task.status.is_final:
            task.stuck = False
        elif not task.stuck and self.policy.is_stuck(task, now):
            self.watched.mark_stuck(task)
            self.recorder.stuck(task.task_id, now)
            self.on_event(TaskStuck(task.task_id, now, task.age(now), self.policy.expected(task)))

    def _on_no_record(self, task: Tracked, fetch: Fetch, now: float, previous: float | None) -> None:
        """An answer about this task that is no record (unknown ID, a refused request): asked again with
        backoff, and given up after ``give_up_after``."""
        self._answered(fetch, now)
        task.forced = False
        task.gave_up = self.policy.errored(task, now)
        self.watched.set_status(task, fetch.status if fetch.status is Status.NOT_FOUND else Status.ERROR)
        self.on_event(TaskErrored(fetch, now, gave_up=task.gave_up))

    def _unreadable(self, task: Tracked, fetch: Fetch, now: float) -> None:
        """An answer whose state we cannot read (a successFlag the spec does not list): kept, asked again with
        backoff, and after ``give_up_after`` the task ends as ``error`` — a wait must not run forever on it."""
        if self.policy.errored(task, now):
            task.gave_up = True
            self.watched.set_status(task, Status.ERROR)
            flag = fetch.raw.get("successFlag") if isinstance(fetch.raw, dict) else "?"
            self.recorder.give_up(
                task.task_id, f"kie.ai kept answering with a state mjdash does not know (successFlag {flag!r})"
            )
        self.on_event(TaskErrored(fetch, now, gave_up=task.gave_up))

    async def _flush(self, now: float) -> None:
        for change in await self.recorder.flush():
            self._round_changes += 1
            self.on_event(TaskChanged(change, now))

    async def _finish_round(self) -> None:
        now = self.clock.now()
        await self._flush(now)
        watched = self.watched
        total, pending, counts = watched.summary()
        self.on_event(
            RoundFinished(
                now,
                self._round_requests,
                self._round_changes,
                total,
                total - pending,
                pending,
                watched.eta(now),
                rate=self.effective_rate,
                configured_rate=self.aimd.ceiling,
                stuck=len(watched.stuck),
                counts=counts,
                polled=frozenset(self._polled_round),
            )
        )
        self._round_requests = self._round_changes = 0
        self._polled_round = set()

    def _set_state(self, mode: Mode, *, resume_at: float | None = None, message: str | None = None) -> None:
        if self._paused and mode not in (Mode.PAUSED, Mode.STOPPED):
            mode = Mode.PAUSED
        old = self._state
        if old.mode is mode and old.resume_at == resume_at and old.message == message:
            return
        since = old.since if old.mode is mode else self.clock.now()
        self._state = EngineState(mode, since, resume_at, message)
        self.on_event(StateChanged(self._state))
