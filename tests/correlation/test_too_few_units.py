"""No confident statistics from too few units: below `MIN_UNITS` documents (summary level), systems (system
level) or summaries (sample level), a value keeps no interval, no paired test and no best mark, and the output
says why; at 30 units everything is there."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bench.correlation.levels import MIN_UNITS, correlate
from bench.correlation.render import json_data, render_markdown, render_table

LEVEL_UNITS = {"summary": "documents", "system": "systems", "sample": "summaries"}


def shaped(level: str, n: int, seed: int = 0) -> tuple[dict, dict]:
    """A grid with n units at `level` (and plenty at the others): n documents x 12 systems, 40 documents x n
    systems, or n documents with one summary each."""
    docs, systems = {"summary": (n, 12), "system": (40, n), "sample": (n, 1)}[level]
    rng = np.random.default_rng(seed)
    quality = rng.normal(size=(docs, systems)) + np.linspace(0, 3, systems)
    ratings = {"relevance": np.clip(np.round(quality + rng.normal(scale=0.3, size=quality.shape) + 3), 1, 5)}
    scores = {"good": quality + rng.normal(scale=0.1, size=quality.shape), "noise": rng.normal(size=quality.shape)}
    return scores, ratings


@pytest.mark.parametrize("n", [1, 2, 3, 30])
@pytest.mark.parametrize("level", ["summary", "system", "sample"])
def test_intervals_tests_and_best_marks_need_enough_units(level, n):
    scores, ratings = shaped(level, n)
    levels = ("sample",) if level == "sample" else ("summary", "system", "sample")
    result = correlate(scores, ratings, n_resamples=200, levels=levels)
    rows = [r for r in result.rows if r.level == level]
    data = json_data(result, source="f", layout="ratings")
    note = [x for x in data["notes"] if x.startswith(f"{level} level") and f"fewer than {MIN_UNITS}" in x]
    paired = [p for p in result.paired if p.level == level]
    if n < MIN_UNITS:
        assert all(r.withheld and r.best == () for r in rows)
        assert all(np.isnan(r.ci[c]).all() for r in rows for c in r.ci)
        assert paired == []
        fewest = min(r.n for r in rows)  # the units a row has (a document with constant ratings has no coefficient)
        unit = LEVEL_UNITS[level] if fewest != 1 else {"summaries": "summary"}.get(LEVEL_UNITS[level],
                                                                                    LEVEL_UNITS[level][:-1])
        assert len(note) == 1 and f" {fewest} {unit}, fewer than {MIN_UNITS}" in note[0], data["notes"]
        assert all(row["ci"]["kendall"] is None and row["withheld"] for row in data["rows"] if row["level"] == level)
        if level == "summary" and n >= 1:  # a document's coefficient is still shown
            assert all(np.isfinite(r.values["kendall"]) for r in rows)
    else:
        assert not any(r.withheld for r in rows) and note == []
        assert all(np.isfinite(r.ci["kendall"]).all() for r in rows)
        assert paired and "kendall" in next(r for r in rows if r.metric == "good").best
    assert data["min_units"] == MIN_UNITS


def test_two_documents_print_no_interval_no_test_and_no_best_in_any_format():
    """The case that was confident: two rated documents, a metric 'best' on an interval of one point."""
    scores, ratings = shaped("summary", 2, seed=3)
    result = correlate(scores, ratings, n_resamples=300, levels=("summary", "system"))
    table = render_table(result, source="f", to_terminal=False)
    summary_part = table.split("Kendall tau-b, system level")[0]
    assert "too few for a CI" in summary_part and "[" not in summary_part.split("Kendall tau-b, summary")[1]
    assert "*" not in summary_part.split("Kendall tau-b, summary")[1]
    assert "bootstrap p" not in summary_part.split("Kendall tau-b, summary")[1]
    assert "note: summary level: 2 documents, fewer than 10: no interval, no paired test and no best mark" in \
        " ".join(table.split())
    md = render_markdown(result, source="f")
    summary_md = md.split("## Kendall tau-b, system level")[0]
    assert "**" not in summary_md.split("## Kendall tau-b, summary level")[1]
    assert "Best against second best" not in summary_md


def test_the_json_of_the_cli_says_so_too(in_tmp, cli):
    rows = [{"id": f"d{d}", "system": f"s{k}", "prediction": "p", "references": ["r"], "ratings": {"relevance": k + d},
             "scores": {"a": k + 0.1 * d, "b": (k * 7) % 5}} for d in range(2) for k in range(12)]
    (in_tmp / "r.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    code, out, err = cli("correlate", "r.jsonl", "-f", "json", "--resamples", "100")
    assert code == 0, err
    data = json.loads(out)
    summary = [r for r in data["rows"] if r["level"] == "summary"]
    assert summary and all(r["withheld"] and r["ci"]["kendall"] is None and r["best"] == [] for r in summary)
    assert not [p for p in data["paired"] if p["level"] == "summary"]
    assert any("summary level: 2 documents, fewer than 10" in n for n in data["notes"])
    assert "summary level: 2 documents, fewer than 10" in err  # the notes of --format json go to stderr too
    system = [r for r in data["rows"] if r["level"] == "system"]
    assert all(not r["withheld"] and r["ci"]["kendall"] is not None for r in system)  # 12 systems
