"""``mjdash add / rm / ls / export``: the watchlist, from the store (no network)."""

from __future__ import annotations

import csv
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any, TextIO

from mjdash.commands.common import EXIT_OK, STATUS_MARK, OutputError, UsageError, err, valid_ids
from mjdash.config import Settings
from mjdash.core.atomic import atomic_file
from mjdash.core.expiry import expires_at, is_expiring
from mjdash.core.intake.ids import add_summary, extract
from mjdash.core.model import FINAL_STATES, Status, Task, iso_epoch
from mjdash.core.store.database import AddResult, Store, with_record
from mjdash.core.text import safe, safe_json, write_json_array
from mjdash.core.timefmt import ago, duration

STDIN_LINES_PER_CHUNK = 2000


def open_store(settings: Settings) -> Store:
    return Store(settings.db_path)


def parse_statuses(text: str | None) -> set[Status] | None:
    if not text:
        return None
    wanted: set[Status] = set()
    for part in text.split(","):
        name = part.strip().lower()
        if name == "final":
            wanted |= FINAL_STATES
            continue
        try:
            wanted.add(Status(name))
        except ValueError:
            choices = ", ".join(s.value for s in Status)
            raise UsageError(f"unknown status {part.strip()!r}: choose from {choices}, final") from None
    return wanted


def _summary(result: AddResult, rejected: list[str], escapes: int = 0) -> str:
    return safe(add_summary(result.added, result.present, rejected, escapes))


def _chunks(stream: TextIO, size: int) -> Iterator[str]:
    lines: list[str] = []
    for line in stream:
        lines.append(line)
        if len(lines) >= size:
            yield "".join(lines)
            lines = []
    if lines:
        yield "".join(lines)


def add(settings: Settings, values: list[str], batch: str | None, note: str | None, stdin: TextIO) -> int:
    if values == ["-"]:
        total, rejected, escapes = AddResult(), [], 0
        with open_store(settings) as store:
            for text in _chunks(stdin, STDIN_LINES_PER_CHUNK):  # commit as we read: a kill keeps a prefix
                found = extract(text)
                total += store.add(found.ids, batch=batch, note=note)
                rejected.extend(found.rejected)
                escapes += found.escapes
        print(_summary(total, rejected, escapes))
        return EXIT_OK
    if not values:
        raise UsageError("give task IDs, or - to read them from standard input, or --follow FILE")
    task_ids = valid_ids(values)
    with open_store(settings) as store:
        result = store.add(task_ids, batch=batch, note=note)
    print(_summary(result, []))
    return EXIT_OK


