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


class LastfmError(RussfmError):
    """Last.fm refused or failed a request; `code` is Last.fm's error code when it gave one."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class LastfmTemporary(LastfmError):
    """Worth trying again later: service offline (11), busy (16), rate limited (29), 5xx, network."""

    exit_code = EXIT_TRY_LATER


class RequestNotSent(LastfmTemporary):
    """The connection failed before the request left: nothing reached Last.fm."""


class OutcomeUnknown(LastfmTemporary):
    """The request may have been carried out (timeout, dropped connection, 5xx, garbled answer)."""


class SessionInvalid(LastfmError):
    """Error 9: the saved session was revoked or never existed."""


class NotSignedIn(LastfmError):
    """No saved session."""


class TokenNotAuthorised(LastfmError):
    """Error 14: the user has not approved the web sign-in yet."""


class TokenExpired(LastfmError):
    """Error 15: the web sign-in token is older than an hour."""


class LastfmNotFound(LastfmError):
    """Error 6 on a read: no such album, user or page."""


class CapReached(LastfmTemporary):
    """Last.fm's daily scrobble limit was reached (ignored code 5, or error 29 after many accepted)."""


class OverlapError(RussfmError):
    """The new listening overlaps one already in the ledger."""
