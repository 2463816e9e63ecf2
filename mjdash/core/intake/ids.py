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


# What extraction picks up from free text, in this order of preference:
#  1. the value after a key named taskId / task_id / task-id / taskID (JSON, JSON lines, `key=value` logs);
#  2. in CSV whose header has such a column, that column's cells;
#  3. any token of exactly 32 hex characters (the live API's IDs) standing on its own;
#  4. a line that is nothing but one token containing a digit (files of one ID per line, any ID format).
# Ordinary words never qualify: they are neither hex-32, nor keyed, nor alone on a line with a digit.
# A keyed value or a lone token that is not a valid ID is counted as rejected (and named).
_KEYED = re.compile(r"""\btask[_-]?id["']?\s*[:=]\s*(?:"([^"]*)"|'([^']*)'|([^\s"',;}\]\)]*))""", re.IGNORECASE)
_HEX32 = re.compile(r"(?<![A-Za-z0-9_-])[0-9a-fA-F]{32}(?![A-Za-z0-9_-])")
_LONE = re.compile(r"\s*[\"']?([^\s\"',;]+)[\"']?\s*,?\s*")
_HEADER_NAMES = {"taskid", "task_id", "task-id", "id"}
# Terminal escape sequences a coloured log carries (CSI colours, OSC titles/links, two-character escapes): taken
# out before anything else, so `\x1b[32m<id>\x1b[0m` yields the ID.
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")


class Extracted:
    """IDs found in text (first-seen order, no duplicates) and the candidates rejected."""

    def __init__(self) -> None:
        self._ids: dict[str, None] = {}
        self.rejected: list[str] = []
        self.escapes = 0  # terminal escape sequences taken out of the text before extraction

    @property
    def ids(self) -> list[str]:
        return list(self._ids)

    def take(self, token: str) -> None:
        if is_valid(token):
            self._ids.setdefault(token, None)
        elif token:
            self.rejected.append(token if len(token) <= 60 else token[:57] + "...")


def _csv_column(lines: list[str]) -> int | None:
    if not lines:
        return None
    header = [c.strip().strip("\"'").lower() for c in lines[0].split(",")]
    if len(header) < 2:
        return None
    for i, name in enumerate(header):
        if name in _HEADER_NAMES:
            return i
    return None


def extract(text: str) -> Extracted:
    """Task IDs in free text; see the rules above."""
    found = Extracted()
    if "\x1b" in text:
        text, found.escapes = _ANSI.subn("", text)
    lines = text.splitlines()
    column = _csv_column(lines)
    if column is not None:
        import csv

        for cells in csv.reader(lines[1:]):
            if len(cells) > column:
                found.take(cells[column].strip())
        return found
    for line in lines:
        keyed = ["".join(groups) for groups in _KEYED.findall(line)]
        for token in keyed:
            found.take(token)
        if keyed:
            continue
        hexes = _HEX32.findall(line)
        for token in hexes:
            found.take(token)
        if hexes:
            continue
        lone = _LONE.fullmatch(line)
        if lone and any(ch.isdigit() for ch in lone.group(1)):
            found.take(lone.group(1))
    return found


def add_summary(added: int, present: int, rejected: list[str], escapes: int = 0) -> str:
    """What an add did, in one line (the CLI and the dashboard say the same)."""
    text = f"added {added}, already present {present}, rejected {len(rejected)}"
    if rejected:
        shown = ", ".join(repr(r) for r in rejected[:3])
        text += f" ({shown}{', …' if len(rejected) > 3 else ''})"
    if escapes:
        text += f"; ignored {escapes} terminal colour/escape code{'s' if escapes != 1 else ''}"
    return text
