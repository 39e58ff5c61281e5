"""What a study's answers say so far: progress, agreement, and each system's results with intervals.

- Progress: each annotator's pages answered (every criterion) of their pages.
- Agreement, per criterion: Krippendorff's alpha (interval metric,
  `bench.stats.agreement`) over the items, each annotator's first answer (a
  repeated page is not a second annotator); each annotator's agreement with the
  others (Pearson's r between their answer and the mean of the others' answers
  on the items they share) and with themselves on repeated pages (the share of
  identical answers and the mean absolute difference).
- Ratings: each system's mean rating (each summary's ratings averaged over its
  annotators first, then the mean over documents) with a percentile bootstrap
  interval over documents.
- Pairwise: a preference is coded 1 (the pair's first system, a), 0 (b) or 0.5
  (tie), the value alpha and the agreements use. Win rates, ties counted half,
  per system (against all it met) and per pair, over items (each item's
  judgments averaged first), with a bootstrap interval and a sign test
  (`bench.stats.preferences`); Bradley-Terry strengths with intervals over items
  (`bench.stats.bradley_terry`); and the share of (non-tie) preferences for the
  summary shown on the left, with a sign test against one half: position bias.

Every interval uses bench's bootstrap (`seed`, `n_resamples`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bench.annotation.storage import Study
from bench.stats.agreement import krippendorff_alpha_interval
from bench.stats.bootstrap import DEFAULT_RESAMPLES, DEFAULT_SEED, bootstrap_cis
from bench.stats.bradley_terry import bradley_terry_ci
from bench.stats.coefficients import pearson
from bench.stats.preferences import WinRate, sign_test, win_rate


@dataclass(frozen=True)
class Judgment:
    """One answer to one criterion on one page."""

    annotator: int
    item: int
    criterion: str
    value: float
    """The rating, or the coded preference: 1 for the item's system a, 0 for b, 0.5 for a tie."""
    repeat: bool
    left: str | None = None
    """Pairwise: "left", "right" or "tie", as the annotator saw it."""


def judgments(study: Study, answers: Sequence[tuple[int, str, str]]) -> list[Judgment]:
    """The answers (page id, criterion, answer) as judgments; pages' answers only when complete."""
    pages = {p.id: (k, p) for k, a in enumerate(study.annotators) for p in a.pages}
    per_page: dict[int, dict[str, str]] = {}
    for page, criterion, value in answers:
        per_page.setdefault(page, {})[criterion] = value
    out = []
    names = [c.name for c in study.criteria]
    for page_id, values in per_page.items():
        if page_id not in pages or any(c not in values for c in names):
            continue
        k, page = pages[page_id]
        for c in names:
            if study.pairwise:
                shown = values[c]
                side = {"A": "left", "B": "right"}.get(shown, "tie")
                coded = 0.5 if side == "tie" else float((side == "left") != page.flipped)
                out.append(Judgment(k, page.item, c, coded, page.repeat, side))
            else:
                out.append(Judgment(k, page.item, c, float(values[c]), page.repeat))
    return out


