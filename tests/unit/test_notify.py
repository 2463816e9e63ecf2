"""Desktop notifications: the exact bytes written to the terminal, and at most one a minute of each kind."""

from __future__ import annotations

from mjdash.core.engine.events import TaskChanged
from mjdash.core.model import Status, Task
from mjdash.core.notify import Notifier, sequence
from mjdash.core.store.rows import Change
from mjdash.ui.state.alerts import Alerts
from mjdash.ui.state.task_view import Changes
from mjdash.ui.state.watchlist import News, WatchlistState
from tests.clocks import FakeClock


def test_the_exact_escape_for_each_terminal() -> None:
    assert sequence("mjdash", "batch done", {}) == "\x1b]777;notify;mjdash;batch done\x07"
    assert sequence("mjdash", "batch done", {"TERM_PROGRAM": "iTerm.app"}) == "\x1b]9;mjdash: batch done\x07"
    assert sequence("t", "b", {"TMUX": "/tmp/tmux-0/default,1,0"}) == "\x1bPtmux;\x1b\x1b]777;notify;t;b\x07\x1b\\"


def test_api_text_cannot_end_the_escape_or_start_another() -> None:
    hostile = "a;b\x07c\x1b]52;c;ZXZpbA==\x07d\u202ee"
    out = sequence("t", hostile, {})
    assert out == "\x1b]777;notify;t;a b c ]52 c ZXZpbA== d e\x07"
    assert out.count("\x1b") == 1 and out.count("\x07") == 1


def test_first_at_once_then_at_most_one_a_minute_with_counts() -> None:
    clock, written, spawned = FakeClock(), [], []
    notifier = Notifier(written.append, clock.now, {}, spawned.append)

    def later(n: int) -> tuple[str, str]:
        return "mjdash: tasks failed", f"{n} more failed"

    notifier.limited("failed", 1, lambda: ("mjdash: a task failed", "t1 blocked"), later)
    clock.t += 10
    notifier.limited("failed", 3, lambda: ("never", "sent"), later)
    clock.t += 49
    notifier.tick({"failed": later})
    assert written == ["\x1b]777;notify;mjdash: a task failed;t1 blocked\x07"]  # held: under a minute since
    clock.t += 1
    notifier.tick({"failed": later})
    assert written[1:] == ["\x1b]777;notify;mjdash: tasks failed;3 more failed\x07"]
    assert spawned == [
        ["notify-send", "--app-name=mjdash", "mjdash: a task failed", "t1 blocked"],
        ["notify-send", "--app-name=mjdash", "mjdash: tasks failed", "3 more failed"],
    ]
    clock.t += 120
    notifier.tick({"failed": later})
    assert len(written) == 2  # nothing held: nothing sent


def test_alerts_say_a_batch_is_done_once_and_credits_once_per_warning() -> None:
    clock, written = FakeClock(), []
    alerts = Alerts(Notifier(written.append, clock.now, {}))
    state = WatchlistState()
    state.load(1, [Task("a", status=Status.GENERATING, added_at=0.0), Task("b", status=Status.SUCCESS, added_at=0.0)])
    alerts.after(News(Changes(), [], frozenset()), state)
    assert written == []
    done = Task("a", status=Status.FAILED, added_at=0.0, error_message="blocked")
    state.added([done])
    finished = [TaskChanged(Change("a", Status.GENERATING, Status.FAILED, done), clock.now())]
    alerts.after(News(Changes(), finished, frozenset({"a"})), state)
    assert written == [
        "\x1b]777;notify;mjdash: a task failed;a blocked\x07",
        "\x1b]777;notify;mjdash: every task done;1 failed, 1 success\x07",
    ]
    alerts.after(News(Changes(), finished, frozenset({"a"})), state)
    alerts.credits("credits are low: 40 left")
    alerts.credits("credits are low: 40 left")
    assert written[2:] == ["\x1b]777;notify;mjdash: credits;credits are low: 40 left\x07"]
