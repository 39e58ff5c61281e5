"""The store's files on disk: regular files inside the cache directory, or damage.

Nothing here follows a symbolic link or opens what is not a regular file: a
link (dangling or not), a directory, a FIFO, a device or a socket where a cache
file belongs is moved aside (renamed beside it, ``NAME.damaged-<time>-<random>``,
so it can be inspected) and the file is made anew. So is a regular file with a
second hard link, whose bytes are shared with a file elsewhere. Reads are
bounded: a file larger than the reader's limit is damage too, never read.

Imports nothing from bench.
"""

from __future__ import annotations

import os
import secrets
import stat
import time
from collections.abc import Iterator
from pathlib import Path

#: Flags of every open: never follow a link in the last component, never block on a FIFO.
OPEN_FLAGS = os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)


def shown(path: str | Path) -> str:
    """`path` relative to the working directory when it is below it (links not resolved), for messages."""
    p = Path(path)
    try:
        return str(p.absolute().relative_to(Path.cwd()))
    except (ValueError, OSError):
        return str(p)


def kind_of(mode: int) -> str:
    """What a file of this mode is, in words."""
    for test, name in ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def problem(path: Path, *, directory: bool = False) -> str | None:
    """Why `path` cannot be a cache file (or, with `directory`, the cache directory); None when it can, or when
    nothing is there."""
    try:
        st = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    if directory:
        return None if stat.S_ISDIR(st.st_mode) else f"{kind_of(st.st_mode)} in place of the cache directory"
    if not stat.S_ISREG(st.st_mode):
        return f"{kind_of(st.st_mode)} in place of a cache file"
    if st.st_nlink > 1:
        return "a cache file with another hard link (its bytes are shared with a file elsewhere)"
    return None


def move_aside(path: Path, stamp: str | None = None) -> Path | None:
    """Rename `path` (the link itself, for a link) to ``NAME.damaged-<time>-<random>``; the new path, or None when
    nothing was there. `stamp` names several files moved together alike."""
    stamp = stamp or damaged_stamp()
    target = path.with_name(f"{path.name}.damaged-{stamp}")
    try:
        os.rename(path, target)
    except FileNotFoundError:
        return None
    return target


def damaged_stamp() -> str:
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + "-" + secrets.token_hex(3)


def make_directory(path: Path) -> list[str]:
    """Create the cache directory (and its parents); something else in its place is moved aside first.

    Returns what was moved aside, in words. Raises OSError when the directory cannot be made (a parent
    that is a file, no permission).
    """
    moved = []
    why = problem(path, directory=True)
    if why is not None:
        target = move_aside(path)
        if target is not None:
            moved.append(f"{why} ({shown(path)}, moved to {target.name})")
    path.mkdir(parents=True, exist_ok=True)
    return moved


def read_bounded(path: Path, limit: int) -> bytes:
    """The bytes of regular file `path`, at most `limit` of them.

    Raises OSError for a file that cannot be opened, and `NotSound` for one that is not a regular file (a link
    is never followed) or is larger than `limit`.
    """
    fd = _open_regular(path, limit, "a cache file of its kind holds")
    try:
        chunks = []
        left = limit + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
        if len(data) > limit:
            raise NotSound(f"more than {limit} bytes (it grew while read)")
        return data
    finally:
        os.close(fd)


def bounded_lines(path: Path, limit: int, line_limit: int) -> Iterator[bytes]:
    """The lines of regular file `path` (at most `limit` bytes), each without its newline; a line longer than
    `line_limit` is skipped whole. Raises as `read_bounded`."""
    fd = _open_regular(path, limit, "an old cache file is read")
    try:
        pending = b""
        skipping = False
        read = 0
        while True:
            chunk = os.read(fd, 1 << 20)
            read += len(chunk)
            if not chunk or read > limit:
                break
            lines = (pending + chunk).split(b"\n")
            pending = lines.pop()
            for line in lines:
                if skipping:
                    skipping = False
                elif len(line) <= line_limit:
                    yield line
            if len(pending) > line_limit:
                pending, skipping = b"", True
        if pending and not skipping:
            yield pending
    finally:
        os.close(fd)


def _open_regular(path: Path, limit: int, most: str) -> int:
    """A descriptor of regular file `path` (a link is never followed) of at most `limit` bytes; `NotSound`
    otherwise (`most` says what the limit is, for the message)."""
    fd = os.open(path, os.O_RDONLY | OPEN_FLAGS)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotSound(f"{kind_of(st.st_mode)} in place of a cache file")
        if st.st_size > limit:
            raise NotSound(f"{st.st_size} bytes, more than {most} ({limit})")
    except BaseException:
        os.close(fd)
        raise
    return fd


class NotSound(ValueError):
    """A cache file that is not a regular file of a readable size."""
