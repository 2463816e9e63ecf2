"""Task ID validation and extraction from free text."""

from __future__ import annotations

import pytest

from mjdash.core.intake.ids import InvalidTaskId, extract, validate

HEX = "0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize("good", [HEX, "4edb3cXXXXX5e3f0aa5cc", "a", "x_y-z", "A" * 128])
def test_valid(good: str) -> None:
    assert validate(f"  {good} ") == good


@pytest.mark.parametrize("bad", ["", "has space", "semi;colon", "ünïcode", "A" * 129, "a/b", "a\x1bb"])
def test_invalid_names_the_value(bad: str) -> None:
    with pytest.raises(InvalidTaskId, match="not a task ID"):
        validate(bad)


def test_generate_endpoint_json_lines_and_logs() -> None:
    text = "\n".join(
        [
            '{"code":200,"msg":"success","data":{"taskId":"task_one_1"}}',
            "2026-11-28 12:00:01 INFO submitted prompt 'a fox' -> taskId=abc123",
            f"plain log mentioning {HEX} somewhere",
            "task_id: 'quoted-2'",
            "TASKID = upper3",
        ]
    )
    assert extract(text).ids == ["task_one_1", "abc123", HEX, "quoted-2", "upper3"]


def test_ordinary_words_are_not_ids() -> None:
    text = "Submitting batch of 300 prompts\nhello\nDone in 42 seconds.\nERROR rate limited, retrying\n2026"
    assert extract(text).ids == ["2026"] or extract(text).ids == []
    assert "hello" not in extract(text).ids and "Submitting" not in extract(text).ids


def test_one_id_per_line_file_and_dedupe() -> None:
    found = extract(f"id-001\nid-002\n{HEX}\nid-001\n\n")
    assert found.ids == ["id-001", "id-002", HEX]


def test_bad_keyed_values_are_rejected_and_named() -> None:
    found = extract('{"taskId": "bad id!"}\n{"taskId": "ok1"}')
    assert found.ids == ["ok1"]
    assert found.rejected == ["bad id!"]


def test_csv_with_a_task_id_column() -> None:
    found = extract('prompt,taskId,when\n"a fox, red",t-1,2026\n"b",t-2,2027\n')
    assert found.ids == ["t-1", "t-2"]


def test_hex_inside_a_longer_token_is_not_taken() -> None:
    assert extract(f"sha256:{HEX}{HEX} and x{HEX}y").ids == []


def test_ids_in_a_coloured_log_are_found_and_the_codes_counted() -> None:
    from mjdash.core.intake.ids import add_summary

    hex_id = "0123456789abcdef0123456789abcdef"
    log = f"\x1b[1;32m{hex_id}\x1b[0m\n\x1b]0;title\x07\x1b[33mINFO\x1b[0m taskId=\x1b[36mabc-1\x1b[0m\n"
    found = extract(log)
    assert found.ids == [hex_id, "abc-1"] and found.rejected == []
    assert found.escapes == 7
    assert (
        add_summary(2, 0, [], found.escapes)
        == "added 2, already present 0, rejected 0; ignored 7 terminal colour/escape codes"
    )
