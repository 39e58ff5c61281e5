"""Kendall's tau-b, Spearman's rho, Pearson's r and ROC AUC of many bootstrap resamples at once, from draw counts.

A resample of n units drawn with replacement is the vector of how often each unit was drawn
(`bench.stats.bootstrap.resample_counts_by_unit`: column i is the draw of row i of
``rng.integers(0, n, (R, n))``). The coefficients of a resample are those of the drawn values, each unit
repeated as often as it was drawn: what `bench.stats.coefficients.coefficients` (and scipy) give on the drawn
vectors. Here they come from the counts alone. Every vector is sorted once; a resample is a column of
weights over that one order, so nothing is gathered by resample or sorted again, and what one vector needs
(its ranks, its sums) is computed once for every vector it is paired with.

With w the counts, W their sum over the units a pair has both values of, and a tie group of c drawn values
(the copies of one unit are always tied with each other):

- Kendall's tau-b = (n0 - t_x - t_y + t_xy - 2 n_d) / sqrt((n0 - t_x) (n0 - t_y)) (Knight, 1966): n0 =
  W (W - 1) / 2 pairs; t_x, t_y and t_xy the pairs tied in x, in y and in both (sum of c (c - 1) / 2); n_d
  the discordant pairs, the weighted inversions of y's ranks with the units in x's order (ties in x by y),
  counted one bit of y's ranks at a time: a radix partition whose arrangement depends on the values only,
  worked out once, so that each resample only adds its weights (one pass over the units per bit);
- Spearman's rho: Pearson's r of the average ranks, weighted by w (a tie group of c drawn values above b
  others has rank b + (c + 1) / 2, and the ranks average (W + 1) / 2);
- Pearson's r: from the weighted sums of x, y, x^2, y^2 and xy (matrix products), the values centred on
  their means and scaled by their largest deviation first;
- ROC AUC of scores x for labels y in {0, 1} (ties count one half): 1 - (n_d + (t_x - t_xy) / 2) / (W_1 W_0),
  the discordant pairs being the positives scored below a negative, and t_x - t_xy the pairs of a positive
  and a negative with equal scores.

A coefficient is undefined (nan) where the resample holds fewer than two values or either side is constant on
it (for the AUC: no positive or no negative). The numbers equal `coefficients` on the drawn vectors to
rounding, and the AUC scikit-learn's `roc_auc_score` (tests/stats/test_resampled_coefficients.py).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

import numpy as np

from bench.stats.coefficients import COEFFICIENTS

class ResampledCoefficients:
    """The coefficients between every x and every y of named vectors over the same n units, on resamples.

    `xs` and `ys` map names to vectors of n values (nan: missing; a unit missing either side of a pair is left
    out of that pair). The y names in `binary` hold labels 0 and 1: their pairs give ``roc_auc`` (x the
    score), the others ``kendall``, ``spearman`` and ``pearson``; `pairs`, when given, limits them to those
    (x, y) pairs. Building one sorts each vector once; a call
    with counts (n x R) costs a few passes over them per vector and per pair, and one per bit of y's distinct
    values for Kendall's discordant pairs.
    """

    def __init__(self, xs: Mapping[str, np.ndarray], ys: Mapping[str, np.ndarray], *,
                 binary: Collection[str] = (), pairs: Collection[tuple[str, str]] | None = None) -> None:
        xs = {k: np.asarray(v, dtype=np.float64).reshape(-1) for k, v in xs.items()}
        ys = {k: np.asarray(v, dtype=np.float64).reshape(-1) for k, v in ys.items()}
        sizes = {v.size for v in [*xs.values(), *ys.values()]}
        if len(sizes) > 1:
            raise ValueError(f"vectors of different lengths: {sorted(sizes)}")
        self.n = sizes.pop() if sizes else 0
        by_mask: dict[bytes, list[tuple[str, str]]] = {}
        masks: dict[bytes, np.ndarray] = {}
        for a, x in xs.items():
            for b, y in ys.items():
                if pairs is not None and (a, b) not in pairs:
                    continue
                mask = np.isfinite(x) & np.isfinite(y)
                key = mask.tobytes()
                masks.setdefault(key, mask)
                by_mask.setdefault(key, []).append((a, b))
        self.groups = [_Group(masks[key], xs, ys, pairs, set(binary)) for key, pairs in by_mask.items()]
        # the narrowest integers that hold every count and running sum (a resample draws n units in all)
        for group in self.groups:
            group.int_type = np.int16 if self.n < 2**15 else np.int32 if self.n < 2**31 else np.int64
            group.wide = np.int32 if self.n < 46_341 else np.int64  # holds a count times a running sum

    def __call__(self, counts: np.ndarray) -> dict[tuple[str, str], dict[str, np.ndarray]]:
        """(x name, y name) -> coefficient name -> one value per resample; `counts` is (n units x R resamples)."""
        counts = np.asarray(counts, dtype=np.float64)
        out: dict[tuple[str, str], dict[str, np.ndarray]] = {}
        for group in self.groups:
            out.update(group(counts))
        return out


class _Sorted:
    """One vector on a group's units: its order, its tie groups, and its values centred and scaled."""

    def __init__(self, values: np.ndarray) -> None:
        self.order = np.argsort(values, kind="stable")
        s = values[self.order]
        new = np.ones(s.size, dtype=bool)
        new[1:] = s[1:] != s[:-1]
        self.starts = np.flatnonzero(new)
        self.ties = self.starts.size < s.size
        self.group_of_position = np.cumsum(new) - 1
        self.group = np.empty(s.size, dtype=np.int64)  # each unit's tie group (its dense rank)
        self.group[self.order] = self.group_of_position
        centred = values - values.mean() if values.size else values
        scale = np.abs(centred).max(initial=0.0)
        self.centred = centred / scale if scale > 0 else centred


