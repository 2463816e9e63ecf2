"""What the table and the detail pane show for a task, as ``rich.text.Text`` (never markup strings).

API text is data: every string from the network goes through :func:`mjdash.core.text.safe`, which makes
control characters visible, and into a ``Text``, which Rich never parses as markup.
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text

from mjdash.core.model import Status, Task
from mjdash.core.text import safe, short_id
from mjdash.core.timefmt import ago, duration
from mjdash.ui.palette import NO_COLOUR, Palette

STATES: dict[Status, tuple[str, str, str]] = {  # icon, word, palette role
    Status.GENERATING: ("◐", "generating", "running"),
    Status.SUCCESS: ("✔", "success", "success"),
    Status.FAILED: ("✖", "failed", "failure"),
    Status.GENERATION_FAILED: ("✖", "gen. failed", "failure"),
    Status.NOT_FOUND: ("?", "not found", "missing"),
    Status.ERROR: ("!", "error", "missing"),
    Status.UNKNOWN: ("·", "waiting", "waiting"),
}

COLUMNS: tuple[tuple[str, str, int | None], ...] = (
    ("State", "state", 13),
    ("Task", "task", 10),
    ("Prompt", "prompt", 30),
    ("Took", "took", 7),
    ("Imgs", "imgs", 4),
    ("Created", "created", 10),
    ("Checked", "checked", 10),
    ("Error", "error", 26),
    ("Type", "type", 13),
    ("AR", "ar", 5),
    ("Speed", "speed", 7),
    ("Ver", "ver", 4),
)
COLUMN_KEYS = tuple(key for _, key, _ in COLUMNS)


def text(value: str | None, limit: int | None = None, style: Style | str = "") -> Text:
    """API text, first line only, control characters made visible, cut to ``limit``."""
    if not value:
        return Text("", style=style)
    line = safe(" ".join(value.split()))
    if limit is not None and len(line) > limit:
        line = line[: limit - 1] + "…"
    return Text(line, style=style, no_wrap=True)


STUCK = ("⚠", "stuck", "warning")


def state_cell(status: Status, stuck: bool = False, palette: Palette = NO_COLOUR) -> Text:
    """The state as icon, word and colour; a running task the engine flagged as stuck shows "stuck"."""
    icon, word, role = STUCK if stuck and status is Status.GENERATING else STATES[status]
    return Text(f"{icon} {word}", style=palette[role])


def took(row: Task, now: float, palette: Palette) -> Text:
    if row.duration_s is not None:
        return Text(duration(row.duration_s))
    if row.status is Status.GENERATING and row.created_at is not None:
        return Text(duration(now - row.created_at), style=palette["running"])
    return Text("")


def checked(row: Task, now: float, stale_after: float, palette: Palette) -> Text:
    if row.last_polled is None:
        return Text("never", style=palette["muted"])
    label = ago(row.last_polled, now)
    stale = now - row.last_polled > stale_after and not row.status.is_final
    return Text(label, style=palette["warning" if stale else "muted"])


def row_cells(row: Task, now: float, palette: Palette = NO_COLOUR, stale_after: float = 120.0) -> dict[str, Text]:
    """One table row, keyed by column key. A resubmission's prompt starts with ↻ and its original's short ID; a
    resubmitted task's error starts with ↻ and its resubmission's."""
    error = row.error_message if row.status.is_failure else None
    if row.status in (Status.NOT_FOUND, Status.ERROR):
        error = row.last_error
    failure = palette["failure"]
    return {
        "state": state_cell(row.status, row.stuck_since is not None, palette),
        "task": Text(short_id(safe(row.task_id))),
        "type": text((row.task_type or "").removeprefix("mj_"), 13),
        "prompt": text(f"↻ {short_id(row.retry_of)} {row.prompt or ''}" if row.retry_of else row.prompt, 60),
        "ar": text(row.aspect, 5),
        "speed": text(row.speed, 7),
        "ver": text(row.version, 4),
        "created": Text(ago(row.created_at, now)),
        "took": took(row, now, palette),
        "imgs": Text(str(row.n_results) if row.n_results else "", justify="right"),
        "checked": checked(row, now, stale_after, palette),
        "error": text(f"↻ {short_id(row.retried_by)} · {error or ''}" if row.retried_by else error, 60, failure),
    }
