"""The expiry index the header counts with: always what a pass over every row with ``is_expiring`` would say."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mjdash.core.expiry import ExpiryIndex, is_expiring
from mjdash.core.model import Status, Task

DAY = 86_400.0
NOW = 1_800_000_000.0

rows = st.builds(
    Task,
    task_id=st.sampled_from([f"t{i}" for i in range(12)]),
    status=st.sampled_from([Status.SUCCESS, Status.SUCCESS, Status.GENERATING, Status.FAILED]),
    completed_at=st.one_of(st.none(), st.floats(NOW - 15 * DAY, NOW, allow_nan=False)),
    saved_at=st.one_of(st.none(), st.just(NOW - 1.0)),
)


@settings(max_examples=200, deadline=None)
@given(first=st.lists(rows, max_size=12), updates=st.lists(st.tuples(rows, st.booleans()), max_size=30))
def test_the_index_counts_what_a_full_pass_would(first: list[Task], updates: list[tuple[Task, bool]]) -> None:
    watched = {row.task_id: row for row in first}
    index = ExpiryIndex(14.0)
    index.load(watched.values())
    for row, removed in updates:
        old = watched.get(row.task_id)
        if removed:
            index.replace(old, None)
            watched.pop(row.task_id, None)
        else:
            index.replace(old, row)
            watched[row.task_id] = row
        for now in (NOW, NOW + DAY, NOW + 3 * DAY):
            assert index.count(now) == sum(is_expiring(r, now, 14.0) for r in watched.values())
