"""A small private cache of Last.fm answers (album.getInfo), by key and age, in the state folder."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from errors import StateError
from statefiles import cannot_open, private_file, storage_problem, write_failed

CACHE_FILE = "cache.sqlite"


class Cache:
    """JSON values by key in one table of cache.sqlite (sqlitedict's layout, as earlier versions wrote it)."""

    def __init__(self, state_dir: Path, table: str = "album_info") -> None:
        self.path = private_file(Path(state_dir) / CACHE_FILE)
        self._table = table
        try:
            self._db = sqlite3.connect(self.path)
        except sqlite3.DatabaseError as exc:
            raise cannot_open(self.path, exc) from None
        try:
            self._db.execute(f'CREATE TABLE IF NOT EXISTS "{table}" (key TEXT PRIMARY KEY, value BLOB)')
            self._db.commit()
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise self._damaged(exc) from None

    def _damaged(self, exc: BaseException) -> StateError:
        if storage_problem(exc):
            return write_failed(self.path, exc)
        return StateError(f"{self.path} cannot be used ({exc.__class__.__name__}: {exc}); "
                          "it only holds answers Last.fm can give again: remove it")

    def entry(self, key: str) -> tuple[float, Any] | None:
        """(when stored, value), whatever its age; a row of the wrong shape counts as not found."""
        try:
            row = self._db.execute(f'SELECT value FROM "{self._table}" WHERE key = ?', (key,)).fetchone()
            found = json.loads(row[0]) if row else None
        except (sqlite3.DatabaseError, ValueError, TypeError, RecursionError) as exc:
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
            with self._db:
                self._db.execute(f'REPLACE INTO "{self._table}" (key, value) VALUES (?, ?)',
                                 (key, json.dumps({"at": time.time(), "value": value})))
        except sqlite3.DatabaseError as exc:
            raise self._damaged(exc) from None

    def close(self) -> None:
        self._db.close()
