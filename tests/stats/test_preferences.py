"""Win rates with ties counted half, and the sign test, against hand-worked cases and scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats

from bench.comparison.paired import mcnemar_exact
from bench.stats.bootstrap import bootstrap_ci
from bench.stats.preferences import sign_test, win_rate


@pytest.mark.parametrize("wins, losses", [(0, 0), (1, 0), (5, 0), (3, 7), (10, 10), (40, 60), (0, 25), (400, 350)])
def test_sign_test_is_scipys_exact_binomial_test(wins, losses):
    expected = 1.0 if wins + losses == 0 else scipy.stats.binomtest(wins, wins + losses, 0.5).pvalue
    assert sign_test(wins, losses) == pytest.approx(expected, rel=1e-9)
    assert mcnemar_exact(wins, losses) == sign_test(wins, losses)


def test_sign_test_by_hand():
    assert sign_test(5, 0) == pytest.approx(2 / 32, rel=1e-12)  # both tails of Binomial(5, 1/2): 1/32 each
    assert sign_test(2, 1) == 1.0
    with pytest.raises(ValueError):
        sign_test(-1, 2)


def test_win_rate_counts_ties_half():
    r = win_rate([1, 0.5, 0, 1])
    assert r.rate == 0.625 and (r.wins, r.losses, r.ties, r.n) == (2, 1, 1, 4)
    assert r.p == sign_test(2, 1)
    assert r.ci == bootstrap_ci([1, 0.5, 0, 1])
    # item-level means: two annotators split (0.5) is a tie, both for (1) a win
    r = win_rate([1, 1, 1, 1, 1, 0.5, 0.75])
    assert (r.wins, r.losses, r.ties) == (6, 0, 1) and r.p == pytest.approx(2 / 64, rel=1e-12)
    assert r.rate == pytest.approx(6.25 / 7)


def test_no_comparisons_and_bad_outcomes():
    r = win_rate([])
    assert math.isnan(r.rate) and r.n == 0 and r.p == 1.0
    with pytest.raises(ValueError):
        win_rate([1.2])
    with pytest.raises(ValueError):
        win_rate([np.nan])
