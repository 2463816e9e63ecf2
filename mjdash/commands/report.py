"""``mjdash report [--batch NAME | --status S | ID…] --out DIR [--open] [--offline]``: the batch as a web page that
stands on its own (``mjdash.web.report``)."""

from __future__ import annotations

import dataclasses
import sys
import time
import webbrowser
from pathlib import Path

from mjdash.commands.common import EXIT_FAILED, EXIT_OK, UsageError, err, valid_ids
from mjdash.commands.progress import ProgressBar
from mjdash.commands.summary import credits_or_none
from mjdash.commands.watchlist import open_store, parse_statuses, row_json
from mjdash.config import Settings
from mjdash.core import aio
from mjdash.core.insight import Summary
from mjdash.core.store.rows import with_record
from mjdash.core.text import safe
from mjdash.web.report import ReportError, check_target, write_report


def run(
    settings: Settings,
    task_ids: list[str],
    batch: str | None,
    status: str | None,
    out_dir: str,
    *,
    open_after: bool = False,
    offline: bool = False,
) -> int:
    if task_ids and (batch is not None or status is not None):
        raise UsageError("give task IDs, or --batch/--status, not both")
    out = Path(out_dir).expanduser().resolve()
    try:
        check_target(out)
    except ReportError as exc:
        raise UsageError(str(exc)) from None
    ids = valid_ids(task_ids) if task_ids else None
    with open_store(settings) as store:
        found = store.rows_with_raw(ids=ids, batch=batch, statuses=parse_statuses(status))
        tasks = [with_record(row, raw) for row, raw in found]
    if ids is not None and (missing := set(ids) - {t.task_id for t in tasks}):
        raise UsageError(f"not in the watchlist: {', '.join(sorted(missing))} — mjdash add them first")
    if not tasks:
        err("no tasks to report" + (f" in batch {batch!r}" if batch is not None else ""))
        return EXIT_FAILED
    now = time.time()
    summary = Summary.of(tasks, now)
    if not offline:
        summary = dataclasses.replace(summary, credits=credits_or_none(settings))
    title = f"mjdash — batch {batch}" if batch is not None else f"mjdash — {len(tasks)} task{'s' * (len(tasks) != 1)}"

    async def go() -> int:
        async with settings.image_fetcher() as fetcher:
            with ProgressBar(sys.stderr) as bar:
                return await write_report(
                    tasks,
                    out,
                    fetcher,
                    summary=summary,
                    records=(row_json(t, settings.expiry_days) for t in tasks),
                    now=now,
                    expiry_days=settings.expiry_days,
                    title=title,
                    progress=lambda done, total: bar.update(done, total, "thumbnails"),
                )

    try:
        thumbs = aio.run(go())
    except (ReportError, OSError) as exc:
        reason = str(exc) if isinstance(exc, ReportError) else (exc.strerror or type(exc).__name__)
        err(f"cannot write the report to {out}: {reason}")
        return EXIT_FAILED
    page = out / "index.html"
    print(safe(f"{page} — {len(tasks)} tasks, {thumbs} thumbnails"))
    if open_after and not webbrowser.open(page.as_uri()):
        err(f"no browser found: open {page.as_uri()}")
    return EXIT_OK
