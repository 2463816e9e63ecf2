"""``mjdash summary [--batch NAME] [--json] [--offline]``: a batch at a glance, from the database.

Counts and progress, durations per kind, throughput, failure groups with advice, stuck tasks, and the credit
balance (asked of the API unless ``--offline``; when it cannot be had the rest is still printed, with a note).
"""

from __future__ import annotations

import dataclasses
import json
import time

from rich.console import Console
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from mjdash.commands.common import EXIT_FAILED, EXIT_OK, err
from mjdash.commands.credits import ask, whole
from mjdash.commands.watchlist import open_store
from mjdash.config import Settings
from mjdash.core import aio
from mjdash.core.insight import Summary
from mjdash.core.model import Status
from mjdash.core.text import safe
from mjdash.core.timefmt import duration

IDS_SHOWN = 5  # task IDs listed under a failure group (--json lists them all)


def run(settings: Settings, batch: str | None, as_json: bool, offline: bool) -> int:
    with open_store(settings) as store:
        rows = list(store.iter_rows(batch=batch))
        batches = store.batches() if batch is not None and not rows else []
    if batch is not None and not rows:
        known = ", ".join(batches) or "none yet"
        err(f"no tasks in batch {batch!r} (batches: {known}) — check the name with mjdash ls")
        return EXIT_FAILED
    summary = Summary.of(rows, time.time())
    if not offline:
        summary = dataclasses.replace(summary, credits=credits_or_none(settings))
    if as_json:
        print(json.dumps(summary.to_json(), ensure_ascii=False))
    else:
        console = Console(highlight=False)
        for part in render(summary, batch):
            console.print(part)
    return EXIT_OK


def credits_or_none(settings: Settings) -> float | None:
    """The balance, or None with a note on stderr saying why not."""
    if not settings.api_key:
        err("credits: unknown — no API key (set KIE_API_KEY, or pass --offline)")
        return None
    balance = aio.run(ask(settings))
    if not balance.ok:
        err(f"credits: unknown — {balance.message}")
    return balance.credits


def render(summary: Summary, batch: str | None) -> list[object]:
    """The human summary as Rich renderables built from Text: API text is never read as markup."""
    name = f"batch {safe(batch)}" if batch else "the watchlist"
    states = ", ".join(f"{n} {status.value}" for status, n in sorted(summary.counts.items()) if n)
    eta = f", ETA {duration(summary.eta_s) or 'any moment'}" if summary.eta_s is not None else ""
    parts: list[object] = [
        Text(f"{name} — {summary.total} tasks: {states or 'none'}", style="bold"),
        Text(f"{summary.done_fraction:.0%} done{eta}"),
        Text(
            f"throughput: {summary.recent_per_min:.1f} finished a minute over the last 10 minutes, "
            f"{summary.batch_per_min:.1f} over the batch"
        ),
    ]
    if summary.credits is not None:
        parts.append(Text(f"credits: {whole(summary.credits):,}"))
    if summary.durations:
        table = Table(title="durations of successful tasks", title_justify="left", box=None, pad_edge=False)
        for column in ("type", "speed", "count", "p50", "p95"):
            table.add_column(column, justify="right" if column in ("count", "p50", "p95") else "left")
        for d in summary.durations:
            table.add_row(
                Text(safe(d.task_type or "?")),
                Text(safe(d.speed or "?")),
                str(d.count),
                duration(d.p50_s),
                duration(d.p95_s),
            )
        parts += [Text(""), table]
    failed = sum(n for status, n in summary.counts.items() if status.is_failure)
    if summary.failures:
        parts += [Text(""), Text(f"failures ({failed})", style="bold")]
        for group in summary.failures:
            code = "no code" if group.error_code is None else f"code {group.error_code}"
            more = f" … ({group.count} in all)" if group.count > IDS_SHOWN else ""
            parts += [
                Text(f"  {group.kind.value} · {code} · {group.count} task{'s' if group.count != 1 else ''}"),
                Padding(Text(safe(group.message or "(no message)")), (0, 0, 0, 4)),
                Padding(Text(f"→ {group.advice}"), (0, 0, 0, 4)),
                Padding(Text(" ".join(group.task_ids[:IDS_SHOWN]) + more, style="dim"), (0, 0, 0, 4)),
            ]
    if summary.stuck:
        table = Table(title=f"stuck ({len(summary.stuck)})", title_justify="left", box=None, pad_edge=False)
        for column in ("task", "running for", "expected"):
            table.add_column(column, justify="left" if column == "task" else "right")
        for stuck in summary.stuck:
            table.add_row(Text(safe(stuck.task_id)), duration(stuck.age_s), duration(stuck.expected_s))
        parts += [Text(""), table]
    if not summary.total:
        parts = [Text("the watchlist is empty — add task IDs with mjdash add")]
    elif summary.counts.get(Status.GENERATING, 0) == 0 and not summary.failures and summary.done == summary.total:
        parts.append(Text("every task finished successfully"))
    return parts
