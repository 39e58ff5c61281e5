"""Pairwise preferences turned into numbers, the same way whoever gave them: an LLM judge (both orders asked,
`bench.comparison.pairwise`) or annotators (`bench annotate --pairwise`, its export).

- An *outcome* is one pair of summaries of one example on one criterion, seen
  from one model: 1 (it won), 0 (it lost), 0.5 (a tie), or in between (a
  judge's probability-weighted verdict; several annotators averaged). Unjudged
  pairs (a reply without a verdict) have none and are left out, counted.
- Win rates, ties half, of each model against each other, with the bootstrap
  interval over examples and the sign test (`bench.stats.preferences`); and of
  each model against all it met.
- Bradley-Terry strengths over all models (`bench.stats.bradley_terry`): each
  example is an item whose wins matrix holds its pairs' outcomes, so the
  intervals resample examples.
- What the verdicts as shown say about who gave them: the share of decisive
  verdicts that went to the summary shown first (with a sign test against
  one half) and, for a judge, the share of pairs whose two verdicts agree
  (for annotators: their repeated pages, shown the other way round); the share
  of decisive verdicts won by the longer summary and the mean length
  difference (words), beside each win rate.
- Agreement between the judge and annotators on the pairs both judged
  (MT-Bench's table, Zheng et al. 2023): with each annotator's verdict, with
  their majority, and between annotators (the ceiling), with and without ties.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy as np

from bench.stats.bootstrap import DEFAULT_SEED
from bench.stats.bradley_terry import bradley_terry_ci
from bench.stats.preferences import sign_test, win_rate

JUDGE, HUMAN = "judge", "human"
#: A verdict as shown: the summary shown first won (A), the second (B), or neither.
FIRST, SECOND, EVEN = "A", "B", "tie"


@dataclass(frozen=True)
class Outcome:
    """One pair of summaries of one example on one criterion, from `model`'s side."""

    criterion: str
    id: str
    model: str
    opponent: str
    value: float | None
    """1: `model` won, 0: lost, 0.5: a tie (or a value in between); None: not judged (no verdict read)."""
    consistent: bool | None = None
    """A judge: whether its verdicts in the two orders agree (None: not judged; annotators: None)."""
    detail: Mapping[str, Any] = field(default_factory=dict)
    """What the JSON drill-down shows of it (verdicts, replies, probabilities)."""


@dataclass(frozen=True)
class Shown:
    """One verdict as it was given: the summary shown first and second, and which one won."""

    criterion: str
    id: str
    first: str
    second: str
    verdict: str
    """FIRST, SECOND or EVEN."""


@dataclass(frozen=True)
class Vote:
    """One annotator's first verdict on one pair (for agreement), from `model`'s side (1, 0 or 0.5)."""

    criterion: str
    id: str
    model: str
    opponent: str
    annotator: str
    value: float