def _number(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def _interval(ci: Sequence[float]) -> list[float | None]:
    return [_number(ci[0]), _number(ci[1])]


def _rate(r: WinRate) -> dict[str, Any]:
    return {"rate": _number(r.rate), "ci": _interval(r.ci), "wins": r.wins, "losses": r.losses, "ties": r.ties,
            "n": r.n, "p": r.p}


def progress(study: Study, done: Mapping[int, int]) -> list[dict[str, Any]]:
    """Each annotator's answered pages (`done`: annotator id -> pages answered) of their pages."""
    return [{"annotator": a.name, "done": done.get(a.id, 0), "total": len(a.pages)} for a in study.annotators]


def analyse(study: Study, answers: Sequence[tuple[int, str, str]], *, seed: int = DEFAULT_SEED,
            n_resamples: int = DEFAULT_RESAMPLES) -> dict[str, Any]:
    """The statistics of `bench annotate status` and `export --format json` (JSON-ready; undefined is None)."""
    js = judgments(study, answers)
    first: dict[str, dict[tuple[int, int], float]] = {c.name: {} for c in study.criteria}
    again: dict[str, dict[tuple[int, int], float]] = {c.name: {} for c in study.criteria}
    for j in js:
        (again if j.repeat else first)[j.criterion][(j.item, j.annotator)] = j.value
    out: dict[str, Any] = {"agreement": [], "annotators": [], "notes": []}
    n_ann = len(study.annotators)
    for c in study.criteria:
        grid = np.full((len(study.items), n_ann), np.nan)
        for (item, k), v in first[c.name].items():
            grid[item, k] = v
        units = int((np.isfinite(grid).sum(axis=1) >= 2).sum())
        out["agreement"].append({"criterion": c.name, "alpha": _number(krippendorff_alpha_interval(grid)),
                                 "units": units, "answers": len(first[c.name])})
        for k, a in enumerate(study.annotators):
            out["annotators"].append({"annotator": a.name, "criterion": c.name,
                                      "others": _with_others(grid, k), "self": _with_self(first[c.name],
                                                                                          again[c.name], k)})
    if n_ann < 2:
        out["notes"].append("one annotator: agreement between annotators needs two or more")
    elif not any(a["units"] for a in out["agreement"]):
        out["notes"].append("no item has answers from two annotators yet: alpha is undefined")
    if study.pairwise:
        extra = _pairwise(study, js, first, seed, n_resamples)
        out["notes"] += extra.pop("notes")
        out.update(extra)
    else:
        out["means"] = _system_means(study, first, seed, n_resamples)
    out.update({"seed": seed, "resamples": n_resamples, "confidence": 0.95})
    return out


def _with_others(grid: np.ndarray, k: int) -> dict[str, Any]:
    """Pearson's r between annotator k's answers and the mean of the others' on the items both have."""
    others = np.delete(grid, k, axis=1)
    has_other = np.isfinite(others).any(axis=1)
    keep = np.isfinite(grid[:, k]) & has_other
    if not keep.any():
        return {"r": None, "n": 0}
    mean = np.nanmean(others[keep], axis=1)
    return {"r": _number(pearson(grid[keep, k], mean)), "n": int(keep.sum())}


def _with_self(first: Mapping[tuple[int, int], float], again: Mapping[tuple[int, int], float],
               k: int) -> dict[str, Any]:
    """How annotator k's answers on repeated pages compare with their first answers."""
    pairs = [(first[key], v) for key, v in again.items() if key[1] == k and key in first]
    if not pairs:
        return {"n": 0, "same": None, "mean_abs_diff": None}
    x = np.array(pairs)
    return {"n": len(pairs), "same": float((x[:, 0] == x[:, 1]).mean()),
            "mean_abs_diff": float(np.abs(x[:, 0] - x[:, 1]).mean())}


def _system_means(study: Study, first: Mapping[str, Mapping[tuple[int, int], float]], seed: int,
                  n_resamples: int) -> list[dict[str, Any]]:
    """Each system's mean rating per criterion, over the documents rated, with a bootstrap interval."""
    out = []
    for c in study.criteria:
        per_item: dict[int, list[float]] = {}
        for (item, _), v in first[c.name].items():
            per_item.setdefault(item, []).append(v)
        vectors = {}
        for s, name in enumerate(study.systems):
            vectors[name] = np.array([float(np.mean(v)) for item, v in sorted(per_item.items())
                                      if study.items[item].a == s])
        cis = bootstrap_cis(vectors, n_resamples=n_resamples, seed=seed)
        for name, v in vectors.items():
            out.append({"criterion": c.name, "system": name, "mean": _number(float(v.mean())) if v.size else None,
                        "ci": _interval(cis[name]), "n": int(v.size)})
    return out


def _pairwise(study: Study, js: Sequence[Judgment], first: Mapping[str, Mapping[tuple[int, int], float]],
              seed: int, n_resamples: int) -> dict[str, Any]:
    n = len(study.systems)
    rates, pairs, strengths, position, notes = [], [], [], [], []
    for c in study.criteria:
        per_item: dict[int, list[float]] = {}
        for (item, _), v in first[c.name].items():
            per_item.setdefault(item, []).append(v)
        items = sorted(per_item)
        outcome = {i: float(np.mean(per_item[i])) for i in items}
        for s, name in enumerate(study.systems):
            seen = [outcome[i] if study.items[i].a == s else 1.0 - outcome[i] for i in items
                    if s in (study.items[i].a, study.items[i].b)]
            rates.append({"criterion": c.name, "system": name,
                          **_rate(win_rate(seen, n_resamples=n_resamples, seed=seed))})
        for a, b in dict.fromkeys((study.items[i].a, study.items[i].b) for i in range(len(study.items))):
            seen = [outcome[i] for i in items if (study.items[i].a, study.items[i].b) == (a, b)]
            pairs.append({"criterion": c.name, "a": study.systems[a], "b": study.systems[b],
                          **_rate(win_rate(seen, n_resamples=n_resamples, seed=seed))})
        item_wins = np.zeros((len(items), n, n))
        for row, i in enumerate(items):
            it = study.items[i]
            item_wins[row, it.a, it.b] = sum(per_item[i])
            item_wins[row, it.b, it.a] = len(per_item[i]) - sum(per_item[i])
        bt = bradley_terry_ci(item_wins, n_resamples=n_resamples, seed=seed)
        for s, name in enumerate(study.systems):
            strengths.append({"criterion": c.name, "system": name,
                              "strength": None if bt.strengths is None else _number(bt.strengths[s]),
                              "ci": _interval(bt.ci[s])})
        sides = [j.left for j in js if j.criterion == c.name]
        left, right = sides.count("left"), sides.count("right")
        position.append({"criterion": c.name, "left": left / (left + right) if left + right else None,
                         "left_count": left, "right_count": right, "ties": sides.count("tie"),
                         "p": sign_test(left, right)})
        if (note := bt.note(bool(items))) is not None:
            notes.append(f"{c.name}: {note}")
    return {"win_rates": rates, "pairs": pairs, "bradley_terry": strengths, "position": position, "notes": notes}
