from mjdash.core.text import safe, safe_json
from mjdash.core.timefmt import duration


def test_controls_are_made_visible() -> None:
    assert safe("a\x1b[31mb\x07\x9bc\nd") == "a\\x1b[31mb\\x07\\x9bc\\x0ad"
    assert safe("x\ny\tz", newlines=True) == "x\ny\tz"
    assert safe("[bold]ünï[/]") == "[bold]ünï[/]"


def test_safe_json_escapes_c1() -> None:
    assert safe_json({"p": "\x1b\x9b\x7f é"}) == '{"p": "\\u001b\\u009b\\u007f é"}'


def test_duration() -> None:
    assert [duration(x) for x in (None, 5, 65, 3700, 90000)] == ["", "5s", "1m05s", "1h01m", "1d01h"]
