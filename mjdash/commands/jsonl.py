"""``mjdash wait --jsonl``: what happens, one JSON object per line, flushed per line — for ``jq`` or a webhook.

Objects (times are ISO-8601 UTC):

* ``{"event": "changed", "task_id", "status", "previous", "at", "error_code", "error_message"}``
* ``{"event": "engine", "mode", "message", "rate"}`` — the engine's mode changed (rate: requests a second)
* ``{"event": "stuck", "task_id", "age_s", "expected_s", "at"}``
* ``{"event": "done", "counts": {state: n}, "exit": N}`` — last, whatever the exit status
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TextIO

from mjdash.core.engine.events import Event, RoundFinished, StateChanged, TaskChanged, TaskStuck
from mjdash.core.model import Status, iso_epoch
from mjdash.core.text import safe_json


class JsonLines:
    def __init__(self, out: TextIO, scope: Iterable[str], rate: float) -> None:
        self.out = out
        self.scope = frozenset(scope)  # the tasks waited for: the engine may poll others of the database too
        self.rate = rate  # the effective rate, as of the last round (the configured one until then)

    def __call__(self, event: Event) -> None:
        if isinstance(event, TaskChanged) and event.change.task_id in self.scope:
            change = event.change
            self.write(
                {
                    "event": "changed",
                    "task_id": change.task_id,
                    "status": change.new.value,
                    "previous": change.old.value,
                    "at": iso_epoch(event.at),
                    "error_code": change.row.error_code,
                    "error_message": change.row.error_message or change.row.last_error,
                }
            )
        elif isinstance(event, StateChanged):
            state = event.state
            self.write({"event": "engine", "mode": state.mode.value, "message": state.message, "rate": self.rate})
        elif isinstance(event, TaskStuck) and event.task_id in self.scope:
            self.write(
                {
                    "event": "stuck",
                    "task_id": event.task_id,
                    "age_s": round(event.age),
                    "expected_s": round(event.expected),
                    "at": iso_epoch(event.at),
                }
            )
        elif isinstance(event, RoundFinished) and event.requests:
            self.rate = round(event.rate, 3)

    def done(self, counts: Mapping[Status, int], exit_status: int) -> None:
        self.write({"event": "done", "counts": {s.value: n for s, n in sorted(counts.items())}, "exit": exit_status})

    def write(self, data: dict[str, Any]) -> None:
        self.out.write(safe_json(data) + "\n")
        self.out.flush()
