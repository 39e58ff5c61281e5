"""Readers of the four cache formats before the store, so that nothing already paid for is lost on upgrade.

Each old cache is read once, when its cache is first used: its sound entries
go into the store, the old files are removed, and a warning says so. What was
skipped before is skipped now (a torn line from a kill, a line that is not
JSON); what could hand back a wrong number is not carried over (an id or a key
given twice with different values: both dropped; an empty judge reply; pair
probabilities that are not probabilities; a token file whose checksum fails).
Old files are read as the store's own are: never through a symbolic link, only
regular files, each of a bounded size; anything else is moved aside.

The formats (bench 0.1.0):

- predictions: ``<results>/.cache/<task>/<model>/<key>.jsonl`` (and
  ``<key>.rank<N>.jsonl``, one per process of a multi-process run), a line
  ``{"id", "prediction"[, "no_answer_score"]}`` per prediction; ``<key>.json``
  (what the key stands for) and ``<key>.model.json`` (``{"model", "batch_size"}``)
  beside them;
- the judge's replies: ``<cache dir>/judge/<key>.jsonl``, a line ``{"key", "reply"}``
  per reply, and ``<key>.json``;
- SummaC's pairs: ``<cache dir>/summac_zs_pairs.sqlite``, a table
  ``pairs(key TEXT PRIMARY KEY, entail REAL, contradict REAL)``;
- extractiveness tokens: ``<cache dir>/extractive_tokens/<tokenizer>/<2 hex>/<30 hex>.tok``,
  one file per text: ``BTOK``, a format byte (1), an encoding byte, the numbers
  of tokens and of distinct tokens (uint32 LE), a BLAKE2b-128 checksum of the
  tokenizer id (length-prefixed), the text's digest, those 10 header bytes and
  the body; then the body.

Imports nothing from bench but `bench.cache.safe_files`.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.cache import safe_files

#: Largest old JSONL file read (a larger one is moved aside, not read).
MAX_FILE_BYTES = 4 << 30
#: Longest line of an old JSONL file read (a longer one is skipped).
MAX_LINE_BYTES = 64 << 20
#: Largest old token file read.
MAX_TOKEN_FILE_BYTES = 256 << 20


def jsonl_rows(path: Path) -> Iterator[dict[str, Any]]:
    """The JSON objects of an old JSONL cache file; a line that is not one (a torn line) is skipped."""
    for line in safe_files.bounded_lines(path, MAX_FILE_BYTES, MAX_LINE_BYTES):
        try:
            row = json.loads(line.decode("utf-8", "surrogatepass"))
        except (ValueError, RecursionError):
            continue
        if isinstance(row, dict):
            yield row


def finite(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
        and math.isfinite(value) else None


def one_value_each(pairs: Iterator[tuple[str, Any]]) -> tuple[dict[str, Any], int]:
    """(key -> value, keys dropped because they were given twice with different values)."""
    out: dict[str, Any] = {}
    dropped: set[str] = set()
    for key, value in pairs:
        if key in dropped:
            continue
        if key in out and out[key] != value:
            del out[key]
            dropped.add(key)
        else:
            out[key] = value
    return out, len(dropped)


def prediction_rows(path: Path) -> Iterator[tuple[str, tuple[str, float | None]]]:
    """(id, (prediction, no-answer score)) of each line an old prediction cache's reader took."""
    for row in jsonl_rows(path):
        if "id" in row and isinstance(row.get("prediction"), str):
            yield str(row["id"]), (row["prediction"], finite(row.get("no_answer_score")))


def reply_rows(path: Path) -> Iterator[tuple[str, str]]:
    """(request key, reply) of each line an old reply cache's reader took, empty replies left out."""
    for row in jsonl_rows(path):
        if isinstance(row.get("key"), str) and isinstance(row.get("reply"), str) and row["reply"].strip():
            yield row["key"], row["reply"]


def model_record(path: Path) -> tuple[dict[str, Any], Any] | None:
    """An old ``<key>.model.json``: (model description, batch size), or None when it is not what bench wrote."""
    try:
        data = json.loads(safe_files.read_bounded(path, 16 << 20).decode("utf-8", "surrogatepass"))
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("model"), dict):
        return None
    return dict(data["model"]), data.get("batch_size")


def pair_rows(path: Path) -> tuple[list[tuple[str, float, float]], int]:
    """(the sound rows of an old SummaC pair cache, rows dropped): a key of 64 hex digits, two probabilities
    that add up to at most 1. Raises sqlite3.Error for a database that cannot be read."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1.0)
    try:
        db.execute("PRAGMA trusted_schema = OFF")
        rows = db.execute("SELECT key, entail, contradict FROM pairs").fetchall()
    finally:
        db.close()
    good = [(k, float(e), float(c)) for k, e, c in rows
            if isinstance(k, str) and len(k) == 64 and all(ch in "0123456789abcdef" for ch in k)
            and isinstance(e, float) and isinstance(c, float) and 0 <= e <= 1 and 0 <= c <= 1 and e + c <= 1 + 1e-6]
    return good, len(rows) - len(good)


_MAGIC = b"BTOK"
_HEADER = 30


def token_value(tokenizer: str, key: bytes, data: bytes) -> bytes | None:
    """The store's value for an old token file's bytes (see `bench.cache.token_table`), or None when the file is
    not sound (its checksum, written for this text and tokenizer, does not match)."""
    if len(data) < _HEADER or data[:4] != _MAGIC or data[4] != 1:
        return None
    head, check, body = data[4:14], data[14:_HEADER], data[_HEADER:]
    ident = tokenizer.encode("utf-8")
    digest = hashlib.blake2b(digest_size=16)
    for part in (len(ident).to_bytes(4, "little"), ident, key, head, body):
        digest.update(part)
    return head[1:] + body if digest.digest() == check else None


def token_files(folder: Path) -> Iterator[tuple[bytes, Path]]:
    """(text digest, path) of each file an old token cache folder (one tokenizer's) holds."""
    for sub in sorted(os.listdir(folder)):
        inner = folder / sub
        if len(sub) != 2 or not stat.S_ISDIR(os.lstat(inner).st_mode):
            continue
        for name in sorted(os.listdir(inner)):
            hexdigits = sub + name.removesuffix(".tok")
            if name.endswith(".tok") and len(hexdigits) == 32:
                try:
                    yield bytes.fromhex(hexdigits), inner / name
                except ValueError:
                    continue
