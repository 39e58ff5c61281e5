"""Extractiveness of a summary against its source document (Grusky et al. 2018, "Newsroom"), as SummEval computes it.

Reference: ``DataStatsMetric(n_gram=3, case=False, tokenize=True).evaluate_example(summary, document)`` of SummEval
(Yale-LILY/SummEval, ``evaluation/summ_eval/data_stats_metric.py``, with ``data_stats_utils.py``, itself taken from
lil-lab/newsroom ``newsroom/analyze/fragments.py``). HELM (``helm/benchmark/metrics/summarization_metrics.py``) and
lighteval (``Extractiveness`` in ``metrics_sample.py``, over its own copy of the two SummEval files) call that method
with the model's output and the source document, and report its coverage, density and compression; lighteval's unit
cases (``tests/unit/metrics/test_cases/extractiveness.json``) are among this module's tests. For every pair of texts
this module returns SummEval's numbers.

What is the same as SummEval:

- tokens: spaCy's English tokenizer, each token's text as spaCy gives it (``tok.text``), whitespace tokens included.
  spaCy makes a token of every run of whitespace other than one space after a word (``"\\n"``, ``"\\n\\n"``, two
  spaces, a leading space), and SummEval keeps them: they count in the lengths and can be part of a fragment.
  SummEval loads ``en_core_web_sm`` with the tagger, parser and NER disabled; nothing in that pipeline changes the
  tokens, so this module uses ``spacy.blank("en")``, which needs no model download. Checked: ``en_core_web_sm`` 3.8.0
  and ``spacy.blank("en")`` of spaCy 3.8.18 give the same tokens on the seed articles and on text made of
  whitespace runs, contractions, URLs, e-mail addresses, dashes, Cyrillic and CJK; and SummEval's
  ``evaluate_example`` run with that model gave exactly this module's numbers on 600 varied pairs (spans copied
  from news articles, changed case, repeats, whitespace runs, Cyrillic and CJK, empty summaries and documents).
- fragments: the summary is read left to right; at each position the document is scanned from its start, each match
  is extended as far as both texts agree, the scan jumps past the matched run, and the first longest match is kept;
  a match of length L moves the summary position on by L, no match by 1. Tokens are compared lowercased
  (``str.lower``). The jump is part of the definition: "a a b" against "a a a b" gives fragments [2, 1], not [3].
- coverage = sum(len(f)) / len(summary); density = sum(len(f) ** 2) / len(summary);
  compression = len(document) / len(summary), all in tokens.
- novel_Ngram (N = 1, 2, 3): the share of the summary's distinct N-grams that are not N-grams of the document;
  repeated_Ngram: the share of the summary's distinct N-grams that occur more than once in the summary. Both compare
  tokens as written, case kept: SummEval lowercases only for the fragment search (``Fragments.summary`` keeps the
  tokens it was given, and the N-gram statistics read it), so "The" in a summary is a novel 1-gram against "the" in
  the document, and "The ... the" is no repeated 1-gram.
- summary_length: the number of summary tokens.

Where SummEval has no number, bench defines one (every statistic is then a number, none is NaN):

- an empty summary (no tokens): SummEval returns coverage, density and compression 0 (it catches the division by
  zero) and leaves out every N-gram statistic; a summary shorter than N tokens has no N-grams, and SummEval leaves
  out that N's statistics. bench gives 0.0 for each statistic left out, which is also what SummEval's corpus average
  (``evaluate_batch``: the sum of the values present divided by the number of examples) counts for it. A summary
  with no tokens is still a summary scored 0: `stats` says so with ``summary_length == 0``, and whoever reports the
  scores should count and report such summaries.
- an empty document: no fragments, so coverage, density and compression are 0 (SummEval gives the same) and every
  N-gram of the summary is novel.

What differs, and why the numbers do not:

- each text is tokenized once per process (a cache keyed by a digest of the text, shared between calls, bounded by
  `CACHE_TOKENS`) and many texts at once with spaCy's ``pipe``; `stats_many` prepares each distinct document once;
  with a `TokenCache` (`bench.cache.token_table`: the cache store of a directory), each document is tokenized once
  at all: other processes (another model's run, a rescoring) read its tokens from there;
- the fragment search looks up the document positions of the summary token (a dict from token to its positions)
  instead of scanning the whole document at every summary position, and skips the positions the scan would jump
  over, so it finds the same fragments (a test holds it to the plain scan);
- the tokenizer is called directly, without the ``nlp.max_length`` check of 1,000,000 characters that SummEval's
  ``_en(text)`` would fail on.
"""

