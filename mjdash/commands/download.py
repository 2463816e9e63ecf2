"""``mjdash download [--batch NAME | --all | ID…] --out DIR``: save finished tasks' results."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from mjdash.commands.common import EXIT_FAILED, EXIT_OK, UsageError, err, valid_ids
from mjdash.commands.progress import ProgressBar
from mjdash.config import Settings
from mjdash.core import aio
from mjdash.core.media.download import download_tasks
from mjdash.core.model import Task
from mjdash.core.store.database import Store
from mjdash.core.text import safe


def run(
    settings: Settings, raw_ids: list[str], batch: str | None, everything: bool, out_dir: str, out: TextIO = sys.stdout
) -> int:
    if not raw_ids and batch is None and not everything:
        raise UsageError("say what to download: task IDs, --batch NAME or --all")
    target = Path(out_dir).expanduser()
    if target.exists() and not target.is_dir():
        raise UsageError(f"--out {target} is not a folder")
    with Store(settings.db_path) as store:
        rows = store.rows(ids=valid_ids(raw_ids)) if raw_ids else store.rows(batch=batch)
        if raw_ids:
            missing = set(valid_ids(raw_ids)) - {r.task_id for r in rows}
            if missing:
                raise UsageError(f"not in the watchlist: {', '.join(sorted(missing))} — mjdash add them first")
        tasks: list[Task] = [t for r in rows if (t := store.task(r.task_id)) is not None]
        if not tasks:
            raise UsageError("no tasks to download")

        notes: list[str] = []

        async def go():  # type: ignore[no-untyped-def]
            async with settings.image_fetcher() as fetcher:
                with ProgressBar(out) as bar:
                    report = await download_tasks(tasks, target, fetcher, store, bar.update)
                if fetcher.cache_problem:
                    notes.append(fetcher.cache_problem)
                return report

        report = aio.run(go())
    for note in notes:
        err(f"note: {note}")
    for task_id, reasons in report.failed.items():
        err(f"{task_id}: {'; '.join(reasons)}")
    out.write(
        safe(
            f"saved {report.saved}, already there {report.skipped}, failed {sum(map(len, report.failed.values()))}"
            f" — in {target}"
        )
        + "\n"
    )
    return EXIT_OK if report.ok else EXIT_FAILED
