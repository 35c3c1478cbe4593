"""The private state folder: 0700 folder, 0600 files from the moment they exist, and locks that name their holder."""

from __future__ import annotations

import errno
import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from errors import Busy, ConfigError, StateError

DIR_MODE = 0o700
FILE_MODE = 0o600
POLL_SECONDS = 0.05


# What a failed write says, by errno or sqlite error: the disk, not the file, is at fault.
NO_ROOM = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is used up",
           errno.EFBIG: "the file grew past the size this process may write", errno.EROFS: "the disk is read-only"}
SQLITE_NO_ROOM = {"SQLITE_FULL": "the disk is full", "SQLITE_READONLY": "the file or its folder is read-only",
                  "SQLITE_CANTOPEN": "the file cannot be opened"}


def storage_problem(exc: BaseException) -> str | None:
    """Why a write failed when the cause is the storage (full, read-only, failing), else None."""
    if isinstance(exc, OSError):
        return NO_ROOM.get(exc.errno or 0)
    name = getattr(exc, "sqlite_errorname", "") or ""
    if name in SQLITE_NO_ROOM:
        return SQLITE_NO_ROOM[name]
    if name.startswith("SQLITE_IOERR"):
        return "a write to the disk failed (is it full?)"
    text = str(exc)
    return "the disk is full" if "disk is full" in text else None


SHOWN_PATH = 120  # characters of a path shown in a message; longer ones are cut in the middle


def shown_path(path: object) -> str:
    """A path for a one-line message: a name too long for the system is cut, not printed whole."""
    text = os.fsdecode(path) if isinstance(path, (str, bytes, os.PathLike)) else str(path)
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= SHOWN_PATH else f"{text[:60]}…{text[-50:]} ({len(text)} characters)"


SQLITE_MAX_PATH = 512  # sqlite's file names are at most this many bytes, whatever the system allows


def cannot_open(path: Path, exc: BaseException) -> StateError:
    """One line for an sqlite file that cannot be opened, saying so when its path is too long for sqlite."""
    if len(os.fsencode(path)) >= SQLITE_MAX_PATH:
        return StateError(f"cannot open {shown_path(path)}: sqlite takes paths of fewer than {SQLITE_MAX_PATH} "
                          "bytes; choose a shorter --state-dir")
    return StateError(f"{shown_path(path)} cannot be opened ({exc})")


def write_failed(path: Path, exc: BaseException) -> StateError:
    """One line for a write that failed; the step it belonged to was not saved."""
    reason = storage_problem(exc) or (exc.strerror if isinstance(exc, OSError) and exc.strerror
                                      else f"{exc.__class__.__name__}: {exc}")
    return StateError(f"cannot write {shown_path(path)}: {reason}; nothing of this step was saved, and what was saved "
                      "before is kept")


def private_dir(path: Path) -> Path:
    """Create the folder 0700 (parents too); tighten an existing one that is open to others."""
    try:
        path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        if path.stat().st_mode & 0o077:
            path.chmod(DIR_MODE)
    except OSError as exc:
        raise StateError(f"cannot use state folder {shown_path(path)}: {exc.strerror}") from None
    return path


def private_file(path: Path) -> Path:
    """Make sure the file exists and was created 0600 (sqlite then keeps that mode for its journals)."""
    private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, FILE_MODE)
        os.close(fd)
        if path.stat().st_mode & 0o077:
            path.chmod(FILE_MODE)
    except OSError as exc:
        raise StateError(f"cannot use {shown_path(path)}: {exc.strerror}") from None
    return path


def write_private_json(path: Path, data: object) -> None:
    """Atomically replace `path`; the temporary file is 0600 from its creation."""
    private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    except OSError as exc:
        raise write_failed(path, exc) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise write_failed(path, exc) from None
        raise


def read_private_json(path: Path) -> object | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, RecursionError) as exc:
        raise StateError(f"{shown_path(path)} cannot be read ({exc.__class__.__name__}); remove it to start afresh") from None


@dataclass(frozen=True)
class Holder:
    """Who holds a lock, as the holder wrote it."""

    command: str
    pid: int

    def __str__(self) -> str:
        return f"`{self.command}` (pid {self.pid})"


def lock_holder(path: Path) -> Holder | None:
    """The holder named in a lock file, or None when unknown (the name is written just after locking)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8") or "null")
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("command"), str) or not isinstance(data.get("pid"), int):
        return None
    return Holder(data["command"], data["pid"])


def _try_flock(fd: int, mode: int) -> bool:
    try:
        fcntl.flock(fd, mode | fcntl.LOCK_NB)
        return True
    except OSError as exc:
        if exc.errno not in (errno.EAGAIN, errno.EACCES):
            raise
        return False


def busy_message(path: Path, what: str) -> str:
    holder = lock_holder(path)
    by = f"{holder} holds it" if holder else f"another process holds {path.name}"
    return f"{what}: {by}; try again shortly"


@contextmanager
def file_lock(path: Path, command: str, wait: float = 0.0, what: str = "busy",
              shared: bool = False) -> Iterator[None]:
    """An exclusive (or shared) lock for as long as the block runs, waiting up to `wait` seconds.

    The kernel drops a flock when its holder dies, so a lock left by a killed
    process is simply taken over. The holder's command and pid are written
    into an exclusive lock's file so that a waiting command can name it.
    """
    private_file(path)
    fd = os.open(path, os.O_RDWR)
    mode = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
    deadline = time.monotonic() + wait
    try:
        while not _try_flock(fd, mode):
            if time.monotonic() >= deadline:
                raise Busy(busy_message(path, what))
            time.sleep(POLL_SECONDS)
        if not shared:
            try:
                os.ftruncate(fd, 0)
                os.pwrite(fd, json.dumps({"command": command, "pid": os.getpid()}).encode(), 0)
            except OSError:
                pass  # a full disk: the holder goes unnamed, the lock holds all the same
        yield
    finally:
        os.close(fd)


def is_locked(path: Path) -> bool:
    """Whether someone holds the lock now (shared or exclusive)."""
    if not path.exists():
        return False
    fd = os.open(path, os.O_RDWR)
    try:
        if _try_flock(fd, fcntl.LOCK_EX):
            return False
        return True
    finally:
        os.close(fd)


def process_running(pid: int) -> bool:
    """Whether process `pid` still runs on this machine (the processes sharing a state folder share it)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it runs, as another user
        return True
    return True


class SavedSignIn:
    """A service's sign-in (a user name and one secret under `secret_field`), kept 0600 in the state folder."""

    def __init__(self, path: Path, secret_field: str, what: str) -> None:
        self.path, self.secret_field, self.what = path, secret_field, what

    def load_pair(self) -> tuple[str, str] | None:
        """(user name, secret), None when nobody signed in, or ConfigError for a file that is not one."""
        data = read_private_json(self.path)
        if data is None:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("username"), str) \
                or not isinstance(data.get(self.secret_field), str):
            raise ConfigError(f"{self.path} is not {self.what}")
        return data["username"], data[self.secret_field]

    def save_pair(self, username: str, secret: str) -> None:
        write_private_json(self.path, {"username": username, self.secret_field: secret})

    def clear(self) -> bool:
        try:
            self.path.unlink()
            return True
        except FileNotFoundError:
            return False
