"""`bench correlate` in bounded memory: long vectors sorted, not compared pair by pair; resamples drawn in chunks;
a shape that would take hours refused with a way out."""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest

from bench.correlation.levels import SYSTEM_RESAMPLED_MAX, correlate
from bench.errors import BenchError
from bench.stats.coefficients import PAIRWISE_MAX_N, coefficients


def _peak_mib(fn):
    tracemalloc.start()
    try:
        out = fn()
        return out, tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def _grid(docs: int, systems: int, seed: int = 0) -> tuple[dict, dict]:
    rng = np.random.default_rng(seed)
    quality = rng.normal(size=(docs, systems)) + np.linspace(0, 2, systems)
    return ({"metric": quality + rng.normal(scale=0.5, size=quality.shape)},
            {"relevance": np.clip(np.round(quality + 3), 1, 5)})


def test_many_systems_are_ranked_in_memory_that_grows_with_the_data():
    """2 documents x 4,000 systems: comparing every pair of systems held 16 million cells per array."""
    scores, ratings = _grid(2, 4_000)
    result, peak = _peak_mib(lambda: correlate(scores, ratings, n_resamples=50))
    assert peak < 48, f"{peak:.0f} MiB"
    summary = next(r for r in result.rows if r.level == "summary")
    stats = pytest.importorskip("scipy.stats")
    s, h = scores["metric"], ratings["relevance"]
    expected = np.mean([stats.kendalltau(s[d], h[d]).statistic for d in range(2)])
    assert summary.values["kendall"] == pytest.approx(expected, abs=1e-12)


def test_many_documents_and_resamples_are_drawn_a_chunk_at_a_time():
    """10,000 documents x 2 systems with 1,000 resamples: the draw of every resample at once was 80 MB of indices,
    and each statistic's resampled values as much again."""
    scores, ratings = _grid(10_000, 2, seed=1)
    _, peak = _peak_mib(lambda: correlate(scores, ratings, n_resamples=1_000))
    assert peak < 48, f"{peak:.0f} MiB"


def test_chunked_resamples_are_the_resamples_drawn_at_once(monkeypatch):
    """The intervals are those of one draw of every resample (tests/correlation/test_correlation_stats.py has
    them by hand on small grids); a chunk boundary inside the draw changes nothing but the order in which
    sums are taken."""
    import bench.correlation.grid_levels as grid_levels
    import bench.correlation.sample_level as sample_level

    scores, ratings = _grid(30, 12, seed=2)
    whole = correlate(scores, ratings, n_resamples=64, seed=5)
    assert not any(r.withheld for r in whole.rows)
    monkeypatch.setattr(grid_levels, "CHUNK_CELLS", 4 * 7 * 30)  # 7 resamples at a time
    monkeypatch.setattr(sample_level, "SAMPLE_CHUNK_CELLS", 360 * 5)  # 5 resamples of the 360 summaries
    chunked = correlate(scores, ratings, n_resamples=64, seed=5)
    assert [(r.metric, r.criterion, r.level, r.n, r.best) for r in chunked.rows] == \
        [(r.metric, r.criterion, r.level, r.n, r.best) for r in whole.rows]
    for a, b in zip(chunked.rows, whole.rows):
        for c in a.values:
            assert a.values[c] == b.values[c]
            assert a.ci[c] == pytest.approx(b.ci[c], abs=1e-12)


def test_sorted_and_pairwise_coefficients_agree_around_the_switch():
    rng = np.random.default_rng(3)
    for n in (PAIRWISE_MAX_N, PAIRWISE_MAX_N + 1, 300):
        x = rng.integers(0, 6, (4, n)).astype(float)
        y = x + rng.integers(0, 3, (4, n))
        x[rng.random(x.shape) < 0.1] = np.nan
        got = coefficients(x, y)
        stats = pytest.importorskip("scipy.stats")
        for row in range(4):
            keep = np.isfinite(x[row]) & np.isfinite(y[row])
            assert got["kendall"][row] == pytest.approx(stats.kendalltau(x[row][keep], y[row][keep]).statistic,
                                                        abs=1e-12)
            assert got["spearman"][row] == pytest.approx(stats.spearmanr(x[row][keep], y[row][keep]).statistic,
                                                         abs=1e-12)


def test_a_shape_that_would_take_hours_is_refused_with_a_way_out():
    systems = 100_000
    scores = {"rouge1": np.zeros((2, systems)), "rouge2": np.zeros((2, systems))}
    ratings = {"relevance": np.ones((2, systems)), "coherence": np.ones((2, systems))}
    with pytest.raises(BenchError) as info:
        correlate(scores, ratings, n_resamples=1_000)
    most = SYSTEM_RESAMPLED_MAX // (systems * 4)
    assert info.value.message == (
        "2 documents x 100,000 systems: the system-level bootstrap would rank 400,000,000 system means (1,000 "
        "resamples x 100,000 systems x 4 metric and criterion pairs), more than the 200,000,000 bench correlate "
        "ranks in a few minutes")
    assert f"ask for {most:,} resamples or fewer (--resamples" in info.value.hint
    result = correlate({"metric": np.arange(20.0).reshape(2, 10)}, {"relevance": np.ones((2, 10))}, n_resamples=10)
    assert all(math.isnan(r.values["kendall"]) for r in result.rows)  # constant ratings: undefined, not refused


def test_a_grid_of_documents_no_two_systems_share_is_refused_before_scoring(tmp_path):
    """4,000 documents, each summarised by two systems of its own: a 32-million-cell grid for 8,000 summaries."""
    import json

    from bench.correlation import correlate_ratings
    from bench.correlation.levels import GRID_MAX

    path = tmp_path / "diagonal.jsonl"
    path.write_text("".join(json.dumps({"id": f"d{k}", "system": f"s{k}-{j}", "prediction": "a summary",
                                        "references": ["a reference"], "ratings": {"relevance": 3}}) + "\n"
                            for k in range(4_000) for j in range(2)), encoding="utf-8")
    with pytest.raises(BenchError) as info:
        correlate_ratings([path])
    assert info.value.message == (f"4,000 documents x 8,000 systems: a grid of 32,000,000 cells for 8,000 rated "
                                  f"summaries, more than bench correlate holds ({GRID_MAX:,})")
    assert "keep the documents that several systems summarised" in info.value.hint


def test_one_summary_per_document_is_pooled_whatever_the_systems(tmp_path):
    """4,000 systems each summarising a document of its own: no grid of 16 million cells, the sample level only."""
    import json

    from bench.correlation import correlate_ratings

    path = tmp_path / "diagonal.jsonl"
    path.write_text("".join(json.dumps({"id": f"d{k}", "system": f"s{k}", "prediction": "a summary",
                                        "references": ["a reference"], "ratings": {"relevance": k % 5},
                                        "scores": {"m": k % 7}}) + "\n" for k in range(4_000)), encoding="utf-8")
    rated, result = _peak_mib(lambda: correlate_ratings([path], n_resamples=20))[0]
    assert result.levels == ("sample",) and rated.pooled and result.documents == 4_000
    assert [r.level for r in result.rows] == ["sample"] and result.rows[0].n == 4_000
