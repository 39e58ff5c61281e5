"""SQuAD exact match and F1, as the official evaluation script v2.0 computes them.

Reference: the official SQuAD v2.0 `evaluate-v2.0.py` (identical to v1.1 on
answerable questions):
- normalize: lowercase -> delete ASCII punctuation (`string.punctuation`,
  deleted, not replaced) -> replace the articles a/an/the (whole words) by a
  space -> collapse whitespace;
- exact match: normalized strings equal;
- F1: tokens are the normalized string split on whitespace; overlap counted
  with multiplicity (Counter intersection); when either side has no tokens,
  F1 = 1 if both have none else 0;
- several gold answers: the maximum over them;
- gold answers whose normalized text is empty are dropped, and when none is
  left the question is unanswerable: gold = [""], so the empty prediction
  ("no answer") scores 1 on it.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCT = set(string.punctuation)


def normalize_answer(text: str) -> str:
    text = text.lower()
    text = "".join(ch for ch in text if ch not in _PUNCT)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def _tokens(text: str) -> list[str]:
    return normalize_answer(text).split() if text else []


def exact_match(prediction: str, gold: str) -> int:
    return int(normalize_answer(gold) == normalize_answer(prediction))


def f1(prediction: str, gold: str) -> float:
    gold_toks = _tokens(gold)
    pred_toks = _tokens(prediction)
    if not gold_toks or not pred_toks:
        return float(gold_toks == pred_toks)
    common = Counter(gold_toks) & Counter(pred_toks)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision = same / len(pred_toks)
    recall = same / len(gold_toks)
    return 2 * precision * recall / (precision + recall)


def gold_answers(references: Sequence[str]) -> list[str]:
    """The gold answers the official v2.0 script scores against ([""] = unanswerable)."""
    golds = [a for a in references if normalize_answer(a)]
    return golds or [""]


def is_answerable(references: Sequence[str]) -> bool:
    return any(normalize_answer(a) for a in references)


def score(prediction: str, references: Sequence[str]) -> tuple[float, float]:
    """(exact match, F1) of one prediction, each in 0..1."""
    golds = gold_answers(references)
    return (
        float(max(exact_match(prediction, g) for g in golds)),
        max(f1(prediction, g) for g in golds),
    )


def best_threshold(predictions: Sequence[str], raw_scores: Sequence[float], no_answer_scores: Sequence[float],
                   answerable: Sequence[bool]) -> tuple[float, float]:
    """(best score x100, its threshold) over no-answer thresholds, as the official v2.0 script's
    `find_best_thresh` computes them.

    Abstaining on every question whose no-answer score is above a threshold,
    which threshold scores best? The scan starts from abstaining everywhere
    (every unanswerable question right, every answerable one wrong, threshold
    0.0) and walks the questions in increasing no-answer score (ties in input
    order: Python's stable sort, as the script sorts its na_prob dict); each
    question it passes is answered: an answerable one adds its raw score
    (exact match or F1 in 0..1, the prediction as given), an unanswerable one
    subtracts 1 when the prediction is a non-empty string (even one that
    normalizes to nothing) and 0 when it is "". A strictly better total moves
    the threshold to that question's no-answer score, so ties keep the lower
    threshold.
    """
    n = len(predictions)
    if n == 0:
        return float("nan"), 0.0
    current = float(sum(1 for a in answerable if not a))
    best, best_thresh = current, 0.0
    for k in sorted(range(n), key=lambda k: no_answer_scores[k]):
        if answerable[k]:
            current += raw_scores[k]
        elif predictions[k]:
            current -= 1
        if current > best:
            best, best_thresh = current, no_answer_scores[k]
    return 100.0 * best / n, float(best_thresh)
