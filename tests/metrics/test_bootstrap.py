from __future__ import annotations

import numpy as np

from bench.metrics.bootstrap import bootstrap_ci


def test_seeded_interval_is_reproducible_and_brackets_the_mean():
    x = np.random.default_rng(0).uniform(0, 100, size=200)
    a = bootstrap_ci(x, seed=1)
    assert a == bootstrap_ci(x, seed=1)
    assert a != bootstrap_ci(x, seed=2)
    assert a[0] < x.mean() < a[1]
    # the 95% interval of a mean is about +-1.96 standard errors
    se = x.std(ddof=1) / np.sqrt(x.size)
    assert abs((a[1] - a[0]) - 2 * 1.96 * se) < 0.25 * (2 * 1.96 * se)


def test_degenerate_inputs():
    assert bootstrap_ci([42.0]) == (42.0, 42.0)
    assert bootstrap_ci([5.0, 5.0, 5.0]) == (5.0, 5.0)
    lo, hi = bootstrap_ci([])
    assert np.isnan(lo) and np.isnan(hi)
