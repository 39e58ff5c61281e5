"""Who is alive: each process that claims work holds a lock on a file of its own while it lives.

A claim in the store names its owner; the owner holds an exclusive `fcntl.flock`
on ``claims/<owner>.owner`` in the cache directory for as long as it runs. The
operating system drops the lock when the process ends, however it ends (even
``kill -9``), so another process that can take the lock knows the owner is
gone and its claims are free; no process id is trusted, none can be reused.
The file is locked before it gets its name, so a live owner's file is never
seen unlocked.

Imports nothing from bench but `bench.cache.safe_files`.
"""

from __future__ import annotations

import fcntl
import os
import re
import secrets
import stat
from pathlib import Path

from bench.cache import safe_files

_NAME = re.compile(r"[0-9]{1,10}-[0-9a-f]{12}")


class Owner:
    """This process, as an owner of claims in one cache directory (named on first use)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._name: str | None = None
        self._fd: int | None = None
        self._pid = os.getpid()

    @property
    def named(self) -> bool:
        return self._name is not None and self._pid == os.getpid()

    def name(self) -> str:
        """This process's owner name, its lock taken (raises OSError when the folder cannot be used)."""
        if self.named:
            assert self._name is not None
            return self._name
        safe_files.make_directory(self.folder)
        name = f"{os.getpid()}-{secrets.token_hex(6)}"
        tmp = self.folder / f".{name}.tmp"
        fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL | safe_files.OPEN_FLAGS, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.rename(tmp, self.folder / f"{name}.owner")
        except BaseException:
            os.close(fd)
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        self._name, self._fd, self._pid = name, fd, os.getpid()
        return name

    def alive(self, owner: str) -> bool:
        """Whether the process that is `owner` still runs (a gone owner's file is removed)."""
        if not _NAME.fullmatch(owner):
            return False
        path = self.folder / f"{owner}.owner"
        try:
            fd = os.open(path, os.O_RDONLY | safe_files.OPEN_FLAGS)
        except OSError:
            return False  # no file (or not one bench made): no owner to wait for
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return False
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            try:
                os.unlink(path)
            except OSError:
                pass
            return False
        finally:
            os.close(fd)

    def close(self) -> None:
        if self.named:
            try:
                os.unlink(self.folder / f"{self._name}.owner")
            except OSError:
                pass
        if self._fd is not None and self._pid == os.getpid():
            os.close(self._fd)
        self._name = self._fd = None
