"""Bradley-Terry strengths against choix's maximum-likelihood estimate, hand-worked cases and the bootstrap."""

from __future__ import annotations

import math

import choix
import numpy as np
import pytest

from bench.stats.bootstrap import percentile_interval
from bench.stats.bradley_terry import bradley_terry, bradley_terry_ci, estimable, wins_matrix


def simulated(n: int, comparisons: int, seed: int) -> list[tuple[int, int]]:
    """(winner, loser) pairs drawn from a Bradley-Terry model with random strengths."""
    rng = np.random.default_rng(seed)
    true = rng.normal(size=n)
    out = []
    for _ in range(comparisons):
        i, j = rng.choice(n, 2, replace=False)
        out.append((int(i), int(j)) if rng.random() < 1 / (1 + math.exp(true[j] - true[i])) else (int(j), int(i)))
    return out


def choix_ml(n: int, data: list[tuple[int, int]]) -> np.ndarray:
    """choix's unpenalised maximum-likelihood estimate, shifted to mean 0 (choix's own scale)."""
    params = choix.opt_pairwise(n, data, alpha=0.0, tol=1e-12)
    return params - params.mean()


@pytest.mark.parametrize("n, comparisons, seed", [(2, 20, 0), (4, 60, 1), (7, 400, 2), (12, 1500, 3)])
def test_strengths_equal_choix_maximum_likelihood(n, comparisons, seed):
    data = simulated(n, comparisons, seed)
    w = wins_matrix([(i, j, 1.0) for i, j in data], n)
    assert estimable(w)
    ours = bradley_terry(w)
    assert abs(ours.mean()) < 1e-12
    np.testing.assert_allclose(ours, choix_ml(n, data), atol=1e-6)
    # choix's iterative Luce spectral ranking reaches the same point
    ilsr = choix.ilsr_pairwise(n, data, alpha=0.0, tol=1e-12)
    np.testing.assert_allclose(ours, ilsr - ilsr.mean(), atol=1e-6)


def test_a_tie_counts_half_a_win_each_way():
    # two systems: 3 wins, 1 loss and 2 ties is 4 wins to 2: theta_0 - theta_1 = log(4 / 2)
    w = wins_matrix([(0, 1, 1.0)] * 3 + [(0, 1, 0.0)] + [(0, 1, 0.5)] * 2, 2)
    assert w.tolist() == [[0.0, 4.0], [2.0, 0.0]]
    np.testing.assert_allclose(bradley_terry(w), [math.log(2) / 2, -math.log(2) / 2], atol=1e-12)
    # choix knows no ties: each comparison twice, a tie as one win each way, is the same likelihood doubled
    data = [(0, 1)] * 6 + [(1, 0)] * 2 + [(0, 1), (1, 0)] * 2
    np.testing.assert_allclose(bradley_terry(w), choix_ml(2, data), atol=1e-8)


def test_three_systems_worked_by_hand():
    # 0 beats 1 twice and loses once, 1 beats 2 twice and loses once, 2 beats 0 twice and loses once: a cycle,
    # every system equally strong
    w = wins_matrix([(0, 1, 1.0), (0, 1, 1.0), (0, 1, 0.0), (1, 2, 1.0), (1, 2, 1.0), (1, 2, 0.0),
                     (2, 0, 1.0), (2, 0, 1.0), (2, 0, 0.0)], 3)
    np.testing.assert_allclose(bradley_terry(w), [0, 0, 0], atol=1e-12)


def test_no_estimate_when_a_system_wins_every_comparison():
    w = wins_matrix([(0, 1, 1.0), (0, 2, 1.0), (1, 2, 1.0), (2, 1, 1.0)], 3)
    assert not estimable(w) and bradley_terry(w) is None
    # two groups never compared with each other
    w = wins_matrix([(0, 1, 1.0), (1, 0, 1.0), (2, 3, 1.0), (3, 2, 1.0)], 4)
    assert bradley_terry(w) is None
    # a tie is half a win each way: it joins the graph
    w = wins_matrix([(0, 1, 1.0), (0, 1, 0.5)], 2)
    assert bradley_terry(w) is not None


def test_bootstrap_resamples_items_as_bench_draws():
    n = 4
    data = simulated(n, 120, 5)
    items = np.stack([wins_matrix([(i, j, 1.0)], n) for i, j in data])
    result = bradley_terry_ci(items, n_resamples=200, seed=7)
    np.testing.assert_allclose(result.strengths, choix_ml(n, data), atol=1e-6)
    # by hand: resample r is row r of default_rng(seed).integers(0, I, (R, I)); each fitted by choix
    idx = np.random.default_rng(7).integers(0, len(data), size=(200, len(data)))
    fits = []
    for row in idx:
        sample = [data[k] for k in row]
        if estimable(wins_matrix([(i, j, 1.0) for i, j in sample], n)):
            fits.append(choix_ml(n, sample))
    assert result.undefined == 200 - len(fits)
    expected = np.array([percentile_interval(np.array(fits)[:, k]) for k in range(n)])
    np.testing.assert_allclose(result.ci, expected, atol=1e-5)
    assert np.all(result.ci[:, 0] <= result.strengths) and np.all(result.strengths <= result.ci[:, 1])
    again = bradley_terry_ci(items, n_resamples=200, seed=7)
    assert np.array_equal(again.ci, result.ci)


def test_resamples_without_an_estimate_are_counted_and_left_out():
    # system 0 beats 1 in 9 items of 10: some resamples hold only 0's wins
    items = np.stack([wins_matrix([(0, 1, 1.0)], 2)] * 9 + [wins_matrix([(1, 0, 1.0)], 2)])
    result = bradley_terry_ci(items, n_resamples=300, seed=1)
    np.testing.assert_allclose(result.strengths, [math.log(9) / 2, -math.log(9) / 2], atol=1e-10)
    # P(no item of 1's win among 10 draws) = 0.9^10 ~ 0.35
    assert 60 < result.undefined < 150
    assert np.all(np.isfinite(result.ci))


def test_bad_input_is_refused():
    with pytest.raises(ValueError):
        bradley_terry(np.array([[0.0, -1.0], [1.0, 0.0]]))
    with pytest.raises(ValueError):
        wins_matrix([(0, 0, 1.0)], 2)
    with pytest.raises(ValueError):
        wins_matrix([(0, 1, 1.5)], 2)
    assert bradley_terry_ci(np.zeros((0, 3, 3))).strengths is None
