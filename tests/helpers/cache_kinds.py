"""The four caches of the store, driven alike by the tests of damage, interruption and concurrency.

Each kind opens its cache (the class bench itself uses) on a cache directory, writes and reads entry number i
(a key and a value made from i), and names the namespace and group its entries have in the database. Run as a
script (``python cache_kinds.py KIND DIRECTORY FIRST LAST [PAUSE]``), it writes entries FIRST..LAST-1 one at a
time, printing each number once it is stored: a process a test can kill at a known point.
"""

from __future__ import annotations

import hashlib
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

from bench.cache.database import DB_NAME
from bench.cache.keys import checksum
from bench.cache.keys import content_key
from bench.cache.tables import Pairs, Predictions, Replies
from bench.cache.token_table import TokenCache


class Kind:
    name = ""
    ns = ""

    def open(self, directory: Path) -> Any:
        raise NotImplementedError

    def write(self, table: Any, numbers: list[int]) -> None:
        raise NotImplementedError

    def read(self, table: Any, numbers: list[int]) -> dict[int, Any]:
        raise NotImplementedError

    def value(self, i: int) -> Any:
        raise NotImplementedError

    def group(self, table: Any) -> str:
        return table.group


class PredictionKind(Kind):
    name, ns = "predictions", "predictions"
    identity = {"model": "m", "task_hash": "h"}

    def open(self, directory):
        return Predictions(directory, self.identity)

    def write(self, table, numbers):
        table.append([(f"ex-{i}", *self.value(i)) for i in numbers])

    def read(self, table, numbers):
        found = table.get([f"ex-{i}" for i in numbers])
        return {i: found[f"ex-{i}"] for i in numbers if f"ex-{i}" in found}

    def value(self, i):
        return f"prediction {i} \u00e9t\u00e9 \ud800", (None if i % 2 else i / 7)


class ReplyKind(Kind):
    name, ns = "judge", "judge"

    def open(self, directory):
        return Replies(directory, {"judge": "openai:x", "temperature": 0.0})

    def write(self, table, numbers):
        for i in numbers:
            table.append(content_key("request", str(i)), self.value(i))

    def read(self, table, numbers):
        keys = {content_key("request", str(i)): i for i in numbers}
        return {keys[k]: v for k, v in table.get(list(keys)).items()}

    def value(self, i):
        return f"Score: {i % 5 + 1}"


class PairKind(Kind):
    name, ns = "pairs", "summac_pairs"

    def open(self, directory):
        return Pairs(directory, "weights|cpu|float32|512")

    def write(self, table, numbers):
        table.put([(table.key(f"premise {i}", f"hypothesis {i}"), *self.value(i)) for i in numbers])

    def read(self, table, numbers):
        keys = {table.key(f"premise {i}", f"hypothesis {i}"): i for i in numbers}
        return {keys[k]: v for k, v in table.get(list(keys)).items()}

    def value(self, i):
        return (i % 100) / 100, (99 - i % 100) / 400


class TokenKind(Kind):
    name, ns = "tokens", "tokens"
    tokenizer = "spacy-0.0.0-test"

    def open(self, directory):
        return TokenCache(directory, self.tokenizer)

    @staticmethod
    def key(i: int) -> bytes:
        return hashlib.blake2b(f"text {i}".encode(), digest_size=16).digest()

    def write(self, table, numbers):
        table.write_many([(self.key(i), self.value(i)) for i in numbers])

    def read(self, table, numbers):
        keys = {self.key(i): i for i in numbers}
        return {keys[k]: v for k, v in table.read_many(list(keys)).items()}

    def value(self, i):
        return ("Text", " ", str(i), "\n\n", "Text", "\u6771\u4eac") if i % 3 else ("a\0b", str(i))


KINDS: dict[str, Kind] = {k.name: k for k in (PredictionKind(), ReplyKind(), PairKind(), TokenKind())}


