"""The documents' token cache (`bench.cache.token_table.TokenCache`, a namespace of the cache store): the same
tokens and numbers cold and warm, read by another process without spaCy, damaged entries and another tokenizer's
tokens never read, and reused by `bench run` and `bench rescore`. What the store does with damage, locks and
processes, for every cache kind: tests/cache/ and tests/test_bad_inputs.py.

Tests that tokenize with spaCy (seconds to import) are marked slow; the encoding's tests run without it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.cache.token_table import TokenCache
from bench.metrics.extractiveness import fragments as extractive
from bench.metrics.extractiveness.fragments import stats_many, tokenize

from cache_kinds import add_row, edit, rows
from conftest import REPO, SEED_ARTICLE

#: A tokenizer id for tests of the store alone (the real one is read from spaCy's metadata).
TOKENIZER = "spacy-0.0.0-test"

#: Token tuples as spaCy would give them, and the odd ones: none, one, whitespace tokens, a NUL, lone surrogates.
SAMPLES = [
    ("The", " ", "army", "is", "ready", ".", "\n\n", "The", "army"),
    (),
    ("one",),
    ("Лукашенко", "said", "“", "yes", "”", "東京", "\u00e9t\u00e9"),
    ("a\0b", "c", "a\0b"),
    ("\ud800", "x", "\udfff"),
]


def _key(n: int) -> bytes:
    return bytes([n]) * 16


def _cache(directory: Path, tokenizer: str | None = None) -> TokenCache:
    return TokenCache(directory, tokenizer or TOKENIZER)


def _real(directory: Path) -> TokenCache:
    """The cache of the installed spaCy's tokenizer."""
    return TokenCache(directory, extractive.tokenizer_id())


def _entries(directory: Path) -> list[tuple]:
    return rows(directory, "tokens") if (directory / "cache.sqlite").exists() else []


def test_tokens_come_back_as_written(tmp_path):
    cache = _cache(tmp_path)
    for n, tokens in enumerate(SAMPLES):
        cache.write(_key(n), tokens)
    assert cache.written == len(SAMPLES) and cache.write_errors == 0
    cache.close()
    again = _cache(tmp_path)
    assert [again.read(_key(n)) for n in range(len(SAMPLES))] == SAMPLES
    assert again.loaded == len(SAMPLES) and again.damaged == 0
    assert again.read(_key(99)) is None and again.loaded == len(SAMPLES)  # not there: a miss, not damage
    again.close()
    assert len(_entries(tmp_path)) == len(SAMPLES)


def test_many_distinct_tokens_take_wider_indices(tmp_path):
    tokens = tuple(f"w{k}" for k in range(70_000)) + ("w5",)
    _cache(tmp_path).write(_key(1), tokens)
    assert _cache(tmp_path).read(_key(1)) == tokens


def test_tokens_read_are_interned(tmp_path):
    _cache(tmp_path).write(_key(1), ("army", "ready", "army"))
    got = _cache(tmp_path).read(_key(1))
    assert got[0] is got[2] is sys.intern("army")


@pytest.mark.parametrize("damage", ["flipped", "fewer tokens than it says", "other text"])
def test_a_damaged_entry_is_read_as_missing_and_replaced(tmp_path, damage):
    cache = _cache(tmp_path)
    tokens = SAMPLES[0]
    cache.write_many([(_key(1), tokens), (_key(2), ("something", "else"))])
    cache.close()
    (rowid, key, value, writer, check), (rowid2, _, value2, *_) = _entries(tmp_path)
    if damage == "flipped":
        edit(tmp_path, "UPDATE entries SET value = ? WHERE rowid = ?", (value[:-5] + bytes([value[-5] ^ 1]) + value[-4:],
                                                                         rowid))
    elif damage == "fewer tokens than it says":  # a sound checksum over a value that does not decode
        edit(tmp_path, "DELETE FROM entries WHERE rowid = ?", (rowid,))
        add_row(tmp_path, "tokens", TOKENIZER, key, value[:1] + (99).to_bytes(4, "little") + value[5:])
    else:  # another text's sound entry under this text's key
        edit(tmp_path, "UPDATE entries SET value = ? WHERE rowid = ?", (value2, rowid))
    reader = _cache(tmp_path)
    with pytest.warns(UserWarning, match="1 damaged entry in the cache store"):
        assert reader.read(_key(1)) is None
    assert reader.damaged == 1 and reader.loaded == 0
    reader.write(_key(1), tokens)  # what tokenize does with a text it had to tokenize again
    reader.close()
    assert _cache(tmp_path).read(_key(1)) == tokens


