"""The store: one SQLite database in WAL mode per cache directory, each cache a namespace in it.

An entry is (namespace, group, key, value, writer, checksum): the group is what
the values depend on besides the key (a model's identity, a tokenizer), the
writer names the bench and process that wrote it, and the checksum (BLAKE2b)
covers all five. Reading checks every entry: one whose checksum does not
match (a flipped byte, a key changed or swapped, an entry copied from another
group or namespace), a key stored twice with different values, or a value
larger than its namespace's bound is damage: it is dropped, counted, and the
caller computes it again. The checksum finds damage, not forgery: it is not a
secret.

What can go wrong with the database, and what the store does:

- damaged or not a database (SQLite says "malformed" or "not a database"),
  or a database of other tables than bench's: moved aside, with its -wal and
  -shm files (``cache.sqlite.damaged-<time>-<random>``), rebuilt empty, and a
  warning says so;
- a symbolic link, a directory, a FIFO or anything but a regular file in place
  of the database or its -wal / -shm files: the same (never followed);
- locked by another process: a statement waits up to `LOCK_WAIT_S`; then the
  store is not written (or, when reading waited, not used) for the rest of the
  process (one warning): what is computed is used, not cached;
- not writable (a read-only file or folder, a full disk): what is cached is
  still read when it can be; new entries are not written, for the rest of the
  process (one warning);
- written by a newer bench (a newer schema): not used, not touched.

Nothing here raises for any of these: a cache costs time, never a result.
Commits are written through at once (another process sees them; a killed
process loses nothing committed) and the WAL is fsynced at most every
`FSYNC_INTERVAL_S` and when the store closes, so a crash of the machine loses
at most about that much.

Imports nothing from bench's pipeline stages.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path

from bench.cache import safe_files
from bench.cache.claims import Owner
from bench.cache.keys import Checksums
from bench.errors import BenchWarning
from bench.version import __version__

#: The database's file name in its cache directory.
DB_NAME = "cache.sqlite"
#: Files SQLite keeps beside it.
SIDE_SUFFIXES = ("-wal", "-shm", "-journal")
#: Longest wait for another process's lock, per statement; then the store is given up for the process.
LOCK_WAIT_S = 10.0
#: Least time between two fsyncs of the write-ahead log (and one when the store closes).
FSYNC_INTERVAL_S = 1.0
#: Largest value read or written unless a namespace says otherwise (a larger one is damage when read).
MAX_VALUE_BYTES = 64 << 20
#: Keys per statement.
CHUNK = 500
SCHEMA_VERSION = "1"

_TABLES = {
    "entries": "CREATE TABLE entries (ns TEXT NOT NULL, grp TEXT NOT NULL, key BLOB NOT NULL, value BLOB NOT NULL, "
               "writer TEXT NOT NULL, checksum BLOB NOT NULL)",
    "claims": "CREATE TABLE claims (ns TEXT NOT NULL, grp TEXT NOT NULL, key BLOB NOT NULL, owner TEXT NOT NULL, "
              "PRIMARY KEY (ns, grp, key))",
    "meta": "CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
}
_INDEXES = {"entries_by_key": "CREATE INDEX entries_by_key ON entries (ns, grp, key)"}
_SCHEMA = {("table", name, sql) for name, sql in _TABLES.items()} | {("index", n, s) for n, s in _INDEXES.items()} | {
    ("index", "sqlite_autoindex_claims_1", None), ("index", "sqlite_autoindex_meta_1", None)}

#: SQLite result codes (`sqlite3.Error.sqlite_errorcode`, Python 3.11+; the message is read before that).
_MALFORMED = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB
_LOCKED = {5, 6}  # SQLITE_BUSY, SQLITE_LOCKED


def _kind(e: BaseException) -> str:
    """'malformed', 'locked' or 'unusable' (anything else: read-only, full, I/O, cannot open)."""
    code = getattr(e, "sqlite_errorcode", None)
    if code is not None:
        code &= 0xFF
        return "malformed" if code in _MALFORMED else "locked" if code in _LOCKED else "unusable"
    text = str(e).lower()
    if "malformed" in text or "not a database" in text:
        return "malformed"
    return "locked" if "locked" in text or "busy" in text else "unusable"


class Damaged(Exception):
    """The database is not what bench writes (the reason is the message)."""


class Store:
    """One cache directory's database. Get one with `open_store`; every call is safe to make whatever the state
    of the files: a store that cannot be used reads as empty and keeps nothing."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.path = self.directory / DB_NAME
        self.writer = f"bench {__version__} pid {os.getpid()}"
        self.db: sqlite3.Connection | None = None
        self.no_reads: str | None = None  # why nothing can be read (then nothing is written either)
        self.no_writes: str | None = None  # why nothing can be written
        self.damaged: dict[str, int] = {}  # damaged entries found, per namespace
        self.refs = 0
        self.lock = threading.RLock()
        self.owner = Owner(self.directory / "claims")
        self.no_reads, self.no_writes = _GIVEN_UP.get(str(self.path), (None, None))
        self._synced = time.monotonic()
        self._unsynced = False

    # ------------------------------------------------------------------ opening, damage, failure

    def _open(self) -> sqlite3.Connection:
        for moved in safe_files.make_directory(self.directory):
            self._say(f"the cache store's folder was damaged: {moved}; made anew")
        bad = [(p, why) for p in self._files() if (why := safe_files.problem(p))]
        if bad:
            self._move_aside("; ".join(f"{why} ({safe_files.shown(p)})" for p, why in bad))
        db = sqlite3.connect(str(self.path), timeout=LOCK_WAIT_S, isolation_level=None, check_same_thread=False)
        try:
            why = safe_files.problem(self.path)  # put there while it was opened
            if why is not None:
                raise Damaged(why)
            db.execute("PRAGMA trusted_schema = OFF")
            db.execute("PRAGMA cell_size_check = ON")
            db.execute("PRAGMA journal_mode = WAL").fetchall()
            db.execute("PRAGMA synchronous = NORMAL")
            self._check_schema(db)
        except BaseException:
            db.close()
            raise
        return db

    def _files(self) -> list[Path]:
        return [self.path, *(self.path.with_name(DB_NAME + s) for s in SIDE_SUFFIXES)]

    def _check_schema(self, db: sqlite3.Connection) -> None:
        found = set(db.execute("SELECT type, name, sql FROM sqlite_master").fetchall())
        if not found:
            db.execute("BEGIN IMMEDIATE")
            try:
                if not db.execute("SELECT 1 FROM sqlite_master").fetchall():  # another process may have made it
                    for sql in [*_TABLES.values(), *_INDEXES.values()]:
                        db.execute(sql)
                    db.execute("INSERT INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK") if db.in_transaction else None
                raise
            found = set(db.execute("SELECT type, name, sql FROM sqlite_master").fetchall())
        if found != _SCHEMA:
            raise Damaged("tables that are not a bench cache store's")
        version = db.execute("SELECT value FROM meta WHERE name = 'schema'").fetchone()
        if version is None or version[0] != SCHEMA_VERSION:
            if isinstance(version, tuple) and isinstance(version[0], str) and version[0].isdigit() \
                    and int(version[0]) > int(SCHEMA_VERSION):
                raise _Newer(version[0])
            raise Damaged(f"an unknown schema version {version!r}")

    def _move_aside(self, why: str) -> None:
        """Move the database and its side files aside (kept for inspection), to be rebuilt."""
        self._close_db()
        stamp = safe_files.damaged_stamp()
        moved = [t.name for p in self._files() if (t := safe_files.move_aside(p, stamp)) is not None]
        self._say(f"the cache store {safe_files.shown(self.path)} was damaged ({why}): moved aside "
                  f"({', '.join(moved) or 'nothing left to move'}) and rebuilt; what it held is computed again")

    def _fail(self, e: BaseException, reading: bool) -> None:
        kind = _kind(e) if isinstance(e, sqlite3.Error) else "unusable"
        if isinstance(e, _Newer):
            why = f"it was written by a newer bench (schema {e})"
        elif kind == "locked":
            why = f"another process holds its lock (waited {LOCK_WAIT_S:g} s)"
        else:
            why = (getattr(e, "strerror", None) or str(e) or type(e).__name__).strip()
        if reading or isinstance(e, _Newer):
            self.no_reads = self.no_reads or why
        self.no_writes = self.no_writes or why
        _GIVEN_UP[str(self.path)] = (self.no_reads, self.no_writes)  # for the rest of the process
        self._close_db() if self.no_reads else None
        what = "not used" if self.no_reads else "read, but not written"
        self._say(f"the cache store {safe_files.shown(self.path)} is {what}: {why}; this run goes on without "
                  f"caching what it computes")

    def _say(self, message: str) -> None:
        said = _SAID.setdefault(str(self.path), set())
        if message not in said:
            said.add(message)
            warnings.warn(message, BenchWarning, stacklevel=4)

    def _close_db(self) -> None:
        if self.db is not None:
            try:
                self.db.close()
            except sqlite3.Error:
                pass
            self.db = None

    def _run(self, fn, default, *, write: bool):
        """`fn(db)` under the rules above: `default` when the store cannot be used for it. A lock SQLite reports
        at once (some of its locks do not wait) is tried again until `LOCK_WAIT_S` has passed."""
        with self.lock:
            rebuilt = False
            start = time.monotonic()
            while not (self.no_reads or (write and self.no_writes)):
                opening = self.db is None
                try:
                    if self.db is None:
                        self.db = self._open()
                    return fn(self.db)
                except (Damaged, sqlite3.DatabaseError) as e:
                    if self.db is not None and self.db.in_transaction:
                        try:
                            self.db.execute("ROLLBACK")
                        except sqlite3.Error:
                            pass
                    kind = "malformed" if isinstance(e, Damaged) else "newer" if isinstance(e, _Newer) else _kind(e)
                    if kind == "malformed" and not rebuilt:
                        rebuilt = True
                        self._move_aside(str(e))
                        continue
                    if kind == "locked" and time.monotonic() - start < LOCK_WAIT_S:
                        time.sleep(0.05)
                        continue
                    self._fail(e, reading=opening or not write)
                except (OSError, sqlite3.Error) as e:
                    self._fail(e, reading=opening or not write)
            return default

    # ------------------------------------------------------------------ entries

    def get(self, ns: str, grp: str, keys: Sequence[bytes], max_bytes: int = MAX_VALUE_BYTES) -> dict[bytes, bytes]:
        """The sound values of `keys` (damaged entries dropped and counted)."""
        keys = list(dict.fromkeys(keys))

        def read(db):
            rows = []
            for i in range(0, len(keys), CHUNK):
                part = keys[i:i + CHUNK]
                rows += db.execute(f"{_SELECT} AND key IN ({','.join('?' * len(part))})",
                                   (max_bytes, ns, grp, *part)).fetchall()
            return rows

        return self._sound(ns, grp, self._run(read, [], write=False), max_bytes) if keys else {}

    def items(self, ns: str, grp: str, max_bytes: int = MAX_VALUE_BYTES) -> dict[bytes, bytes]:
        """Every sound entry of a group."""
        rows = self._run(lambda db: db.execute(_SELECT, (max_bytes, ns, grp)).fetchall(), [], write=False)
        return self._sound(ns, grp, rows, max_bytes)

    def present(self, ns: str, grp: str, keys: Sequence[bytes]) -> set[bytes]:
        """Which of `keys` have an entry (not read, not checked)."""
        keys = list(dict.fromkeys(keys))

        def read(db):
            found: set[bytes] = set()
            for i in range(0, len(keys), CHUNK):
                part = keys[i:i + CHUNK]
                found.update(k for (k,) in db.execute(
                    f"SELECT DISTINCT key FROM entries WHERE ns = ? AND grp = ? AND key IN ({','.join('?' * len(part))})",
                    (ns, grp, *part)))
            return found

        return self._run(read, set(), write=False) if keys else set()

    def _sound(self, ns: str, grp: str, rows: list[tuple], max_bytes: int) -> dict[bytes, bytes]:
        found: dict[bytes, list[tuple[int, bytes]]] = {}
        bad: list[int] = []
        bad_keys: set = set()
        sums: dict[str, Checksums] = {}
        for rowid, key, value, writer, check in rows:
            if not (isinstance(key, bytes) and isinstance(value, bytes) and isinstance(writer, str)
                    and isinstance(check, bytes) and len(value) <= max_bytes
                    and (sums.get(writer) or sums.setdefault(writer, Checksums(ns, grp, writer)))(key, value)
                    == check):
                bad.append(rowid)
                bad_keys.add(key)
                continue
            found.setdefault(key, []).append((rowid, value))
        out = {}
        for key, versions in found.items():
            if len({v for _, v in versions}) > 1:  # one key, two values: neither can be trusted
                bad += [rowid for rowid, _ in versions]
                bad_keys.add(key)
            else:
                out[key] = versions[0][1]
        if bad:
            self._damage(ns, len(bad_keys))
            self._drop_rows(bad)
        return out

    def _damage(self, ns: str, n: int) -> None:
        self.damaged[ns] = self.damaged.get(ns, 0) + n
        warnings.warn(f"{n} damaged entr{'y' if n == 1 else 'ies'} in the cache store {safe_files.shown(self.path)} "
                      f"({ns}: a checksum that does not match its key and value, a key stored twice with different "
                      f"values, or a value that is not what bench writes) dropped; computed again", BenchWarning,
                      stacklevel=4)

    def drop(self, ns: str, grp: str, keys: Iterable[bytes], damaged: bool = True) -> None:
        """Remove the entries of `keys` (with `damaged`, values their reader found unsound: counted and said)."""
        keys = list(dict.fromkeys(keys))
        if damaged and keys:
            self._damage(ns, len(keys))

        def delete(db):
            db.execute("BEGIN IMMEDIATE")
            for i in range(0, len(keys), CHUNK):
                part = keys[i:i + CHUNK]
                db.execute(f"DELETE FROM entries WHERE ns = ? AND grp = ? AND key IN ({','.join('?' * len(part))})",
                           (ns, grp, *part))
            db.execute("COMMIT")

        if keys:
            self._run(delete, None, write=True)

    def _drop_rows(self, rowids: list[int]) -> None:
        def delete(db):
            db.execute("BEGIN IMMEDIATE")
            for i in range(0, len(rowids), CHUNK):
                part = rowids[i:i + CHUNK]
                db.execute(f"DELETE FROM entries WHERE rowid IN ({','.join('?' * len(part))})", part)
            db.execute("COMMIT")

        self._run(delete, None, write=True)

    def clear(self, ns: str, grp: str) -> None:
        """Remove every entry of a group."""
        def delete(db):
            db.execute("BEGIN IMMEDIATE")
            db.execute("DELETE FROM entries WHERE ns = ? AND grp = ?", (ns, grp))
            db.execute("COMMIT")

        self._run(delete, None, write=True)

    def put(self, ns: str, grp: str, items: Iterable[tuple[bytes, bytes]], max_bytes: int = MAX_VALUE_BYTES,
            replace: bool = False) -> int:
        """Store entries (a key already stored keeps its value, unless `replace`); how many were written. A value
        larger than `max_bytes` is not stored."""
        sums = Checksums(ns, grp, self.writer)
        rows = [(ns, grp, k, v, self.writer, sums(k, v)) for k, v in items if len(v) <= max_bytes]
        if not rows:
            return 0

        def write(db):
            db.execute("BEGIN IMMEDIATE")
            if replace:
                db.executemany("DELETE FROM entries WHERE ns = ? AND grp = ? AND key = ?", [r[:3] for r in rows])
            db.executemany("INSERT INTO entries (ns, grp, key, value, writer, checksum) SELECT ?, ?, ?, ?, ?, ? "
                           "WHERE NOT EXISTS (SELECT 1 FROM entries WHERE ns = ? AND grp = ? AND key = ?)",
                           [(*r, *r[:3]) for r in rows])
            db.execute("COMMIT")
            self._unsynced = True
            if time.monotonic() - self._synced >= FSYNC_INTERVAL_S:
                self._sync()
            return len(rows)

        return self._run(write, 0, write=True)

    def _sync(self) -> None:
        """fsync the write-ahead log: every commit so far survives a crash of the machine."""
        try:
            fd = os.open(str(self.path) + "-wal", os.O_RDONLY | safe_files.OPEN_FLAGS)
        except OSError:
            return
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        self._synced = time.monotonic()
        self._unsynced = False

    def sync(self) -> None:
        """fsync what was written and not yet synced."""
        with self.lock:
            if self._unsynced and self.db is not None:
                try:
                    self._sync()
                except OSError as e:
                    self._fail(e, reading=False)

    # ------------------------------------------------------------------ claims

    def claim(self, ns: str, grp: str, keys: Sequence[bytes]) -> tuple[list[bytes], list[bytes]]:
        """(keys this process is now to compute, keys another live process is computing); keys already stored are
        in neither. A store that cannot be used gives every key to this process."""
        keys = list(dict.fromkeys(keys))

        def take(db):
            db.execute("BEGIN IMMEDIATE")
            try:
                done, held = set(), {}
                for i in range(0, len(keys), CHUNK):
                    part = keys[i:i + CHUNK]
                    marks = ",".join("?" * len(part))
                    done.update(k for (k,) in db.execute(
                        f"SELECT DISTINCT key FROM entries WHERE ns = ? AND grp = ? AND key IN ({marks})",
                        (ns, grp, *part)))
                    held.update(db.execute(f"SELECT key, owner FROM claims WHERE ns = ? AND grp = ? AND key IN "
                                           f"({marks})", (ns, grp, *part)).fetchall())
                alive: dict[str, bool] = {}
                mine, theirs = [], []
                for k in keys:
                    if k in done:
                        continue
                    owner = held.get(k)
                    if owner is not None and owner != me and owner not in alive:
                        alive[owner] = self.owner.alive(owner)
                    (theirs if owner is not None and owner != me and alive[owner] else mine).append(k)
                db.executemany("INSERT OR REPLACE INTO claims VALUES (?, ?, ?, ?)", [(ns, grp, k, me) for k in mine])
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK") if db.in_transaction else None
                raise
            return mine, theirs

        if not keys:
            return [], []
        try:
            me = self.owner.name()
        except OSError as e:  # the claims folder cannot be used: no sharing, every key computed here
            self._say(f"the cache store's claims cannot be made ({safe_files.shown(self.owner.folder)}: "
                      f"{e.strerror or e}); processes working on the same entries each compute them")
            return keys, []
        return self._run(take, (keys, []), write=True)

    def release(self, ns: str, grp: str, keys: Sequence[bytes] | None = None) -> None:
        """Give up this process's claims (of `keys`, or all in the group)."""
        if not self.owner.named:
            return

        def free(db):
            me = self.owner.name()
            if keys is None:
                db.execute("DELETE FROM claims WHERE ns = ? AND grp = ? AND owner = ?", (ns, grp, me))
            else:
                db.executemany("DELETE FROM claims WHERE ns = ? AND grp = ? AND key = ? AND owner = ?",
                               [(ns, grp, k, me) for k in keys])

        self._run(free, None, write=True)

    # ------------------------------------------------------------------ lifetime

    def close(self) -> None:
        """Release one `open_store`; the last one syncs and closes the database."""
        with self.lock:
            self.refs -= 1
            if self.refs > 0:
                return
            _OPEN.pop((os.getpid(), str(self.path)), None)
            self.sync()
            if self.owner.named:
                try:
                    if self.db is not None and not self.no_writes:
                        self.db.execute("DELETE FROM claims WHERE owner = ?", (self.owner.name(),))
                except sqlite3.Error:
                    pass
                self.owner.close()
            self._close_db()


_SELECT = ("SELECT rowid, key, CASE WHEN length(value) <= ? THEN value END, writer, checksum FROM entries "
           "WHERE ns = ? AND grp = ?")


class _Newer(sqlite3.DatabaseError):
    """A store written by a newer bench (its schema version is the message)."""


#: Open stores of this process, by (process id, database path): every cache of a directory shares one.
_OPEN: dict[tuple[int, str], Store] = {}
_OPEN_LOCK = threading.Lock()
#: Warnings said, per database path: each is said once per process.
_SAID: dict[str, set[str]] = {}
#: Stores given up (no_reads, no_writes), per database path: not waited for again in this process.
_GIVEN_UP: dict[str, tuple[str | None, str | None]] = {}


def open_store(directory: str | Path) -> Store:
    """The store of a cache directory (made on first use); `Store.close` when done with it."""
    path = os.path.join(os.path.abspath(directory), DB_NAME)
    with _OPEN_LOCK:
        store = _OPEN.get((os.getpid(), path))
        if store is None:
            store = _OPEN[(os.getpid(), path)] = Store(Path(os.path.abspath(directory)))
        store.refs += 1
        return store
