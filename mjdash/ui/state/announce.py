"""What the dashboard tells the user, decided apart from showing it: toasts for finished tasks, the banner for
lasting conditions, one-line messages for failed background jobs. No Textual here; the app shows the results."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from rich.text import Text

from mjdash.core.engine.events import EngineState, Mode, TaskChanged
from mjdash.core.store.schema import StoreError
from mjdash.core.text import safe, short_id
from mjdash.ui.state.task_view import TaskView

Severity = Literal["information", "warning", "error"]
WHAT_TO_DO = {
    Mode.OFFLINE: "kie.ai cannot be reached — showing the last known data; mjdash keeps retrying by itself.",
    Mode.BLOCKED: "showing the last known data; mjdash checks again every minute and resumes by itself.",
    Mode.RATE_LIMITED: "kie.ai asked mjdash to slow down — polling resumes by itself.",
}
JOB_TITLES = {
    "store": "Watchlist change failed",
    "detail": "Cannot show the task",
    "viewer": "Cannot show the images",
    "download": "Save failed",
    "clipboard": "Copy failed",
    "browser": "Cannot open the browser",
    "resubmit": "Resubmit failed",
}


@dataclass(frozen=True)
class Toast:
    message: str
    title: str
    severity: Severity


def finished_toasts(finished: list[TaskChanged], one_by_one: int = 3) -> list[Toast]:
    """A toast per finished task, or one for all of them when many finish in the same tick."""
    if len(finished) <= one_by_one:
        toasts = []
        for event in finished:
            change = event.change
            detail = change.row.error_message or (change.row.prompt or "")
            toasts.append(
                Toast(
                    safe(" ".join(detail.split())[:80]),
                    f"{short_id(change.task_id)} {change.new.value}",
                    "error" if change.new.is_failure else "information",
                )
            )
        return toasts
    counts = Counter(e.change.new.value for e in finished)
    text = ", ".join(f"{n} {status}" for status, n in counts.most_common())
    failed = any(e.change.new.is_failure for e in finished)
    return [Toast(text, f"{len(finished)} tasks finished", "warning" if failed else "information")]


def banner_text(state: EngineState | None, troubles: Iterable[str]) -> Text | None:
    """The banner for what is wrong now and what to do, or None when all is well."""
    lines = [f"⚠ {safe(trouble)}" for trouble in troubles]
    if state is not None and state.mode in WHAT_TO_DO:
        lines += [f"⚠ {safe(state.message or state.mode.value)}", f"  {WHAT_TO_DO[state.mode]}"]
    return Text("\n".join(lines)) if lines else None


def failure_line(error: BaseException | None) -> str:
    """One line for an exception that ended a background job."""
    if isinstance(error, StoreError):
        return safe(str(error))
    if isinstance(error, OSError):
        where = f" ({error.filename})" if error.filename else ""
        return safe(f"{error.strerror or error}{where}")
    name = type(error).__name__ if error is not None else "unknown error"
    return safe(f"unexpected {name}: {error} — please report this")


def filter_note(view: TaskView) -> str:
    """What the header says about the filters in force."""
    notes = []
    if view.state_group != "all":
        notes.append(f"showing {view.state_group}")
    if view.batch_filter is not None:
        notes.append(f"batch {safe(view.batch_filter)}")
    if view.text_filter:
        notes.append(f"filter “{safe(view.text_filter)}”")
    if view.only is not None:
        notes.append(f"only {safe(view.only[0])} ({len(view.only[1])}; escape shows all)")
    return ", ".join(notes)
