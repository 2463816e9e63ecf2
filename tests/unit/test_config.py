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


def test_defaults_without_file(tmp_path: Path) -> None:
    s = load_settings({}, config_path=tmp_path / "missing.toml")
    assert s.base_url == "https://api.kie.ai" and not s.api_key
    assert s.db_path.name == "mjdash.sqlite3"


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
        ("base_url = 'api.kie.ai'", "must start with http"),
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
