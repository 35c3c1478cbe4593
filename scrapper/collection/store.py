"""The static JSON store: reading the index and album files, and rewriting them byte-faithfully."""

from __future__ import annotations

import json
import os
import re
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from errors import CollectionError
from statefiles import storage_problem, write_failed

_NON_ASCII_ESCAPE = re.compile(rb"\\u00[89a-fA-F][0-9a-fA-F]|\\u0[1-9a-fA-F][0-9a-fA-F]{2}|\\u[1-9a-fA-F][0-9a-fA-F]{3}")
_SLUG = re.compile(r"^[^/\\\x00]+$")
MAX_FILE_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class JsonFormat:
    """How a file was written, so that a rewrite changes only what changed."""

    indent: int | None = 2
    ensure_ascii: bool = False
    trailing_newline: bool = False

    @classmethod
    def detect(cls, raw: bytes) -> JsonFormat:
        indent: int | None = None
        lines = raw.split(b"\n", 2)
        if len(lines) > 1:
            second = lines[1]
            indent = len(second) - len(second.lstrip(b" ")) or None
        ensure_ascii = raw.isascii() and bool(_NON_ASCII_ESCAPE.search(raw))
        return cls(indent, ensure_ascii, raw.endswith(b"\n"))

    def dumps(self, data: object) -> bytes:
        text = json.dumps(data, indent=self.indent, ensure_ascii=self.ensure_ascii)
        return (text + ("\n" if self.trailing_newline else "")).encode("utf-8")


def read_json(path: Path) -> tuple[object, JsonFormat]:
    """The file's data and format, or CollectionError naming the file in one line."""
    try:
        found = path.stat()
        if not stat.S_ISREG(found.st_mode):  # a pipe or a device would never end, a folder cannot be read
            raise CollectionError(f"{path}: not a regular file")
        size = found.st_size
        if size > MAX_FILE_BYTES:
            raise CollectionError(f"{path}: {size} bytes; a collection file may hold at most 50 MB")
        with path.open("rb") as handle:
            # Read one byte past the limit, in case the file grew after stat().
            raw = handle.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise CollectionError(f"{path}: file not found") from None
    except OSError as exc:
        raise CollectionError(f"{path}: cannot read ({exc.strerror})") from None
    if len(raw) > MAX_FILE_BYTES:
        raise CollectionError(f"{path}: over 50 MB; a collection file may hold at most 50 MB")
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise CollectionError(f"{path}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise CollectionError(
            f"{path}: invalid JSON at line {exc.lineno} column {exc.colno} ({exc.msg})"
        ) from None
    except RecursionError:
        raise CollectionError(f"{path}: invalid JSON: arrays or objects nested too deeply") from None
    except ValueError:
        # Python refuses to read integers of more than a few thousand digits.
        raise CollectionError(f"{path}: invalid JSON: a number too long to read") from None
    return data, JsonFormat.detect(raw)


def atomic_write(path: Path, content: bytes, mode: int | None = None) -> None:
    """Write via a temporary file in the same folder, fsync, then rename over."""
    if mode is None:
        try:
            mode = path.stat().st_mode & 0o7777
        except FileNotFoundError:
            mode = 0o644
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def write_json(path: Path, data: object, fmt: JsonFormat) -> bool:
    """Rewrite `path` only when its bytes would change; True when it was written."""
    content = fmt.dumps(data)
    try:
        if path.read_bytes() == content:
            return False
    except FileNotFoundError:
        pass
    try:
        atomic_write(path, content)
    except OSError as exc:
        if storage_problem(exc):  # a full disk stops the command; the file is left as it was
            raise write_failed(path, exc) from None
        raise CollectionError(f"{path}: cannot write ({exc.strerror or exc.__class__.__name__}); "
                              "the file is left as it was") from None
    return True


class Store:
    """The data folder: `collection.json` and `album/<slug>/<slug>.json`."""

    def __init__(self, data_dir: Path) -> None:
        self.root = Path(data_dir)
        self.index_path = self.root / "collection.json"
        self._index: list[dict] | None = None
        self._index_format: JsonFormat | None = None

    def index(self) -> list[dict]:
        if self._index is None:
            if not self.root.is_dir():
                raise CollectionError(f"data folder {self.root} does not exist")
            data, fmt = read_json(self.index_path)
            if not isinstance(data, list):
                raise CollectionError(
                    f"{self.index_path}: expected a list of albums, got {type(data).__name__}"
                )
            for i, entry in enumerate(data):
                if not isinstance(entry, dict):
                    raise CollectionError(f"{self.index_path}: [{i}]: expected an object")
            self._index, self._index_format = data, fmt
        return self._index

    def save_index(self) -> bool:
        if self._index is None or self._index_format is None:
            return False
        return write_json(self.index_path, self._index, self._index_format)

    def album_path(self, slug: str) -> Path:
        """The album's file, refusing anything that would leave the album folder."""
        if not _SLUG.match(slug) or slug in (".", "..") or slug.startswith("."):
            raise CollectionError(f"{slug!r} is not an album slug")
        albums = (self.root / "album").resolve()
        path = (albums / slug / f"{slug}.json").resolve()
        if not path.is_relative_to(albums):
            raise CollectionError(f"{slug!r} points outside the album folder")
        return self.root / "album" / slug / f"{slug}.json"

    def has_album(self, slug: str) -> bool:
        try:
            return self.album_path(slug).is_file()
        except (CollectionError, OSError):  # OSError: a name too long for the file system
            return False

    def read_album(self, slug: str) -> tuple[object, JsonFormat]:
        return read_json(self.album_path(slug))

    def write_album(self, slug: str, data: object, fmt: JsonFormat) -> bool:
        return write_json(self.album_path(slug), data, fmt)


def entry_slug(entry: dict) -> str | None:
    """The slug an index entry points at (`/album/<slug>/`)."""
    for key in ("uri_release", "json_detailed_release"):
        value = entry.get(key)
        if isinstance(value, str):
            parts = [p for p in value.split("/") if p]
            if len(parts) >= 2 and parts[0] == "album":
                return parts[1]
    return None
