"""Files written safely: atomic replacement and an exclusive lock across processes.

Readers see the old or the new file, never half of one; a killed writer leaves
at most a temporary file behind, which it removes when it can.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING

from pytest_perfbudget.errors import BaselineError

if TYPE_CHECKING:
    from msgspec import Raw

__all__ = ["GITIGNORE", "atomic_write", "locked"]

_THREAD_LOCK = threading.Lock()
#: The write buffer: a big baseline goes out in a few dozen writes, parts copied in.
_BUFFER = 1 << 20


def atomic_write(path: Path, text: str | bytes | Iterable[bytes | Raw]) -> None:
    """Replace ``path`` with ``text`` (bytes as they are, a string in UTF-8, or the
    bytes of each part, one after the other) so readers see the old or the new
    file, never half."""
    if isinstance(text, str):
        text = text.encode("utf-8")
    parts = [text] if isinstance(text, bytes) else text
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise BaselineError(f"{path}: cannot write: {exc}") from exc
    try:
        with os.fdopen(fd, "wb", buffering=_BUFFER) as handle:
            handle.writelines(parts)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise BaselineError(f"{path}: cannot write: {exc}") from exc
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    """Make the rename durable where the OS allows opening a directory."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - filesystems without directory fsync
        pass
    finally:
        os.close(fd)


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _lock(handle: IO[bytes]) -> None:
        handle.seek(0)
        while True:
            try:
                msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK, 1)
                return
            except OSError:  # LK_LOCK gives up after ~10 s; keep waiting
                continue

    def _unlock(handle: IO[bytes]) -> None:
        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _lock(handle: IO[bytes]) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)

    def _unlock(handle: IO[bytes]) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


#: Written into a folder :func:`locked` creates, as pytest does in its cache folder:
#: the lock file, and the temporary file a killed save leaves, stay out of git.
GITIGNORE = (
    "# Created by pytest-perfbudget: the lock file of saves and a killed save's\n"
    "# temporary file. Commit the baseline itself.\n*.lock\n*.tmp\n"
)


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on the sibling ``<name>.lock`` (threads and processes).

    A folder it creates for the file gets a ``.gitignore`` (:data:`GITIGNORE`).
    """
    lock_path = path.with_name(path.name + ".lock")
    try:
        if not path.parent.is_dir():
            path.parent.mkdir(parents=True, exist_ok=True)
            (path.parent / ".gitignore").write_text(GITIGNORE, encoding="utf-8")
        handle = open(lock_path, "a+b")  # noqa: SIM115 - closed below, after unlocking
    except OSError as exc:
        raise BaselineError(f"{path}: cannot create the lock file {lock_path}: {exc}") from exc
    with _THREAD_LOCK, handle:
        _lock(handle)
        try:
            yield
        finally:
            _unlock(handle)
