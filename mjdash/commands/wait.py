"""``mjdash wait``: poll the given tasks with the refresh engine until every one is final.

Exit 0 when all succeeded, 1 when any failed or could not be fetched for good, 124 on timeout, 130 on Ctrl-C —
in every case after saving what it learned (the engine writes every answer through the store).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import signal
import sys
import time
from collections import Counter
from typing import TextIO

from mjdash.commands.common import STATUS_MARK, UsageError, err, make_client, valid_ids
from mjdash.commands.jsonl import JsonLines
from mjdash.commands.progress import ProgressBar
from mjdash.config import Settings
from mjdash.core import aio
from mjdash.core.api.outcomes import Outcome
from mjdash.core.engine.engine import Engine
from mjdash.core.engine.events import Event, Mode, RoundFinished, StateChanged, TaskChanged, TaskErrored, TaskStuck
from mjdash.core.engine.lease import lease_for
from mjdash.core.model import Status
from mjdash.core.store.database import Store
from mjdash.core.timefmt import duration, local

EXIT_TIMEOUT, EXIT_INTERRUPTED = 124, 130


class Progress:
    """One line per change (pipes), or a redrawn progress bar with counts and ETA (terminals)."""

    def __init__(self, out: TextIO, tty: bool, give_up_after: float = 1800.0) -> None:
        self.bar = ProgressBar(out, tty=tty)  # enter it while waiting; it makes every line safe to print
        self.give_up_after = give_up_after
        self.eta: float | None = None
        self.note = ""
        self.rate_shown: float | None = None
        self.told: set[tuple[str, str]] = set()  # (task, outcome) already explained: one line each, not one a try

    def __call__(self, event: Event) -> None:
        if isinstance(event, TaskChanged):
            c = event.change
            detail = c.row.error_message or ""
            line = f"{c.task_id}  {STATUS_MARK[c.old]} → {STATUS_MARK[c.new]}  {detail}".rstrip()
            self._line(line)
        elif isinstance(event, TaskErrored) and (event.gave_up or not event.fetch.outcome.transient):
            self._errored(event)
        elif isinstance(event, TaskStuck):
            expected = duration(event.expected)
            self._line(f"{event.task_id}  ⚠ stuck: running for {duration(event.age)}, usually {expected}")
        elif isinstance(event, StateChanged) and event.state.mode in (Mode.RATE_LIMITED, Mode.OFFLINE, Mode.BLOCKED):
            self.note = event.state.describe(time.time())
            self._line(f"engine: {self.note} ({event.state.message or ''})")
        elif isinstance(event, StateChanged) and event.state.mode is Mode.FOLLOWING:
            self.note = event.state.describe(time.time())
            self._line(f"engine: {self.note}")
        elif isinstance(event, StateChanged) and event.state.mode is Mode.POLLING:
            self.note = ""
        elif isinstance(event, RoundFinished):
            self.eta = event.eta
            if self.bar.tty:
                self._bar(event)
            elif event.requests and self._rate_moved(event):
                self._line(f"engine: rate {event.describe_rate()}")

    def _errored(self, event: TaskErrored) -> None:
        fetch = event.fetch
        if event.gave_up:
            self._line(f"{fetch.task_id}  {fetch.message} (giving up)")
            return
        key = (fetch.task_id, fetch.outcome.value)
        if key in self.told:
            return
        self.told.add(key)
        if fetch.outcome is Outcome.NOT_FOUND:
            until = local(event.at + self.give_up_after)
            self._line(f"{fetch.task_id}  not found yet — kie.ai may not have registered it; giving up at {until}")
        else:
            self._line(f"{fetch.task_id}  {fetch.message}")

    def _rate_moved(self, event: RoundFinished) -> bool:
        """Whether the effective rate moved by a tenth since it was last printed (pipes get a line then)."""
        shown = self.rate_shown if self.rate_shown is not None else event.configured_rate
        if abs(event.rate - shown) < 0.1 * shown:
            return False
        self.rate_shown = event.rate
        return True

    def _line(self, text: str) -> None:
        self.bar.line(text)

    def _bar(self, event: RoundFinished) -> None:
        parts = " ".join(f"{s.value}:{n}" for s, n in sorted(event.counts.items()))
        stuck = f" stuck:{event.stuck}" if event.stuck else ""
        eta = f" eta {duration(event.eta)}" if event.eta else ""
        note = f" — {self.note}" if self.note else ""
        self.bar.update(event.done, event.total, f"{parts}{stuck}{eta} {event.describe_rate()}{note}")


async def _wait(
    settings: Settings,
    store: Store,
    scope: list[str],
    timeout: float | None,
    progress: Progress | JsonLines,
    rate: float,
    concurrency: int,
) -> int:
    async with make_client(settings) as client:
        engine = Engine(
            client,
            store,
            rate=rate,
            concurrency=concurrency,
            policy=settings.policy(),
            watch=scope,  # asked about first; the other tasks of the database get what budget is left
            lease=lease_for(store),  # one engine per database: another process may be polling already
            on_event=progress,
            stop_on=[Outcome.UNAUTHORIZED, Outcome.NO_CREDITS],
        )
        run = asyncio.ensure_future(engine.run(until_done=True))
        try:
            await asyncio.wait_for(asyncio.shield(run), timeout)
        except TimeoutError:
            engine.stop()
            await run
            return EXIT_TIMEOUT
        except asyncio.CancelledError:
            engine.stop()
            await run
            raise
        if engine.fatal is not None:
            err(engine.fatal.message)
            return 1
    return -1


def run(
    settings: Settings,
    raw_ids: list[str],
    batch: str | None,
    timeout: float | None,
    rate: float | None,
    concurrency: int | None,
    out: TextIO = sys.stdout,
    jsonl: bool = False,
) -> int:
    if timeout is not None and not (math.isfinite(timeout) and timeout > 0):
        raise UsageError(f"--timeout must be a number of seconds greater than 0, not {timeout!r}")
    task_ids = valid_ids(raw_ids) if raw_ids else []
    if not task_ids and batch is None:
        raise UsageError("give task IDs or --batch NAME")
    with Store(settings.db_path) as store:
        if task_ids:
            store.add(task_ids, batch=batch)
        scope = task_ids or [r.task_id for r in store.rows(batch=batch)]
        if not scope:
            raise UsageError(f"no tasks in batch {batch!r}")
        rate = rate or settings.rate
        progress: Progress | JsonLines = (
            JsonLines(out, scope, rate) if jsonl else Progress(out, out.isatty(), settings.policy().give_up_after)
        )
        loop = asyncio.new_event_loop()
        aio.install(loop)  # a lookup that hangs must not keep wait from exiting on time
        main = loop.create_task(
            _wait(settings, store, scope, timeout, progress, rate, concurrency or settings.concurrency)
        )
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signal.SIGINT, main.cancel)
        try:
            with progress.bar if isinstance(progress, Progress) else contextlib.nullcontext():
                code = loop.run_until_complete(main)
        except asyncio.CancelledError:
            code = EXIT_INTERRUPTED
        finally:
            loop.close()
        rows = store.rows(ids=scope)
    counts = Counter(r.status for r in rows)
    summary = ", ".join(f"{n} {s.value}" for s, n in sorted(counts.items()))
    finished = code < 0  # every task final (else: timed out, interrupted, or stopped on a fatal answer)
    if finished:
        code = 0 if all(r.status is Status.SUCCESS for r in rows) else 1
    if isinstance(progress, JsonLines):
        progress.done(counts, code)
    if code == EXIT_TIMEOUT:
        err(f"timed out with tasks still running ({summary}) — run mjdash wait again to go on")
    elif code == EXIT_INTERRUPTED:
        err(f"interrupted ({summary}); what was learned is saved")
    elif finished and not isinstance(progress, JsonLines):
        out.write(f"all {len(rows)} final: {summary}\n")
    return code
