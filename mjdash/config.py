"""Settings: defaults < config file < environment < command-line flags. Paths come from platformdirs.

Config file (TOML), by default ``<user config dir>/mjdash/config.toml``::

    api_key = "..."            # or KIE_API_KEY
    base_url = "https://api.kie.ai"   # or MJDASH_BASE_URL, --base-url
    db = "/path/to/mjdash.sqlite3"    # or MJDASH_DB, --db
    timeout = 10               # seconds per request
    retry_attempts = 4
    retry_seconds = 8          # total time one request may spend retrying
    rate = 2.0                 # requests per second (the engine)
    concurrency = 4            # requests in flight (the engine)
    min_interval = 3.0         # seconds: never ask about one task more often than this
    stuck_factor = 3.0         # a running task is "stuck" past this many times its expected duration
                               # (past the learned 99th percentile once 20 of its kind have finished)
    expiry_days = 14           # kie.ai keeps result files about this long
    image_max_mb = 40          # largest image body accepted
    cache_max_mb = 512         # image cache size bound
    credits_low = 100          # the dashboard warns when the credit balance falls below this (default: no warning)
    notify = true              # the dashboard sends desktop notifications (as --notify does)
"""

from __future__ import annotations

import math
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import platformdirs

from mjdash.core.api.credentials import DEFAULT_BASE_URL, Secret

if TYPE_CHECKING:
    from mjdash.core.api.client import RetryPolicy
    from mjdash.core.engine.schedule import AdaptivePolicy
    from mjdash.core.media.images import ImageFetcher

APP = "mjdash"


class ConfigError(Exception):
    """A settings problem the user can fix; the message is one line."""


def default_config_path() -> Path:
    return Path(platformdirs.user_config_dir(APP)) / "config.toml"


def default_db_path() -> Path:
    return Path(platformdirs.user_data_dir(APP)) / "mjdash.sqlite3"


def default_cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir(APP))


@dataclass(frozen=True)
class Settings:
    api_key: Secret = field(default_factory=lambda: Secret(""))
    base_url: str = DEFAULT_BASE_URL
    db_path: Path = field(default_factory=default_db_path)
    cache_dir: Path = field(default_factory=default_cache_dir)
    config_path: Path | None = None
    timeout: float = 10.0
    retry_attempts: int = 4
    retry_seconds: float = 8.0
    rate: float = 2.0
    concurrency: int = 4
    min_interval: float = 3.0
    stuck_factor: float = 3.0
    expiry_days: float = 14.0
    image_max_mb: int = 40
    cache_max_mb: int = 512
    credits_low: float | None = None
    notify: bool = False
    warnings: tuple[str, ...] = ()

    @property
    def retry(self) -> RetryPolicy:
        from mjdash.core.api.client import RetryPolicy

        return RetryPolicy(attempts=self.retry_attempts, total_s=self.retry_seconds)

    def policy(self) -> AdaptivePolicy:
        """The refresh engine's policy with this configuration (a new one each time: it learns)."""
        from mjdash.core.engine.schedule import AdaptivePolicy

        return AdaptivePolicy(min_interval=self.min_interval, stuck_factor=self.stuck_factor)

    def image_fetcher(self) -> ImageFetcher:
        """A result-image fetcher over the image cache, both sized by this configuration."""
        from mjdash.core.media.cache import ImageCache
        from mjdash.core.media.images import ImageFetcher

        cache = ImageCache(self.cache_dir / "images", self.cache_max_mb * 1024 * 1024)
        return ImageFetcher(cache, max_bytes=self.image_max_mb * 1024 * 1024)

    def with_overrides(self, **values: Any) -> Settings:
        return replace(self, **{k: v for k, v in values.items() if v is not None})


_FILE_KEYS: dict[str, type] = {
    "api_key": str,
    "base_url": str,
    "db": str,
    "cache_dir": str,
    "timeout": float,
    "retry_attempts": int,
    "retry_seconds": float,
    "rate": float,
    "concurrency": int,
    "min_interval": float,
    "stuck_factor": float,
    "expiry_days": float,
    "image_max_mb": int,
    "cache_max_mb": int,
    "credits_low": float,
    "notify": bool,
}


def _coerce(name: str, value: Any, kind: type, where: str) -> Any:
    if kind is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, kind) and (kind is bool or not isinstance(value, bool)):
        return value
    wanted = {int: "a whole number", float: "a number", bool: "true or false"}.get(kind, "a string")
    raise ConfigError(f"{where}: {name} must be {wanted}, not {value!r}")


POSITIVE = ("timeout", "rate", "retry_seconds", "min_interval", "stuck_factor", "expiry_days", "credits_low")
AT_LEAST_ONE = ("retry_attempts", "concurrency", "image_max_mb", "cache_max_mb")
FLAG_NAMES = {
    "timeout": "--timeout",
    "retry_attempts": "--retries",
    "rate": "--rate",
    "concurrency": "--concurrency",
}


def check_value(name: str, value: Any, where: str) -> None:
    """A setting's range: one line naming where the bad value came from (a flag, the config file)."""
    if name in POSITIVE and not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
        raise ConfigError(f"{where} must be a number greater than 0, not {value!r}")
    if name in AT_LEAST_ONE and not (isinstance(value, int) and value >= 1):
        raise ConfigError(f"{where} must be a whole number of at least 1, not {value!r}")


