"""Failure triage: one test per rule of the table, the normalisation, and the grouping."""

from __future__ import annotations

import pytest

from mjdash.core.model import Status, Task
from mjdash.core.triage import ADVICE, RULES, Kind, classify, group_failures, normalise


@pytest.mark.parametrize(
    ("code", "message", "kind"),
    [
        # moderation: by the words, whatever the code
        (400, "The prompt was blocked by content moderation. Please adjust it and try again.", Kind.MODERATION),
        (2, "Banned prompt detected: gore", Kind.MODERATION),
        (None, "This request violates our content policy", Kind.MODERATION),
        # credits: 402, or the words
        (402, "Payment required", Kind.CREDITS),
        (None, "Insufficient credits for relaxed generation.", Kind.CREDITS),
        # input: invalid parameters or image URLs; 400 and 422 without other words
        (422, "Invalid image URL in fileUrls: could not download reference image.", Kind.INPUT),
        (None, "parameter aspectRatio must be one of 1:1, 16:9", Kind.INPUT),
        (400, "Bad request", Kind.INPUT),
        # upstream: generation failures, timeouts, server errors
        (501, "Midjourney job failed: the image generation timed out.", Kind.UPSTREAM),
        (500, "Internal error while queueing the job; no credits were charged.", Kind.UPSTREAM),
        (None, "upstream overloaded, try again later", Kind.UPSTREAM),
        (503, "", Kind.UPSTREAM),
        # other
        (None, "something unexpected", Kind.OTHER),
        (None, "", Kind.OTHER),
    ],
)
def test_each_rule_of_the_table(code: int | None, message: str, kind: Kind) -> None:
    assert classify(code, message) is kind


def test_every_kind_has_a_rule_or_is_the_default_and_has_advice() -> None:
    assert {rule.kind for rule in RULES} | {Kind.OTHER} == set(Kind)
    assert all(ADVICE[kind] for kind in Kind)


def test_task_specific_parts_are_normalised_away() -> None:
    a = "job 4edb3c5a9f0175e3f0aa5cc timed out after 300 s at https://x.example/a?b=1"
    b = "job 9f01aa77c2e4d1b0e3f0aa5c1 timed out after 310.5 s at https://y.example/c"
    assert normalise(a) == normalise(b) == "job <id> timed out after <n> s at <url>"
    assert normalise("Invalid  image URL\n in fileUrls") == "Invalid image URL in fileUrls"  # words stay


def test_failed_tasks_are_grouped_largest_first() -> None:
    def failed(task_id: str, code: int | None, message: str, status: Status = Status.FAILED) -> Task:
        return Task(task_id, status=status, error_code=code, error_message=message)

    tasks = [
        failed("a", 501, "job 1 timed out after 300 s", Status.GENERATION_FAILED),
        failed("b", 400, "The prompt was blocked by content moderation."),
        failed("c", 501, "job 2 timed out after 301 s", Status.GENERATION_FAILED),
        failed("d", 500, "job 3 timed out after 1 s"),  # another code: another group
        Task("e", status=Status.SUCCESS),
        Task("f", status=Status.ERROR, last_error="connection refused"),  # ours, not a failed task
    ]
    groups = group_failures(tasks)
    assert [(g.kind, g.error_code, g.count, g.task_ids) for g in groups] == [
        (Kind.UPSTREAM, 501, 2, ("a", "c")),
        (Kind.MODERATION, 400, 1, ("b",)),
        (Kind.UPSTREAM, 500, 1, ("d",)),
    ]
    assert groups[0].to_json() == {
        "kind": "upstream",
        "error_code": 501,
        "message": "job <n> timed out after <n> s",
        "count": 2,
        "advice": ADVICE[Kind.UPSTREAM],
        "task_ids": ["a", "c"],
    }
