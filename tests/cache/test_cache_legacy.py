"""Caches of bench 0.1.0, each written here as the old code wrote it (the writers below follow
`git show 15c428e:bench/execution/cache.py`, `.../model_based/judge.py` (ReplyCache), `.../summac.py` (PairCache)
and `.../extractiveness/fragments.py` (TokenCache)): read once into the store, nothing paid for lost, the old
files removed, said once; what could hand back a wrong number is not carried over, and an old file that is not
a regular file of a readable size is moved aside, never followed.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sqlite3
import sys
import warnings
from array import array
from pathlib import Path

import pytest

from bench.cache.keys import content_key, identity_key
from bench.cache.tables import Pairs, Predictions, Replies
from bench.cache.token_table import TOKEN_CACHE_DIR, TokenCache

IDENTITY = {"model": "sliding-window", "kind": "baseline", "task_hash": "abc", "bench": "0.1.0"}


# ------------------------------------------------------------------ the old writers


def old_prediction_cache(folder: Path, identity: dict, rows: list[tuple], rank: int | None = None,
                         model: dict | None = None) -> Path:
    """`PredictionCache.append` / `save_model_config` of bench 0.1.0."""
    key = identity_key(identity)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{key}.json").write_text(json.dumps(identity, indent=2, ensure_ascii=False, default=str) + "\n")
    path = folder / (f"{key}.jsonl" if rank is None else f"{key}.rank{rank}.jsonl")
    with path.open("a", encoding="utf-8") as f:
        for example_id, prediction, *na in rows:
            line = {"id": example_id, "prediction": str(prediction)}
            if na and na[0] is not None and math.isfinite(na[0]):
                line["no_answer_score"] = na[0]
            f.write(json.dumps(line, ensure_ascii=False) + "\n")
    if model is not None:
        (folder / f"{key}.model.json").write_text(json.dumps({"model": model, "batch_size": 4}, ensure_ascii=False))
    return path


def old_reply_cache(directory: Path, identity: dict, replies: dict[str, str]) -> Path:
    """`ReplyCache._append` of bench 0.1.0."""
    key = identity_key(identity)
    folder = directory / "judge"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{key}.json").write_text(json.dumps(identity, indent=2, ensure_ascii=False, default=str) + "\n")
    path = folder / f"{key}.jsonl"
    with path.open("ab") as f:
        for k, reply in replies.items():
            f.write((json.dumps({"key": k, "reply": reply}, ensure_ascii=False) + "\n").encode("utf-8", "surrogatepass"))
    return path


def old_pair_cache(directory: Path, rows: list[tuple[str, float, float]]) -> Path:
    """`PairCache` of bench 0.1.0."""
    path = directory / "summac_zs_pairs.sqlite"
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, timeout=60)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE IF NOT EXISTS pairs (key TEXT PRIMARY KEY, entail REAL NOT NULL, contradict REAL NOT NULL)")
    with db:
        db.executemany("INSERT OR REPLACE INTO pairs (key, entail, contradict) VALUES (?, ?, ?)", rows)
    db.close()
    return path


def old_token_file(directory: Path, tokenizer: str, key: bytes, tokens: tuple[str, ...]) -> Path:
    """`TokenCache.write` of bench 0.1.0 (format 1)."""
    places: dict[str, int] = {}
    index = [places.setdefault(t, len(places)) for t in tokens]
    if any("\0" in t for t in places):
        encoding, body = 2, json.dumps(list(tokens), ensure_ascii=False).encode("utf-8", "surrogatepass")
    else:
        encoding = 0 if len(places) <= 0xFFFF else 1
        packed = array("H" if encoding == 0 else "I", index)
        if sys.byteorder == "big":
            packed.byteswap()
        body = packed.tobytes() + "\0".join(places).encode("utf-8", "surrogatepass")
    head = bytes([1, encoding]) + len(tokens).to_bytes(4, "little") + len(places).to_bytes(4, "little")
    ident = tokenizer.encode("utf-8")
    digest = hashlib.blake2b(digest_size=16)
    for part in (len(ident).to_bytes(4, "little"), ident, key, head, body):
        digest.update(part)
    name = key.hex()
    path = directory / TOKEN_CACHE_DIR / tokenizer / name[:2] / (name[2:] + ".tok")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"BTOK" + head + digest.digest() + body)
    return path


def _said(fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn()
    return result, [str(w.message) for w in caught]


# ------------------------------------------------------------------ predictions


def test_an_old_prediction_cache_is_read_once_into_the_store(tmp_path):
    legacy = tmp_path / ".cache" / "seed-qa" / "sliding-window"
    old_prediction_cache(legacy, IDENTITY, [("a", "Alpha"), ("b", "", 2.5), ("c", "Gamma \u00e9")], rank=0,
                         model={"name": "sliding-window"})
    path = old_prediction_cache(legacy, IDENTITY, [("d", "Delta"), ("a", "Alpha")], rank=1)
    with path.open("a", encoding="utf-8") as f:
        f.write('{"id": "e", "predic')  # a torn line: skipped then, skipped now
    cache = Predictions(tmp_path / ".cache", IDENTITY, legacy_dir=legacy)
    found, said = _said(cache.load)
    assert found == {"a": ("Alpha", None), "b": ("", 2.5), "c": ("Gamma \u00e9", None), "d": ("Delta", None)}
    assert cache.model_config() == ({"name": "sliding-window"}, 4)
    cache.close()
    assert len(said) == 1 and "4 predictions read from the old prediction cache" in said[0]
    assert "the old files are removed" in said[0] and not legacy.exists() and not legacy.parent.exists()
    again = Predictions(tmp_path / ".cache", IDENTITY, legacy_dir=legacy)
    assert _said(again.load) == (found, [])  # from the store now, with nothing to say
    again.close()


def test_an_id_given_two_predictions_in_the_old_cache_is_dropped(tmp_path):
    legacy = tmp_path / ".cache" / "t" / "m"
    old_prediction_cache(legacy, IDENTITY, [("a", "Alpha"), ("b", "Bravo"), ("a", "Other")])
    cache = Predictions(tmp_path / ".cache", IDENTITY, legacy_dir=legacy)
    found, said = _said(cache.load)
    cache.close()
    assert found == {"b": ("Bravo", None)}
    assert any("1 prediction of the old prediction cache had two different values for one key" in s for s in said)


@pytest.mark.parametrize("what", ["dangling link", "link to /dev/zero", "fifo"])
def test_an_old_prediction_file_that_is_not_a_regular_file_is_moved_aside_never_followed(tmp_path, what):
    legacy = tmp_path / ".cache" / "t" / "m"
    legacy.mkdir(parents=True)
    path = legacy / f"{identity_key(IDENTITY)}.jsonl"
    elsewhere = tmp_path / "outside" / "filled.jsonl"
    if what == "dangling link":
        path.symlink_to(elsewhere)
    elif what == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to("/dev/zero")
    cache = Predictions(tmp_path / ".cache", IDENTITY, legacy_dir=legacy)
    found, said = _said(cache.load)
    cache.append([("a", "Alpha", None)])
    cache.close()
    assert found == {} and not elsewhere.parent.exists()
    assert any("could not be read" in s and "moved aside" in s for s in said), said
    assert not path.exists() and not path.is_symlink()


def test_a_run_finds_what_the_old_cache_holds_and_predicts_nothing(in_tmp, cli):
    run = ("run", "-q", "-m", "sliding-window", "-t", "seed-qa", "--limit", "5", "-o", "out")
    code, _, err = cli(*run)
    assert code == 0, err
    # the store turned back into the files bench 0.1.0 wrote for the same key
    cache = in_tmp / "out" / ".cache"
    db = sqlite3.connect(cache / "cache.sqlite")
    ((key,),) = db.execute("SELECT DISTINCT grp FROM entries WHERE ns = 'predictions'").fetchall()
    ((identity,),) = db.execute("SELECT value FROM entries WHERE ns = 'prediction_keys'").fetchall()
    db.close()
    identity = json.loads(identity)
    assert identity_key(identity) == key
    stored = Predictions(cache, identity)
    rows = [(i, p, na) for i, (p, na) in stored.load().items()]
    stored.close()
    assert len(rows) == 5
    for p in cache.glob("cache.sqlite*"):
        p.unlink()
    old_prediction_cache(cache / "seed-qa" / "sliding-window", identity, rows, model={"name": "sliding-window"})
    code, _, err = cli(*run)
    assert code == 0, err
    assert "5 of 5 predictions from the prediction cache" in err
    assert "5 predictions read from the old prediction cache" in err
    first, second = sorted((json.loads(p.read_text()) for p in (in_tmp / "out").glob("seed-qa/*/*/results.json")),
                           key=lambda r: -r["timing"]["predicted"])
    assert (first["timing"]["predicted"], second["timing"]["predicted"]) == (5, 0)
    assert second["metrics"] == first["metrics"] and second["ci"] == first["ci"]


# ------------------------------------------------------------------ the judge's replies


def test_old_judge_replies_are_read_once_and_empty_ones_are_asked_again(tmp_path):
    identity = {"judge": "openai:x", "api": "chat", "temperature": 0.0, "max_tokens": 32, "seed": 0,
                "bench_cache": 1}
    keys = [content_key("prompt", str(i)) for i in range(4)]
    old = {keys[0]: "4", keys[1]: "", keys[2]: "I cannot rate this.", keys[3]: "Score: 2 \ud800"}
    path = old_reply_cache(tmp_path, identity, old)
    cache = Replies(tmp_path, identity)
    found, said = _said(lambda: cache.get(keys))
    cache.close()
    assert found == {k: v for k, v in old.items() if v}  # unparsable replies are real replies; empty ones are not
    assert len(said) == 1 and "3 replies read from the old judge's reply cache" in said[0]
    assert not path.exists() and not path.parent.exists()


# ------------------------------------------------------------------ SummaC's pairs


def test_old_summac_pairs_are_read_once_and_what_is_not_a_probability_is_not(tmp_path):
    model_key = "weights|cpu|float32|512"
    keys = [content_key(model_key, f"premise {i}", f"hypothesis {i}") for i in range(4)]
    other_model = content_key("another model|512", "p", "h")
    path = old_pair_cache(tmp_path, [(keys[0], 0.9, 0.05), (keys[1], 0.2, 0.7), (keys[2], 0.99, 0.99),
                                     (keys[3], "very likely", 0.1), (other_model, 0.5, 0.5), ("not hex", 0.1, 0.1)])
    cache = Pairs(tmp_path, model_key)
    found, said = _said(lambda: cache.get(keys))
    assert found == {keys[0]: (0.9, 0.05), keys[1]: (0.2, 0.7)}
    assert any("3 pair(s) of the old SummaC pair cache were not probabilities" in s for s in said)
    assert any("3 pairs read from the old SummaC pair cache" in s for s in said)
    cache.close()
    assert not path.exists() and not list(tmp_path.glob("summac_zs_pairs.sqlite*"))
    other = Pairs(tmp_path, "another model|512")  # every model's pairs were carried over
    assert other.get([other_model]) == {other_model: (0.5, 0.5)}
    other.close()


def test_an_old_pair_cache_that_is_not_a_database_is_moved_aside(tmp_path):
    (tmp_path / "summac_zs_pairs.sqlite").write_bytes(b"\0" * 64 + os.urandom(4000))
    cache = Pairs(tmp_path, "m")
    found, said = _said(lambda: cache.get([content_key("m", "p", "h")]))
    cache.close()
    assert found == {} and any("could not be read" in s and "moved aside" in s for s in said)


# ------------------------------------------------------------------ extractiveness tokens


def _key(n: int) -> bytes:
    return bytes([n]) * 16


def test_old_token_files_are_read_once_into_the_store(tmp_path):
    samples = [("The", " ", "army", "\n\n", "The"), (), ("a\0b", "c"), ("\ud800", "x"),
               tuple(f"w{k}" for k in range(70_000))]
    for n, tokens in enumerate(samples):
        old_token_file(tmp_path, "spacy-3.8.18-blank-en", _key(n), tokens)
    old_token_file(tmp_path, "spacy-0.0.1-blank-en", _key(9), ("older", "spacy"))
    cache = TokenCache(tmp_path, "spacy-3.8.18-blank-en")
    found, said = _said(lambda: cache.read_many([_key(n) for n in range(len(samples))]))
    assert found == {_key(n): tokens for n, tokens in enumerate(samples)} and cache.damaged == 0
    assert sum(int(s.split()[0]) for s in said if "tokens read from the old token cache" in s) == 6  # per spaCy
    cache.close()
    assert not (tmp_path / TOKEN_CACHE_DIR).exists()
    older = TokenCache(tmp_path, "spacy-0.0.1-blank-en")  # another spaCy's tokens are kept, under its own id
    assert older.read(_key(9)) == ("older", "spacy") and older.read(_key(0)) is None
    older.close()


@pytest.mark.parametrize("what", ["link to /dev/zero", "huge", "damaged", "directory"])
def test_an_old_token_file_that_is_not_sound_is_moved_aside_and_never_read_whole(tmp_path, what, monkeypatch):
    from bench.cache import legacy

    path = old_token_file(tmp_path, "tok", _key(1), ("a", "b"))
    good = old_token_file(tmp_path, "tok", _key(2), ("c",))
    path.unlink()
    if what == "link to /dev/zero":
        path.symlink_to("/dev/zero")
    elif what == "huge":
        monkeypatch.setattr(legacy, "MAX_TOKEN_FILE_BYTES", 1000)
        with path.open("wb") as f:
            f.truncate(1001)
    elif what == "damaged":
        data = good.read_bytes()
        path.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    else:
        path.mkdir()
    cache = TokenCache(tmp_path, "tok")
    found, said = _said(lambda: cache.read_many([_key(1), _key(2)]))
    cache.close()
    assert found == {_key(2): ("c",)}
    assert any("could not be read" in s and "moved aside" in s for s in said), said
    assert not path.exists() and not path.is_symlink()
