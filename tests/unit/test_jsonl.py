"""``wait --jsonl``'s format: the exact objects, one a line, flushed per line, only the tasks waited for."""

from __future__ import annotations

import io
import json

from mjdash.commands.jsonl import JsonLines
from mjdash.core.engine.events import EngineState, Mode, RoundFinished, StateChanged, TaskChanged, TaskStuck
from mjdash.core.model import Status, Task
from mjdash.core.store.rows import Change

AT = 1_800_000_000.0


class Flushes(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.flushed_at: list[int] = []

    def flush(self) -> None:
        self.flushed_at.append(self.getvalue().count("\n"))


def test_each_event_is_one_json_line_flushed_as_written() -> None:
    out = Flushes()
    sink = JsonLines(out, ["a", "b"], rate=2.0)
    failed = Task("b", status=Status.FAILED, error_code=400, error_message="blocked \x1b[31mred\x1b[0m [bold]x[/]")
    sink(StateChanged(EngineState(Mode.POLLING, AT)))
    sink(TaskChanged(Change("a", Status.UNKNOWN, Status.GENERATING, Task("a", status=Status.GENERATING)), AT))
    sink(TaskChanged(Change("zzz", Status.UNKNOWN, Status.SUCCESS, Task("zzz")), AT))  # not waited for
    sink(RoundFinished(AT, requests=4, changes=1, total=2, done=0, pending=2, eta=None, rate=1.5))
    sink(StateChanged(EngineState(Mode.RATE_LIMITED, AT, resume_at=AT + 5, message="slow down")))
    sink(TaskStuck("a", AT + 1, age=400.4, expected=60.0))
    sink(TaskChanged(Change("b", Status.GENERATING, Status.FAILED, failed), AT + 2))
    sink.done({Status.FAILED: 1, Status.GENERATING: 1}, 124)
    lines = out.getvalue().splitlines()
    assert out.flushed_at == list(range(1, len(lines) + 1))  # a flush after every line
    assert [json.loads(line) for line in lines] == [
        {"event": "engine", "mode": "polling", "message": None, "rate": 2.0},
        {
            "event": "changed",
            "task_id": "a",
            "status": "generating",
            "previous": "unknown",
            "at": "2027-01-15T08:00:00Z",
            "error_code": None,
            "error_message": None,
        },
        {"event": "engine", "mode": "rate_limited", "message": "slow down", "rate": 1.5},
        {"event": "stuck", "task_id": "a", "age_s": 400, "expected_s": 60, "at": "2027-01-15T08:00:01Z"},
        {
            "event": "changed",
            "task_id": "b",
            "status": "failed",
            "previous": "generating",
            "at": "2027-01-15T08:00:02Z",
            "error_code": 400,
            "error_message": "blocked \x1b[31mred\x1b[0m [bold]x[/]",  # the text as sent…
        },
        {"event": "done", "counts": {"failed": 1, "generating": 1}, "exit": 124},
    ]
    assert "\x1b" not in out.getvalue() and "\\u001b[31m" in out.getvalue()  # …but no escape reaches a terminal
