"""The saved Last.fm session (user name and session key), kept private in the state folder."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from statefiles import SavedSignIn

SESSION_FILE = "session.json"


@dataclass(frozen=True)
class Session:
    username: str
    key: str = field(repr=False)


class SessionStore(SavedSignIn):
    def __init__(self, state_dir: Path) -> None:
        super().__init__(Path(state_dir) / SESSION_FILE, "key",
                         "a saved session; sign in again with `lastfm login`")

    def load(self) -> Session | None:
        pair = self.load_pair()
        return Session(*pair) if pair else None

    def save(self, session: Session) -> None:
        self.save_pair(session.username, session.key)
