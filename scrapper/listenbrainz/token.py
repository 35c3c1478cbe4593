"""The saved ListenBrainz sign-in (user name and user token), kept private in the state folder."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from statefiles import SavedSignIn

TOKEN_FILE = "listenbrainz.json"


@dataclass(frozen=True)
class Token:
    username: str
    token: str = field(repr=False)


class TokenStore(SavedSignIn):
    def __init__(self, state_dir: Path) -> None:
        super().__init__(Path(state_dir) / TOKEN_FILE, "token",
                         "a saved ListenBrainz token; sign in again with `listenbrainz login`")

    def load(self) -> Token | None:
        pair = self.load_pair()
        return Token(*pair) if pair else None

    def save(self, token: Token) -> None:
        self.save_pair(token.username, token.token)
