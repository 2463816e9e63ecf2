"""The tolerant parser: documented shapes, live shapes, and anything else JSON can be."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mjdash.core.model import Status, Task
from mjdash.core.parse import parse_flag, parse_record, parse_time

SPEC_EXAMPLE = {
    "taskId": "4edb3c5XXXXX75e3f0aa5cc",
    "taskType": "mj_txt2img",
    "paramJson": '{"aspectRatio":"16:9","callBackUrl":"https://api.example.com/callback","fileUrl":"",'
    '"prompt":"Help me generate a sci-fi themed fighter jet","speed":"Relax","stylization":1,'
    '"taskType":"mj_txt2img","version":"7","waterMark":"","weirdness":1}',
    "completeTime": "2024-03-20T10:30:00Z",
    "resultInfoJson": {
        "resultUrls": [
            {"resultUrl": f"https://tempfile.aiquickdraw.com/v/42ea4a4250571eb18361bd2e309c8e8a_0_{n}.jpeg"}
            for n in range(4)
        ]
    },
    "successFlag": 1,
    "createTime": "2024-03-20T10:29:00Z",
    "errorCode": None,
    "errorMessage": None,
}

LIVE_EXAMPLE = {
    "taskId": "a1b2c3d4e5f60718293a4b5c6d7e8f90",
    "taskType": "mj_video",
    "paramJson": json.dumps(
        {
            "prompt": "waves",
            "version": 7,
            "enableTranslation": False,
            "fileUrls": ["https://x.example/a.png"],
            "motion": "high",
            "videoBatchSize": 1,
            "variety": 5,
            "ow": 100,
        }
    ),
    "completeTime": 1760557378000,
    "createTime": 1760557318000,
    "resultInfoJson": {"resultUrls": [{"resultUrl": "https://tempfile.example/v.mp4"}]},
    "successFlag": "1",
    "errorCode": None,
    "errorMessage": None,
}


def test_spec_example_parses_every_field() -> None:
    task = parse_record(SPEC_EXAMPLE)
    assert task.task_id == "4edb3c5XXXXX75e3f0aa5cc"
    assert task.status is Status.SUCCESS
    assert task.task_type == "mj_txt2img"
    assert task.prompt == "Help me generate a sci-fi themed fighter jet"
    assert task.params["aspectRatio"] == "16:9"
    assert task.created_at == datetime(2024, 3, 20, 10, 29, tzinfo=UTC).timestamp()
    assert task.completed_at == datetime(2024, 3, 20, 10, 30, tzinfo=UTC).timestamp()
    assert task.duration_s == 60.0
    assert len(task.result_urls) == 4 and task.result_urls[0].endswith("_0_0.jpeg")
    assert task.error_code is None and task.error_message is None


def test_live_shapes_epoch_ms_string_flag_numeric_version_extra_keys() -> None:
    task = parse_record(LIVE_EXAMPLE)
    assert task.status is Status.SUCCESS
    assert task.created_at == 1760557318
    assert task.duration_s == 60.0
    assert task.param("version") == "7"
    assert task.params["fileUrls"] == ["https://x.example/a.png"]
    assert task.params["motion"] == "high"
    assert task.is_video


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1760557318000, datetime.fromtimestamp(1760557318, tz=UTC)),
        (1760557318, datetime.fromtimestamp(1760557318, tz=UTC)),
        ("1760557318000", datetime.fromtimestamp(1760557318, tz=UTC)),
        ("2024-03-20T10:30:00Z", datetime(2024, 3, 20, 10, 30, tzinfo=UTC)),
        ("2024-03-20T12:30:00+02:00", datetime(2024, 3, 20, 10, 30, tzinfo=UTC)),
        ("2024-03-20 10:30:00", datetime(2024, 3, 20, 10, 30, tzinfo=UTC)),  # naive is UTC
        (None, None),
        ("", None),
        ("yesterday", None),
        (True, None),
        (-5, None),
        (0, None),
        (float("nan"), None),
        (float("inf"), None),
        (10**30, None),
        ("9999-01-01T00:00:00Z", None),  # absurd
        ([], None),
        ({}, None),
    ],
)
def test_parse_time(value: object, expected: datetime | None) -> None:
    assert parse_time(value) == expected


@pytest.mark.parametrize(
    ("flag", "status"),
    [
        (0, Status.GENERATING),
        (1, Status.SUCCESS),
        (2, Status.FAILED),
        (3, Status.GENERATION_FAILED),
        ("2", Status.FAILED),
        (" 3 ", Status.GENERATION_FAILED),
        (1.0, Status.SUCCESS),
        (4, Status.UNKNOWN),
        (-1, Status.UNKNOWN),
        (True, Status.UNKNOWN),
        ("one", Status.UNKNOWN),
        (None, Status.UNKNOWN),
        (1.5, Status.UNKNOWN),
    ],
)
def test_parse_flag(flag: object, status: Status) -> None:
    assert parse_flag(flag) is status


def test_failure_record() -> None:
    task = parse_record(
        {
            "taskId": "t1",
            "successFlag": 3,
            "errorCode": "501",
            "errorMessage": "Job timed out",
            "paramJson": "{}",
        }
    )
    assert task.status is Status.GENERATION_FAILED
    assert task.status.is_final and task.status.is_failure
    assert task.error_code == 501
    assert task.error_message == "Job timed out"


def test_param_json_as_object_and_invalid_json() -> None:
    as_object = parse_record({"taskId": "t", "paramJson": {"prompt": "p", "speed": "fast"}})
    assert as_object.prompt == "p" and as_object.param("speed") == "fast"
    broken = parse_record({"taskId": "t", "paramJson": '{"prompt": "cut of', "successFlag": 0})
    assert broken.params == {} and broken.params_raw == '{"prompt": "cut of'
    assert broken.status is Status.GENERATING
    assert broken.to_json()["params"] == '{"prompt": "cut of'


def test_non_web_result_urls_are_dropped() -> None:
    task = parse_record(
        {
            "taskId": "t",
            "resultInfoJson": {
                "resultUrls": [
                    {"resultUrl": "file:///etc/passwd"},
                    {"resultUrl": "javascript:alert(1)"},
                    {"resultUrl": "https://ok.example/a.jpeg"},
                    {"resultUrl": None},
                    "http://bare.example/b.png",
                    {"resultUrl": "http://"},
                ]
            },
        }
    )
    assert task.result_urls == ("https://ok.example/a.jpeg", "http://bare.example/b.png")


def test_wrong_types_become_unknown_field_by_field() -> None:
    task = parse_record(
        {
            "taskId": 5,
            "taskType": ["x"],
            "paramJson": 12,
            "createTime": {},
            "successFlag": 1,
            "errorMessage": 7,
        },
        task_id="asked",
    )
    assert task.task_id == "asked"
    assert task.task_type is None
    assert task.params == {}
    assert task.created_at is None
    assert task.status is Status.SUCCESS  # the good field survives the bad ones
    assert task.error_message == "7"


def test_completion_before_creation_gives_no_duration() -> None:
    task = parse_record({"taskId": "t", "createTime": 1760557318000, "completeTime": 1760557000000})
    assert task.duration_s is None


def test_task_is_immutable() -> None:
    task = parse_record(SPEC_EXAMPLE)
    with pytest.raises(AttributeError):
        task.status = Status.FAILED  # type: ignore[misc]
    with pytest.raises(TypeError):
        task.params["prompt"] = "changed"  # type: ignore[index]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=25,
)
record_keys = st.sampled_from(
    [
        "taskId",
        "taskType",
        "paramJson",
        "completeTime",
        "createTime",
        "resultInfoJson",
        "successFlag",
        "errorCode",
        "errorMessage",
    ]
)
records = st.dictionaries(record_keys, json_values | st.text().map(json.dumps), max_size=9)


@settings(max_examples=400, deadline=None)
@given(st.one_of(json_values, records))
def test_parser_never_raises(data: object) -> None:
    task = parse_record(data, task_id="fallback")
    assert isinstance(task, Task)
    assert isinstance(task.status, Status)
    json.dumps(task.to_json())  # always serialisable
    for url in task.result_urls:
        assert url.startswith(("http://", "https://"))


def test_a_newer_answer_merges_into_the_one_record() -> None:
    """The rule the engine and ``Store.task`` share: the answer's state, results and errors; what it leaves
    unknown about the request keeps what was known; the local fields stay."""
    known = Task(
        "t1",
        batch="night",
        note="n",
        added_at=5.0,
        status=Status.GENERATING,
        task_type="mj_txt2img",
        speed="fast",
        created_at=1_760_000_000.0,
        error_code=500,
        error_message="earlier failure",
        last_polled=150.0,
        saved_at=None,
    )
    answer = parse_record({"taskId": "t1", "successFlag": 1, "completeTime": 1_760_000_060_000, "paramJson": "{}"})
    merged = known.merged(answer)
    assert merged.status is Status.SUCCESS and merged.is_final
    assert (merged.task_type, merged.speed, merged.created_at) == ("mj_txt2img", "fast", 1_760_000_000.0)
    assert merged.completed_at == 1_760_000_060.0 and merged.duration_s == 60.0
    assert merged.error_code is None and merged.error_message is None  # the answer's errors, not the old ones
    assert (merged.batch, merged.note, merged.added_at, merged.last_polled) == ("night", "n", 5.0, 150.0)
