"""One refresh at a time per pipeline: an exclusive `flock` on `KG_HOME/<pipeline>.lock`.

The kernel releases a `flock` when its holder exits for any reason (kill -9 included), so a
lock is never stale: a refresh that finds the lock free knows that no other refresh is running,
and that any run the ledger still shows as `running` was interrupted. The file itself stays
(deleting it would race with a process that has just opened it); while held, it names its
holder (pid, host, start time) so that a second refresh can say who it is waiting for.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from kg.errors import LockedError, StoreError
from kg.store import now_iso


def lock_path(home: Path, pipeline: str) -> Path:
    """The lock file of `pipeline` under `home` (next to its store)."""
    return home / f"{pipeline}.lock"


def lock_holder(path: Path) -> str | None:
    """Who holds (or last held) the lock, as written by the holder; None when unknown."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return text or None


def holder_alive(path: Path) -> bool:
    """Whether the process named in the lock file still runs (display only: never for safety)."""
    text = lock_holder(path) or ""
    try:
        pid = int(text.split()[1])
    except (IndexError, ValueError):
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class PipelineLock:
    """`with PipelineLock(path, wait=False):` holds the lock or raises `LockedError` at once."""

    def __init__(
        self, path: Path, *, wait: bool = False, on_wait: Callable[[str], None] | None = None
    ) -> None:
        self.path = path
        self.wait = wait
        self.on_wait = on_wait
        self._fd: int | None = None

    def acquire(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StoreError(
                f"cannot open the lock file {self.path}: {exc.strerror}; make KG_HOME "
                f"({self.path.parent}) a writable folder, or set KG_HOME to one"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = lock_holder(self.path) or "another process"
            if not self.wait:
                os.close(fd)
                raise LockedError(
                    f"another refresh of this pipeline is running ({holder}; lock {self.path}); "
                    "wait for it to finish, or pass --wait"
                ) from None
            if self.on_wait:
                self.on_wait(f"waiting for the lock held by {holder}")
            fcntl.flock(fd, fcntl.LOCK_EX)
        self._fd = fd
        note = f"pid {os.getpid()} on {socket.gethostname()} since {now_iso()}\n"
        with contextlib.suppress(OSError):  # the note is for people; the flock excludes
            os.ftruncate(fd, 0)
            os.pwrite(fd, note.encode(), 0)

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, 0)
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> PipelineLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