from __future__ import annotations

import hashlib
import sys
import threading
from collections import Counter, OrderedDict
from collections.abc import Sequence
from functools import lru_cache
from importlib import metadata
from typing import TYPE_CHECKING, Any

from bench.errors import EXIT_ENVIRONMENT, BenchError

if TYPE_CHECKING:
    from bench.cache.token_table import TokenCache

#: The statistics `stats` returns, in this order.
STAT_NAMES = (
    "coverage",
    "density",
    "compression",
    "novel_1gram",
    "novel_2gram",
    "novel_3gram",
    "repeated_1gram",
    "repeated_2gram",
    "repeated_3gram",
    "summary_length",
)

#: The statistics that are shares in 0..1 (reported x100 as percentages); the others are a mean fragment length
#: (density), a ratio of lengths (compression) and a count of tokens (summary_length).
RATES = frozenset({
    "coverage",
    "novel_1gram",
    "novel_2gram",
    "novel_3gram",
    "repeated_1gram",
    "repeated_2gram",
    "repeated_3gram",
})

#: Longest N-grams counted by novel_Ngram and repeated_Ngram (SummEval's default ``n_gram=3``).
MAX_N = 3

#: Most tokens the tokenization cache holds, all texts together; the least recently used texts are dropped first.
#: Tokens are interned strings, so a token costs about 8 bytes (a place in a tuple), and this is about 130 MB: the
#: 11,490 articles of CNN/DailyMail's test split (about 10 million tokens) stay in it while their summaries and
#: references are scored.
CACHE_TOKENS = 16_000_000

Tokens = tuple[str, ...]

# The cache is keyed by a 128-bit BLAKE2 digest of the text, so it holds the tokens but not the texts themselves.
_CACHE: OrderedDict[bytes, Tokens] = OrderedDict()
_LOCK = threading.Lock()
_held = 0  # tokens in _CACHE


def _key(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def _missing_spacy() -> BenchError:
    return BenchError(
        "the extractiveness statistics (coverage, density, compression, novel and repeated n-grams) need spaCy's "
        "English tokenizer, and spaCy is not installed",
        hint="pip install spacy (no model download is needed)",
        exit_code=EXIT_ENVIRONMENT,
    )


@lru_cache(maxsize=1)
def tokenizer_id() -> str:
    """The tokenizer and spaCy's version, as recorded in metric signatures, e.g. ``spacy-3.8.18-blank-en``."""
    try:
        version = metadata.version("spacy")
    except metadata.PackageNotFoundError:
        raise _missing_spacy() from None
    return f"spacy-{version}-blank-en"


def __getattr__(name: str) -> Any:
    # TOKENIZER_ID is read from the installed spaCy's metadata when first asked for, not at import, so that importing
    # bench never needs spaCy and a missing spaCy is the one message of `_missing_spacy`.
    if name == "TOKENIZER_ID":
        return tokenizer_id()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@lru_cache(maxsize=1)
def _tokenizer() -> Any:
    try:
        import spacy
    except ImportError:
        raise _missing_spacy() from None
    return spacy.blank("en").tokenizer


def tokenize(texts: Sequence[str], cache: TokenCache | None = None) -> list[Tokens]:
    """spaCy's English tokens of each text (token text as written, whitespace tokens kept), each text once per process.

    Texts seen before (in this call or an earlier one) come from the in-memory cache; with `cache` (a `TokenCache`),
    the others are read from that directory when they are there, and what is tokenized is written to it. The
    remaining texts are tokenized together. The tokens are the same whichever way they come.
    """
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"tokenize() takes strings; item {i} is {type(text).__name__}")
    out: list[Tokens | None] = [None] * len(texts)
    missing: dict[bytes, tuple[str, list[int]]] = {}
    held: dict[bytes, Tokens] = {}  # found in memory (with a disk cache: checked to be on disk too)
    with _LOCK:
        for i, text in enumerate(texts):
            key = _key(text)
            hit = _CACHE.get(key)
            if hit is not None:
                _CACHE.move_to_end(key)
                out[i] = hit
                held[key] = hit
            elif key in missing:
                missing[key][1].append(i)
            else:
                missing[key] = (text, [i])
    if cache is not None:
        cache.from_memory += len(held)
        if held:  # tokenized in this process before the disk cache was given
            absent = cache.missing(list(held))
            cache.write_many((key, held[key]) for key in held if key in absent)
        if missing:
            found = cache.read_many(list(missing))
            _remember(list(found.items()), missing, out)
            for key in found:
                del missing[key]
    if missing:
        tokenizer = _tokenizer()
        intern = sys.intern
        docs = tokenizer.pipe([text for text, _ in missing.values()], batch_size=256)
        new = [(key, tuple([intern(t.text) for t in doc])) for key, doc in zip(missing, docs)]
        _remember(new, missing, out)
        if cache is not None:
            cache.tokenized += len(new)
            cache.write_many(new)
    return out  # type: ignore[return-value]  # every slot is filled above


