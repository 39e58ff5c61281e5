"""Texts' spaCy tokens, a namespace of the store, shared by every process given the same cache directory.

An entry's key is the 128-bit BLAKE2 digest of the text (the extractiveness
metric's in-memory key), its group the tokenizer's identity (spaCy's version:
another spaCy never reads these tokens), and its value: an encoding byte, the
numbers of tokens and of distinct tokens (uint32, little-endian), then the
distinct tokens as UTF-8 joined by NUL and each token's index among them
(uint16 or uint32, little-endian); or, when a token holds a NUL, a JSON list.
Reading makes one string per distinct token (interned) and the tuple in C
(`operator.itemgetter`). A value that does not decode to as many tokens as
it says is damage: dropped, and the text is tokenized again.

Imports nothing from bench's pipeline stages.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from array import array
from collections.abc import Iterable, Sequence
from operator import itemgetter
from pathlib import Path

from bench.cache import legacy, safe_files
from bench.cache.tables import Table

Tokens = tuple[str, ...]

#: Where the old token cache kept its files, under the cache directory (read once into the store).
TOKEN_CACHE_DIR = "extractive_tokens"
_INDEX16, _INDEX32, _JSON = 0, 1, 2
#: Old token files carried over per transaction.
_MIGRATE_BATCH = 1000


def encode_tokens(tokens: Tokens) -> bytes:
    places: dict[str, int] = {}
    index = [places.setdefault(t, len(places)) for t in tokens]
    if any("\0" in t for t in places):
        encoding, body = _JSON, json.dumps(list(tokens), ensure_ascii=False).encode("utf-8", "surrogatepass")
    else:
        encoding = _INDEX16 if len(places) <= 0xFFFF else _INDEX32
        packed = array("H" if encoding == _INDEX16 else "I", index)
        if sys.byteorder == "big":
            packed.byteswap()
        body = packed.tobytes() + "\0".join(places).encode("utf-8", "surrogatepass")
    return bytes([encoding]) + len(tokens).to_bytes(4, "little") + len(places).to_bytes(4, "little") + body


def decode_tokens(value: bytes) -> Tokens:
    """The tokens of a value; ValueError (or IndexError) when it is not sound."""
    if len(value) < 9:
        raise ValueError("too short")
    encoding, body = value[0], value[9:]
    count, distinct = int.from_bytes(value[1:5], "little"), int.from_bytes(value[5:9], "little")
    if encoding == _JSON:
        parts = json.loads(body.decode("utf-8", "surrogatepass"))
        if not isinstance(parts, list) or len(parts) != count or not all(isinstance(p, str) for p in parts):
            raise ValueError("not a list of tokens")
        return tuple(map(sys.intern, parts))
    if encoding not in (_INDEX16, _INDEX32):
        raise ValueError("unknown encoding")
    index = array("H" if encoding == _INDEX16 else "I")
    size = count * index.itemsize
    if size > len(body):
        raise ValueError("too short")
    index.frombytes(body[:size])
    if sys.byteorder == "big":
        index.byteswap()
    vocabulary = body[size:].decode("utf-8", "surrogatepass").split("\0") if distinct else []
    if len(vocabulary) != distinct:
        raise ValueError("not as many distinct tokens as it says")
    vocabulary = list(map(sys.intern, vocabulary))
    if count == 0:
        return ()
    if count == 1:
        return (vocabulary[index[0]],)
    return itemgetter(*index)(vocabulary)


class TokenCache(Table):
    """Texts' tokens in the store of a cache directory, for one tokenizer.

    Counters, per instance: `loaded` (texts read from the store), `tokenized` (texts the caller tokenized because
    neither memory nor the store had them), `from_memory` (texts the caller's memory had), `written`, `damaged`
    (entries dropped as not sound), `write_errors` (texts not written: the store cannot keep them), with `error`
    saying why.
    """

    ns = "tokens"
    max_bytes = 256 << 20

    def __init__(self, directory: str | Path, tokenizer: str) -> None:
        super().__init__(directory, tokenizer)
        self.tokenizer = tokenizer
        self.loaded = self.tokenized = self.from_memory = self.written = self.damaged = self.write_errors = 0
        self.error: str | None = None
        self._migrated = False

    def stats(self) -> dict[str, int]:
        return {"loaded": self.loaded, "tokenized": self.tokenized, "from_memory": self.from_memory,
                "written": self.written, "damaged": self.damaged, "write_errors": self.write_errors}

    def missing(self, keys: Sequence[bytes]) -> set[bytes]:
        """Which of `keys` the store has no entry of."""
        self._migrate_old()
        present = self.store.present(self.ns, self.group, keys) if self.store else set()
        return set(keys) - present

    def read_many(self, keys: Sequence[bytes]) -> dict[bytes, Tokens]:
        """The tokens stored for the texts of digests `keys` (those not there, or not sound, left out)."""
        self._migrate_old()
        store = self.store
        before = store.damaged.get(self.ns, 0) if store else 0
        found = self.decoded(self.get_raw(keys), decode_tokens)
        self.damaged += (store.damaged.get(self.ns, 0) - before) if store else 0
        self.loaded += len(found)
        return found

    def read(self, key: bytes) -> Tokens | None:
        return self.read_many([key]).get(key)

    def write_many(self, items: Iterable[tuple[bytes, Tokens]]) -> None:
        """Store tokens; texts the store cannot keep are counted (`write_errors`), never raised."""
        values = [(k, encode_tokens(t)) for k, t in items]
        if not values:
            return
        written = self.put_raw(values)
        self.written += written
        if written < len(values):
            self.write_errors += len(values) - written
            store = self.store
            self.error = (store.no_writes if store and store.no_writes else
                          f"a text's tokens are larger than {self.max_bytes} bytes")

    def write(self, key: bytes, tokens: Tokens) -> None:
        self.write_many([(key, tokens)])

    def _migrate_old(self) -> None:
        """Carry the old token files (every tokenizer's folder) into the store, a batch at a time."""
        if self._migrated or self.directory is None:
            return
        self._migrated = True
        root = self.directory / TOKEN_CACHE_DIR
        try:
            if safe_files.problem(root, directory=True) or not root.is_dir():
                return
            tokenizers = sorted(os.listdir(root))
        except OSError:  # cannot be looked at: nothing to carry over
            return
        for tokenizer in tokenizers:
            folder = root / tokenizer
            if safe_files.problem(folder, directory=True) or not folder.is_dir():
                continue
            table = TokenCache(self.directory, tokenizer)
            table._migrated = True
            try:
                files = list(legacy.token_files(folder))
            except OSError:
                continue
            try:
                for start in range(0, len(files), _MIGRATE_BATCH):
                    part = dict(files[start:start + _MIGRATE_BATCH])
                    by_path = {p: k for k, p in part.items()}

                    def read(path: Path, tokenizer: str = tokenizer) -> list[tuple[bytes, bytes]]:
                        value = legacy.token_value(tokenizer, by_path[path],
                                                   safe_files.read_bounded(path, legacy.MAX_TOKEN_FILE_BYTES))
                        if value is None:
                            raise ValueError("its checksum does not match")
                        return [(by_path[path], value)]

                    table.migrate(list(part.values()), read, lambda k, v: (k, v),
                                  ("token cache", "text's tokens", "texts' tokens"))
                    if not table.writable:
                        return
            finally:
                table.close()
            for dirpath, _, _ in sorted(os.walk(folder), reverse=True):  # the folders left empty
                with contextlib.suppress(OSError):
                    os.rmdir(dirpath)
        with contextlib.suppress(OSError):
            os.rmdir(root)
