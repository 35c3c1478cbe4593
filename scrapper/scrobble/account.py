"""`lastfm status`: the sign-in, whether Last.fm still takes it, and what the ledger says about today."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app import App
from errors import ExitStatus, LastfmError, LastfmTemporary, SessionInvalid
from scrobble.daily_cap import DAY, DailyCap, budget_left, daily_cap
from scrobble.ledger import IN_FLIGHT, PENDING


@dataclass
class AccountStatus:
    signed_in: bool
    username: str | None
    session_valid: bool | None  # None: not checked (not signed in, or Last.fm could not be asked)
    playcount: int | None
    problem: str | None
    sent_24h: int
    cap: DailyCap
    remaining_today: int
    pending: int
    in_flight: int
    failure: LastfmError | None = None  # why Last.fm could not be asked, when it could not
    targets: tuple[str, ...] = ()  # where listens go (this service and any other)

    @property
    def exit_status(self) -> ExitStatus:
        if self.signed_in and self.session_valid is False:
            return ExitStatus.ERROR
        if self.failure is not None and not isinstance(self.failure, LastfmTemporary):
            return self.failure.exit_status
        return ExitStatus.OK

    def to_json(self) -> dict[str, Any]:
        return {
            "signed_in": self.signed_in, "username": self.username, "session_valid": self.session_valid,
            "playcount": self.playcount, "problem": self.problem, "sent_24h": self.sent_24h,
            "daily_cap": self.cap.to_json(), "remaining_today": self.remaining_today,
            "pending": self.pending, "in_flight": self.in_flight,
        }


def account_status(app: App, check: bool = True) -> AccountStatus:
    """With `check`, one user.getInfo asks Last.fm whether it still takes the saved session."""
    session = app.sessions.load()
    valid = playcount = problem = failure = None
    if session and check:
        try:
            info = app.client(signed=True).user_info()
            valid, playcount = True, info["playcount"]
        except SessionInvalid:
            valid = False
            problem = "Last.fm no longer accepts this session (revoked?): run `python main.py lastfm login`"
        except LastfmError as exc:
            problem, failure = f"could not ask Last.fm: {exc}", exc
    ledger = app.ledger
    now = app.clock()
    cap = daily_cap(app.settings, ledger, now)
    left, _ = budget_left(cap, ledger, now)
    return AccountStatus(
        signed_in=session is not None, username=session.username if session else None,
        session_valid=valid, playcount=playcount, problem=problem,
        sent_24h=len(ledger.accepted_since(now - DAY)), cap=cap, remaining_today=left,
        pending=ledger.count(PENDING), in_flight=ledger.count(IN_FLIGHT), failure=failure, targets=app.targets(),
    )
