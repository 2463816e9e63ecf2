"""The refresh engine: decides which task to ask kie.ai about when, within a rate and concurrency budget.

Used by the dashboard and by ``mjdash wait``. It polls only tasks that are not final (a forced refresh
excepted), in the order chosen by a policy (``schedule.py``: adaptive by default), at most ``rate`` requests a
second and ``concurrency`` in flight, never two for the same task. Every answer is written through the store;
what happened is reported as events to a callback:

* :class:`TaskChanged` — a task's status changed (one per change);
* :class:`TaskErrored` — a request about one task failed (and whether the engine gave up on it);
* :class:`StateChanged` — the engine's state: polling, paused, rate_limited (with the time it resumes),
  offline (since when), blocked (key rejected, out of credits), idle (nothing to poll);
* :class:`RoundFinished` — once per tick: counts, progress and an ETA, for a dashboard to repaint in one batch.

On 429 or 455 the whole engine waits (honouring Retry-After) and resumes by itself; after three network
failures in a row it is offline and probes with growing pauses; a rejected key or exhausted credits pause it
with a probe every minute, so it resumes when the cause is fixed — no restart. The clock is injected.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from mjdash.core.clock import Clock, SystemClock, TokenBucket
from mjdash.core.model import Status
from mjdash.core.outcomes import Fetch, Outcome
from mjdash.core.schedule import AdaptivePolicy, Tracked
from mjdash.core.store import Change, Store, TaskRow

DEFAULT_RATE = 2.0  # requests per second: well inside kie.ai's documented per-key limits
DEFAULT_CONCURRENCY = 4
OFFLINE_AFTER = 3  # consecutive network failures
BLOCKED_PROBE = 60.0
FLUSH_EVERY = 50  # answers written to the store in one transaction


class Fetcher(Protocol):
    async def fetch_once(self, task_id: str) -> Fetch: ...


class Mode(enum.StrEnum):
    POLLING = "polling"
    IDLE = "idle"
    PAUSED = "paused"
    RATE_LIMITED = "rate_limited"
    OFFLINE = "offline"
    BLOCKED = "blocked"
    STOPPED = "stopped"


@dataclass(frozen=True)
class EngineState:
    mode: Mode
    since: float
    resume_at: float | None = None
    message: str | None = None

    def describe(self, now: float) -> str:
        if self.mode is Mode.RATE_LIMITED and self.resume_at is not None:
            return f"rate limited — resuming in {max(0, round(self.resume_at - now))} s"
        if self.mode is Mode.OFFLINE:
            return f"offline for {max(0, round(now - self.since))} s — retrying"
        if self.mode is Mode.BLOCKED:
            return f"paused: {self.message}" if self.message else "paused"
        return self.mode.value


@dataclass(frozen=True)
class TaskChanged:
    change: Change
    at: float


@dataclass(frozen=True)
class TaskErrored:
    fetch: Fetch
    at: float
    gave_up: bool = False


@dataclass(frozen=True)
class StateChanged:
    state: EngineState


@dataclass(frozen=True)
class RoundFinished:
    at: float
    requests: int
    changes: int
    total: int
    done: int
    pending: int
    eta: float | None  # seconds until the last pending task is expected to finish


Event = TaskChanged | TaskErrored | StateChanged | RoundFinished


@dataclass
class Counters:
    requests: int = 0
    rate_limited: int = 0
    errors: int = 0
    by_outcome: dict[str, int] = field(default_factory=dict)


_FATAL_FOR_KEY = frozenset({Outcome.UNAUTHORIZED, Outcome.NO_CREDITS, Outcome.FEATURE_DISABLED})
_THROTTLE = frozenset({Outcome.RATE_LIMITED, Outcome.MAINTENANCE})
_NETWORK = frozenset({Outcome.NETWORK, Outcome.TIMEOUT, Outcome.SERVER_ERROR, Outcome.BAD_BODY})


class Poller:
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
        reload_every: float = 5.0,
        stop_on: Iterable[Outcome] = (),
    ) -> None:
        self.client = client
        self.store = store
        self.clock = clock or SystemClock()
        self.policy = policy or AdaptivePolicy()
        self.bucket = TokenBucket(rate, self.clock)
        self.concurrency = concurrency
        self.on_event = on_event or (lambda event: None)
        self.scope = set(scope) if scope is not None else None
        self.tick = tick
        self.reload_every = reload_every
        self.stop_on = frozenset(stop_on)
        self.tasks: dict[str, Tracked] = {}
        self.counters = Counters()
        self.fatal: Fetch | None = None
        self._inflight: set[str] = set()
        self._slots = asyncio.Semaphore(concurrency)
        self._paused = False
        self._stopping = False
        self._resume_at = 0.0
        self._net_failures = 0
        self._throttles = 0
        self._state = EngineState(Mode.IDLE, self.clock.now())
        self._round_requests = 0
        self._round_changes = 0
        self._pending_writes: list[tuple[Fetch, float]] = []
        self._flush_lock = asyncio.Lock()
        self._last_reload = float("-inf")
        self._reload_now = False
        self._force_all = False
        self._force_ids: set[str] = set()
        self.policy.durations.learn_all(store.finished_durations())

    # -- control ------------------------------------------------------------------------------------------
    @property
    def state(self) -> EngineState:
        return self._state

    def pause(self) -> None:
        self._paused = True
        self._set_state(Mode.PAUSED)

    def resume(self) -> None:
        self._paused = False
        self._set_state(Mode.POLLING)

    def stop(self) -> None:
        self._stopping = True

    def force(self, task_ids: Iterable[str] | None = None) -> int:
        """Poll these tasks (all when None) as soon as possible, final ones included; also re-reads the watchlist
        (so tasks just added are known). Returns how many were asked for. Cheap: the work happens in the loop."""
        if task_ids is None:
            self._force_all = True
            count = len(self.tasks)
        else:
            wanted = set(task_ids)
            self._force_ids |= wanted
            count = len(wanted)
        self._reload_now = True
        if self._state.mode in (Mode.OFFLINE, Mode.BLOCKED, Mode.RATE_LIMITED):
            self._resume_at = min(self._resume_at, self.clock.now())
        return count

    # -- the watchlist --------------------------------------------------------------------------------------
    def _read_rows(self) -> list[TaskRow]:
        return self.store.rows(ids=sorted(self.scope)) if self.scope is not None else self.store.rows()

    async def _reload(self) -> None:
        """Merge the store's watchlist (another process may add or remove tasks), read in a thread."""
        self._reload_now = False
        rows = await asyncio.to_thread(self._read_rows)
        self._merge(rows)
        chosen = (
            list(self.tasks.values())
            if self._force_all
            else [self.tasks[t] for t in self._force_ids if t in self.tasks]
        )
        for task in chosen:
            task.forced, task.next_due, task.gave_up = True, 0.0, False
        self._force_all, self._force_ids = False, set()

    def _merge(self, rows: list[TaskRow]) -> None:
        seen: set[str] = set()
        for row in rows:
            seen.add(row.task_id)
            known = self.tasks.get(row.task_id)
            if known is None:
                self.tasks[row.task_id] = _tracked(row)
            elif row.task_id not in self._inflight and row.status is not known.status and row.last_polled:
                known.status = row.status  # another process learned something
        for gone in set(self.tasks) - seen:
            if gone not in self._inflight:
                del self.tasks[gone]
        self._last_reload = self.clock.now()

    def pending(self) -> list[Tracked]:
        return [t for t in self.tasks.values() if t.pending]

    # -- the loop -----------------------------------------------------------------------------------------
    async def run(self, *, until_done: bool = False) -> None:
        """Poll until stopped (or, with ``until_done``, until no task is pending)."""
        await self._reload()
        self._set_state(Mode.POLLING)
        running: set[asyncio.Task[None]] = set()
        next_tick = self.clock.now() + self.tick
        try:
            while not self._stopping:
                now = self.clock.now()
                if now >= next_tick:
                    await self._finish_round()
                    next_tick = now + self.tick
                    if now - self._last_reload >= self.reload_every:
                        self._reload_now = True
                if self._reload_now:
                    await self._reload()
                if until_done and not self.pending() and not self._inflight:
                    break
                if self.fatal is not None:
                    break
                wait = self._blocked_for(now)
                if wait > 0:
                    await self.clock.sleep(max(0.001, min(wait, self.tick)))
                    continue
                batch = self._choose(now, self.concurrency - len(self._inflight))
                if not batch:
                    idle = not self.pending()
                    if idle and self._state.mode is Mode.POLLING:
                        self._set_state(Mode.IDLE)
                    elif not idle and self._state.mode is Mode.IDLE:
                        self._set_state(Mode.POLLING)
                    await self.clock.sleep(min(self._until_next_due(now), max(0.01, next_tick - now)))
                    continue
                if self._state.mode is Mode.IDLE:
                    self._set_state(Mode.POLLING)
                for task in batch:
                    await self.bucket.acquire()
                    if self._stopping or self._blocked_for(self.clock.now()) > 0:
                        break
                    await self._slots.acquire()
                    self._inflight.add(task.task_id)
                    job = asyncio.ensure_future(self._poll(task))
                    running.add(job)
                    job.add_done_callback(running.discard)
                await asyncio.sleep(0)
        finally:
            if running:
                await asyncio.gather(*running, return_exceptions=True)
            await self._finish_round()
            self._set_state(Mode.STOPPED)

    def _blocked_for(self, now: float) -> float:
        if self._paused:
            return self.tick
        return max(0.0, self._resume_at - now)

    def _until_next_due(self, now: float) -> float:
        dues = [t.next_due for t in self.tasks.values() if t.pending and t.task_id not in self._inflight]
        return max(0.01, min(dues) - now) if dues else self.tick

    def _choose(self, now: float, room: int) -> list[Tracked]:
        if room <= 0:
            return []
        due = [
            t
            for t in self.tasks.values()
            if t.pending and t.task_id not in self._inflight and (t.next_due <= now or t.forced)
        ]
        due.sort(key=lambda t: self.policy.priority(t, now), reverse=True)
        return due[:room]

    async def _poll(self, task: Tracked) -> None:
        try:
            fetch = await self.client.fetch_once(task.task_id)
            self._handle(task, fetch)
            if len(self._pending_writes) >= FLUSH_EVERY:
                await self._flush(self.clock.now())
        finally:
            self._inflight.discard(task.task_id)
            self._slots.release()

    # -- answers ------------------------------------------------------------------------------------------
    def _handle(self, task: Tracked, fetch: Fetch) -> None:
        now = self.clock.now()
        c = self.counters
        c.requests += 1
        self._round_requests += 1
        c.by_outcome[fetch.outcome.value] = c.by_outcome.get(fetch.outcome.value, 0) + 1
        task.last_polled = now
        if fetch.outcome in _THROTTLE:
            c.rate_limited += 1
            self._throttles += 1
            wait = fetch.retry_after if fetch.retry_after is not None else min(60.0, 5.0 * 2 ** (self._throttles - 1))
            self._resume_at = max(self._resume_at, now + wait)
            self._set_state(Mode.RATE_LIMITED, resume_at=self._resume_at, message=fetch.message)
            task.next_due = now  # ask again first thing after the pause
            return
        if fetch.outcome in _NETWORK or fetch.outcome in _FATAL_FOR_KEY:
            c.errors += 1
            self._write(fetch, now, now + self.policy.min_interval)
            self.on_event(TaskErrored(fetch, now))
            task.next_due = now + self.policy.min_interval
            if fetch.outcome in _FATAL_FOR_KEY:
                if fetch.outcome in self.stop_on:
                    self.fatal = fetch
                self._resume_at = now + BLOCKED_PROBE
                self._set_state(Mode.BLOCKED, resume_at=self._resume_at, message=fetch.message)
                return
            self._net_failures += 1
            if self._net_failures >= OFFLINE_AFTER:
                pause = min(60.0, 2.0 ** (self._net_failures - OFFLINE_AFTER + 1))
                self._resume_at = now + pause
                if self._state.mode is not Mode.OFFLINE:
                    self._set_state(Mode.OFFLINE, resume_at=self._resume_at, message=fetch.message)
            return
        # The API answered about this task: the key and the network are fine.
        self._net_failures = 0
        self._throttles = 0
        if self._state.mode in (Mode.RATE_LIMITED, Mode.OFFLINE, Mode.BLOCKED):
            self._set_state(Mode.POLLING)
        task.forced = False
        if fetch.ok and fetch.task is not None:
            parsed = fetch.task
            task.status = parsed.status
            task.errors, task.error_since = 0, None
            task.created_at = parsed.created_at.timestamp() if parsed.created_at else task.created_at
            task.task_type = parsed.task_type or task.task_type
            task.speed = parsed.param("speed") or task.speed
            if parsed.status is Status.SUCCESS and parsed.duration_s:
                self.policy.durations.learn(task.task_type, task.speed, parsed.duration_s)
            task.next_due = self.policy.after_poll(task, now)
            self._write(fetch, now, task.next_due)
            return
        c.errors += 1
        task.errors += 1
        task.error_since = task.error_since if task.error_since is not None else now
        task.status = fetch.status if fetch.status is Status.NOT_FOUND else Status.ERROR
        task.next_due = self.policy.after_error(task, now)
        task.gave_up = now - task.error_since >= self.policy.give_up_after
        self._write(fetch, now, task.next_due)
        self.on_event(TaskErrored(fetch, now, gave_up=task.gave_up))

    def _write(self, fetch: Fetch, now: float, next_due: float) -> None:
        self._pending_writes.append((fetch, next_due))

    async def _flush(self, now: float) -> None:
        """Write what was learned in one transaction, in a thread: the engine shares the dashboard's event loop,
        and a write can wait for another process's transaction. One flush at a time, so writes stay in order."""
        async with self._flush_lock:
            if not self._pending_writes:
                return
            writes, self._pending_writes = self._pending_writes, []
            try:
                changes = await asyncio.to_thread(
                    self.store.record, [f for f, _ in writes], next_due={f.task_id: d for f, d in writes}
                )
            except BaseException:
                self._pending_writes[:0] = writes  # kept for the next flush: what was learned is not lost
                raise
        for change in changes:
            self._round_changes += 1
            self.on_event(TaskChanged(change, now))

    async def _finish_round(self) -> None:
        now = self.clock.now()
        await self._flush(now)
        pending = self.pending()
        total = len(self.tasks)
        eta = None
        if pending:
            ends = [(t.created_at or t.added_at) + self.policy.expected(t) for t in pending]
            eta = max(0.0, max(ends) - now)
        self.on_event(
            RoundFinished(
                now, self._round_requests, self._round_changes, total, total - len(pending), len(pending), eta
            )
        )
        self._round_requests = self._round_changes = 0

    def _set_state(self, mode: Mode, *, resume_at: float | None = None, message: str | None = None) -> None:
        if self._paused and mode not in (Mode.PAUSED, Mode.STOPPED):
            mode = Mode.PAUSED
        old = self._state
        if old.mode is mode and old.resume_at == resume_at and old.message == message:
            return
        since = old.since if old.mode is mode else self.clock.now()
        self._state = EngineState(mode, since, resume_at, message)
        self.on_event(StateChanged(self._state))


def _tracked(row: TaskRow) -> Tracked:
    errors_status = row.status in (Status.NOT_FOUND, Status.ERROR)
    return Tracked(
        task_id=row.task_id,
        status=row.status,
        added_at=row.added_at,
        created_at=row.created_at,
        task_type=row.task_type,
        speed=row.speed,
        last_polled=row.last_polled,
        errors=row.consecutive_errors if errors_status else 0,
        error_since=row.error_since if errors_status else None,
        next_due=row.next_due or 0.0,
    )