def _remember(new: Sequence[tuple[bytes, Tokens]], where: dict[bytes, tuple[str, list[int]]],
              out: list[Tokens | None]) -> None:
    """Put each text's tokens in its places of `out` and in the in-memory cache (least recently used dropped)."""
    global _held
    with _LOCK:
        for key, tokens in new:
            for i in where[key][1]:
                out[i] = tokens
            if key not in _CACHE:  # another thread may have put it there meanwhile
                _held += len(tokens)
            _CACHE[key] = tokens
        while _held > CACHE_TOKENS and _CACHE:
            _held -= len(_CACHE.popitem(last=False)[1])


def clear_cache() -> None:
    """Forget every tokenized text."""
    global _held
    with _LOCK:
        _CACHE.clear()
        _held = 0


def cache_info() -> tuple[int, int]:
    """(texts in the tokenization cache, tokens it holds)."""
    with _LOCK:
        return len(_CACHE), _held


class _Document:
    """A document's tokens prepared for the summaries scored against it.

    `lower`: the tokens lowercased; `positions`: where each lowercased token of the summaries occurs in `lower`
    (other tokens are never looked up); `vocabulary`: the tokens as written.
    """

    __slots__ = ("lower", "positions", "tokens", "vocabulary")

    def __init__(self, tokens: Sequence[str], wanted: set[str] | frozenset[str]) -> None:
        self.tokens: Tokens = tuple(tokens)
        self.lower: Tokens = tuple(map(str.lower, self.tokens))
        self.vocabulary = frozenset(self.tokens)
        positions: dict[str, list[int]] = {t: [] for t in wanted}
        for j, t in enumerate(self.lower):
            bucket = positions.get(t)
            if bucket is not None:
                bucket.append(j)
        self.positions = positions

    def contains(self, ngram: Tokens, first_lower: str) -> bool:
        """Whether `ngram` (tokens as written) occurs in the document; `first_lower` is its first token lowercased."""
        if len(ngram) == 1:
            return ngram[0] in self.vocabulary
        tokens, n = self.tokens, len(ngram)
        return any(tokens[p:p + n] == ngram for p in self.positions[first_lower])


def _ngrams(tokens: Tokens, n: int) -> zip[Tokens]:
    return zip(*(tokens[k:] for k in range(n)))


