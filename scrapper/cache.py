"""A small private cache of Last.fm answers (album.getInfo), by key and age, in the state folder."""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlitedict import SqliteDict

from errors import StateError
from statefiles import private_file

CACHE_FILE = "cache.sqlite"
# sqlitedict logs a damaged file's errors, with their tracebacks, from its own thread; the one-line
# StateError below says it instead.
logging.getLogger("sqlitedict").setLevel(logging.CRITICAL)


class Cache:
    def __init__(self, state_dir: Path, table: str = "album_info") -> None:
        self.path = private_file(Path(state_dir) / CACHE_FILE)
        try:
            # A damaged file is found here, before sqlitedict's own thread meets it and dies noisily.
            with sqlite3.connect(self.path) as check:
                check.execute("SELECT count(*) FROM sqlite_master").fetchone()
            self._db = SqliteDict(str(self.path), tablename=table, autocommit=False,
                                  encode=json.dumps, decode=json.loads, outer_stack=False)
        except (sqlite3.DatabaseError, RuntimeError) as exc:
            raise self._damaged(exc) from None

    def _damaged(self, exc: BaseException) -> StateError:
        return StateError(f"{self.path} cannot be used ({exc.__class__.__name__}: {exc}); "
                          "it only holds answers Last.fm can give again: remove it")

    def entry(self, key: str) -> tuple[float, Any] | None:
        """(when stored, value), whatever its age; a row of the wrong shape counts as not found."""
        try:
            found = self._db.get(key)
        except (sqlite3.DatabaseError, ValueError) as exc:
            raise self._damaged(exc) from None
        if not isinstance(found, dict) or not isinstance(found.get("at"), (int, float)) or "value" not in found:
            return None
        return float(found["at"]), found["value"]

    def get(self, key: str, max_age: float | None = None) -> tuple[bool, Any]:
        """(found, value); an entry older than max_age seconds counts as not found."""
        found = self.entry(key)
        if found is None or (max_age is not None and time.time() - found[0] > max_age):
            return False, None
        return True, found[1]

    def put(self, key: str, value: Any) -> None:
        try:
            self._db[key] = {"at": time.time(), "value": value}
            self._db.commit()
        except sqlite3.DatabaseError as exc:
            raise self._damaged(exc) from None

    def close(self) -> None:
        try:
            self._db.close()
        except sqlite3.DatabaseError:
            pass  # already reported; closing must not hide that
