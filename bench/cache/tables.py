"""The caches bench keeps, each a namespace of the store: predictions, the judge's replies and SummaC's pairs
(the extractiveness tokens are in `bench.cache.token_table`).

Each is opened on a cache directory (None: nothing is kept) and a group (what
its values depend on besides their keys), and reads the old format of its
cache once, when first used (`bench.cache.legacy`). Imports nothing from bench's
pipeline stages.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sqlite3
import struct
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from bench.cache import legacy, safe_files
from bench.cache.database import MAX_VALUE_BYTES, SIDE_SUFFIXES, Store, open_store
from bench.cache.keys import content_key, identity_key
from bench.errors import BenchWarning

#: How often a process waiting for another's entries (`Table.divide`) looks again.
POLL_S = 0.2


def encode_text(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def decode_text(data: bytes) -> str:
    return data.decode("utf-8", "surrogatepass")


def _warn(message: str) -> None:
    warnings.warn(message, BenchWarning, stacklevel=4)


class Table:
    """One cache: a namespace and a group of the store of a cache directory."""

    ns = ""
    max_bytes = MAX_VALUE_BYTES

    def __init__(self, directory: str | Path | None, group: str) -> None:
        self.directory = None if directory is None else Path(directory)
        self.group = group
        self._held: Store | None = None

    @property
    def store(self) -> Store | None:
        if self._held is None and self.directory is not None:
            self._held = open_store(self.directory)
        return self._held

    def close(self) -> None:
        """Sync what was written and let go of the store (a later call opens it again)."""
        if self._held is not None:
            held, self._held = self._held, None
            held.close()

    def get_raw(self, keys: Sequence[bytes]) -> dict[bytes, bytes]:
        return self.store.get(self.ns, self.group, keys, self.max_bytes) if self.store else {}

    def put_raw(self, items: Iterable[tuple[bytes, bytes]], replace: bool = False) -> int:
        return self.store.put(self.ns, self.group, items, self.max_bytes, replace) if self.store else 0

    @property
    def writable(self) -> bool:
        return self.store is not None and not self.store.no_writes

    def decoded(self, found: Mapping[bytes, bytes], decode: Callable[[bytes], Any]) -> dict[bytes, Any]:
        """Values decoded; one that does not decode (its checksum held, but it is not what bench writes) is
        damage: dropped."""
        out, bad = {}, []
        for key, value in found.items():
            try:
                out[key] = decode(value)
            except (ValueError, TypeError, KeyError, IndexError, RecursionError, struct.error):
                bad.append(key)
        if bad and self.store:
            self.store.drop(self.ns, self.group, bad)
        return out

    def divide(self, batches: Iterable[Sequence[bytes]]) -> Iterator[list[bytes]]:
        """The keys this process is to compute, batch by batch, shared with other processes computing the same
        group: a key another live process has claimed is left to it (and yielded at the end only if that
        process stops before storing it); a key already stored is not yielded. Claims are given up at the end."""
        store = self.store
        if store is None:
            yield from (list(b) for b in batches)
            return
        later: list[bytes] = []
        try:
            for batch in batches:
                mine, theirs = store.claim(self.ns, self.group, batch)
                later += theirs
                if mine:
                    yield mine
            while later:
                time.sleep(POLL_S)
                mine, later = store.claim(self.ns, self.group, later)
                if mine:
                    yield mine
        finally:
            store.release(self.ns, self.group)

    def migrate(self, files: Sequence[Path], read: Callable[[Path], Iterable[tuple[Any, Any]]],
                encode: Callable[[Any, Any], tuple[bytes, bytes]], what: tuple[str, str, str],
                extra: Sequence[Path] = ()) -> dict[bytes, bytes]:
        """Carry the entries of old cache files into the store: a key read twice with two values is dropped.
        `what`: (the cache, an entry, entries), for messages. Returns the entries read (this run uses them even
        when the store cannot keep them); the old files (and `extra` ones) are removed once their entries are
        kept, and the folders they leave empty."""
        cache, one, many = what
        rows: list[tuple[Any, Any]] = []
        done = []
        for path in files:
            why = safe_files.problem(path)
            if why is None:
                try:
                    rows.extend(read(path))
                    done.append(path)
                    continue
                except FileNotFoundError:
                    continue
                except (OSError, ValueError, sqlite3.Error) as e:
                    why = getattr(e, "strerror", None) or str(e)
            moved = safe_files.move_aside(path)
            if moved is not None:
                _warn(f"a file of the old {cache} could not be read ({why}): {safe_files.shown(path)} moved aside to "
                      f"{moved.name}; what it held is computed again")
        good, dropped = legacy.one_value_each(iter(rows))
        if dropped:
            _warn(f"{dropped} {one if dropped == 1 else many} of the old {cache} had two different values for one key: "
                  f"dropped, computed again")
        entries = dict(encode(k, v) for k, v in good.items())
        if done:
            self.put_raw(entries.items())
            if self.writable:
                for path in [*done, *extra]:
                    with contextlib.suppress(OSError):
                        path.unlink()
                for folder in sorted({p.parent for p in done}, reverse=True):  # a model's, then its task's
                    with contextlib.suppress(OSError):
                        folder.rmdir()
                        folder.parent.rmdir()
                shown = ", ".join(safe_files.shown(p) for p in done[:3]) + (" and more" if len(done) > 3 else "")
                n = len(entries)
                _warn(f"{n} {one if n == 1 else many} read from the old {cache} ({shown}) into the cache store "
                      f"{safe_files.shown(self.store.path)}; the old files are removed")  # type: ignore[union-attr]
        return entries


# ------------------------------------------------------------------ predictions


def _prediction_value(prediction: str, no_answer: float | None) -> bytes:
    """b"P" and the prediction as UTF-8; or b"A", an extractive answer's no-answer score (float64, little-endian)
    and the answer."""
    if no_answer is None:
        return b"P" + encode_text(prediction)
    return b"A" + struct.pack("<d", no_answer) + encode_text(prediction)


def _prediction(value: bytes) -> tuple[str, float | None]:
    if value[:1] == b"P":
        return decode_text(value[1:]), None
    if value[:1] == b"A" and len(value) >= 9:
        (no_answer,) = struct.unpack("<d", value[1:9])
        if math.isfinite(no_answer):
            return decode_text(value[9:]), no_answer
    raise ValueError("not a prediction")


class Predictions(Table):
    """Example id -> (prediction, no-answer score) for one cache key (a model's identity on a task); with the
    model's own record (`save_model_config`) and what the key stands for, in namespaces of their own."""

    ns = "predictions"

    def __init__(self, directory: str | Path | None, identity: Mapping[str, Any],
                 legacy_dir: Path | None = None) -> None:
        self.key = identity_key(identity)
        super().__init__(directory, self.key)
        self.identity = dict(identity)
        self.legacy_dir = legacy_dir
        self._described = False
        self._record = Table(directory, self.key)
        self._record.ns = "prediction_models"
        self._described_as = Table(directory, self.key)
        self._described_as.ns = "prediction_keys"

    def _legacy(self) -> tuple[list[Path], list[Path]]:
        """(the old cache's files of this key, the old description and model record beside them)."""
        d = self.legacy_dir
        try:
            if d is None or safe_files.problem(d, directory=True) or not d.is_dir():
                return [], []
            names = os.listdir(d)  # what is there, links included (dangling ones too): never followed
        except OSError:  # cannot be looked at: nothing to carry over
            return [], []
        files = sorted(d / n for n in names if n == f"{self.key}.jsonl"
                       or (n.startswith(f"{self.key}.rank") and n.endswith(".jsonl")))
        return files, [d / n for n in (f"{self.key}.json", f"{self.key}.model.json") if n in names]

    def load(self) -> dict[str, tuple[str, float | None]]:
        """Every prediction stored (by any process), the old cache's included."""
        files, beside = self._legacy()
        old = {}
        if files:
            self._migrate_record(beside)
            old = self.migrate(files, legacy.prediction_rows,
                               lambda i, v: (encode_text(i), _prediction_value(*v)),
                               ("prediction cache", "prediction", "predictions"), beside)
        found = {**old, **(self.store.items(self.ns, self.group, self.max_bytes) if self.store else {})}
        return {decode_text(k): v for k, v in self.decoded(found, _prediction).items()}

    def get(self, ids: Sequence[str]) -> dict[str, tuple[str, float | None]]:
        found = self.decoded(self.get_raw([encode_text(i) for i in ids]), _prediction)
        return {decode_text(k): v for k, v in found.items()}

    def _migrate_record(self, beside: Sequence[Path]) -> None:
        for path in beside:
            if not path.name.endswith(".model.json"):
                continue
            why = safe_files.problem(path)
            record = None
            if why is None:
                try:
                    record = legacy.model_record(path)
                except (OSError, ValueError) as e:
                    why = getattr(e, "strerror", None) or str(e)
            if record is not None:
                self.save_model_config(*record)
            else:
                moved = safe_files.move_aside(path)
                _warn(f"the old prediction cache's model record is not what bench writes ({why or 'not its JSON'}): "
                      f"{safe_files.shown(path)} moved aside to {moved.name if moved else '-'}")

    def append(self, rows: Sequence[tuple[str, str, float | None]]) -> None:
        """Store predictions: (id, prediction, no-answer score or None)."""
        if not self._described:
            self._described_as.put_raw([(b"identity", encode_text(json.dumps(
                self.identity, sort_keys=True, ensure_ascii=False, default=str)))])
            self._described = True
        self.put_raw((encode_text(i), _prediction_value(p, na if na is None or math.isfinite(na) else None))
                     for i, p, na in rows)

    def clear(self) -> None:
        """Forget every prediction of this key (and the old cache's files of it)."""
        for table in (self, self._record):
            if table.store:
                table.store.clear(table.ns, table.group)
        for path in [p for group in self._legacy() for p in group]:
            with contextlib.suppress(OSError):
                path.unlink()

    def save_model_config(self, config: Mapping[str, Any], batch_size: Any) -> None:
        """What the model reported about itself and its batch size, for runs that load nothing."""
        value = json.dumps({"model": dict(config), "batch_size": batch_size}, ensure_ascii=False, default=str)
        self._record.put_raw([(b"model", encode_text(value))], replace=True)

    def model_config(self) -> tuple[dict[str, Any], Any]:
        """(model description, batch size) of the last run that predicted into this cache; ({}, None) when none
        recorded it (a run killed before the end, or a record found damaged)."""
        def decode(value: bytes) -> tuple[dict[str, Any], Any]:
            data = json.loads(decode_text(value))
            if not isinstance(data, dict) or not isinstance(data.get("model"), dict):
                raise ValueError("not a model record")
            return dict(data["model"]), data.get("batch_size")

        found = self._record.decoded(self._record.get_raw([b"model"]), decode)
        return found.get(b"model", ({}, None))

    def share(self, batches: Iterable[Sequence[str]]) -> Iterator[list[str]]:
        """`Table.divide` over example ids: the ids this process is to predict, batch by batch."""
        for keys in self.divide([encode_text(i) for i in batch] for batch in batches):
            yield [decode_text(k) for k in keys]

    def close(self) -> None:
        for table in (self._record, self._described_as):
            table.close()
        super().close()


# ------------------------------------------------------------------ the judge's replies


class Replies(Table):
    """Request key -> the judge's reply, for one judge (its identity). An empty reply is never kept."""

    ns = "judge"
    max_bytes = 16 << 20

    def __init__(self, directory: str | Path | None, identity: Mapping[str, Any]) -> None:
        self.key = identity_key(identity)
        super().__init__(directory, self.key)
        self._migrated = False

    def get(self, keys: Sequence[str]) -> dict[str, str]:
        if self.directory is None:
            return {}
        old = {}
        if not self._migrated:
            self._migrated = True
            folder = self.directory / "judge"
            path = folder / f"{self.key}.jsonl"
            if path.exists() or path.is_symlink():
                old = self.migrate([path], legacy.reply_rows, lambda k, v: (encode_text(k), encode_text(v)),
                                   ("judge's reply cache", "reply", "replies"), [folder / f"{self.key}.json"])
        wanted = [encode_text(k) for k in keys]
        found = {k: old[k] for k in wanted if k in old}
        found.update(self.get_raw([k for k in wanted if k not in found]))
        return {decode_text(k): v for k, v in self.decoded(found, _reply).items()}

    def append(self, key: str, reply: str) -> None:
        if reply.strip():
            self.put_raw([(encode_text(key), encode_text(reply))])


def _reply(value: bytes) -> str:
    text = decode_text(value)
    if not text.strip():
        raise ValueError("an empty reply")
    return text


# ------------------------------------------------------------------ SummaC's pairs


class Pairs(Table):
    """(P(entailment), P(contradiction)) per (NLI model, premise, hypothesis), keyed by a digest of the three."""

    ns = "summac_pairs"
    max_bytes = 16
    LEGACY_FILE = "summac_zs_pairs.sqlite"

    def __init__(self, directory: str | Path | None, model_key: str) -> None:
        super().__init__(directory, "")
        self.model_key = model_key
        self._migrated = False

    def key(self, premise: str, hypothesis: str) -> str:
        return content_key(self.model_key, premise, hypothesis)

    def get(self, keys: Sequence[str]) -> dict[str, tuple[float, float]]:
        if self.directory is None or not keys:
            return {}
        old = self._migrate_old() if not self._migrated else {}
        wanted = [bytes.fromhex(k) for k in keys]
        found = {k: old[k] for k in wanted if k in old}
        found.update(self.get_raw([k for k in wanted if k not in found]))
        return {k.hex(): v for k, v in self.decoded(found, _pair).items()}

    def _migrate_old(self) -> dict[bytes, bytes]:
        self._migrated = True
        assert self.directory is not None
        path = self.directory / self.LEGACY_FILE
        if not (path.exists() or path.is_symlink()):
            return {}
        dropped = [0]

        def read(p: Path) -> list[tuple[str, tuple[float, float]]]:
            rows, bad = legacy.pair_rows(p)
            dropped[0] = bad
            return [(k, (e, c)) for k, e, c in rows]

        side = [path.with_name(path.name + s) for s in SIDE_SUFFIXES]
        entries = self.migrate([path], read, lambda k, v: (bytes.fromhex(k), struct.pack("<dd", *v)),
                               ("SummaC pair cache", "pair", "pairs"), side)
        if dropped[0]:
            _warn(f"{dropped[0]} pair(s) of the old SummaC pair cache were not probabilities: dropped, computed again")
        return entries

    def put(self, items: Sequence[tuple[str, float, float]]) -> None:
        self.put_raw((bytes.fromhex(k), struct.pack("<dd", e, c)) for k, e, c in items)


def _pair(value: bytes) -> tuple[float, float]:
    e, c = struct.unpack("<dd", value)
    if not (0 <= e <= 1 and 0 <= c <= 1 and e + c <= 1 + 1e-6):  # NaN fails too
        raise ValueError("not probabilities")
    return e, c
