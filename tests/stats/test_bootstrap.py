"""The one bootstrap resampler: seeded, reproducible, the percentile interval of resample means."""

from __future__ import annotations

import re

import numpy as np
import pytest
from conftest import REPO

from bench.stats.bootstrap import (
    CHUNK_CELLS, DEFAULT_RESAMPLES, DEFAULT_SEED, bootstrap_ci, percentile_interval, resample_means,
)


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


def test_resample_means_are_the_rows_of_one_seeded_draw_whatever_the_chunking():
    # 3001 examples: CHUNK_CELLS // 3001 = 666 resamples a chunk, so 1000 resamples take two chunks
    x = np.random.default_rng(0).normal(size=3001)
    means = resample_means(x, n_resamples=1000, seed=5)
    idx = np.random.default_rng(5).integers(0, x.size, size=(1000, x.size))
    assert CHUNK_CELLS // x.size < 1000
    assert np.array_equal(means, x[idx].mean(axis=1))


def test_resample_means_refuses_an_empty_vector():
    with pytest.raises(ValueError):
        resample_means([])


def test_bootstrap_ci_is_the_percentile_interval_of_the_resample_means():
    x = [3.0, 9.0, 1.0, 4.0]
    assert bootstrap_ci(x, seed=8) == percentile_interval(resample_means(x, seed=8))
    assert percentile_interval(np.arange(101.0), confidence=0.9) == pytest.approx((5.0, 95.0))


def test_resample_defaults_are_defined_in_one_module():
    """`DEFAULT_RESAMPLES` and `DEFAULT_SEED` exist once: every other module imports them."""
    defined = sorted(str(p.relative_to(REPO)) for p in (REPO / "bench").rglob("*.py")
                     if re.search(r"^\s*DEFAULT_(RESAMPLES|SEED)\s*[:=]", p.read_text(encoding="utf-8"), re.M))
    assert defined == ["bench/stats/bootstrap.py"]
    assert DEFAULT_RESAMPLES == 1000 and DEFAULT_SEED == 12345  # the values stored runs were computed with
