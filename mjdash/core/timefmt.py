"""Human formatting of durations and relative times (shared by the CLI and the dashboard). Times are epoch
seconds, as everywhere in mjdash."""

from __future__ import annotations

from datetime import UTC, datetime


def duration(seconds: float | None) -> str:
    """``42s``, ``3m05s``, ``2h04m``, ``3d02h``; an empty string when unknown."""
    if seconds is None or seconds < 0:
        return ""
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"


def ago(when: float | None, now: float) -> str:
    """``just now``, ``3 min ago``, ``in 2 h`` …; empty when unknown."""
    if when is None:
        return ""
    delta = now - when
    future = delta < 0
    s = abs(delta)
    if s < 45:
        return "just now" if not future else "in a moment"
    if s < 3600:
        text = f"{round(s / 60)} min"
    elif s < 86400 * 2:
        text = f"{round(s / 3600)} h"
    else:
        text = f"{round(s / 86400)} days"
    return f"in {text}" if future else f"{text} ago"


def local(when: float | None) -> str:
    """Local time as ``2026-11-28 14:03:12``; empty when unknown."""
    if when is None:
        return ""
    return datetime.fromtimestamp(when, UTC).astimezone().strftime("%Y-%m-%d %H:%M:%S")
