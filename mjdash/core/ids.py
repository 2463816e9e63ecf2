"""Task IDs: validation, and extraction from free text (a batch script's log, JSON, JSON lines, CSV).

The API's IDs are opaque. Live ones are 32 hex characters; the docs show others. A valid ID is a token of
letters, digits, ``_`` and ``-``, 1 to 128 characters long.
"""

from __future__ import annotations

import re

MAX_LEN = 128
_VALID = re.compile(r"[A-Za-z0-9_-]{1,128}")


class InvalidTaskId(ValueError):
    """A value that is not a task ID; the message names it."""


def is_valid(value: str) -> bool:
    return _VALID.fullmatch(value) is not None


def validate(value: str) -> str:
    """``value`` stripped, or InvalidTaskId naming it."""
    token = value.strip()
    if not is_valid(token):
        shown = token if len(token) <= 60 else token[:57] + "..."
        reason = "too long" if len(token) > MAX_LEN else "use letters, digits, _ and - only"
        if not token:
            reason = "it is empty"
        raise InvalidTaskId(f"not a task ID: {shown!r} ({reason})")
    return token