def test_another_tokenizer_never_reads_these_tokens(tmp_path):
    mine = _cache(tmp_path)
    mine.write(_key(1), SAMPLES[0])
    other = _cache(tmp_path, tokenizer="spacy-0.0.1-blank-en")
    assert other.read(_key(1)) is None and other.damaged == 0
    # an entry moved under the other tokenizer is not taken for its own: the checksum covers the tokenizer
    edit(tmp_path, "UPDATE entries SET grp = ? WHERE ns = 'tokens'", ("spacy-0.0.1-blank-en",))
    with pytest.warns(UserWarning, match="1 damaged entry"):
        assert other.read(_key(1)) is None
    assert other.damaged == 1 and mine.read(_key(1)) is None


def test_a_cache_that_cannot_be_written_is_counted_not_raised(tmp_path):
    (tmp_path / "blocked").write_text("a file where the cache's folder would be")
    cache = _cache(tmp_path / "blocked" / "deeper")
    with pytest.warns(UserWarning, match="is not used: "):
        cache.write(_key(1), SAMPLES[0])
    assert cache.written == 0 and cache.write_errors == 1 and "Not a directory" in cache.error
    assert cache.read(_key(1)) is None


# ------------------------------------------------------------------ with spaCy


def _sentences(article: str) -> list[str]:
    body = article.splitlines()[3]  # line 1 headline, 2 date, 3 URL
    return [s.strip() + "." for s in body.split(".  ") if s.strip()]


def _texts() -> tuple[list[str], list[str]]:
    article = SEED_ARTICLE.read_text(encoding="utf-8")
    sentences = _sentences(article)
    documents = [article, "\n\n".join(sentences[:3]), "Minsk said  the exercises were defensive.\n\nMoscow agreed.",
                 "", "Лукашенко said: 東京 and a\0b.", article]
    summaries = ["Lukashenko expects Russian weapons.", "Belarus expects weapons.", "Moscow agreed.", "Anything.",
                 "Лукашенко said a\0b.", "The exercises were defensive, Minsk said."]
    return summaries, documents


@pytest.mark.slow
def test_cold_and_warm_give_the_same_tokens_and_statistics(tmp_path):
    summaries, documents = _texts()
    distinct = len(set(documents))
    extractive.clear_cache()
    expected_tokens = tokenize(documents)
    expected = stats_many(summaries, documents)
    extractive.clear_cache()
    cold = _real(tmp_path)
    assert stats_many(summaries, documents, cold) == expected
    assert (cold.tokenized, cold.loaded, cold.written) == (distinct, 0, distinct)
    cold.close()
    assert len(_entries(tmp_path)) == distinct  # documents only: the summaries are not kept
    extractive.clear_cache()  # as a new process: nothing in memory
    warm = _real(tmp_path)
    assert stats_many(summaries, documents, warm) == expected
    assert (warm.tokenized, warm.loaded, warm.written, warm.damaged) == (0, distinct, 0, 0)
    extractive.clear_cache()
    assert tokenize(documents, _real(tmp_path)) == expected_tokens
    hot = _real(tmp_path)  # the in-memory cache first
    assert tokenize(documents, hot) == expected_tokens
    assert (hot.from_memory, hot.loaded, hot.tokenized) == (distinct, 0, 0)


@pytest.mark.slow
def test_texts_tokenized_before_the_disk_cache_was_given_are_written_to_it(tmp_path):
    _, documents = _texts()
    extractive.clear_cache()
    tokens = tokenize(documents)  # in memory only
    cache = _real(tmp_path)
    assert tokenize(documents, cache) == tokens
    assert (cache.from_memory, cache.tokenized, cache.written) == (len(set(documents)), 0, len(set(documents)))
    extractive.clear_cache()
    assert tokenize(documents, _real(tmp_path)) == tokens


@pytest.mark.slow
def test_a_damaged_file_is_tokenized_again_with_the_same_numbers(tmp_path):
    summaries, documents = _texts()
    extractive.clear_cache()
    expected = stats_many(summaries, documents, _real(tmp_path))
    key = extractive._key(documents[0])  # the entry of one text, cut short
    edit(tmp_path, "UPDATE entries SET value = substr(value, 1, 100) WHERE key = ?", (key,))
    extractive.clear_cache()
    again = _real(tmp_path)
    with pytest.warns(UserWarning, match="1 damaged entry"):
        assert stats_many(summaries, documents, again) == expected
    assert (again.damaged, again.tokenized, again.written) == (1, 1, 1)
    extractive.clear_cache()
    healed = _real(tmp_path)
    assert stats_many(summaries, documents, healed) == expected and (healed.damaged, healed.tokenized) == (0, 0)


