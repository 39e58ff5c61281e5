"""The one bootstrap resampler: seeded, reproducible, the percentile interval of resample means."""

from __future__ import annotations

import re

import numpy as np
import pytest
from conftest import REPO

from bench.errors import BenchError
from bench.stats.bootstrap import (
    CHUNK_CELLS, DEFAULT_RESAMPLES, DEFAULT_SEED, bootstrap_ci, bootstrap_cis, percentile_interval, resample_means,
    resample_means_many,
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


@pytest.mark.parametrize("n", [2, 17, 1000, 20_000, 2**31 - 1])
def test_int32_draws_are_the_int64_draws(n):
    # bootstrap draws int32 indices: numpy draws any range below 2**32 with one 32-bit generator
    a = np.random.default_rng(12345).integers(0, n, size=(3, 1001))
    b = np.random.default_rng(12345).integers(0, n, size=(3, 1001), dtype=np.int32)
    assert np.array_equal(a, b)


@pytest.mark.parametrize("n", [1, 2, 7, 8, 9, 127, 128, 129, 1000, 8191, 8193, 20_011])
@pytest.mark.parametrize("k", [1, 4, 17])
def test_means_and_intervals_are_the_definition_s_bit_for_bit(n, k):
    # the intervals every results.json holds: numpy's x[r][idx].mean(axis=1) over one seeded draw (which bench's
    # C extension reproduced until it was removed), on values of every scale and sign
    rng = np.random.default_rng(n * 31 + k)
    x = rng.normal(size=(k, n)) * 10.0 ** rng.integers(-3, 4, size=(k, 1))
    idx = np.random.default_rng(DEFAULT_SEED).integers(0, n, size=(300, n))
    expected = np.stack([x[r][idx].mean(axis=1) for r in range(k)])
    assert np.array_equal(resample_means_many(x, n_resamples=300), expected)
    names = [f"m{r}" for r in range(k)]
    got = bootstrap_cis(dict(zip(names, x)), n_resamples=300)
    for r, name in enumerate(names):
        want = (float(x[r][0]),) * 2 if n == 1 else percentile_interval(expected[r])
        assert got[name] == want == bootstrap_ci(x[r], n_resamples=300)


@pytest.mark.parametrize("bad", [0, -1, 2.5, 1000.0, "1000", None, True, float("nan")])
def test_a_number_of_resamples_that_is_not_a_positive_whole_number_is_one_clear_error(bad):
    for call in (lambda: bootstrap_ci([1.0, 2.0, 3.0], n_resamples=bad),
                 lambda: bootstrap_ci([], n_resamples=bad),  # refused before it looks at the values
                 lambda: bootstrap_cis({"a": [1.0, 2.0], "b": [3.0]}, n_resamples=bad),
                 lambda: resample_means([1.0, 2.0], n_resamples=bad),
                 lambda: resample_means_many([[1.0, 2.0]], n_resamples=bad)):
        with pytest.raises(BenchError, match=r"bootstrap resamples must be 1 or more, got ") as e:
            call()
        assert repr(bad) in str(e.value) and "hint:" in str(e.value)
    assert bootstrap_ci([1.0, 2.0, 3.0], n_resamples=np.int64(5)) == bootstrap_ci([1.0, 2.0, 3.0], n_resamples=5)


@pytest.mark.parametrize("bad", [0, 1, 1.5, -0.5, float("nan"), "0.95", True])
def test_a_confidence_outside_0_to_1_is_one_clear_error(bad):
    for call in (lambda: bootstrap_ci([1.0, 2.0, 3.0], confidence=bad),
                 lambda: bootstrap_cis({"a": [1.0, 2.0]}, confidence=bad),
                 lambda: percentile_interval(np.arange(5.0), confidence=bad)):
        with pytest.raises(BenchError, match=r"confidence of a bootstrap interval must lie between 0 and 1"):
            call()
