"""Text from the network is data: make it safe to print to a terminal.

Control characters (C0 except tab/newline where allowed, DEL, C1) are made visible as ``\\xNN`` escapes, so a
prompt can never move the cursor, set the title, write the clipboard (OSC 52) or ring the bell. Bidirectional
overrides and isolates (U+202A–U+202E, U+2066–U+2069), which reorder what a reader sees without being seen, are
shown as ``\\u202e`` and the like. Rich markup is not a concern here (plain ``print``); the UI wraps API text in
``rich.text.Text``. Every path that shows API text — CLI output, progress bars, banners, toasts, the table —
goes through :func:`safe`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import IO, Any

_BIDI = "\u202a-\u202e\u2066-\u2069"
_CONTROL = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}]")
_CONTROL_ALL = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}]")
_C1_AND_DEL = re.compile(f"[\x7f-\x9f{_BIDI}]")  # what JSON leaves as is and a terminal would act on
_HAS_C1_OR_DEL = _C1_AND_DEL.search


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


SHOWN_CHARS = 4000  # how much of one value a human view lays out: a 1 MB prompt must not freeze the screen


def capped(text: str, hint: str, limit: int = SHOWN_CHARS) -> str:
    """``text`` cut to ``limit`` characters, saying how many more there are and how to get them all."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… {len(text) - limit:,} more characters ({hint})"


def plain(text: str) -> str:
    """``text`` without control or bidi characters at all (newlines and tabs kept): for the clipboard, where a
    visible escape would change what the user pastes and a raw one could act on the terminal they paste into."""
    return _CONTROL.sub("", text)


def safe(text: str, *, newlines: bool = False) -> str:
    """``text`` with every control character shown as ``\\xNN`` (newline and tab kept when ``newlines``)."""
    return (_CONTROL if newlines else _CONTROL_ALL).sub(_visible, text)


def safe_json(value: Any, *, indent: int | None = None) -> str:
    """JSON text that is safe on a terminal: C0 is escaped by json itself; DEL and C1 are escaped here."""
    text = json.dumps(value, ensure_ascii=False, indent=indent)
    return _C1_AND_DEL.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def write_json_array(out: IO[str], items: Iterable[Any]) -> None:
    """A JSON array with one compact object per line, written as the items come (constant memory): readable,
    and fast (the C encoder; ``indent`` is not). Safe on a terminal like :func:`safe_json`."""
    first = True
    for item in items:
        line = json.dumps(item, ensure_ascii=False)
        if (not line.isascii() or "\x7f" in line) and _HAS_C1_OR_DEL(line):  # the checks in C first: most is ASCII
            line = _C1_AND_DEL.sub(_escaped, line)
        out.write(("[\n" if first else ",\n") + line)
        first = False
    out.write("[]\n" if first else "\n]\n")


def _escaped(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def short_id(task_id: str) -> str:
    """A task ID cut to ten cells, for tables and toasts."""
    return task_id if len(task_id) <= 10 else task_id[:9] + "…"
