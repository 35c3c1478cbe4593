"""The private state folder: 0700 folder, 0600 files from the moment they exist, and run locks."""

from __future__ import annotations

import errno
import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from errors import EXIT_TRY_LATER, ConfigError, RussfmError

DIR_MODE = 0o700
FILE_MODE = 0o600


class Busy(RussfmError):
    """Another process holds the lock; worth trying again shortly."""

    exit_code = EXIT_TRY_LATER


def private_dir(path: Path) -> Path:
    """Create the folder 0700 (parents too); tighten an existing one that is open to others."""
    try:
        path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        if path.stat().st_mode & 0o077:
            path.chmod(DIR_MODE)
    except OSError as exc:
        raise ConfigError(f"cannot use state folder {path}: {exc.strerror}") from None
    return path


def private_file(path: Path) -> Path:
    """Make sure the file exists and was created 0600 (sqlite then keeps that mode for its journals)."""
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, FILE_MODE)
    os.close(fd)
    if path.stat().st_mode & 0o077:
        path.chmod(FILE_MODE)
    return path


def write_private_json(path: Path, data: object) -> None:
    """Atomically replace `path`; the temporary file is 0600 from its creation."""
    private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def read_private_json(path: Path) -> object | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path} cannot be read ({exc.__class__.__name__}); remove it to start afresh") from None


@contextmanager
def run_lock(path: Path, wait: float = 0.0) -> Iterator[None]:
    """An exclusive lock held for as long as this process lives in the block.

    The kernel drops a flock when its holder dies, so a lock left by a killed
    run is simply taken over.
    """
    private_file(path)
    fd = os.open(path, os.O_RDWR)
    deadline = time.monotonic() + wait
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() >= deadline:
                    raise Busy(f"another run of this tool is sending (it holds {path}); try again shortly") from None
                time.sleep(0.1)
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield
    finally:
        os.close(fd)