class _Pair:
    """What a pair needs beyond its two vectors: the units in x's order (ties by y), whether some units are
    tied in both, and the arrangement of each bit of the weighted inversion count."""

    def __init__(self, x: np.ndarray, y: np.ndarray, ry: _Sorted) -> None:
        order = np.lexsort((y, x))
        xs, ys = x[order], y[order]
        same = (xs[1:] == xs[:-1]) & (ys[1:] == ys[:-1])
        self.joint_starts = np.flatnonzero(np.concatenate([[True], ~same])) if same.any() else None
        self.order = order
        self.levels = _radix_levels(order, ry.group[order])


class _Group:
    """The pairs whose two vectors are present on the same units."""

    def __init__(self, mask: np.ndarray, xs: Mapping[str, np.ndarray], ys: Mapping[str, np.ndarray],
                 pairs: list[tuple[str, str]], binary: set[str]) -> None:
        self.units = np.flatnonzero(mask)
        self.all_units = self.units.size == mask.size
        self.size = self.units.size
        names_x = list(dict.fromkeys(a for a, _ in pairs))
        names_y = list(dict.fromkeys(b for _, b in pairs))
        self.x = {a: _Sorted(xs[a][self.units]) for a in names_x}
        self.y = {b: _Sorted(ys[b][self.units]) for b in names_y}
        self.binary = {b for b in names_y if b in binary}
        self.pairs = {(a, b): _Pair(xs[a][self.units], ys[b][self.units], self.y[b]) for a, b in pairs}
        # Pearson's cross products of the centred values
        self.products = {(a, b): self.x[a].centred * self.y[b].centred for a, b in pairs if b not in self.binary}
        self.int_type: type = np.int64
        self.wide: type = np.int64

    def __call__(self, counts: np.ndarray) -> dict[tuple[str, str], dict[str, np.ndarray]]:
        r = counts.shape[1]
        if counts.shape[0] != self.units.size and self.all_units:
            raise ValueError(f"counts of {counts.shape[0]} units for vectors of {self.units.size}")
        w = counts if self.all_units else counts[self.units]
        if self.size < 2:
            nan = np.full(r, np.nan)
            return {p: ({"roc_auc": nan} if p[1] in self.binary else {c: nan for c in COEFFICIENTS})
                    for p in self.pairs}
        w_int = w.astype(self.int_type)
        total = w.sum(axis=0)
        pairs_all = total * (total - 1) / 2
        tied_units = _tied(w)  # copies of one unit: tied in both sides of every pair
        middle = (total + 1) / 2
        sides_y = {b: self._side(self.y[b], w, middle) for b in self.y}
        out: dict[tuple[str, str], dict[str, np.ndarray]] = {}
        for a, rx in self.x.items():
            side_x = self._side(rx, w, middle, for_x=True)
            for b, ry in self.y.items():
                pair = self.pairs.get((a, b))
                if pair is None:
                    continue
                side_y = sides_y[b]
                tied_both = tied_units if pair.joint_starts is None else \
                    _tied(np.add.reduceat(w[pair.order], pair.joint_starts, axis=0))
                discordant = _weighted_inversions(w_int, pair.levels, self.wide)
                with np.errstate(invalid="ignore", divide="ignore"):
                    if b in self.binary:
                        ones = side_y["weights"][-1] if ry.starts.size == 2 else np.zeros(r)
                        both = ones * (total - ones)
                        auc = 1 - (discordant + (side_x["tied"] - tied_both) / 2) / both
                        out[(a, b)] = {"roc_auc": np.where(both > 0, auc, np.nan)}
                        continue
                    untied_x, untied_y = pairs_all - side_x["tied"], pairs_all - side_y["tied"]
                    defined = (untied_x > 0) & (untied_y > 0)
                    kendall = (untied_x - side_y["tied"] + tied_both - 2 * discordant) / np.sqrt(untied_x * untied_y)
                    spearman = self._rank_products(side_x, side_y, ry) / np.sqrt(side_x["ranks2"] * side_y["ranks2"])
                    sxy = _weigh(self.products[(a, b)], w) - side_x["sum"] * side_y["sum"] / total
                    pearson = sxy / np.sqrt(side_x["squares"] * side_y["squares"])
                out[(a, b)] = {c: np.where(defined, np.clip(v, -1.0, 1.0), np.nan)
                               for c, v in (("kendall", kendall), ("spearman", spearman), ("pearson", pearson))}
        return out

    def _side(self, s: _Sorted, w: np.ndarray, middle: np.ndarray, for_x: bool = False) -> dict[str, np.ndarray]:
        """One vector's share of every pair, per resample: tie-group weights, pairs tied, the weighted ranks (as
        deviations from their mean) and their sum of squares, the sum of its values and of their squares'
        deviations; for an x, each unit's weight times its rank in x's order too."""
        placed = np.take(w, s.order, axis=0)
        weights = np.add.reduceat(placed, s.starts, axis=0) if s.ties else placed
        ranks = _running_sum(weights) - weights / 2 + (0.5 - middle)
        side = {"weights": weights, "tied": _tied(weights), "ranks": ranks,
                "ranks2": np.einsum("ij,ij,ij->j", weights, ranks, ranks)}
        total = 2 * middle - 1
        values = s.centred[s.order][s.starts]
        with np.errstate(invalid="ignore", divide="ignore"):
            side["sum"] = _weigh(values, weights)
            side["squares"] = _weigh(values * values, weights) - side["sum"] * side["sum"] / total
        if for_x:
            side["weighted_ranks"] = placed * (np.take(ranks, s.group_of_position, axis=0) if s.ties else ranks)
            side["order"] = s.order
        return side

    def _rank_products(self, side_x: dict, side_y: dict, ry: _Sorted) -> np.ndarray:
        """Per resample, the sum over the drawn values of (x's rank - mean) (y's rank - mean)."""
        return np.einsum("ij,ij->j", side_x["weighted_ranks"],
                         np.take(side_y["ranks"], ry.group[side_x["order"]], axis=0))


