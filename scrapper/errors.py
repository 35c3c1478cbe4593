"""The project's exceptions: one base class, each with the exit code main.py maps it to."""

from __future__ import annotations

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_PARTLY_IGNORED = 3
EXIT_TRY_LATER = 75


class RussfmError(Exception):
    """Base class: the message is one line, safe to show (never holds a secret)."""

    exit_code = EXIT_ERROR


class UsageError(RussfmError):
    """The command line asked for something impossible (bad time, bad track range)."""

    exit_code = EXIT_USAGE


class ConfigError(RussfmError):
    """Configuration or credentials are missing or unreadable."""


class CollectionError(RussfmError):
    """An album or index file is missing, broken or of the wrong shape."""


class AlbumNotFound(CollectionError):
    """No album matches what the user typed."""


class AmbiguousAlbum(RussfmError):
    """Free text matched several albums; `candidates` lists them."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, candidates: list[str]) -> None:
        super().__init__(message)
        self.candidates = candidates


class PlanError(UsageError):
    """The requested listening schedule cannot be scrobbled (future, too old, empty)."""
