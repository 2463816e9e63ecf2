"""When result files disappear from kie.ai (about 14 days after completion), and which are about to, unsaved."""

from __future__ import annotations

from mjdash.core.model import Status
from mjdash.core.store import TaskRow


def expires_at(row: TaskRow, expiry_days: float) -> float | None:
    """When the task's result files are expected to disappear from kie.ai (success tasks only)."""
    if row.status is not Status.SUCCESS or row.completed_at is None:
        return None
    return row.completed_at + expiry_days * 86_400


def expiring(rows: list[TaskRow], now: float, expiry_days: float, within: float = 48 * 3600) -> list[TaskRow]:
    """Unsaved tasks whose results expire within ``within`` seconds (and have not expired yet)."""
    out = []
    for row in rows:
        when = expires_at(row, expiry_days)
        if when is not None and row.saved_at is None and now < when <= now + within:
            out.append(row)
    return out
