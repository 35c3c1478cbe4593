"""Settings from options, environment and the collector's config.json, resolved in one place."""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

from errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = REPO_ROOT / "public"
DEFAULT_CONFIG = Path(__file__).resolve().parent / "config.json"
DEFAULT_API_URL = "https://ws.audioscrobbler.com/2.0/"
DEFAULT_LISTENBRAINZ_URL = "https://api.listenbrainz.org/"
TARGET_NAMES = ("lastfm", "listenbrainz")  # the services listens can be sent to
MAX_CONFIG_BYTES = 1024 * 1024
T = TypeVar("T")


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
    auth_url: str = ""  # the site whose /api/auth/ page approves a sign-in (default: follows api_url)
    ca_bundle: str | None = None
    timeout: float = 20.0
    daily_cap: int | None = None
    retry_delay: float = 2.0
    lock_wait: float = 30.0
    stats: bool = True  # lastfm-enhance writes public/lastfm/stats.json
    verbose: int = 0
    quiet: bool = False
    config_file: str = ""  # the config file read, if one was
    lastfm_problem: str = ""  # a bad Last.fm setting: it stops only the commands that talk to Last.fm
    listenbrainz_url: str = DEFAULT_LISTENBRAINZ_URL
    listenbrainz_ca_bundle: str | None = None
    listenbrainz_timeout: float = 20.0
    targets: tuple[str, ...] = ()  # empty: every service signed in to

    def require_credentials(self) -> None:
        if self.lastfm_problem:
            raise ConfigError(self.lastfm_problem)
        if not self.api_key or not self.api_secret:
            raise ConfigError(
                "no Last.fm API credentials: set LASTFM_API_KEY and LASTFM_API_SECRET, "
                'or add "lastfm": {"api_key": …, "api_secret": …} to the config file '
                "(get a key at https://www.last.fm/api/account/create)"
            )


def _lastfm_only(read: Callable[[], T], default: T, problems: list[str]) -> T:
    """A setting only requests to Last.fm use: a bad value is kept as a problem for them, so that commands
    that never talk to Last.fm still run."""
    try:
        return read()
    except ConfigError as exc:
        problems.append(str(exc))
        return default


def parse_targets(value: object, name: str) -> tuple[str, ...]:
    """Target services from a config list or a comma-separated string, checked against the known ones."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise ConfigError(f"{name} must be a list of services, or names separated by commas")
    names = [i.strip().lower() for i in items if i.strip()]
    unknown = [n for n in names if n not in TARGET_NAMES]
    if unknown:
        raise ConfigError(f"{name}: unknown service {unknown[0][:40]!r} (known: {', '.join(TARGET_NAMES)})")
    if not names and isinstance(value, str) and value.strip():
        raise ConfigError(f"{name} names no service")
    return tuple(dict.fromkeys(names))


def _https_url(value: str, name: str) -> str:
    if not value.lower().startswith("https://") or len(value) <= len("https://"):
        raise ConfigError(f"{name} must be an https:// address, got {value[:60]!r}")
    return value if value.endswith("/") else value + "/"


def _read_sections(path: Path | None, explicit: bool) -> tuple[dict, dict, object]:
    """The config's "lastfm" and "listenbrainz" sections, and its "targets"."""
    data = _read_file(path, explicit)
    sections = []
    for key in ("lastfm", "listenbrainz"):
        section = data.get(key, {})
        if not isinstance(section, dict):
            raise ConfigError(f'config file {path}: "{key}" must be an object')
        sections.append(section)
    return sections[0], sections[1], data.get("targets")


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


def _read_file(path: Path | None, explicit: bool) -> dict:
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
    return data


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
    candidate = Path(config_path) if config_path else DEFAULT_CONFIG
    section, lb_section, config_targets = _read_sections(candidate, explicit=bool(config_path))
    config_path_used = candidate if candidate.is_file() else None

    def pick(env_name: str, key: str, default: str = "") -> str:
        value = env.get(env_name) or section.get(key) or default
        if not isinstance(value, str):
            raise ConfigError(f'config file: "lastfm.{key}" must be a string')
        return value

    def number(env_name: str, key: str, default: float, upper: float) -> float:
        value = env.get(env_name) or section.get(key)
        name = env_name if env.get(env_name) else f'"{key}" in the config file'
        return default if value is None else _positive_number(value, name, upper)

    problems: list[str] = []
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
        auth_url=pick("LASTFM_AUTH_URL", "auth_url"),
        ca_bundle=pick("LASTFM_CA_BUNDLE", "ca_bundle") or None,
        timeout=_lastfm_only(lambda: number("LASTFM_TIMEOUT", "timeout", 20.0, 600), 20.0, problems),
        retry_delay=_lastfm_only(lambda: number("RUSSFM_RETRY_DELAY", "retry_delay", 2.0, 600), 2.0, problems),
        lock_wait=number("RUSSFM_LOCK_WAIT", "lock_wait", 30.0, 3600),
        daily_cap=_whole(number("RUSSFM_DAILY_CAP", "daily_cap", 0, 100_000), "the daily cap"),
        stats=_flag(env.get("RUSSFM_STATS", section.get("stats", True)), "stats"),
        verbose=verbose,
        quiet=quiet,
        config_file=str(config_path_used) if config_path_used else "",
    )
    if settings.auth_url and not settings.auth_url.startswith(("https://", "http://")):
        raise ConfigError(f"LASTFM_AUTH_URL must be an http(s):// address, got {settings.auth_url[:60]!r}")
    if settings.ca_bundle and not _usable_path(Path(settings.ca_bundle), "LASTFM_CA_BUNDLE").is_file():
        problems.append(f"LASTFM_CA_BUNDLE {settings.ca_bundle} is not a file")
    if problems:
        settings = replace(settings, lastfm_problem=problems[0])
    return _with_listenbrainz(settings, lb_section, config_targets)


def _with_listenbrainz(settings: Settings, section: dict, config_targets: object) -> Settings:
    """The ListenBrainz endpoint and CA (beside Last.fm's, so both local services can run at once), and targets."""
    env = os.environ
    for key in ("api_url", "ca_bundle"):
        if not isinstance(section.get(key, ""), str):
            raise ConfigError(f'config file: "listenbrainz.{key}" must be a string')
    url = _https_url(env.get("LISTENBRAINZ_API_URL") or section.get("api_url") or DEFAULT_LISTENBRAINZ_URL,
                     "LISTENBRAINZ_API_URL")
    ca_bundle = env.get("LISTENBRAINZ_CA_BUNDLE") or section.get("ca_bundle") or None
    if ca_bundle and not _usable_path(Path(ca_bundle), "LISTENBRAINZ_CA_BUNDLE").is_file():
        raise ConfigError(f"LISTENBRAINZ_CA_BUNDLE {ca_bundle} is not a file")
    timeout_value = env.get("LISTENBRAINZ_TIMEOUT") or section.get("timeout")
    timeout = 20.0 if timeout_value is None else _positive_number(timeout_value, "LISTENBRAINZ_TIMEOUT", 600)
    if env.get("RUSSFM_TARGETS"):
        targets = parse_targets(env["RUSSFM_TARGETS"], "RUSSFM_TARGETS")
    elif config_targets is not None:
        targets = parse_targets(config_targets, '"targets" in the config file')
    else:
        targets = ()
    return replace(settings, listenbrainz_url=url, listenbrainz_ca_bundle=ca_bundle, listenbrainz_timeout=timeout,
                   targets=targets)
