"""``mjdash resubmit [--batch NAME | --all | ID…] [--yes] [--dry-run] [--again] [--include-moderation]
[--no-callback]``: send failed tasks again with their own parameters, once each, linked to the original.

Lines about each task go to stderr (skipped, refused, waiting), the links made go to stdout (``ORIGINAL NEW``),
and a dry run prints each body it would send to stdout. Exit 0 when everything to be sent was sent, 1 when any
was not (or when an earlier resubmission's outcome is unknown, or a named task was skipped), 2 for usage errors.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from mjdash.commands.common import EXIT_FAILED, EXIT_OK, UsageError, err, make_client, valid_ids
from mjdash.commands.watchlist import open_store
from mjdash.config import Settings
from mjdash.core import aio
from mjdash.core.clock import SystemClock
from mjdash.core.resubmit import Candidate, Plan, Progress, Report, Step, count, plan_from, send, sender_for
from mjdash.core.store.database import Store
from mjdash.core.store.gateway import StoreGateway
from mjdash.core.text import safe, safe_json
from mjdash.core.timefmt import duration


def run(
    settings: Settings,
    task_ids: list[str],
    batch: str | None,
    every: bool,
    *,
    yes: bool = False,
    dry_run: bool = False,
    again: bool = False,
    include_moderation: bool = False,
    no_callback: bool = False,
    ask: Callable[[str], str] = input,
    interactive: Callable[[], bool] = sys.stdin.isatty,
) -> int:
    if sum((bool(task_ids), batch is not None, every)) != 1:
        raise UsageError("name the tasks to resubmit: task IDs, --batch NAME or --all")
    ids = valid_ids(task_ids) if task_ids else None
    with open_store(settings) as store:
        found = plan_from(
            store, ids=ids, batch=batch, again=again, include_moderation=include_moderation, no_callback=no_callback
        )
        for skipped in found.skipped:
            err(f"skip {skipped.task_id}: {skipped.reason}")
        if found.unknown:
            err(f"{count(len(found.unknown), 'resubmission')} with unknown outcome: check kie.ai's logs")
        named_skipped = ids is not None and bool(found.skipped)
        failed = named_skipped or bool(found.unknown)
        if not found.send:
            err("nothing to resubmit" + (f" in batch {batch!r}" if batch is not None else ""))
            return EXIT_FAILED if failed else EXIT_OK
        if dry_run:
            _print_bodies(found.send)
            err(f"dry run: {count(len(found.send), 'task')} would be resubmitted; nothing was sent")
            return EXIT_FAILED if failed else EXIT_OK
        if not yes:
            if not interactive():
                raise UsageError("resubmit spends credits: confirm with --yes (or see what it sends with --dry-run)")
            try:
                answer = ask(f"resubmit {count(len(found.send), 'task')} (spends credits)? [y/N] ")
            except EOFError:
                answer = ""
            if answer.strip().lower() not in ("y", "yes"):
                err("nothing was sent")
                return EXIT_FAILED
        report = aio.run(_send(settings, store, found, again))
    err(report.line(found))
    return EXIT_OK if report.complete and not failed else EXIT_FAILED


async def _send(settings: Settings, store: Store, found: Plan, again: bool) -> Report:
    clock = SystemClock()
    db = StoreGateway(store)
    try:
        async with make_client(settings) as client:
            sender = sender_for(client, settings.rate, clock)  # no engine here: at the engine's rate
            return await send(found.send, sender=sender, db=db, again=again, progress=_progress)
    finally:
        db.close()


def _progress(event: Progress) -> None:
    if event.step is Step.SENT:
        assert event.retry is not None
        print(f"{event.task_id} {event.retry.task_id}", flush=True)
    elif event.step is Step.WAITING:
        err(f"{event.message} — waiting {duration(event.wait_s)} before resubmitting {event.task_id}")
    else:
        err(f"not resubmitted {event.task_id}: {event.message}")


def _print_bodies(candidates: list[Candidate]) -> None:
    for candidate in candidates:
        task = candidate.task
        where = f" (batch {task.batch})" if task.batch else ""
        print(safe(f"{task.task_id}{where} would be sent as:"))
        print(safe_json(candidate.body, indent=2))