def _fragments(summary_lower: Tokens, doc: _Document) -> list[int]:
    # The Newsroom scan, with the document positions of summary_lower[i] looked up instead of scanned for. A scan
    # from the document's start visits a position p holding the token unless p lies inside the run matched from an
    # earlier visited position (the scan jumps to the end of each run), so `resume` skips exactly those.
    text = doc.lower
    index = doc.positions
    n, m = len(summary_lower), len(text)
    found: list[int] = []
    i = 0
    while i < n:
        best = 0
        most = n - i  # no match can be longer: the first match this long is the one kept
        resume = 0
        for p in index[summary_lower[i]]:
            if p < resume:
                continue
            k = 1
            while k < most and p + k < m and text[p + k] == summary_lower[i + k]:
                k += 1
            if k > best:
                best = k
                if k == most:
                    break
            resume = p + k
        if best:
            found.append(best)
            i += best
        else:
            i += 1
    return found


def _lowered(tokens: Sequence[str]) -> Tokens:
    return tuple(map(str.lower, tokens))


def fragments(summary_tokens: Sequence[str], document_tokens: Sequence[str]) -> list[int]:
    """The lengths of the summary's extractive fragments in the document, in summary order (tokens compared lowercased)."""
    lower = _lowered(summary_tokens)
    return _fragments(lower, _Document(document_tokens, set(lower)))


def _stats(summary: Tokens, summary_lower: Tokens, doc: _Document) -> dict[str, float]:
    length = len(summary)
    result: dict[str, float] = {}
    if length:
        lengths = _fragments(summary_lower, doc)
        result["coverage"] = sum(lengths) / length
        result["density"] = sum(f * f for f in lengths) / length
        result["compression"] = len(doc.tokens) / length
    else:
        result["coverage"] = result["density"] = result["compression"] = 0.0
    novel: dict[int, float] = {}
    repeated: dict[int, float] = {}
    for n in range(1, MAX_N + 1):
        counts = Counter(_ngrams(summary, n))
        distinct = len(counts)
        if distinct:
            novel[n] = sum(1 for g in counts if not doc.contains(g, g[0].lower())) / distinct
            repeated[n] = sum(1 for c in counts.values() if c > 1) / distinct
        else:  # fewer than n tokens: SummEval leaves the statistic out, its corpus mean counts 0
            novel[n] = repeated[n] = 0.0
    for n in range(1, MAX_N + 1):
        result[f"novel_{n}gram"] = novel[n]
    for n in range(1, MAX_N + 1):
        result[f"repeated_{n}gram"] = repeated[n]
    result["summary_length"] = float(length)
    return result


def stats(summary_tokens: Sequence[str], document_tokens: Sequence[str]) -> dict[str, float]:
    """Every statistic of `STAT_NAMES` for one summary against its document, raw (rates in 0..1, not x100)."""
    summary = tuple(summary_tokens)
    lower = _lowered(summary)
    return _stats(summary, lower, _Document(document_tokens, set(lower)))


def stats_many(summaries: Sequence[str], documents: Sequence[str],
               cache: TokenCache | None = None) -> list[dict[str, float]]:
    """`stats` of each summary against the document beside it, from texts; each distinct document prepared once.

    With `cache`, the documents' tokens are read from it and written to it (`tokenize`); summaries are tokenized
    in memory only (they change with every model: see the `extractiveness` metric).
    """
    if len(summaries) != len(documents):
        raise ValueError(f"stats_many() needs one document per summary: {len(summaries)} summaries, "
                         f"{len(documents)} documents")
    summary_tokens = tokenize(summaries)
    tokens = [*summary_tokens, *tokenize(documents, cache)]
    summary_lower = [_lowered(s) for s in summary_tokens]
    by_document: dict[str, list[int]] = {}
    for i, text in enumerate(documents):
        by_document.setdefault(text, []).append(i)
    out: list[dict[str, float] | None] = [None] * len(summaries)
    for indices in by_document.values():  # one document at a time, dropped once its summaries are scored
        wanted = set().union(*(summary_lower[i] for i in indices))
        doc = _Document(tokens[len(summaries) + indices[0]], wanted)
        for i in indices:
            out[i] = _stats(summary_tokens[i], summary_lower[i], doc)
    return out  # type: ignore[return-value]  # every slot is filled above
