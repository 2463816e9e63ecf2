"""Settings precedence and config file problems."""

from __future__ import annotations

from pathlib import Path

import pytest

from mjdash.config import ConfigError, load_settings


def test_precedence_defaults_file_env_flags(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('api_key = "file-key"\nbase_url = "http://file.example"\nrate = 5\ntimeout = 3\n')
    cfg.chmod(0o600)
    s = load_settings({}, config_path=cfg)
    assert s.api_key.reveal() == "file-key" and s.base_url == "http://file.example" and s.rate == 5.0
    assert s.warnings == ()
    s = load_settings({"KIE_API_KEY": "env-key", "MJDASH_BASE_URL": "http://env.example"}, config_path=cfg)
    assert s.api_key.reveal() == "env-key" and s.base_url == "http://env.example"
    s = load_settings({"MJDASH_BASE_URL": "http://env.example"}, config_path=cfg, base_url="http://flag.example")
    assert s.base_url == "http://flag.example"
    assert "file-key" not in repr(s)


def test_notifications_and_the_credit_threshold_from_the_file(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("notify = true\ncredits_low = 250\n")
    s = load_settings({}, config_path=cfg)
    assert s.notify is True and s.credits_low == 250.0 and s.warnings == ()
    assert load_settings({}).notify is False and load_settings({}).credits_low is None


def test_defaults_without_file(tmp_path: Path) -> None:
    s = load_settings({})  # the default config file does not exist: defaults
    assert s.base_url == "https://api.kie.ai" and not s.api_key
    assert s.db_path.name == "mjdash.sqlite3"


def test_a_config_file_asked_for_by_name_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"missing.toml does not exist — check the path given to --config"):
        load_settings({}, config_path=tmp_path / "missing.toml")
    with pytest.raises(ConfigError, match="given to MJDASH_CONFIG"):
        load_settings({"MJDASH_CONFIG": str(tmp_path / "missing.toml")})


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ({"rate": 0.0}, "--rate must be a number greater than 0, not 0.0"),
        ({"timeout": 0.0}, "--timeout must be a number greater than 0"),
        ({"timeout": float("nan")}, "--timeout must be a number greater than 0, not nan"),
        ({"rate": float("inf")}, "--rate must be"),
        ({"concurrency": 0}, "--concurrency must be a whole number of at least 1"),
        ({"retry_attempts": 0}, "--retries must be"),
    ],
)
def test_bad_flags_name_the_flag(flags: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        load_settings({}, **flags)
    assert "config file" not in str(info.value)


@pytest.mark.parametrize(
    "url", ["http://[::1", "http://127.0.0.1:99999", "http://127.0.0.1:0", "ftp://x", "http://", "http://h:port"]
)
def test_bad_base_urls_are_refused_when_settings_load(url: str) -> None:
    with pytest.raises(ConfigError, match="base URL") as info:
        load_settings({"MJDASH_BASE_URL": url})
    assert "MJDASH_BASE_URL" in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(ConfigError, match="--base-url"):
        load_settings({}, base_url=url)


def test_a_key_with_a_line_break_is_refused_without_showing_it(tmp_path: Path) -> None:
    for key in ("sk-secret-part\r\nX-Injected: y", "sk-secret part", "sk-secret\x00part"):
        with pytest.raises(ConfigError, match="line breaks or control characters") as info:
            load_settings({"KIE_API_KEY": key})
        assert "secret" not in str(info.value) and "part" not in str(info.value)
    assert load_settings({"KIE_API_KEY": "  sk-fine\n"}).api_key.reveal() == "sk-fine"  # trimmed at the ends


def test_world_readable_key_file_warns(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('api_key = "k"\n')
    cfg.chmod(0o644)
    s = load_settings({}, config_path=cfg)
    assert any("chmod 600" in w for w in s.warnings)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("api_key = ", "not valid TOML"),
        ("rate = 'fast'", "rate must be a number"),
        ("rate = 0", "greater than 0"),
        ("image_max_mb = 1e-9", "image_max_mb must be a whole number, not 1e-09"),
        ("image_max_mb = 0", "image_max_mb must be a whole number of at least 1"),
        ("base_url = 'api.kie.ai'", "must start with http"),
        ("notify = 'yes'", "notify must be true or false"),
        ("credits_low = -5", "credits_low must be a number greater than 0"),
    ],
)
def test_bad_config_is_one_line(tmp_path: Path, content: str, message: str) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(content)
    with pytest.raises(ConfigError, match=message) as info:
        load_settings({}, config_path=cfg)
    assert "\n" not in str(info.value)


def test_config_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory"):
        load_settings({}, config_path=tmp_path)
