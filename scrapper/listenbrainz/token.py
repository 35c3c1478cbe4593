"""The saved ListenBrainz sign-in (user name and user token), kept private in the state folder."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from errors import ConfigError
from statefiles import read_private_json, write_private_json

TOKEN_FILE = "listenbrainz.json"


@dataclass(frozen=True)
class Token:
    username: str
    token: str = field(repr=False)


class TokenStore:
    def __init__(self, state_dir: Path) -> None:
        self.path = Path(state_dir) / TOKEN_FILE

    def load(self) -> Token | None:
        data = read_private_json(self.path)
        if data is None:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("username"), str) \
                or not isinstance(data.get("token"), str):
            raise ConfigError(f"{self.path} is not a saved ListenBrainz token; sign in again with "
                              "`listenbrainz login`")
        return Token(data["username"], data["token"])

    def save(self, token: Token) -> None:
        write_private_json(self.path, {"username": token.username, "token": token.token})

    def clear(self) -> bool:
        try:
            self.path.unlink()
            return True
        except FileNotFoundError:
            return False
