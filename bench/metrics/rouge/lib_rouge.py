"""ROUGE-N, ROUGE-L and ROUGE-Lsum, reproducing Google's rouge_score 0.1.2 exactly.

Reference: `rouge_score.rouge_scorer.RougeScorer(types, use_stemmer)`, which
replicates ROUGE-1.5.5 (Lin, 2004). Per pair of texts this module returns the
same precision, recall and F-measure as `RougeScorer.score(target, prediction)`
and, with several references, as `score_multi` (per ROUGE type the reference
with the highest F-measure, the first one on ties).

What is the same:
- tokenizer: lowercase, every run of characters outside ``[a-z0-9]`` is a
  separator, tokens longer than 3 characters go through nltk's PorterStemmer
  (default mode; bench's own implementation, `bench.text.porter`) when
  stemming is on;
- ROUGE-N: clipped n-gram overlap, F = 2PR/(P+R), 0 when P+R = 0;
- ROUGE-L: one LCS over the whole token sequences (newlines ignored);
- ROUGE-Lsum: summary-level union-LCS over sentences split on "\\n", with the
  token-count clipping of ROUGE-1.5.5, and the same choice of LCS on ties
  (the backtracking order of rouge_score's `_backtrack_norec`).

What is faster (the numbers are identical):
- stems are cached per word instead of recomputed for every occurrence;
- LCS lengths use the bit-parallel algorithm of Hyyrö (2004, "Bit-parallel
  LCS-length computation revisited"), one big-integer operation per token of
  the prediction instead of one Python step per cell of the DP table; the
  Lsum backtrack reads the DP values it needs from the stored bit columns;
- each text is tokenized once and shared between the ROUGE types and the
  references.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import NamedTuple

from bench.text import porter

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL", "rougeLsum")

_NON_ALNUM = re.compile(r"[^a-z0-9]+")


class Score(NamedTuple):
    """Precision, recall and F-measure of one ROUGE type, each in 0..1."""

    precision: float
    recall: float
    fmeasure: float


_ZERO = Score(0.0, 0.0, 0.0)


def _fmeasure(precision: float, recall: float) -> float:
    if precision + recall > 0:
        return 2 * precision * recall / (precision + recall)
    return 0.0


class Tokenizer:
    """rouge_score's default tokenizer, with a per-word stem cache.

    `unicode=True` is bench's own option (not rouge_score's): letters and
    digits of every script are kept (``\\w`` minus the underscore, after
    casefolding), so Cyrillic, Greek or accented words are not dropped.
    """

    def __init__(self, use_stemmer: bool = True, unicode: bool = False) -> None:
        self.use_stemmer = use_stemmer
        self.unicode = unicode
        self._stem_cache: dict[str, str] = {}
        # bench's own implementation of the rules of nltk's PorterStemmer(), the stemmer rouge_score uses
        # (importing nltk would import scipy.stats where scipy is installed: see bench.text.porter).
        self._stemmer = porter.stem if use_stemmer else None

    def tokenize(self, text: str) -> list[str]:
        if self.unicode:
            words = _UNICODE_WORD.findall(text.casefold())
        else:
            words = _NON_ALNUM.sub(" ", text.lower()).split()
        if self._stemmer is None:
            return words
        cache = self._stem_cache
        out = []
        for w in words:
            s = cache.get(w)
            if s is None:
                s = self._stem(w)
                cache[w] = s
            if s:
                out.append(s)
        return out

    def _stem(self, word: str) -> str:
        if len(word) <= 3:
            return word
        stem = self._stemmer(word)
        if self.unicode:
            return stem
        # rouge_score drops any token that is not [a-z0-9]+ after stemming.
        return stem if _VALID_ASCII.fullmatch(stem) else ""


_UNICODE_WORD = re.compile(r"[^\W_]+")
_VALID_ASCII = re.compile(r"[a-z0-9]+")


class Tokenized(NamedTuple):
    """A text tokenized once for all ROUGE types."""

    tokens: list[str]
    sentences: list[list[str]]  # tokens of each non-empty "\n"-separated line


def _ngrams(tokens: list[str], n: int) -> Counter:
    if n == 1:
        return Counter(tokens)
    return Counter(zip(*(tokens[i:] for i in range(n))))


def _score_ngrams(ref: Counter, pred: Counter) -> Score:
    overlap = sum(min(c, pred[g]) for g, c in ref.items())
    precision = overlap / max(sum(pred.values()), 1)
    recall = overlap / max(sum(ref.values()), 1)
    return Score(precision, recall, _fmeasure(precision, recall))


def _match_masks(ref: list[str]) -> dict[str, int]:
    """Bit i of masks[w] is set when ref[i] == w."""
    masks: dict[str, int] = {}
    for i, w in enumerate(ref):
        masks[w] = masks.get(w, 0) | (1 << i)
    return masks


def lcs_length(ref: list[str], can: list[str]) -> int:
    """Length of the longest common subsequence (bit-parallel, Hyyrö 2004)."""
    if not ref or not can:
        return 0
    masks = _match_masks(ref)
    full = (1 << len(ref)) - 1
    v = full
    for w in can:
        u = v & masks.get(w, 0)
        v = ((v + u) | (v - u)) & full
    return len(ref) - v.bit_count()


def lcs_indices(ref: list[str], can: list[str]) -> list[int]:
    """Indices into `ref` of one LCS: the one rouge_score's `lcs_ind` returns.

    Column j of the DP table, L[i][j] for all i, is kept as the bit vector
    V_j of the bit-parallel algorithm: L[i][j] = i - popcount(V_j & (2^i - 1)).
    The backtrack then takes the same steps as rouge_score's
    `_backtrack_norec`: a match goes diagonally, otherwise left when
    L[i][j-1] > L[i-1][j], else up.
    """
    m, n = len(ref), len(can)
    if not m or not n:
        return []
    masks = _match_masks(ref)
    full = (1 << m) - 1
    cols = [full]
    v = full
    for w in can:
        u = v & masks.get(w, 0)
        v = ((v + u) | (v - u)) & full
        cols.append(v)
    i, j = m, n
    out: list[int] = []
    while i > 0 and j > 0:
        if ref[i - 1] == can[j - 1]:
            out.append(i - 1)
            i -= 1
            j -= 1
        else:
            left = i - (cols[j - 1] & ((1 << i) - 1)).bit_count()
            up = (i - 1) - (cols[j] & ((1 << (i - 1)) - 1)).bit_count()
            if left > up:
                j -= 1
            else:
                i -= 1
    out.reverse()
    return out


def _score_lcs(ref: list[str], pred: list[str]) -> Score:
    if not ref or not pred:
        return _ZERO
    lcs = lcs_length(ref, pred)
    precision = lcs / len(pred)
    recall = lcs / len(ref)
    return Score(precision, recall, _fmeasure(precision, recall))


def _score_summary_lcs(ref_sents: list[list[str]], pred_sents: list[list[str]]) -> Score:
    if not ref_sents or not pred_sents:
        return _ZERO
    m = sum(map(len, ref_sents))
    n = sum(map(len, pred_sents))
    if not n or not m:
        return _ZERO
    ref_counts: Counter = Counter()
    pred_counts: Counter = Counter()
    for s in ref_sents:
        ref_counts.update(s)
    for s in pred_sents:
        pred_counts.update(s)
    hits = 0
    for r in ref_sents:
        union: set[int] = set()
        for c in pred_sents:
            union.update(lcs_indices(r, c))
        for i in sorted(union):
            t = r[i]
            if pred_counts[t] > 0 and ref_counts[t] > 0:
                hits += 1
                pred_counts[t] -= 1
                ref_counts[t] -= 1
    recall = hits / m
    precision = hits / n
    return Score(precision, recall, _fmeasure(precision, recall))


class RougeScorer:
    """Scores a prediction against one or more references.

    Arguments follow bench's convention, ``(prediction, references)``; note
    that rouge_score's own `score(target, prediction)` takes the reference first.
    """

    def __init__(
        self,
        rouge_types: Sequence[str] = ROUGE_TYPES,
        use_stemmer: bool = True,
        unicode: bool = False,
    ) -> None:
        for t in rouge_types:
            if t not in ("rougeL", "rougeLsum") and not re.fullmatch(r"rouge[1-9]", t):
                raise ValueError(f"invalid ROUGE type {t!r}")
        self.rouge_types = tuple(rouge_types)
        self.tokenizer = Tokenizer(use_stemmer=use_stemmer, unicode=unicode)

    def tokenize(self, text: str) -> Tokenized:
        sentences = [self.tokenizer.tokenize(s) for s in text.split("\n") if s]
        tokens = [t for s in sentences for t in s]
        return Tokenized(tokens, sentences)

    def score_tokenized(self, prediction: Tokenized, reference: Tokenized) -> dict[str, Score]:
        out: dict[str, Score] = {}
        for t in self.rouge_types:
            if t == "rougeL":
                out[t] = _score_lcs(reference.tokens, prediction.tokens)
            elif t == "rougeLsum":
                out[t] = _score_summary_lcs(reference.sentences, prediction.sentences)
            else:
                n = int(t[5:])
                out[t] = _score_ngrams(_ngrams(reference.tokens, n), _ngrams(prediction.tokens, n))
        return out

    def score(self, prediction: str, references: str | Sequence[str]) -> dict[str, Score]:
        """Per ROUGE type, the score against the best reference (highest F)."""
        if isinstance(references, str):
            references = [references]
        if not references:
            raise ValueError("ROUGE needs at least one reference")
        pred = self.tokenize(prediction)
        per_ref = [self.score_tokenized(pred, self.tokenize(r)) for r in references]
        best: dict[str, Score] = {}
        for t in self.rouge_types:
            best[t] = max(per_ref, key=lambda s: s[t].fmeasure)[t]  # first max, as np.argmax
        return best
