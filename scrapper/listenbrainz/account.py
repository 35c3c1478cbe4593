"""`listenbrainz login` and `listenbrainz status`: the user token checked and kept, and each service's view of the
ledger."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app import App
from errors import ExitStatus, ListenBrainzError, ListenBrainzTemporary, ListenBrainzTokenInvalid, UsageError
from listenbrainz.token import Token
from scrobble.rows import ACCEPTED, IN_FLIGHT, LISTENBRAINZ, PENDING, REFUSED

MAX_TOKEN_LENGTH = 200


def sign_in(app: App, token: str) -> Token:
    """Check the user token with validate-token (one request) and keep it, 0600, in the state folder."""
    token = token.strip()
    if not token:
        raise UsageError("no token given: copy your user token from https://listenbrainz.org/settings/")
    if len(token) > MAX_TOKEN_LENGTH or not token.isprintable() or any(c.isspace() for c in token):
        raise UsageError("that is not a ListenBrainz user token (one word of letters, digits and dashes)")
    name = app.listenbrainz(signed=False).validate_token(token)
    if name is None:
        raise ListenBrainzTokenInvalid("ListenBrainz does not take this token: copy it again from "
                                       "https://listenbrainz.org/settings/")
    saved = Token(name, token)
    app.listenbrainz_tokens.save(saved)
    return saved


@dataclass
class ListenBrainzStatus:
    signed_in: bool
    username: str | None
    token_valid: bool | None  # None: not checked
    listen_count: int | None
    targets: tuple[str, ...]
    pending: int
    in_flight: int
    accepted: int
    refused: int
    problem: str | None = None
    failure: ListenBrainzError | None = None
    comparison: dict[str, int] | None = None  # archive against ListenBrainz, when asked

    @property
    def exit_status(self) -> ExitStatus:
        if self.signed_in and self.token_valid is False:
            return ExitStatus.ERROR
        if self.failure is not None and not isinstance(self.failure, ListenBrainzTemporary):
            return self.failure.exit_status
        return ExitStatus.OK

    def to_json(self) -> dict[str, Any]:
        return {"signed_in": self.signed_in, "username": self.username, "token_valid": self.token_valid,
                "listen_count": self.listen_count, "targets": list(self.targets), "pending": self.pending,
                "in_flight": self.in_flight, "accepted": self.accepted, "refused": self.refused,
                "problem": self.problem, "archive": self.comparison}


def account_status(app: App, check: bool = True) -> ListenBrainzStatus:
    """With `check`, validate-token and listen-count (two requests) ask ListenBrainz about the saved token."""
    saved = app.listenbrainz_tokens.load()
    valid = count = problem = failure = None
    if saved and check:
        try:
            client = app.listenbrainz()
            valid = client.validate_token(saved.token) == saved.username
            if valid:
                count = client.listen_count(saved.username)
            else:
                problem = "ListenBrainz no longer takes this token (revoked?): run `python main.py listenbrainz login`"
        except ListenBrainzError as exc:
            problem, failure = f"could not ask ListenBrainz: {exc}", exc
    ledger = app.ledger
    return ListenBrainzStatus(
        signed_in=saved is not None, username=saved.username if saved else None, token_valid=valid,
        listen_count=count, targets=app.targets(),
        pending=ledger.target_count(LISTENBRAINZ, PENDING), in_flight=ledger.target_count(LISTENBRAINZ, IN_FLIGHT),
        accepted=ledger.target_count(LISTENBRAINZ, ACCEPTED), refused=ledger.target_count(LISTENBRAINZ, REFUSED),
        problem=problem, failure=failure)
