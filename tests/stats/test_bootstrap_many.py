"""Several bootstrap intervals from one draw: the numbers of one `bootstrap_ci` per vector, exactly."""

from __future__ import annotations

import numpy as np
import pytest

from bench.stats import bootstrap
from bench.stats.bootstrap import bootstrap_ci, bootstrap_cis, resample_means, resample_means_many


def one_draw_means(x: np.ndarray, n_resamples: int, seed: int) -> np.ndarray:
    """The definition: row i of one `default_rng(seed).integers(0, n, (n_resamples, n))` draw, averaged."""
    idx = np.random.default_rng(seed).integers(0, x.size, size=(n_resamples, x.size))
    return x[idx].mean(axis=1)


@pytest.mark.parametrize("n", [2, 7, 3001, 9000])
def test_each_row_is_its_own_resample_means(n):
    rows = np.random.default_rng(n).uniform(0, 100, size=(3, n))
    many = resample_means_many(rows, n_resamples=700, seed=4)
    for r in range(3):
        assert np.array_equal(many[r], resample_means(rows[r], n_resamples=700, seed=4))
        assert np.array_equal(many[r], one_draw_means(rows[r], 700, 4))


def test_blocks_that_straddle_chunks_change_nothing(monkeypatch):
    x = np.random.default_rng(1).normal(size=(2, 1234))
    expected = [one_draw_means(x[r], 300, 9) for r in range(2)]
    # chunks of 81 resamples, blocks of 7: neither divides the other nor 300
    monkeypatch.setattr(bootstrap, "CHUNK_CELLS", 1234 * 81)
    monkeypatch.setattr(bootstrap, "_BLOCK_CELLS", 1234 * 7)
    many = resample_means_many(x, n_resamples=300, seed=9)
    assert all(np.array_equal(many[r], expected[r]) for r in range(2))


def test_bootstrap_cis_equals_one_bootstrap_ci_per_vector():
    rng = np.random.default_rng(0)
    values = {"rouge1": rng.uniform(0, 100, 500), "rouge2": rng.uniform(0, 100, 500), "one": [3.0],
              "empty": [], "other_length": rng.uniform(0, 1, 80), "constant": [5.0] * 500}
    got = bootstrap_cis(values, seed=3, n_resamples=400)
    assert list(got) == list(values)
    for name, v in values.items():
        expected = bootstrap_ci(v, seed=3, n_resamples=400)
        assert got[name] == expected or (np.isnan(expected).all() and np.isnan(got[name]).all())


def test_resample_means_many_refuses_what_it_cannot_resample():
    with pytest.raises(ValueError):
        resample_means_many(np.empty((2, 0)))
    with pytest.raises(ValueError):
        resample_means_many([1.0, 2.0])