def _running_sum(w: np.ndarray, leading_zero: bool = False) -> np.ndarray:
    """np.cumsum(w, axis=0) in w's type (after a row of zeros when `leading_zero`)."""
    if not leading_zero:
        return np.cumsum(w, axis=0, dtype=w.dtype)
    out = np.empty((w.shape[0] + 1, w.shape[1]), dtype=w.dtype)
    out[0] = 0
    np.cumsum(w, axis=0, dtype=w.dtype, out=out[1:])
    return out


def _weigh(v: np.ndarray, w: np.ndarray) -> np.ndarray:
    """v @ w without BLAS: many small products, whose BLAS threads would spin between calls on a shared machine."""
    return np.einsum("i,ij->j", v, w)


def _tied(w: np.ndarray) -> np.ndarray:
    """Per resample (column), the pairs of drawn values within each group (row): sum of c (c - 1) / 2."""
    return np.einsum("ij,ij->j", w, w - 1) / 2


def _radix_levels(units: np.ndarray, ranks: np.ndarray) -> list[tuple[np.ndarray, ...]]:
    """The arrangement of each bit of the weighted inversion count of `ranks` (non-negative integers, one per
    position; `units` says which unit stands at each position).

    From the highest bit down, the positions stay grouped by their higher bits, each group in its order (a
    stable partition, as a radix sort keeps them). At each bit, a position whose bit is 0 is inverted with
    every position before it in its group whose bit is 1. For each bit: the units whose bit is 1, in order;
    the units whose bit is 0 and that have such a position before them in their group, in order; for each of
    those, how many 1s stand before it (an index into the running sum of the 1s' weights); and, by group,
    where those units' runs start and how many 1s stand before the group. None of it depends on the weights.
    """
    g = ranks.size
    levels = []
    arrangement = np.arange(g)
    group_start = np.zeros(g, dtype=np.int64)
    for bit in range(max(1, int(ranks.max(initial=0)).bit_length()) - 1, -1, -1):
        one = ((ranks[arrangement] >> bit) & 1).astype(bool)
        ones_before = np.cumsum(one) - one  # 1s before each position
        lo = ones_before[group_start]
        zero = np.flatnonzero(~one & (ones_before > lo))
        if zero.size:
            runs = np.flatnonzero(np.concatenate([[True], group_start[zero][1:] != group_start[zero][:-1]]))
            lo_runs = lo[zero][runs]
            levels.append((units[arrangement[one]], units[arrangement[zero]], ones_before[zero],
                           runs if lo_runs.any() else None, lo_runs))
        order = np.lexsort((np.arange(g), one, group_start))  # each group: its 0s, then its 1s
        arrangement = arrangement[order]
        key = group_start[order] * 2 + one[order]
        new = np.ones(g, dtype=bool)
        new[1:] = key[1:] != key[:-1]
        group_start = np.maximum.accumulate(np.where(new, np.arange(g), 0))
    return levels


def _weighted_inversions(w: np.ndarray, levels, wide: type) -> np.ndarray:
    """Per column of integer weights over the units, the sum of w_i w_j over the pairs of positions i < j whose
    ranks are inverted (`_radix_levels`): per bit, each 0's weight times the 1s' weights before it in its
    group, that is the running sum of the 1s' weights up to it, less the same before its group (by group:
    the 0s' weights summed there, times the running sum where the group starts)."""
    out = np.zeros(w.shape[1], dtype=np.int64)
    for ones, zeros, hi, runs, lo in levels:
        before = _running_sum(np.take(w, ones, axis=0), leading_zero=True)
        weights = np.take(w, zeros, axis=0)
        out += np.einsum("ij,ij->j", weights, np.take(before, hi, axis=0), dtype=np.int64)
        if runs is not None:
            by_group = np.add.reduceat(weights, runs, axis=0, dtype=wide)
            out -= np.einsum("ij,ij->j", by_group, np.take(before, lo, axis=0), dtype=np.int64)
    return out.astype(np.float64)
