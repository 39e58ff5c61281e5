"""How a pairwise judge's reply becomes a verdict: which of two summaries is better, A (shown first), B (shown
second), or a tie; as written, or weighted by the judge's token probabilities.

A pairwise prompt (bundled in ``judge_pairwise_prompts.yaml``, one per
criterion, in bench's own words; ``prompt`` or ``prompt_file`` give another)
holds ``{document}``, ``{summary_a}`` and ``{summary_b}`` and asks for one
letter: A, B, or C for a tie (MT-Bench's pairwise judge answers "[[A]]",
"[[B]]" or "[[C]]" the same way, Zheng et al. 2023). The verdict is the first
of these written in the reply as a word of its own: a capital ``A``, ``B`` or
``C``, or the word ``tie`` in any case ("[[A]]" -> A; "Summary B is better" ->
B; "It's a tie" -> tie; "a" or "Banana" -> nothing). A reply without one is
unparsable: counted, never guessed.

Weighted (``scoring=weighted``, the default), as G-Eval weights a score
(`bench.metrics.model_based.judge_scoring`): where the verdict is written, the
judge's probabilities of the tokens that write each verdict (their text,
whitespace stripped, is ``A``, ``B``, ``C`` or ``tie``), summed per verdict and
renormalised over the three, give P(A), P(B) and P(tie). A local model gives its
whole next-token distribution there, a server the ``top_logprobs`` alternatives
of that token (a verdict absent from them has p = 0). A reply whose verdict is
not a token of its own, or that came without probabilities, counts as written
(p = 1 for its verdict).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.metrics.model_based.judge_scoring import FIRST_NUMBER, WEIGHTED, check_record, token_at

A, B, TIE = "A", "B", "tie"
VERDICTS = (A, B, TIE)
#: The id of `find_verdict`'s rule, named in every pairwise signature.
VERDICT_RULE = "first-verdict"
PAIRWISE_PROMPTS_FILE = Path(__file__).with_name("judge_pairwise_prompts.yaml")
#: The placeholders a pairwise prompt must hold.
PAIR_PLACEHOLDERS = ("{summary_a}", "{summary_b}")

_VERDICT = re.compile(r"(?<![\w])(A|B|C|[Tt][Ii][Ee])(?![\w])")


def default_pairwise_prompts() -> dict[str, str]:
    """The bundled pairwise prompt of each criterion."""
    import yaml

    data = yaml.safe_load(PAIRWISE_PROMPTS_FILE.read_text(encoding="utf-8"))
    return {str(k): str(v) for k, v in data.items()}


def _as_verdict(text: str) -> str:
    return TIE if text in ("C",) or text.lower() == "tie" else text


def find_verdict(reply: str) -> tuple[str, int] | None:
    """The first verdict written in `reply` (A, B, or tie: C or the word tie) and where it starts; None if none."""
    match = _VERDICT.search(reply)
    return None if match is None else (_as_verdict(match.group(1)), match.start())


def verdict_value(token: str) -> str | None:
    """The verdict a token writes (its text, whitespace stripped, is A, B, C or tie); None if none."""
    text = token.strip()
    return _as_verdict(text) if text in ("A", "B", "C") or text.lower() == "tie" else None


def verdict_token(pieces: Sequence[str]) -> int | None:
    """The index of the token where the verdict is written, among a reply's tokens (their texts, which make the
    reply); None when the reply has no verdict, or the token holding its first character is not the verdict
    alone (whitespace around it allowed)."""
    found = find_verdict("".join(pieces))
    if found is None:
        return None
    return token_at(pieces, found[1], lambda piece: verdict_value(piece) == found[0])


@dataclass(frozen=True)
class VerdictReader:
    """Where a reply writes its verdict and which token texts write which verdict, for a local judge's
    next-token distribution (`bench.metrics.model_based.judge_backends.LocalJudge`)."""

    def locate(self, pieces: Sequence[str]) -> int | None:
        return verdict_token(pieces)

    def value(self, token: str) -> str | None:
        return verdict_value(token)

    def may_write(self, piece: str) -> bool:
        return len(piece) <= 6 and any(c in piece for c in "ABCtiTI")


def verdict_logprobs(alternatives: Sequence[tuple[str, float]]) -> dict[str, float] | None:
    """log p of each verdict among a token's alternatives (summed by the verdict they write); None if none."""
    mass: dict[str, float] = {}
    for token, logprob in alternatives:
        value = verdict_value(token)
        if value is not None and math.isfinite(logprob):
            mass[value] = mass.get(value, 0.0) + math.exp(min(logprob, 0.0))
    return {v: math.log(p) for v, p in mass.items() if p > 0} or None


def normalised(logprobs: Mapping[str, float]) -> dict[str, float]:
    """P(A), P(B), P(tie) from log-probabilities of some of them, renormalised over the three."""
    top = max(logprobs.values())
    weights = {v: math.exp(logprobs[v] - top) if v in logprobs else 0.0 for v in VERDICTS}
    total = sum(weights.values())
    return {v: w / total for v, w in weights.items()}


@dataclass(frozen=True)
class Verdict:
    """What one reply says."""

    reply: str
    verdict: str | None
    """A, B or tie as written; None: unparsable."""
    p: Mapping[str, float] | None = None
    """P(A), P(B), P(tie) (summing to 1): the probabilities where weighted, else 1 for the verdict written."""
    rule: str | None = None
    """WEIGHTED, or FIRST_NUMBER (the verdict as written); None: unparsable."""
    without_logprobs: bool = False
    """Weighting was asked, and the server returned no log-probabilities for this reply."""


def _written(reply: str, verdict: str, without_logprobs: bool = False) -> Verdict:
    return Verdict(reply, verdict, {v: float(v == verdict) for v in VERDICTS}, FIRST_NUMBER, without_logprobs)


def read_verdict(value: str, weighted: bool) -> Verdict:
    """A cached reply (the text; with `weighted`, the record `judge_scoring` describes) read as a verdict."""
    if not weighted:
        found = find_verdict(value)
        return Verdict(value, None) if found is None else _written(value, found[0])
    record = check_record(value)
    reply = record["reply"]
    found = find_verdict(reply)
    if found is None:
        return Verdict(reply, None)
    logprobs: dict[str, float] | None = None
    if "scale" in record:
        logprobs = {str(v): float(lp) for v, lp in record["scale"].items()} if record["scale"] else None
        logprobs = {v: lp for v, lp in (logprobs or {}).items() if v in VERDICTS and math.isfinite(lp)} or None
    elif record["tokens"] is None:
        return _written(reply, found[0], without_logprobs=True)
    else:
        tokens = record["tokens"]
        t = verdict_token([tok for tok, _ in tokens])
        logprobs = None if t is None else verdict_logprobs([(a, float(lp)) for a, lp in tokens[t][1]])
    if logprobs is None:
        return _written(reply, found[0])
    return Verdict(reply, found[0], normalised(logprobs), WEIGHTED)


def order_distribution(verdicts: Sequence[Verdict]) -> dict[str, float] | None:
    """One order's P(A), P(B), P(tie): the mean over its parsed replies (its n samples); None if none parsed."""
    parsed = [v.p for v in verdicts if v.p is not None]
    if not parsed:
        return None
    return {k: sum(p[k] for p in parsed) / len(parsed) for k in VERDICTS}


def most_likely(q: Mapping[str, float]) -> str:
    """The verdict with the largest probability; a tie when two share it (A and B, or either with tie)."""
    top = max(q.values())
    best = [v for v in VERDICTS if q[v] >= top - 1e-12]
    return best[0] if len(best) == 1 else TIE

