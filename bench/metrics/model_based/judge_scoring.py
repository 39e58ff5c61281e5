"""How a judge's reply becomes a score (`bench.metrics.model_based.judge`): the first number on the scale, or
G-Eval's probability-weighted score.

G-Eval (Liu et al. 2023, "G-Eval: NLG Evaluation using GPT-4 with Better
Human Alignment", section 2.3) scores a reply by sum_i p(i) * i over the
scale's values i, p read from the judge's token probabilities where the score
is written: a continuous score that separates summaries the integers tie.
bench reads that place as the first rule does: the first number on the scale
in the reply (`find_score`); the token holding its first character must be
that integer alone (whitespace around it allowed), or the reply is read by its
first number (counted). p(i) is the probability of the tokens whose text,
whitespace stripped, is i (" 4" and "4" both count for 4), renormalised over
the scale's values. A local model gives its whole next-token distribution
there; a server gives the ``top_logprobs`` alternatives of that token, and the
values absent from them have p = 0.

The records kept in the judge's cache, one per reply (JSON): a server's
``{"reply": text, "tokens": [[token, [[alternative, logprob], ...]], ...]}``
(``"tokens": null`` when the server returned no log-probabilities), a local
model's ``{"reply": text, "scale": {"1": logprob, ...}}`` (``null`` when the
score's token is not the integer alone).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

WEIGHTED, FIRST_NUMBER = "weighted", "first-number"

_NUMBER = re.compile(r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?![\w]|\.\d)")


def find_score(reply: str, low: float, high: float) -> tuple[float, int] | None:
    """The first number written in `reply` (an integer or a decimal, not part of a word) that lies in [low, high],
    and where it starts; None when there is none."""
    for match in _NUMBER.finditer(reply):
        value = float(match.group(0))
        if low <= value <= high:
            return value, match.start()
    return None


def parse_score(reply: str, low: float, high: float) -> float | None:
    """The first number written in `reply` that lies in [low, high]; None when there is none. "Score: 4/5" -> 4;
    "7. Then 3" on 1-5 -> 3; "4th" -> None."""
    found = find_score(reply, low, high)
    return None if found is None else found[0]


def token_at(pieces: Sequence[str], start: int, holds: Callable[[str], bool]) -> int | None:
    """The index of the token (among a reply's tokens: their texts, which make the reply) holding the
    character at `start`, when `holds(its text)`; else None."""
    end = 0
    for t, piece in enumerate(pieces):
        end += len(piece)
        if end > start:
            return t if holds(piece) else None
    return None


def score_token(pieces: Sequence[str], low: int, high: int) -> int | None:
    """The index of the token where the score is written, among a reply's tokens; None when the reply has no
    number on the scale, or the token holding its first character is not its integer part alone (whitespace
    around it allowed)."""
    found = find_score("".join(pieces), low, high)
    if found is None:
        return None
    return token_at(pieces, found[1], lambda piece: scale_value(piece, low, high) == int(found[0]))


def scale_value(token: str, low: int, high: int) -> int | None:
    """The value of the scale a token writes (its text, whitespace stripped, is that integer); None if none."""
    text = token.strip()
    if text.isascii() and text.isdigit() and text == str(int(text)) and low <= int(text) <= high:
        return int(text)
    return None


@dataclass(frozen=True)
class ScaleReader:
    """Where a reply writes its score on the scale low..high, and which token texts write which value: what a
    local judge (`bench.metrics.model_based.judge_backends.LocalJudge`) reads its next-token distribution for.
    A pairwise judge's verdicts have a reader of their own (`bench.metrics.model_based.judge_verdicts`)."""

    low: int
    high: int

    def locate(self, pieces: Sequence[str]) -> int | None:
        """The index of the token where the score is written (`score_token`)."""
        return score_token(pieces, self.low, self.high)

    def value(self, token: str) -> int | None:
        """The value a token's text writes (`scale_value`)."""
        return scale_value(token, self.low, self.high)

    def may_write(self, piece: str) -> bool:
        """Whether a vocabulary entry (its raw text) may write a value: a cheap filter before decoding it."""
        return len(piece) <= 8 and any(str(v) in piece for v in range(self.low, self.high + 1))


def scale_logprobs(alternatives: Sequence[tuple[str, float]], low: int, high: int) -> dict[int, float] | None:
    """log p of each value of the scale among a token's alternatives (their probabilities summed by the value
    they write); None when none of them is on the scale."""
    mass: dict[int, float] = {}
    for token, logprob in alternatives:
        value = scale_value(token, low, high)
        if value is not None and math.isfinite(logprob):
            mass[value] = mass.get(value, 0.0) + math.exp(min(logprob, 0.0))
    return {v: math.log(p) for v, p in sorted(mass.items()) if p > 0} or None


def weighted_score(logprobs: Mapping[int, float]) -> tuple[float, dict[int, float]]:
    """sum_i p(i) * i with p renormalised over the values given; and p."""
    top = max(logprobs.values())
    weights = {v: math.exp(lp - top) for v, lp in logprobs.items()}
    total = sum(weights.values())
    p = {v: w / total for v, w in weights.items()}
    return sum(v * q for v, q in p.items()), p


@dataclass(frozen=True)
class Reading:
    """What one reply gives."""

    reply: str
    score: float | None
    rule: str | None
    """WEIGHTED or FIRST_NUMBER (None: unscored)."""
    probabilities: dict[int, float] | None = None
    without_logprobs: bool = False
    """Weighting was asked, and the server returned no log-probabilities for this reply."""


def server_record(reply: str, tokens: Sequence[tuple[str, Sequence[tuple[str, float]]]] | None) -> str:
    return json.dumps({"reply": reply, "tokens": None if tokens is None else [[t, [list(a) for a in alts]]
                                                                               for t, alts in tokens]})


def local_record(reply: str, scale: Mapping[int, float] | None) -> str:
    return json.dumps({"reply": reply, "scale": None if scale is None else {str(v): lp for v, lp in scale.items()}})


def check_record(value: str) -> dict[str, Any]:
    """A cached record, or ValueError when it is not one bench writes."""
    record = json.loads(value)
    if not (isinstance(record, dict) and isinstance(record.get("reply"), str)
            and ("tokens" in record) != ("scale" in record)):
        raise ValueError("not a judge record")
    return record


def read_reply(value: str, low: int, high: int, weighted: bool) -> Reading:
    """A cached reply (the text; with `weighted`, a record) read by the rule asked for."""
    if not weighted:
        first = parse_score(value, low, high)
        return Reading(value, first, None if first is None else FIRST_NUMBER)
    record = check_record(value)
    reply = record["reply"]
    first = parse_score(reply, low, high)
    if first is None:
        return Reading(reply, None, None)
    scale: dict[int, float] | None = None
    if "scale" in record:
        scale = {int(v): float(lp) for v, lp in record["scale"].items()} if record["scale"] else None
    elif record["tokens"] is None:
        return Reading(reply, first, FIRST_NUMBER, without_logprobs=True)
    else:
        tokens = record["tokens"]
        t = score_token([tok for tok, _ in tokens], low, high)
        scale = None if t is None else scale_logprobs([(a, float(lp)) for a, lp in tokens[t][1]], low, high)
    if scale is None:
        return Reading(reply, first, FIRST_NUMBER)
    value, p = weighted_score(scale)
    return Reading(reply, value, WEIGHTED, p)
