"""The batch summary's arithmetic, on rows made by hand: progress, ETA, durations, throughput and stuck tasks."""

from __future__ import annotations

import pytest

from mjdash.core.insight import Summary
from mjdash.core.model import Status, Task

NOW = 1_800_000_000.0


def task(task_id: str, status: Status, created: float, completed: float | None = None, **kw: object) -> Task:
    return Task(
        task_id,
        added_at=created,
        status=status,
        task_type="mj_txt2img",
        speed="fast",
        created_at=created,
        completed_at=completed,
        **kw,  # type: ignore[arg-type]
    )


def test_progress_durations_throughput_and_eta() -> None:
    rows = [
        task("a", Status.SUCCESS, NOW - 3600, NOW - 3600 + 40),  # an hour ago: not in the last ten minutes
        task("b", Status.SUCCESS, NOW - 400, NOW - 400 + 60),
        task("c", Status.SUCCESS, NOW - 300, NOW - 300 + 80),
        task("d", Status.FAILED, NOW - 200, NOW - 100, error_code=400, error_message="blocked by moderation"),
        task("e", Status.GENERATING, NOW - 30),
    ]
    summary = Summary.of(rows, NOW)
    assert summary.total == 5 and summary.done == 4 and summary.done_fraction == 0.8
    [kind] = summary.durations
    assert (kind.count, kind.p50_s, kind.p95_s) == (3, 60.0, 78.0)
    assert summary.eta_s == pytest.approx(30.0)  # e started 30 s ago; its kind takes 60 s
    assert summary.recent_per_min == pytest.approx(3 / 10)  # b, c and d finished in the last ten minutes
    assert summary.batch_per_min == pytest.approx(4 / 60)  # four over the hour since a was created
    assert [(g.kind.value, g.task_ids) for g in summary.failures] == [("moderation", ("d",))]
    assert summary.to_json()["counts"] == {"failed": 1, "generating": 1, "success": 3}


def test_stuck_tasks_are_listed_oldest_first_with_what_was_expected() -> None:
    rows = [
        task("done", Status.SUCCESS, NOW - 1000, NOW - 1000 + 50),
        task("young", Status.GENERATING, NOW - 400, stuck_since=NOW - 100),
        task("old", Status.GENERATING, NOW - 900, stuck_since=NOW - 500),
        task("fine", Status.GENERATING, NOW - 20),
    ]
    summary = Summary.of(rows, NOW)
    assert [(s.task_id, s.age_s) for s in summary.stuck] == [("old", 900.0), ("young", 400.0)]
    assert all(s.expected_s == pytest.approx((60 * 50) ** 0.5) for s in summary.stuck)  # the prior and one sample
    assert summary.to_json()["stuck"][0] == {"task_id": "old", "age_s": 900, "expected_s": 55}


def test_an_empty_watchlist_is_done_with_no_eta() -> None:
    summary = Summary.of([], NOW)
    assert summary.total == 0 and summary.done_fraction == 1.0 and summary.eta_s is None
    assert summary.to_json()["throughput_per_min"] == {"last_10_min": 0.0, "batch": 0.0}