def follow(
    settings: Settings,
    path: str,
    batch: str | None,
    *,
    every: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    from mjdash.core.intake.follow import FileFollower

    with open_store(settings) as store:
        follower = FileFollower(path, store, batch=batch)
        print(f"following {safe(str(follower.path))} (Ctrl-C to stop)", file=sys.stderr)
        try:
            while True:
                result = follower.poll()
                if result.added or result.rejected:
                    print(_summary(AddResult(result.added, result.present), result.rejected), flush=True)
                if result.event in ("truncated", "rotated"):
                    print(f"{follower.path.name} was {result.event}; reading it from the start", file=sys.stderr)
                sleep(every)
        except KeyboardInterrupt:
            return EXIT_OK
        finally:
            follower.close()


def rm(settings: Settings, values: list[str], batch: str | None, finished: bool) -> int:
    if not values and batch is None and not finished:
        raise UsageError("say what to remove: task IDs, --batch NAME or --finished")
    with open_store(settings) as store:
        removed = 0
        if values:
            removed += store.remove(valid_ids(values))
        if batch is not None or finished:
            removed += store.remove_where(batch=batch, finished=finished)
    print(f"removed {removed}")
    return EXIT_OK


def _records(
    store: Store, batch: str | None, statuses: set[Status] | None, keep: Callable[[Task], bool] | None = None
) -> Iterator[Task]:
    """Every chosen task with its last answer's details, streamed from the database (constant memory)."""
    for row, raw in store.rows_with_raw(batch=batch, statuses=statuses):
        if keep is None or keep(row):
            yield with_record(row, raw)


def row_json(task: Task, expiry_days: float = 14.0) -> dict[str, Any]:
    """One watched task as JSON: the watchlist fields plus those of ``status --json``."""
    data: dict[str, Any] = {
        "task_id": task.task_id,
        "batch": task.batch,
        "note": task.note,
        "status": task.status.value,
        "added_at": iso_epoch(task.added_at),
    }
    public = task.to_json()
    del public["task_id"], public["status"]  # the watchlist's own come first
    data.update(public)
    data["api_code"] = task.api_code
    data["error_message"] = data["error_message"] or task.last_error
    data["last_polled"] = iso_epoch(task.last_polled)
    data["last_error"] = task.last_error
    data["expires_at"] = iso_epoch(expires_at(task, expiry_days))
    data["saved"] = task.saved_at is not None
    data["stuck"] = task.stuck_since is not None and task.status is Status.GENERATING
    data["retry_of"] = task.retry_of
    data["retried_by"] = task.retried_by
    return data


def ls(
    settings: Settings, as_json: bool, status: str | None, batch: str | None, out: TextIO, only_expiring: bool = False
) -> int:
    statuses = parse_statuses(status)
    now = time.time()
    keep = _expiring_filter(settings, now) if only_expiring else None
    with open_store(settings) as store:
        if as_json:
            records = _records(store, batch, statuses, keep)
            write_json_array(out, (row_json(t, settings.expiry_days) for t in records))
            return EXIT_OK
        rows = (r for r in store.iter_rows(batch=batch, statuses=statuses) if keep is None or keep(r))
        if not write_table(out, rows, now):
            out.write(_nothing_listed(store, batch, statuses, only_expiring))
    return EXIT_OK


def _expiring_filter(settings: Settings, now: float) -> Callable[[Task], bool]:
    return lambda row: is_expiring(row, now, settings.expiry_days)


def _nothing_listed(store: Store, batch: str | None, statuses: set[Status] | None, only_expiring: bool) -> str:
    """Why the list is empty: an empty watchlist is not the same as a filter that matches nothing."""
    total = store.count()
    if not total:
        return "no tasks in the watchlist — add some with: mjdash add ID… (or: some-script | mjdash add -)\n"
    what = []
    if batch is not None:
        what.append(f"in batch {batch!r}" if batch in store.batches() else f"in batch {batch!r} (no such batch)")
    if statuses is not None:
        what.append("with status " + ",".join(sorted(s.value for s in statuses)))
    if only_expiring:
        what.append("expiring within 48 h unsaved")
    return safe(f"no tasks {' and '.join(what)} ({total} in the watchlist)") + "\n"


HEADER = f"{'TASK ID':<32}  {'STATUS':<20}  {'BATCH':<10}  {'TYPE':<18}  {'CREATED':<11}  {'TOOK':>6}  PROMPT / ERROR\n"


def write_table(out: TextIO, rows: Iterable[Task], now: float) -> int:
    """The human table, a line per task as it is read; returns how many were written."""
    count = 0
    for r in rows:
        if not count:
            out.write(HEADER)
        count += 1
        text = r.error_message or r.last_error if r.status not in (Status.SUCCESS, Status.GENERATING) else None
        text = text or r.prompt or ""
        mark = "⚠ stuck" if r.stuck_since is not None and r.status is Status.GENERATING else STATUS_MARK[r.status]
        line = (
            f"{r.task_id:<32}  {mark:<20}  {(r.batch or '-')[:10]:<10}  "
            f"{(r.task_type or '?')[:18]:<18}  {ago(r.created_at, now)[:11]:<11}  "
            f"{duration(r.duration_s):>6}  {' '.join(text.split())[:60]}"
        )
        out.write(safe(line) + "\n")
    if count:
        out.write(f"{count} task{'s' if count != 1 else ''}\n")
    return count


CSV_FIELDS = [
    "task_id",
    "batch",
    "note",
    "status",
    "added_at",
    "task_type",
    "prompt",
    "aspect_ratio",
    "speed",
    "version",
    "created_at",
    "completed_at",
    "duration_s",
    "result_urls",
    "error_code",
    "error_message",
    "api_code",
    "last_polled",
    "last_error",
    "expires_at",
    "saved",
    "stuck",
    "retry_of",
    "retried_by",
    "params",
]


def _csv_rows(records: Iterable[Task], expiry_days: float) -> Iterator[dict[str, Any]]:
    for task in records:
        data = row_json(task, expiry_days)
        data["aspect_ratio"] = task.aspect
        data["speed"] = task.speed
        data["version"] = task.version
        data["result_urls"] = " ".join(task.result_urls)
        data["params"] = safe_json(data["params"])
        yield {k: _inert(data.get(k)) for k in CSV_FIELDS}


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _inert(value: Any) -> Any:
    """A cell a spreadsheet will not run: text from the API starting like a formula (``=HYPERLINK(…)``) gets a
    leading apostrophe, which spreadsheets show as plain text (the OWASP advice on CSV injection)."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def export(settings: Settings, fmt: str, out_path: str | None, batch: str | None, status: str | None) -> int:
    statuses = parse_statuses(status)
    with open_store(settings) as store:
        records = _records(store, batch, statuses)
        if out_path in (None, "-"):
            # A terminal is shown control characters visibly; files and pipes get the data as it is.
            _export_to(sys.stdout, fmt, records, settings.expiry_days, visible=sys.stdout.isatty())
            return EXIT_OK
        assert out_path is not None
        path = Path(out_path)
        try:
            with atomic_file(path) as handle:
                count = _export_to(handle, fmt, records, settings.expiry_days)
        except OSError as exc:
            raise OutputError(f"cannot write {path}: {exc.strerror or exc} — nothing was written") from None
    err(f"exported {count} tasks to {out_path}")
    return EXIT_OK


def _export_to(out: IO[str], fmt: str, records: Iterable[Task], expiry_days: float, *, visible: bool = False) -> int:
    """Write every record as JSON or CSV, one at a time; returns how many. JSON escapes control characters
    itself; CSV cells get them made visible when ``visible`` (a terminal)."""
    counted = _Counted(records)
    if fmt == "json":
        write_json_array(out, (row_json(t, expiry_days) for t in counted))
    else:
        writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\n")
        writer.writeheader()
        rows = _csv_rows(counted, expiry_days)
        writer.writerows(
            ({k: safe(v) if isinstance(v, str) else v for k, v in r.items()} for r in rows) if visible else rows
        )
    return counted.count


class _Counted:
    def __init__(self, items: Iterable[Task]) -> None:
        self.items, self.count = items, 0

    def __iter__(self) -> Iterator[Task]:
        for item in self.items:
            self.count += 1
            yield item
