"""When result files disappear from kie.ai (about 14 days after completion), and which are about to, unsaved."""

from __future__ import annotations

from mjdash.core.model import Status, Task


def expires_at(row: Task, expiry_days: float) -> float | None:
    """When the task's result files are expected to disappear from kie.ai (success tasks only)."""
    if row.status is not Status.SUCCESS or row.completed_at is None:
        return None
    return row.completed_at + expiry_days * 86_400


EXPIRING_WITHIN = 48 * 3600.0


def is_expiring(row: Task, now: float, expiry_days: float, within: float = EXPIRING_WITHIN) -> bool:
    """Unsaved, and its results expire within ``within`` seconds (and have not expired yet)."""
    when = expires_at(row, expiry_days)
    return when is not None and row.saved_at is None and now < when <= now + within


def expiring(rows: list[Task], now: float, expiry_days: float, within: float = EXPIRING_WITHIN) -> list[Task]:
    """The unsaved tasks whose results expire within ``within`` seconds."""
    return [row for row in rows if is_expiring(row, now, expiry_days, within)]
