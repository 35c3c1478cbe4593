"""Settings from options, environment and the collector's config.json, resolved in one place."""

from __future__ import annotations

import errno
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = REPO_ROOT / "public"
DEFAULT_CONFIG = Path(__file__).resolve().parent / "config.json"
DEFAULT_API_URL = "https://ws.audioscrobbler.com/2.0/"
MAX_CONFIG_BYTES = 1024 * 1024


def default_state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "russfm"


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    state_dir: Path
    api_key: str = ""
    api_secret: str = field(default="", repr=False)
    username: str = ""
    api_url: str = DEFAULT_API_URL
    ca_bundle: str | None = None
    timeout: float = 20.0
    daily_cap: int | None = None
    retry_delay: float = 2.0
    lock_wait: float = 30.0
    stats: bool = True  # lastfm-enhance writes public/lastfm/stats.json
    verbose: int = 0
    quiet: bool = False

    def require_credentials(self) -> None:
        if not self.api_key or not self.api_secret:
            raise ConfigError(
                "no Last.fm API credentials: set LASTFM_API_KEY and LASTFM_API_SECRET, "
                'or add "lastfm": {"api_key": …, "api_secret": …} to the config file '
                "(get a key at https://www.last.fm/api/account/create)"
            )


def _usable_path(path: Path, name: str) -> Path:
    """The path, or one line naming the option when the system cannot even look it up (a name too long)."""
    try:
        path.stat()
    except FileNotFoundError:
        pass
    except OSError as exc:
        if exc.errno in (errno.ENAMETOOLONG, errno.ELOOP, errno.ENOTDIR):
            text = str(path)
            shown = text if len(text) <= 80 else f"{text[:40]}…{text[-30:]}"
            raise ConfigError(f"{name} {shown}: {exc.strerror} ({len(text)} characters)") from None
    return path


def _read_config(path: Path | None, explicit: bool) -> dict:
    if path is not None:
        _usable_path(path, "the config file")
    if path is None or not path.exists():
        if explicit:
            raise ConfigError(f"config file {path} does not exist")
        return {}
    if path.is_dir() or path.stat().st_size > MAX_CONFIG_BYTES:
        raise ConfigError(f"config file {path} is not a JSON file of a few kilobytes")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.__class__.__name__}") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid JSON (line {exc.lineno})") from None
    except (ValueError, RecursionError):  # numbers too long to read, nesting too deep to parse
        raise ConfigError(f"config file {path} is not valid JSON (too deep or a number too long)") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path}: expected a JSON object")
    section = data.get("lastfm", {})
    if not isinstance(section, dict):
        raise ConfigError(f'config file {path}: "lastfm" must be an object')
    return section


def _positive_number(value: object, name: str, upper: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ConfigError(f"{name} must be a number, got {type(value).__name__}")
    try:
        number = float(value)
    except (ValueError, OverflowError):
        raise ConfigError(f"{name} must be a number, got {str(value)[:40]!r}") from None
    if not 0 < number <= upper:  # also refuses nan and inf
        raise ConfigError(f"{name} must be above 0 and at most {upper:g}, got {str(value)[:40]!r}")
    return number


def _whole(number: float, name: str) -> int | None:
    """A count from the configuration: 0 (not set) or a whole number of at least 1."""
    if number and (number < 1 or number != int(number)):
        raise ConfigError(f"{name} must be a whole number of at least 1, got {number:g}")
    return int(number) or None


def _flag(value: object, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if str(value).strip().lower() in ("1", "true", "yes", "on"):
        return True
    if str(value).strip().lower() in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, got {str(value)[:40]!r}")


def load_settings(
    data_dir: str | None = None,
    state_dir: str | None = None,
    config: str | None = None,
    verbose: int = 0,
    quiet: bool = False,
) -> Settings:
    """Options win over the environment, which wins over the config file."""
    env = os.environ
    config_path = config or env.get("RUSSFM_CONFIG")
    section = _read_config(
        Path(config_path) if config_path else DEFAULT_CONFIG, explicit=bool(config_path)
    )

    def pick(env_name: str, key: str, default: str = "") -> str:
        value = env.get(env_name) or section.get(key) or default
        if not isinstance(value, str):
            raise ConfigError(f'config file: "lastfm.{key}" must be a string')
        return value

    def number(env_name: str, key: str, default: float, upper: float) -> float:
        value = env.get(env_name) or section.get(key)
        name = env_name if env.get(env_name) else f'"{key}" in the config file'
        return default if value is None else _positive_number(value, name, upper)

    state = _usable_path(Path(state_dir or env.get("RUSSFM_STATE_DIR") or default_state_dir()),
                         "the state folder (--state-dir, RUSSFM_STATE_DIR)")
    if state.exists() and not state.is_dir():
        raise ConfigError(f"the state folder {state} is a file, not a folder (--state-dir, RUSSFM_STATE_DIR)")
    settings = Settings(
        data_dir=_usable_path(Path(data_dir or env.get("RUSSFM_DATA_DIR") or DEFAULT_DATA_DIR),
                              "the data folder (--data-dir, RUSSFM_DATA_DIR)"),
        state_dir=state,
        api_key=pick("LASTFM_API_KEY", "api_key"),
        api_secret=pick("LASTFM_API_SECRET", "api_secret"),
        username=pick("LASTFM_USERNAME", "username"),
        api_url=pick("LASTFM_API_URL", "api_url", DEFAULT_API_URL),
        ca_bundle=pick("LASTFM_CA_BUNDLE", "ca_bundle") or None,
        timeout=number("LASTFM_TIMEOUT", "timeout", 20.0, 600),
        retry_delay=number("RUSSFM_RETRY_DELAY", "retry_delay", 2.0, 600),
        lock_wait=number("RUSSFM_LOCK_WAIT", "lock_wait", 30.0, 3600),
        daily_cap=_whole(number("RUSSFM_DAILY_CAP", "daily_cap", 0, 100_000), "the daily cap"),
        stats=_flag(env.get("RUSSFM_STATS", section.get("stats", True)), "stats"),
        verbose=verbose,
        quiet=quiet,
    )
    if settings.ca_bundle and not _usable_path(Path(settings.ca_bundle), "LASTFM_CA_BUNDLE").is_file():
        raise ConfigError(f"LASTFM_CA_BUNDLE {settings.ca_bundle} is not a file")
    return settings
