"""The table's model: filters, sort order and in-place updates, without Textual."""

from __future__ import annotations

import dataclasses
from typing import Any

from mjdash.core.model import Status, Task
from mjdash.ui.state.task_view import TaskView
from mjdash.ui.state.watchlist import WatchlistState


def row(task_id: str, status: Status = Status.GENERATING, prompt: str | None = None, **kw: Any) -> Task:
    return Task(task_id, added_at=0.0, status=status, prompt=prompt, **kw)


def loaded(*rows: Task) -> TaskView:
    view = TaskView()
    view.rows_by_id = {r.task_id: r for r in rows}
    view.rebuild()
    return view


def test_updates_keep_places_and_new_rows_go_last() -> None:
    view = loaded(row("a", prompt="zebra"), row("b", prompt="apple"))
    view.sort("prompt", reverse=False)
    assert view.order == ["b", "a"]
    changes = view.apply([row("a", prompt="aardvark"), row("c", prompt="a")])
    assert view.order == ["b", "a", "c"]  # no reshuffle under the reader until the user sorts again
    assert changes.changed == {"a"} and changes.added == 1 and not changes.removed
    assert view.index("c") == 2
    assert not view.apply([row("b", prompt="apple")])  # same data: nothing to repaint


def test_rows_leave_and_enter_a_state_filter() -> None:
    view = loaded(row("a"), row("b"), row("c", Status.SUCCESS))
    view.state_group = "running"
    view.rebuild()
    assert view.order == ["a", "b"]
    changes = view.apply([row("a", Status.SUCCESS), row("c", Status.GENERATING)])
    assert changes.removed == {"a"} and changes.added == 1
    assert view.order == ["b", "c"] and view.index("a") is None
    assert view.remove(["b", "zzz"]) == {"b"} and "b" not in view.rows_by_id


def test_sort_puts_unknown_values_last_both_ways() -> None:
    view = loaded(
        row("a", created_at=0.0, completed_at=20.0),
        row("b"),  # still running: no duration yet
        row("c", created_at=0.0, completed_at=90.0),
    )
    view.sort("took", reverse=False)
    assert view.order == ["a", "c", "b"]
    view.sort("took", reverse=True)
    assert view.order == ["c", "a", "b"]


def test_text_and_batch_filters() -> None:
    view = loaded(
        row("a", prompt="Red fox", batch="x"),
        row("b", Status.FAILED, error_message="fox not allowed", batch="y"),
        row("c", prompt="owl", batch="x"),
    )
    view.text_filter = "FOX"
    view.rebuild()
    assert view.order == ["a", "b"]
    view.batch_filter = "x"
    view.rebuild()
    assert view.order == ["a"]


def test_the_header_counts_results_about_to_expire_as_rows_come_change_and_go() -> None:
    day, now = 86_400.0, 1_800_000_000.0
    state = WatchlistState(expiry_days=14.0)
    old = row("a", Status.SUCCESS, completed_at=now - 13 * day)  # expires in a day
    state.load(1, [old, row("b"), row("c", Status.SUCCESS, completed_at=now - 5 * day)])
    assert state.header(now).expiring == 1
    assert state.header(now + 2 * day).expiring == 0  # a expired; c (in 9 days) not within 48 h yet
    assert state.header(now + 8 * day).expiring == 1  # time alone brings c in
    state.added([dataclasses.replace(old, saved_at=now)])
    assert state.header(now).expiring == 0  # saved
    state.added([row("b", Status.SUCCESS, completed_at=now - 12.5 * day)])
    assert state.header(now).expiring == 1
    state.removed(["b"])
    assert state.header(now).expiring == 0
