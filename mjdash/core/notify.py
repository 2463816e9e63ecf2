"""Desktop notifications: the terminal's own escape (OSC 777, or OSC 9 where the terminal speaks that), which also
works over SSH, plus ``notify-send`` when it is installed. At most one notification a minute of each kind: the
first failure at once, then counts."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

MIN_GAP = 60.0  # seconds between two notifications of one kind
OSC9_TERMINALS = frozenset({"iTerm.app", "WezTerm"})  # they show OSC 9 as a notification (777 is not theirs)
Message = tuple[str, str]  # (title, body)
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f;\u202a-\u202e\u2066-\u2069]")  # controls, bidi, OSC's separator


def sequence(title: str, body: str, env: Mapping[str, str]) -> str:
    """The escape that makes the terminal show a notification (wrapped for tmux, which passes it on when its
    ``allow-passthrough`` option is on). API text in it is stripped of anything a terminal would act on."""
    title, body = _UNSAFE.sub(" ", title)[:80], _UNSAFE.sub(" ", body)[:200]
    if env.get("TERM_PROGRAM") in OSC9_TERMINALS:
        osc = f"\x1b]9;{title}: {body}\x07"
    else:
        osc = f"\x1b]777;notify;{title};{body}\x07"
    if env.get("TMUX"):
        return "\x1bPtmux;" + osc.replace("\x1b", "\x1b\x1b") + "\x1b\\"
    return osc


@dataclass
class _Gate:
    last: float | None = None  # when this kind was last sent
    held: int = 0  # events since, not sent yet


@dataclass
class Notifier:
    write: Callable[[str], None]  # to the terminal
    now: Callable[[], float]
    env: Mapping[str, str]
    spawn: Callable[[list[str]], None] | None = None  # runs notify-send (None: not installed)
    sent: list[tuple[str, str]] = field(default_factory=list)  # (title, body), newest last
    _gates: dict[str, _Gate] = field(default_factory=dict)

    def send(self, title: str, body: str) -> None:
        self.sent.append((title, body))
        del self.sent[:-50]
        self.write(sequence(title, body, self.env))
        if self.spawn is not None:
            self.spawn(["notify-send", "--app-name=mjdash", _UNSAFE.sub(" ", title), _UNSAFE.sub(" ", body)])

    def limited(self, kind: str, count: int, first: Callable[[], Message], later: Callable[[int], Message]) -> None:
        """``count`` events of ``kind``: the first ever is sent at once (``first()``), later ones at most once a
        minute, as one notification saying how many (``later(n)``). :meth:`tick` sends what was held."""
        gate = self._gates.setdefault(kind, _Gate())
        if gate.last is None:
            gate.last = self.now()
            self.send(*first())
            count -= 1
        gate.held += count
        self._release(kind, gate, later)

    def tick(self, later: Mapping[str, Callable[[int], Message]]) -> None:
        for kind, gate in self._gates.items():
            if kind in later:
                self._release(kind, gate, later[kind])

    def _release(self, kind: str, gate: _Gate, later: Callable[[int], Message]) -> None:
        now = self.now()
        if gate.held > 0 and gate.last is not None and now - gate.last >= MIN_GAP:
            gate.last, held, gate.held = now, gate.held, 0
            self.send(*later(held))