def rows(directory: Path, ns: str) -> list[tuple]:
    """(rowid, key, value, writer, checksum) of every entry of a namespace, straight from the database."""
    db = sqlite3.connect(directory / DB_NAME)
    try:
        return db.execute("SELECT rowid, key, value, writer, checksum FROM entries WHERE ns = ? ORDER BY rowid",
                          (ns,)).fetchall()
    finally:
        db.close()


def edit(directory: Path, sql: str, params: tuple = ()) -> None:
    db = sqlite3.connect(directory / DB_NAME)
    try:
        with db:
            db.execute(sql, params)
    finally:
        db.close()


def add_row(directory: Path, ns: str, grp: str, key: bytes, value: bytes, writer: str = "bench test") -> None:
    """An entry as a writer of the store writes it (its checksum sound), even for a key already stored."""
    edit(directory, "INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?)",
         (ns, grp, key, value, writer, checksum(ns, grp, key, value, writer)))


# ------------------------------------------------------------------ damage, as tests/bad_inputs/cases.yaml names it


def flip(directory: Path, kind: Kind, group: str) -> set[int]:
    """One bit flipped inside the value of entry 2."""
    rowid, _, value, _, _ = rows(directory, kind.ns)[2]
    edit(directory, "UPDATE entries SET value = ? WHERE rowid = ?", (value[:-1] + bytes([value[-1] ^ 1]), rowid))
    return {2}


def swap(directory: Path, kind: Kind, group: str) -> set[int]:
    """The keys of entries 1 and 3 swapped."""
    found = rows(directory, kind.ns)
    (a, key_a, *_), (b, key_b, *_) = found[1], found[3]
    edit(directory, "UPDATE entries SET key = ? WHERE rowid = ?", (b"swapping", a))
    edit(directory, "UPDATE entries SET key = ? WHERE rowid = ?", (key_a, b))
    edit(directory, "UPDATE entries SET key = ? WHERE rowid = ?", (key_b, a))
    return {1, 3}


def duplicate(directory: Path, kind: Kind, group: str) -> set[int]:
    """Entry 4 stored a second time, soundly, with the value of entry 0: which one is right cannot be told."""
    found = rows(directory, kind.ns)
    add_row(directory, kind.ns, group, found[4][1], found[0][2])
    return {4}


def symlink(directory: Path, kind: Kind, group: str) -> set[int]:
    """The database replaced by a link to a file outside the cache directory (a copy of it)."""
    outside = directory.parent / "outside.sqlite"
    (directory / DB_NAME).rename(outside)
    (directory / DB_NAME).symlink_to(outside)
    return set(range(6))


def lock(directory: Path, kind: Kind, group: str) -> sqlite3.Connection:
    """Another process's exclusive transaction (it neither reads nor writes until it ends): the connection,
    for the test to end it."""
    holder = sqlite3.connect(directory / DB_NAME, isolation_level=None)
    holder.execute("PRAGMA locking_mode = EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("INSERT INTO meta VALUES ('held', 'by another process')")
    return holder


def garbage(directory: Path, kind: Kind, group: str) -> set[int]:
    """The database's first 4 KiB overwritten with garbage: not a database any more."""
    path = directory / DB_NAME
    data = path.read_bytes()
    path.write_bytes(bytes(range(256)) * 16 + data[4096:])
    return set(range(6))


DAMAGE = {f.__name__: f for f in (flip, swap, duplicate, symlink, lock, garbage)}


def main(argv: list[str]) -> None:
    kind, directory, first, last = KINDS[argv[0]], Path(argv[1]), int(argv[2]), int(argv[3])
    pause = float(argv[4]) if len(argv) > 4 else 0.0
    table = kind.open(directory)
    for i in range(first, last):
        kind.write(table, [i])
        print(i, flush=True)
        if pause:
            time.sleep(pause)
    table.close()


if __name__ == "__main__":
    main(sys.argv[1:])