def check_base_url(url: str, where: str) -> str:
    """An http(s) URL with a host and a valid port, or a one-line ConfigError."""
    try:
        parts = urlsplit(url)
        port = parts.port  # raises for a port out of range or not a number
    except ValueError as exc:
        raise ConfigError(f"{where}: base URL {url!r} is not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https"):
        raise ConfigError(f"{where}: base URL {url!r} must start with http:// or https://")
    if not parts.hostname:
        raise ConfigError(f"{where}: base URL {url!r} has no host")
    if port == 0:
        raise ConfigError(f"{where}: base URL {url!r} has port 0 — use a port from 1 to 65535")
    return url


def read_config_file(path: Path, *, named_by: str | None = None) -> tuple[dict[str, Any], list[str]]:
    """The file's settings and warnings; a missing file is empty unless it was asked for by name. Raises
    ConfigError for a bad file."""
    warnings: list[str] = []
    try:
        raw = path.read_bytes()
        mode = path.stat().st_mode
    except FileNotFoundError:
        if named_by:
            raise ConfigError(f"config file {path} does not exist — check the path given to {named_by}") from None
        return {}, warnings
    except IsADirectoryError:
        raise ConfigError(f"config file {path} is a directory — point --config at a TOML file") from None
    except PermissionError:
        raise ConfigError(f"cannot read config file {path}: permission denied") from None
    import tomllib  # here: 5 ms of start-up that `status` without a config file need not pay

    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path} is not valid TOML ({exc}) — fix or remove it") from None
    values: dict[str, Any] = {}
    for name, value in data.items():
        kind = _FILE_KEYS.get(name)
        if kind is None:
            warnings.append(f"config file {path}: unknown setting {name!r} ignored")
            continue
        values[name] = _coerce(name, value, kind, f"config file {path}")
        check_value(name, values[name], f"config file {path}: {name}")
    if "api_key" in values and mode & (stat.S_IRWXG | stat.S_IRWXO):
        warnings.append(f"config file {path} holds the API key and is readable by others — run: chmod 600 {path}")
    return values, warnings


def load_settings(
    env: Mapping[str, str] | None = None,
    *,
    config_path: str | Path | None = None,
    base_url: str | None = None,
    db: str | Path | None = None,
    **flags: Any,
) -> Settings:
    """Build Settings from defaults, the config file, the environment and flags (highest wins)."""
    env = os.environ if env is None else env
    named = config_path or env.get("MJDASH_CONFIG")
    path = Path(named or default_config_path()).expanduser()
    values, warnings = read_config_file(
        path, named_by="--config" if config_path else "MJDASH_CONFIG" if named else None
    )
    settings = Settings(config_path=path, warnings=tuple(warnings))
    if "api_key" in values:
        settings = replace(settings, api_key=_key(values["api_key"], f"config file {path}"))
    file_overrides: dict[str, Any] = {
        k: values[k]
        for k in (
            "base_url",
            "timeout",
            "retry_attempts",
            "retry_seconds",
            "rate",
            "concurrency",
            "min_interval",
            "stuck_factor",
            "expiry_days",
            "image_max_mb",
            "cache_max_mb",
            "credits_low",
            "notify",
        )
        if k in values
    }
    if "base_url" in values:
        check_base_url(values["base_url"], f"config file {path}")
    if "db" in values:
        file_overrides["db_path"] = Path(values["db"]).expanduser()
    if "cache_dir" in values:
        file_overrides["cache_dir"] = Path(values["cache_dir"]).expanduser()
    settings = replace(settings, **file_overrides)
    if env.get("KIE_API_KEY", "").strip():
        settings = replace(settings, api_key=_key(env["KIE_API_KEY"], "KIE_API_KEY"))
    if env.get("MJDASH_BASE_URL"):
        settings = replace(settings, base_url=check_base_url(env["MJDASH_BASE_URL"], "MJDASH_BASE_URL"))
    if env.get("MJDASH_DB"):
        settings = replace(settings, db_path=Path(env["MJDASH_DB"]).expanduser())
    if env.get("MJDASH_CACHE_DIR"):
        settings = replace(settings, cache_dir=Path(env["MJDASH_CACHE_DIR"]).expanduser())
    if base_url is not None:
        check_base_url(base_url, "--base-url")
    for name, value in flags.items():
        if value is not None:
            check_value(name, value, FLAG_NAMES.get(name, f"--{name.replace('_', '-')}"))
    return settings.with_overrides(base_url=base_url, db_path=Path(db).expanduser() if db else None, **flags)


def _key(text: str, where: str) -> Secret:
    """The API key, trimmed; refused (without showing any of it) when whitespace or control characters are
    inside it — a pasted line break would otherwise become a header the HTTP library rejects, key and all."""
    key = text.strip()
    if any(c.isspace() or not c.isprintable() for c in key):
        raise ConfigError(
            f"the API key in {where} has spaces, line breaks or control characters inside it — set it again, "
            "on one line"
        )
    return Secret(key)
