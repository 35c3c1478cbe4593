"""A small private cache of Last.fm answers (album.getInfo), by key and age, in the state folder."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from sqlitedict import SqliteDict

from statefiles import private_file

CACHE_FILE = "cache.sqlite"


class Cache:
    def __init__(self, state_dir: Path, table: str = "album_info") -> None:
        path = private_file(Path(state_dir) / CACHE_FILE)
        self._db = SqliteDict(str(path), tablename=table, autocommit=False,
                              encode=json.dumps, decode=json.loads, outer_stack=False)

    def get(self, key: str, max_age: float | None = None) -> tuple[bool, Any]:
        """(found, value); an entry older than max_age seconds counts as not found."""
        entry = self._db.get(key)
        if entry is None:
            return False, None
        if max_age is not None and time.time() - entry["at"] > max_age:
            return False, None
        return True, entry["value"]

    def entry(self, key: str) -> tuple[float, Any] | None:
        """(when stored, value), whatever its age."""
        found = self._db.get(key)
        return (found["at"], found["value"]) if found else None

    def put(self, key: str, value: Any) -> None:
        self._db[key] = {"at": time.time(), "value": value}
        self._db.commit()

    def close(self) -> None:
        self._db.close()
