"""The saved Last.fm session (user name and session key), kept private in the state folder."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from errors import ConfigError
from statefiles import read_private_json, write_private_json

SESSION_FILE = "session.json"


@dataclass(frozen=True)
class Session:
    username: str
    key: str = field(repr=False)


class SessionStore:
    def __init__(self, state_dir: Path) -> None:
        self.path = Path(state_dir) / SESSION_FILE

    def load(self) -> Session | None:
        data = read_private_json(self.path)
        if data is None:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("username"), str) \
                or not isinstance(data.get("key"), str):
            raise ConfigError(f"{self.path} is not a saved session; sign in again with `lastfm login`")
        return Session(data["username"], data["key"])

    def save(self, session: Session) -> None:
        write_private_json(self.path, {"username": session.username, "key": session.key})

    def clear(self) -> bool:
        try:
            self.path.unlink()
            return True
        except FileNotFoundError:
            return False
