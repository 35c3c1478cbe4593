"""The project's exit statuses and exceptions: one base class, each class carrying the status main.py exits with."""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    """Every exit status the commands use, and only these (documented in the README)."""

    OK = 0
    ERROR = 1  # broken file, unknown album, Last.fm refused, not signed in
    USAGE = 2  # bad option, impossible time, ambiguous album
    PARTLY_IGNORED = 3  # sent, but Last.fm ignored some scrobbles
    TRY_LATER = 75  # temporary failure (EX_TEMPFAIL): network, Last.fm busy, another process holds a lock
    INTERRUPTED = 130  # Ctrl-C


class RussfmError(Exception):
    """Base class: the message is one line, safe to show (never holds a secret)."""

    exit_status = ExitStatus.ERROR


class UsageError(RussfmError):
    """The command line asked for something impossible (bad time, bad track range)."""

    exit_status = ExitStatus.USAGE


class ConfigError(RussfmError):
    """Configuration or credentials are missing or unreadable."""


class CollectionError(RussfmError):
    """An album or index file is missing, broken or of the wrong shape."""


class AlbumNotFound(CollectionError):
    """No album matches what the user typed; `candidates` names the nearest records, if any."""

    def __init__(self, message: str, candidates: list[str] | None = None) -> None:
        super().__init__(message)
        self.candidates = candidates or []


class AmbiguousAlbum(RussfmError):
    """What the user typed matched several albums; `candidates` lists them."""

    exit_status = ExitStatus.USAGE

    def __init__(self, message: str, candidates: list[str]) -> None:
        super().__init__(message)
        self.candidates = candidates


class JobNotFound(RussfmError):
    """No queue job has this number (exits as an unknown album does)."""


class PlanError(UsageError):
    """The requested listening schedule cannot be scrobbled (future, too old, empty)."""


class StateError(RussfmError):
    """A file in the private state folder cannot be read or written."""


class Busy(RussfmError):
    """Another process holds a lock this command needs; worth trying again shortly."""

    exit_status = ExitStatus.TRY_LATER


class QueueBusy(RussfmError):
    """Another `queue run` is going: cron's next run will do the work, so this is not a failure."""

    exit_status = ExitStatus.OK


class LastfmError(RussfmError):
    """Last.fm refused or failed a request; `code` is Last.fm's error code, `method` the API method."""

    def __init__(self, message: str, code: int | None = None, method: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.method = method


class LastfmTemporary(LastfmError):
    """Worth trying again later: service offline (11), busy (16), rate limited (29), 5xx, network."""

    exit_status = ExitStatus.TRY_LATER


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


class PrivateProfile(LastfmError):
    """Error 17: the user's listening history is hidden."""


class CapReached(LastfmTemporary):
    """Last.fm's daily scrobble limit was reached (ignored code 5, or error 29 on track.scrobble)."""


class OverlapError(RussfmError):
    """The new listening overlaps one already in the ledger."""


class ListenBrainzError(RussfmError):
    """ListenBrainz refused or failed a request; `status` is the HTTP status when there was one."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ListenBrainzTemporary(ListenBrainzError):
    """Worth trying again later: network, 5xx, a rate limit that outlasted the waits."""

    exit_status = ExitStatus.TRY_LATER


class ListenBrainzNotSent(ListenBrainzTemporary):
    """The connection failed before the request left: nothing reached ListenBrainz."""


class ListenBrainzUnknown(ListenBrainzTemporary):
    """A submission may have been stored (timeout, dropped connection, 5xx, garbled answer)."""


class ListenBrainzRefused(ListenBrainzError):
    """HTTP 400: ListenBrainz refused the listens as sent; nothing of the request was stored."""


class ListenBrainzTokenInvalid(ListenBrainzError):
    """HTTP 401, or validate-token says no: the user token was revoked or never existed."""


class ListenBrainzNotSignedIn(ListenBrainzError):
    """No saved ListenBrainz token."""