@dataclass(frozen=True)
class Preferences:
    """Every preference from one source (the judge, or the annotators)."""

    source: str
    """JUDGE or HUMAN."""
    label: str
    """The judge's model, or the annotations' file."""
    criteria: tuple[str, ...]
    outcomes: tuple[Outcome, ...]
    shown: tuple[Shown, ...]
    votes: tuple[Vote, ...] = ()
    repeats: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    """Annotators, per criterion: (repeated pages answered as the first time, repeated pages)."""
    signatures: Mapping[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    counts: Mapping[str, int] = field(default_factory=dict)


def _number(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def _share(hits: int, n: int) -> float | None:
    return hits / n if n else None


def _side(value: float) -> int:
    """1: the model won, -1: lost, 0: a tie."""
    return 1 if value > 0.5 else -1 if value < 0.5 else 0


def words(text: str) -> int:
    """A summary's length: its words (whitespace-separated)."""
    return len(text.split())


@dataclass(frozen=True)
class Aggregate:
    """What `aggregate` finds for one source: JSON-ready rows."""

    source: str
    label: str
    pairwise: list[dict[str, Any]]
    bradley_terry: list[dict[str, Any]]
    diagnostics: dict[str, dict[str, Any]]
    notes: list[str]


def _length_stats(shown: Sequence[Shown], lengths: Mapping[tuple[str, str], int]) -> tuple[int, int]:
    """(decisive verdicts won by the longer summary, decisive verdicts between summaries of different lengths)."""
    longer = total = 0
    for s in shown:
        if s.verdict == EVEN:
            continue
        a, b = lengths[(s.first, s.id)], lengths[(s.second, s.id)]
        if a == b:
            continue
        total += 1
        longer += (a > b) == (s.verdict == FIRST)
    return longer, total


def aggregate(prefs: Preferences, models: Sequence[str], lengths: Mapping[tuple[str, str], int], *,
              seed: int = DEFAULT_SEED) -> Aggregate:
    """Win rates, Bradley-Terry strengths and diagnostics of `prefs` per criterion; `lengths`: (model, id) ->
    the words of that model's summary of that example."""
    rows: list[dict[str, Any]] = []
    strengths: list[dict[str, Any]] = []
    diagnostics: dict[str, dict[str, Any]] = {}
    notes: list[str] = []
    for c in prefs.criteria:
        outcomes = [o for o in prefs.outcomes if o.criterion == c]
        judged = [o for o in outcomes if o.value is not None]
        shown = [s for s in prefs.shown if s.criterion == c]
        pairs = list(dict.fromkeys((o.model, o.opponent) for o in outcomes))
        # grouped once, in their order: each pair's verdicts, each pair's shown verdicts, each model's
        by_pair: dict[tuple[str, str], list[Outcome]] = {}
        by_model: dict[str, list[float]] = {}
        for o in judged:
            by_pair.setdefault((o.model, o.opponent), []).append(o)
            by_model.setdefault(o.model, []).append(o.value)
            by_model.setdefault(o.opponent, []).append(1 - o.value)
        shown_by_pair: dict[frozenset[str], list[Shown]] = {}
        for s in shown:
            shown_by_pair.setdefault(frozenset((s.first, s.second)), []).append(s)
        for x, y in pairs:
            mine = by_pair.get((x, y), [])
            longer, total = _length_stats(shown_by_pair.get(frozenset((x, y)), []), lengths)
            diff = [lengths[(x, o.id)] - lengths[(y, o.id)] for o in mine]
            sides = ((x, y, [o.value for o in mine], 1), (y, x, [1 - o.value for o in mine], -1))
            for model, opponent, values, sign in sides:
                r = win_rate(values, seed=seed)
                rows.append({"criterion": c, "model": model, "opponent": opponent, "n": r.n, "wins": r.wins,
                             "losses": r.losses, "ties": r.ties, "win_rate": _number(r.rate),
                             "ci": [_number(r.ci[0]), _number(r.ci[1])], "p": r.p,
                             "longer_share": _share(longer, total),
                             "length_diff": float(sign * np.mean(diff)) if diff else None, "source": prefs.source})
        # the models compared on this criterion (a study may hold fewer than the runs): strengths have mean 0
        # over them
        met = [m for m in models if m in by_model]
        index = {m: k for k, m in enumerate(met)}
        ids = list(dict.fromkeys(o.id for o in judged))
        where = {i: k for k, i in enumerate(ids)}
        item_wins = np.zeros((len(ids), len(met), len(met)))
        for o in judged:
            k, i, j = where[o.id], index[o.model], index[o.opponent]
            item_wins[k, i, j] += o.value
            item_wins[k, j, i] += 1.0 - o.value
        bt = bradley_terry_ci(item_wins, seed=seed)
        ranked = []
        for m in met:
            k = index[m]
            overall = win_rate(by_model[m], seed=seed)
            ranked.append({"criterion": c, "model": m,
                           "strength": None if bt.strengths is None else _number(bt.strengths[k]),
                           "ci": [_number(bt.ci[k, 0]), _number(bt.ci[k, 1])],
                           "win_rate": _number(overall.rate), "n": overall.n, "source": prefs.source})
        # strongest first; without strengths, by win rate
        ranked.sort(key=lambda r: (-(r["strength"] if r["strength"] is not None else -math.inf),
                                   -(r["win_rate"] if r["win_rate"] is not None else -math.inf), r["model"]))
        strengths.extend(ranked)
        if (note := bt.note(bool(judged))) is not None:
            notes.append(f"{prefs.source} {c}: {note}")
        first = sum(s.verdict == FIRST for s in shown)
        second = sum(s.verdict == SECOND for s in shown)
        longer, total = _length_stats(shown, lengths)
        consistent = [o.consistent for o in judged if o.consistent is not None]
        same, repeated = prefs.repeats.get(c, (0, 0))
        if prefs.source == JUDGE:
            consistency, checked = _share(sum(consistent), len(consistent)), len(consistent)
        else:
            consistency, checked = _share(same, repeated), repeated
        diagnostics[c] = {
            "position_consistency": consistency, "consistency_n": checked,
            "first_position_share": _share(first, first + second), "first_position_wins": first,
            "second_position_wins": second, "first_position_p": sign_test(first, second),
            "longer_share": _share(longer, total), "longer_n": total,
            "pairs": len(outcomes), "judged": len(judged), "unjudged": len(outcomes) - len(judged)}
    return Aggregate(prefs.source, prefs.label, rows, strengths, diagnostics, notes)


def _agreement(pairs: Sequence[tuple[float, float]]) -> dict[str, Any]:
    """How often two verdicts (each 1, 0 or 0.5 from one model's side) agree: all of them, and those where neither
    is a tie (MT-Bench's two setups)."""
    sides = [(_side(a), _side(b)) for a, b in pairs]
    decisive = [(a, b) for a, b in sides if a and b]
    return {"n": len(sides), "agreement": _share(sum(a == b for a, b in sides), len(sides)),
            "n_without_ties": len(decisive),
            "agreement_without_ties": _share(sum(a == b for a, b in decisive), len(decisive))}


def agreement(judge: Preferences, human: Preferences) -> list[dict[str, Any]]:
    """Per criterion both judged: the judge's verdict (after the swap) against each annotator's first verdict,
    against the annotators' majority (items without one, a split, are left out and counted), and the annotators
    against each other, on the pairs of summaries both judged."""
    out = []
    for c in (c for c in judge.criteria if c in human.criteria):
        verdict: dict[tuple[str, frozenset[str]], tuple[str, float]] = {}
        for o in judge.outcomes:
            if o.criterion == c and o.value is not None:
                verdict[(o.id, frozenset((o.model, o.opponent)))] = (o.model, o.value)
        votes: dict[tuple[str, frozenset[str]], list[tuple[str, float]]] = {}
        for v in human.votes:
            key = (v.id, frozenset((v.model, v.opponent)))
            if v.criterion == c and key in verdict:
                model = verdict[key][0]
                votes.setdefault(key, []).append((v.annotator, v.value if v.model == model else 1.0 - v.value))
        with_each = [(verdict[k][1], value) for k, vs in votes.items() for _, value in vs]
        with_majority, split = [], 0
        for k, vs in votes.items():
            counts: dict[int, int] = {}
            for _, value in vs:
                counts[_side(value)] = counts.get(_side(value), 0) + 1
            top = max(counts.values())
            winners = [s for s, n in counts.items() if n == top]
            if len(winners) > 1:
                split += 1
            else:
                with_majority.append((verdict[k][1], 0.5 + winners[0] / 2))
        between = [(a[1], b[1]) for vs in votes.values() for a, b in combinations(vs, 2) if a[0] != b[0]]
        out.append({"criterion": c, "items": len(votes), "judge_human": _agreement(with_each),
                    "judge_majority": {**_agreement(with_majority), "split": split},
                    "human_human": _agreement(between)})
    return out
