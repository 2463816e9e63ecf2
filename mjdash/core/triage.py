"""Failure triage: failed tasks grouped by what went wrong, each group with a kind and one line of advice.

Tasks are grouped by (``errorCode``, ``errorMessage``) with the task-specific parts of the message — URLs, IDs,
numbers — normalised away, so "job 4edb3c… timed out after 300 s" and "job 9f01aa… timed out after 310 s" are one
group. A group's kind comes from :data:`RULES`, the one table of rules: the first that matches wins.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass

from mjdash.core.model import Task


class Kind(enum.StrEnum):
    MODERATION = "moderation"
    CREDITS = "credits"
    UPSTREAM = "upstream"
    INPUT = "input"
    OTHER = "other"


@dataclass(frozen=True)
class Rule:
    kind: Kind
    words: re.Pattern[str] | None = None  # matched against the message (any case)
    codes: frozenset[int] = frozenset()  # or the error code is one of these

    def matches(self, code: int | None, message: str) -> bool:
        return (self.words is not None and self.words.search(message) is not None) or code in self.codes


def _words(*alternatives: str) -> re.Pattern[str]:
    return re.compile("|".join(alternatives), re.IGNORECASE)


# In order: the message says more than the code (kie.ai answers a moderation refusal with 400, say).
RULES: tuple[Rule, ...] = (
    Rule(
        Kind.MODERATION,
        _words(
            r"moderat",
            r"banned",
            r"prohibited",
            r"content polic",
            r"not allowed",
            r"nsfw",
            r"inappropriate",
            r"violat",
            r"sensitive",
            r"flagged",
            r"blocked",
        ),
    ),
    Rule(
        Kind.CREDITS,
        _words(r"insufficient (credit|balance)", r"not enough credit", r"credits? (exhausted|ran out)"),
        frozenset({402}),
    ),
    Rule(
        Kind.INPUT,
        _words(r"invalid", r"parameter", r"unsupported", r"(image|file) ?urls?", r"could not download", r"too long"),
        frozenset({400, 422}),
    ),
    Rule(
        Kind.UPSTREAM,
        _words(
            r"generation failed",
            r"job failed",
            r"timed? ?out",
            r"internal error",
            r"server error",
            r"upstream",
            r"overload",
            r"try again later",
            r"unavailable",
        ),
        frozenset({500, 501, 502, 503, 504, 505}),
    ),
)

ADVICE: dict[Kind, str] = {
    Kind.MODERATION: "rephrase the prompt (or change the reference image): resubmitting it as is will fail again",
    Kind.CREDITS: "top up the kie.ai account, then resubmit: nothing was generated",
    Kind.UPSTREAM: "usually transient on Midjourney's side: resubmit as is",
    Kind.INPUT: "fix the parameters or the image URL named in the message, then resubmit",
    Kind.OTHER: "read the message; resubmit once, and if it fails the same way, ask kie.ai's support",
}

_URL = re.compile(r"https?://\S+", re.IGNORECASE)
_ID = re.compile(r"\b(?=[0-9a-f-]*\d)[0-9a-f][0-9a-f-]{7,}\b", re.IGNORECASE)  # hex IDs and UUIDs
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_SPACE = re.compile(r"\s+")


def normalise(message: str) -> str:
    """The message with its task-specific parts replaced: URLs, IDs and numbers."""
    text = _URL.sub("<url>", message)
    text = _ID.sub("<id>", text)
    text = _NUMBER.sub("<n>", text)
    return _SPACE.sub(" ", text).strip()


def classify(code: int | None, message: str) -> Kind:
    for rule in RULES:
        if rule.matches(code, message):
            return rule.kind
    return Kind.OTHER


@dataclass(frozen=True)
class FailureGroup:
    kind: Kind
    error_code: int | None
    message: str  # normalised
    task_ids: tuple[str, ...]

    @property
    def count(self) -> int:
        return len(self.task_ids)

    @property
    def advice(self) -> str:
        return ADVICE[self.kind]

    def to_json(self) -> dict[str, object]:
        return {
            "kind": self.kind.value,
            "error_code": self.error_code,
            "message": self.message,
            "count": self.count,
            "advice": self.advice,
            "task_ids": list(self.task_ids),
        }


def group_failures(tasks: Iterable[Task]) -> list[FailureGroup]:
    """The failed tasks (``failed`` and ``generation_failed``) in groups, the largest first."""
    groups: dict[tuple[int | None, str], list[str]] = {}
    for task in tasks:
        if task.status.is_failure:
            key = (task.error_code, normalise(task.error_message or task.last_error or ""))
            groups.setdefault(key, []).append(task.task_id)
    found = [
        FailureGroup(classify(code, message), code, message, tuple(ids)) for (code, message), ids in groups.items()
    ]
    return sorted(found, key=lambda g: (-g.count, g.kind.value, g.message))
