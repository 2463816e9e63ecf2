"""Resubmitting failed tasks: which are sent and why the others are not (:func:`plan`, pure), and the run that
sends them (:func:`send`), one POST each, never retried.

What each kind of answer means for the run — the rules the README lists:

- a new task ID: sent; the new task is watched in the original's batch, linked both ways;
- 402 (no credits), 401/505 (key refused, feature off): nothing was created, and nothing after it would be: stop;
- 429/455: nothing was created; wait for Retry-After and send the same body again (at most ``MAX_WAITS`` times);
- 400/422 and other refusals by code: nothing was created for this one; go on with the next;
- no connection could be opened: nothing was created; stop (the network is down);
- no answer (a timeout, a connection lost after sending), a 5xx or a body that is not kie.ai's: a task may or may
  not exist and only kie.ai's logs can tell. The attempt stays 'unknown', it is never sent again without
  ``--again``, and the run stops: the next request would likely meet the same trouble, and each may spend credits.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from mjdash.core.api.outcomes import Outcome, Submission
from mjdash.core.clock import Clock
from mjdash.core.engine.extra import within_budget
from mjdash.core.engine.ratelimit import RateLimiter
from mjdash.core.model import Status, Task, param_text
from mjdash.core.store import resubmissions
from mjdash.core.store.resubmissions import Intent
from mjdash.core.store.rows import with_record
from mjdash.core.timefmt import local
from mjdash.core.triage import Kind, classify

if TYPE_CHECKING:
    from mjdash.core.engine.engine import Engine
    from mjdash.core.store.database import Store
    from mjdash.core.store.gateway import StoreGateway

FAILURES = (Status.FAILED, Status.GENERATION_FAILED)
MAX_WAITS = 5  # Retry-After waits for one task before the run gives up on it
DEFAULT_RETRY_AFTER = 10.0  # seconds, when a 429/455 names none
MAX_RETRY_AFTER = 300.0  # a longer Retry-After stops the run instead of holding the terminal


@dataclass(frozen=True, slots=True)
class Candidate:
    task: Task
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Skipped:
    task_id: str
    reason: str


@dataclass
class Plan:
    """What a resubmit would do: the tasks to send with their bodies, and the others with the reason."""

    send: list[Candidate] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    unknown: list[Intent] = field(default_factory=list)  # earlier attempts whose outcome nobody knows


def body_of(task: Task, *, no_callback: bool = False) -> dict[str, Any] | None:
    """The original request as ``paramJson`` recorded it (unknown keys included), or None when it is not known."""
    if task.params_raw is not None or not task.params:
        return None
    body = dict(task.params)
    if no_callback:
        body.pop("callBackUrl", None)
    return body


def plan(
    tasks: Iterable[Task],
    *,
    missing: Iterable[str] = (),
    open_intents: Mapping[str, Intent] | None = None,
    again: bool = False,
    include_moderation: bool = False,
    no_callback: bool = False,
) -> Plan:
    """Sort the named tasks (each with its last record's details) into those to send and those skipped.
    ``missing`` are named IDs that are not in the watchlist."""
    result = Plan()
    intents = open_intents or {}
    result.skipped.extend(Skipped(t, "not in the watchlist — add it, and let it be polled, first") for t in missing)
    for task in tasks:
        reason = _skip_reason(task, intents.get(task.task_id), again, include_moderation)
        body = body_of(task, no_callback=no_callback) if reason is None else None
        if reason is None and body is None:
            reason = "its request parameters are not known (no paramJson in its last record)"
        if reason is not None:
            result.skipped.append(Skipped(task.task_id, reason))
            if task.task_id in intents and not again:
                result.unknown.append(intents[task.task_id])
        else:
            assert body is not None
            result.send.append(Candidate(task, body))
    return result


def plan_from(
    store: Store,
    *,
    ids: Sequence[str] | None = None,
    batch: str | None = None,
    again: bool = False,
    include_moderation: bool = False,
    no_callback: bool = False,
) -> Plan:
    """:func:`plan` for tasks named by ID (each one is accounted for), or else for the failed tasks of a batch
    (or of the whole watchlist): the others of a batch are not what was asked for, so they get no line."""
    statuses = None if ids is not None else FAILURES
    tasks = [with_record(row, raw) for row, raw in store.rows_with_raw(ids=ids, batch=batch, statuses=statuses)]
    found = {t.task_id for t in tasks}
    missing = [i for i in ids if i not in found] if ids is not None else []
    return plan(
        tasks,
        missing=missing,
        open_intents=resubmissions.open_intents(store, list(found) if ids is not None else None),
        again=again,
        include_moderation=include_moderation,
        no_callback=no_callback,
    )


def _skip_reason(task: Task, intent: Intent | None, again: bool, include_moderation: bool) -> str | None:
    if not task.status.is_failure:
        state = "still running" if task.status is Status.GENERATING else task.status.value
        return f"{state} — only failed tasks (failed, generation_failed) are resubmitted"
    if intent is not None and not again:
        return (
            f"a resubmission at {local(intent.started_at)} has an unknown outcome — check kie.ai's logs "
            "(--again sends it anyway)"
        )
    if task.retried_by is not None and not again:
        return f"already resubmitted as {task.retried_by} (--again sends it once more)"
    if not include_moderation and classify(task.error_code, task.error_message or "") is Kind.MODERATION:
        return "failed moderation: it would fail again — change the prompt (--include-moderation sends it anyway)"
    return None


class Step(enum.StrEnum):
    SENT = "sent"
    REFUSED = "refused"  # kie.ai refused it: nothing was created
    UNKNOWN = "unknown"  # a task may or may not have been created
    RACED = "raced"  # another run resubmitted it first
    WAITING = "waiting"  # 429/455: waiting for Retry-After


@dataclass(frozen=True, slots=True)
class Progress:
    """One thing that happened to one task during a run (for the command's lines and the dashboard's toasts)."""

    step: Step
    task_id: str
    retry: Task | None = None  # SENT: the new task, as now watched
    message: str = ""
    wait_s: float = 0.0


@dataclass
class Report:
    sent: list[tuple[str, str]] = field(default_factory=list)  # (original, new task)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (original, why)
    unknown: list[tuple[str, str]] = field(default_factory=list)
    not_sent: list[str] = field(default_factory=list)  # not tried: the run stopped first
    stopped: str | None = None  # why the run stopped early

    @property
    def complete(self) -> bool:
        """Everything that was to be sent was sent."""
        return not (self.refused or self.unknown or self.not_sent)

    def line(self, planned: Plan) -> str:
        """ "resubmitted 2 of 3, 1 refused, 4 skipped", and why it stopped early if it did."""
        parts = [f"resubmitted {len(self.sent)} of {len(planned.send)}"]
        if self.refused:
            parts.append(f"{len(self.refused)} refused")
        if self.unknown:
            parts.append(f"{len(self.unknown)} with unknown outcome")
        if planned.skipped:
            parts.append(f"{len(planned.skipped)} skipped")
        text = ", ".join(parts)
        if self.stopped:
            text += f" — stopped: {self.stopped}; {count(len(self.not_sent), 'task')} not sent"
        return text


def count(n: int, noun: str) -> str:
    """ "1 task", "3 tasks"."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def retry_row(original: Task, new_task_id: str, body: Mapping[str, Any], now: float) -> Task:
    """The new task as the watchlist holds it before its first poll: the original's batch, and what the body
    says of the request."""
    return Task(
        new_task_id,
        batch=original.batch,
        added_at=now,
        task_type=param_text(body, "taskType"),
        prompt=param_text(body, "prompt"),
        aspect=param_text(body, "aspectRatio"),
        speed=param_text(body, "speed"),
        version=param_text(body, "version"),
        retry_of=original.task_id,
    )


@runtime_checkable
class Generator(Protocol):
    async def generate(self, params: Mapping[str, Any]) -> Submission: ...


Gate = Callable[[Callable[[], Awaitable[Submission]]], Awaitable[Submission]]  # paces a request, then sends it


@dataclass(frozen=True)
class Sender:
    """What a run sends with: the client, the pacing of its requests, and the sleep for Retry-After."""

    client: Generator
    gate: Gate
    sleep: Callable[[float], Awaitable[None]]


def sender_for(client: Generator, rate: float, clock: Clock, engine: Engine | None = None) -> Sender:
    """A run's sender: in ``engine``'s budget while it leads; at ``rate`` of its own when no engine runs here, or
    when another process's engine has the budget (waiting for the lease would leave the resubmit hanging)."""
    limiter = RateLimiter(rate, clock)

    async def gate(request: Callable[[], Awaitable[Submission]]) -> Submission:
        if engine is not None and engine.leadership.leading:
            return await within_budget(engine, request)
        await limiter.acquire()
        return await request()

    return Sender(client, gate, clock.sleep)


_STOP = {
    Outcome.NO_CREDITS: "the kie.ai account is out of credits (402) — top up, then resubmit the rest",
    Outcome.UNAUTHORIZED: "the API key was rejected (401) — check KIE_API_KEY",
    Outcome.FEATURE_DISABLED: "kie.ai has disabled generation for now (505) — try again later",
}
_REFUSED = frozenset({Outcome.BAD_REQUEST, Outcome.VALIDATION, Outcome.NOT_FOUND, Outcome.UNEXPECTED_CODE})
_WAIT = frozenset({Outcome.RATE_LIMITED, Outcome.MAINTENANCE})


async def send(
    candidates: list[Candidate],
    *,
    sender: Sender,
    db: StoreGateway,
    again: bool = False,
    progress: Callable[[Progress], None] = lambda _: None,
) -> Report:
    """Send each candidate's body once, writing the intent (on the store's thread) before each POST; see the
    module's rules."""
    report = Report()
    run = _Run(sender, db, report, progress)
    for index, candidate in enumerate(candidates):
        original = candidate.task.task_id
        intent = await db(resubmissions.begin, db.store, original, candidate.body, again=again)
        if intent is None:
            progress(Progress(Step.RACED, original, message="another run resubmitted it first"))
            continue
        stop = await run.one(candidate, intent)
        if stop is not None:
            report.stopped = stop
            report.not_sent = [c.task.task_id for c in candidates[index + 1 :]]
            break
    return report


@dataclass
class _Run:
    sender: Sender
    db: StoreGateway
    report: Report
    progress: Callable[[Progress], None]

    async def one(self, candidate: Candidate, intent: int) -> str | None:
        """Send one body (again after each 429/455, within MAX_WAITS); the reason to stop the run, or None."""
        original, body = candidate.task.task_id, candidate.body
        client = self.sender.client
        for _ in range(MAX_WAITS + 1):
            answer = await self.sender.gate(lambda: client.generate(body))
            outcome = answer.answer.outcome
            if answer.ok and answer.task_id is not None:
                retry = retry_row(candidate.task, answer.task_id, body, self.db.store.clock())
                await self.db(resubmissions.sent, self.db.store, intent, retry)
                self.report.sent.append((original, answer.task_id))
                self.progress(Progress(Step.SENT, original, retry))
                return None
            if outcome in _WAIT:
                wait = answer.answer.retry_after
                wait = DEFAULT_RETRY_AFTER if wait is None else wait
                if wait > MAX_RETRY_AFTER:
                    break
                self.progress(Progress(Step.WAITING, original, message=answer.message, wait_s=wait))
                await self.sender.sleep(wait)
                continue
            if outcome in _STOP or outcome in _REFUSED or answer.unsent:
                await self._ended(original, intent, Step.REFUSED, answer.message)
                return "could not reach kie.ai; nothing was created" if answer.unsent else _STOP.get(outcome)
            message = (
                f"{answer.message} — it may have created a task: check kie.ai's logs "
                "(not sent again: a POST is not idempotent)"
            )
            await self._ended(original, intent, Step.UNKNOWN, message)
            return "the outcome of a request is unknown, so nothing more was sent"
        message = "kie.ai kept answering 'too many requests' or 'maintenance' — try again later"
        await self._ended(original, intent, Step.REFUSED, message)
        return message

    async def _ended(self, original: str, intent: int, step: Step, message: str) -> None:
        await self.db(resubmissions.ended, self.db.store, intent, step.value, message)
        (self.report.refused if step is Step.REFUSED else self.report.unknown).append((original, message))
        self.progress(Progress(step, original, message=message))
