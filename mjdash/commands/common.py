"""What the subcommands share: the client factory, error printing, output of tasks."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING

from mjdash.config import ConfigError, Settings
from mjdash.core.api.outcomes import Fetch
from mjdash.core.intake import ids
from mjdash.core.model import Status, Task
from mjdash.core.text import capped, safe
from mjdash.core.timefmt import duration, local

if TYPE_CHECKING:
    from mjdash.core.api.client import KieClient

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

STATUS_MARK = {
    Status.GENERATING: "… generating",
    Status.SUCCESS: "✔ success",
    Status.FAILED: "✖ failed",
    Status.GENERATION_FAILED: "✖ generation_failed",
    Status.NOT_FOUND: "? not_found",
    Status.ERROR: "! error",
    Status.UNKNOWN: "? unknown",
}


class UsageError(Exception):
    """Bad input from the user: exit 2 with this one-line message."""


class OutputError(Exception):
    """Output could not be written (a full disk, a folder that is not writable): exit 1 with this one line."""


def err(message: str) -> None:
    print(f"mjdash: {safe(message)}", file=sys.stderr)


def need_key(settings: Settings) -> None:
    if not settings.api_key:
        where = settings.config_path or "the config file"
        raise UsageError(f"no API key: set KIE_API_KEY, or api_key in {where}")


def make_client(settings: Settings) -> KieClient:
    from mjdash.core.api.client import KieClient

    need_key(settings)
    try:
        return KieClient(settings.api_key, settings.base_url, timeout=settings.timeout, retry=settings.retry)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def valid_ids(values: list[str]) -> list[str]:
    """Validated, de-duplicated IDs in the given order; UsageError names the first bad one."""
    try:
        checked = [ids.validate(v) for v in values]
    except ids.InvalidTaskId as exc:
        raise UsageError(str(exc)) from None
    return list(dict.fromkeys(checked))


def fetch_json(fetch: Fetch) -> dict[str, object]:
    """The ``status --json`` object for one fetch (tasks that could not be fetched included)."""
    task = fetch.task or Task(task_id=fetch.task_id, status=fetch.status)
    data = task.to_json()
    data["api_code"] = fetch.api_code if fetch.api_code is not None else fetch.http_status
    if not fetch.ok:
        data["error_message"] = data["error_message"] or fetch.message
    return data


def describe(task: Task, now: float | None = None) -> list[str]:
    """A readable, terminal-safe summary of a task: a heading line and indented details."""
    now = time.time() if now is None else now
    bits = [task.task_id, STATUS_MARK[task.status], task.task_type or "?"]
    if task.result_urls:
        bits.append(f"{len(task.result_urls)} result{'s' if len(task.result_urls) != 1 else ''}")
    if task.duration_s is not None:
        bits.append(f"took {duration(task.duration_s)}")
    elif task.created_at and task.status is Status.GENERATING:
        bits.append(f"running {duration(now - task.created_at)}")
    lines = ["  ".join(safe(b) for b in bits)]
    if task.prompt:
        lines.append(f"    prompt:   {safe(capped(task.prompt, 'status --json shows it all'))}")
    if task.created_at:
        times = f"    created:  {local(task.created_at)}"
        if task.completed_at:
            times += f"   completed: {local(task.completed_at)}"
        lines.append(times)
    if task.error_code is not None or task.error_message:
        code = f"{task.error_code} " if task.error_code is not None else ""
        message = capped(task.error_message or "", "status --json shows it all")
        lines.append(f"    error:    {code}{safe(message)}".rstrip())
    lines.extend(f"    result:   {safe(url)}" for url in task.result_urls)
    return lines