@pytest.mark.slow
def test_another_process_reads_the_tokens_without_spacy(tmp_path):
    _, documents = _texts()
    (tmp_path / "docs.json").write_text(json.dumps(documents))
    code = ("import json, sys\n"
            "from bench.metrics.extractiveness import fragments as extractive\n"
            f"docs = json.load(open({str(tmp_path / 'docs.json')!r}))\n"
            "from bench.cache.token_table import TokenCache\n"
            f"cache = TokenCache({str(tmp_path / 'cache')!r}, extractive.tokenizer_id())\n"
            "tokens = extractive.tokenize(docs, cache)\n"
            "print(json.dumps({'stats': cache.stats(), 'spacy': 'spacy' in sys.modules, 'tokens': tokens}))\n")

    def run() -> dict:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120,
                              env={**os.environ, "PYTHONPATH": str(REPO)}, check=False)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    first, second = run(), run()
    distinct = len(set(documents))
    assert first["spacy"] and first["stats"]["tokenized"] == distinct
    assert not second["spacy"]  # spaCy never even imported: every document came from disk
    assert second["stats"]["loaded"] == distinct and second["stats"]["tokenized"] == 0
    assert second["tokens"] == first["tokens"]


@pytest.mark.slow
def test_a_second_run_and_a_rescore_reuse_the_documents_tokens(in_tmp, cli, spacy_texts):
    sentences = _sentences(SEED_ARTICLE.read_text(encoding="utf-8"))
    assert len(sentences) >= 8
    rows = [{"id": f"d{k}", "document": "  ".join(sentences[k:k + 6]), "references": [sentences[k + 1]]}
            for k in range(3)]
    (in_tmp / "news.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    (in_tmp / "news.yaml").write_text("name: news\nversion: 1\ntype: summarization\nfixture: news.jsonl\n"
                                      "metrics: [extractiveness]\n", encoding="utf-8")
    seen = spacy_texts
    documents = {r["document"] for r in rows}
    extractive.clear_cache()
    code, _, err = cli("run", "-q", "-m", "lead-3", "-t", "news.yaml")
    assert code == 0, err
    assert documents <= set(seen)
    cached = _entries(in_tmp / "results" / ".cache" / "metrics")
    assert len(cached) == len(documents)

    seen.clear()
    extractive.clear_cache()  # as a new process: another day, another baseline
    code, _, err = cli("run", "-q", "-m", "textrank", "-t", "news.yaml")
    assert code == 0, err
    assert seen and not documents & set(seen)  # its summaries and the references, not the documents

    (run,) = (in_tmp / "results" / "news" / "lead-3").iterdir()
    seen.clear()
    extractive.clear_cache()
    code, _, err = cli("rescore", run, "--no-stemmer")  # a new option, so a new run
    assert code == 0, err
    assert not documents & set(seen)
    original = json.loads((run / "results.json").read_text())
    (rescored,) = [p for p in (in_tmp / "results" / "news" / "lead-3").iterdir() if p != run]
    again = json.loads((rescored / "results.json").read_text())
    assert again["metrics"] == original["metrics"]  # the numbers do not depend on where the tokens came from
    assert again["reference"]["metrics"] == original["reference"]["metrics"]
    assert _entries(in_tmp / "results" / ".cache" / "metrics") == cached


@pytest.mark.slow
def test_processes_writing_the_same_documents_at_once_leave_sound_entries(tmp_path):
    article = SEED_ARTICLE.read_text(encoding="utf-8")
    sentences = _sentences(article)
    documents = [article, *("  ".join(sentences[k:k + 5]) for k in range(len(sentences)))]
    (tmp_path / "docs.json").write_text(json.dumps(documents))
    code = ("import json\n"
            "from bench.metrics.extractiveness import fragments as extractive\n"
            f"docs = json.load(open({str(tmp_path / 'docs.json')!r}))\n"
            "for _ in range(3):\n"
            "    extractive.clear_cache()\n"
            "    from bench.cache.token_table import TokenCache\n"
            f"    extractive.tokenize(docs, TokenCache({str(tmp_path / 'cache')!r}, extractive.tokenizer_id()))\n")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [subprocess.Popen([sys.executable, "-c", code], cwd=REPO, env=env, stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    for p in procs:
        assert p.wait(timeout=120) == 0, p.stderr.read()
        p.stderr.close()
    extractive.clear_cache()
    expected = tokenize(documents)
    extractive.clear_cache()
    reader = _real(tmp_path / "cache")
    assert tokenize(documents, reader) == expected
    assert (reader.loaded, reader.damaged, reader.tokenized) == (len(set(documents)), 0, 0)
    reader.close()
    keys = [k for _, k, *_ in _entries(tmp_path / "cache")]
    assert len(keys) == len(set(keys)) == len(set(documents))  # each text once
