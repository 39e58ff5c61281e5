"""`bench compare`: tables from hand-made run records, paired statistics against hand-computed cases."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.comparison.flips import Prediction, flipped_examples
from bench.comparison.render_data import json_rows
from bench.comparison.render_markdown import render_markdown
from bench.comparison.select import SPEED, find_run_files, select
from bench.comparison.paired import (
    PERMUTATION_RESAMPLES, compare_section, discordant, mcnemar_exact, paired_bootstrap_ci, permutation_test,
)
from hand_made_runs import make_run  # noqa: F401  (the other comparison tests import it from here)


@pytest.fixture
def two_models(tmp_path):
    make_run(tmp_path, model="a", scores={"rouge1": [10, 20, 30], "rouge2": [0, 0, 30]}, examples_per_s=100.0)
    make_run(tmp_path, model="b", scores={"rouge1": [40, 50, 60], "rouge2": [0, 0, 0]}, examples_per_s=10.0,
             run_id="20260101T000000Z-000002")
    return tmp_path


# ------------------------------------------------------------------ tables


def test_rows_from_known_numbers_best_first(two_models):
    sections = select([two_models])
    assert len(sections) == 1
    rows = json_rows(sections)
    assert [r["model"] for r in rows] == ["b", "a"]  # sorted by the first metric, best first
    b, a = rows
    assert b == {"task": "news", "model": "b", "run": "20260101T000000Z-000002", "n": 3,
                 "metrics": {"rouge1": 50.0, "rouge2": 0.0}, "ci": {"rouge1": [40.0, 60.0], "rouge2": [0.0, 0.0]},
                 "examples_per_s": 10.0, "task_hash": "hash-1",
                 "signatures": {"rouge1": "rouge1|nrefs:1|stem:porter|agg:mean|bench:0.1.0",
                                "rouge2": "rouge2|nrefs:1|stem:porter|agg:mean|bench:0.1.0"},
                 "directions": {"rouge1": "higher", "rouge2": "higher"},
                 "section": {"title": "news", "index": 1, "of": 1, "reference": None}}
    assert a["metrics"] == {"rouge1": 20.0, "rouge2": 10.0}
    assert sections[0].best == {"rouge1": 50.0, "rouge2": 10.0, SPEED: 100.0}


def test_markdown_marks_best_per_column_in_bold(two_models):
    md = render_markdown(select([two_models]))
    line_b = next(line for line in md.splitlines() if line.startswith("| b |"))
    line_a = next(line for line in md.splitlines() if line.startswith("| a |"))
    assert "**50.00** [40.00, 60.00]" in line_b and "| 0.00 [0.00, 0.00]" in line_b and "| 10.0 |" in line_b
    assert "| 20.00 [10.00, 30.00]" in line_a and "**10.00** [0.00, 30.00]" in line_a and "**100.0**" in line_a
    assert "mean over examples (rates x100), 95% bootstrap CI" in md
    assert "`rouge1|nrefs:1|stem:porter|agg:mean|bench:0.1.0`" in md


def test_plain_table_marks_best_with_a_star(two_models, cli):
    code, out, err = cli("compare", two_models)
    assert code == 0, err
    assert "mean over examples (rates x100), 95% bootstrap CI; * best in column" in out
    cells = {line.split("│")[1].strip(): [c.strip() for c in line.split("│")[3:-1]]
             for line in out.splitlines() if line.startswith("│ a ") or line.startswith("│ b ")}
    assert cells == {"b": ["50.00*", "0.00", "10.0"], "a": ["20.00", "10.00*", "100.0*"]}


def test_single_run_has_no_best_marks(tmp_path):
    make_run(tmp_path, model="a", scores={"rouge1": [10, 20]})
    (s,) = select([tmp_path])
    assert s.best == {}
    assert not [line for line in render_markdown([s]).splitlines() if line.startswith("| a") and "**" in line]


def test_latest_run_by_default_every_run_with_all_runs(tmp_path, cli):
    make_run(tmp_path, model="a", scores={"rouge1": [10, 20]}, run_id="20260101T000000Z-aaaaaa")
    make_run(tmp_path, model="a", scores={"rouge1": [30, 40]}, run_id="20260102T000000Z-000000")
    make_run(tmp_path, model="b", scores={"rouge1": [0, 0]}, run_id="20260101T000000Z-bbbbbb")
    latest = json.loads(cli("compare", tmp_path, "--format", "json")[1])
    assert {(r["model"], r["run"]) for r in latest} == {("a", "20260102T000000Z-000000"),
                                                        ("b", "20260101T000000Z-bbbbbb")}
    every = json.loads(cli("compare", tmp_path, "--format", "json", "--all-runs")[1])
    assert len(every) == 3 and {r["run"] for r in every} >= {"20260101T000000Z-aaaaaa"}


def test_latest_within_the_same_second_is_the_last_written(tmp_path):
    first = make_run(tmp_path, model="a", scores={"rouge1": [1]}, run_id="20260101T000000Z-ffffff")
    second = make_run(tmp_path, model="a", scores={"rouge1": [2]}, run_id="20260101T000000Z-000000")
    os.utime(first / "results.json", ns=(1_000_000_000, 1_000_000_000))
    os.utime(second / "results.json", ns=(2_000_000_000, 2_000_000_000))
    assert [r["run"] for r in json_rows(select([tmp_path]))] == ["20260101T000000Z-000000"]


def test_filters_by_task_model_and_metric(tmp_path, cli):
    make_run(tmp_path, model="a", scores={"rouge1": [10], "rouge2": [5]})
    make_run(tmp_path, model="b", scores={"rouge1": [20], "rouge2": [5]}, run_id="20260101T000000Z-000002")
    make_run(tmp_path, model="q", task="qa", scores={"exact_match": [100]}, run_id="20260101T000000Z-000003")
    rows = json.loads(cli("compare", tmp_path, "-f", "json", "--model", "a", "--metric", "rouge2")[1])
    assert rows == [{"task": "news", "model": "a", "run": "20260101T000000Z-000001", "n": 1,
                     "metrics": {"rouge2": 5.0}, "ci": {"rouge2": [5.0, 5.0]}, "examples_per_s": 10.0,
                     "task_hash": "hash-1", "signatures": {"rouge2": "rouge2|nrefs:1|stem:porter|agg:mean|bench:0.1.0"},
                     "directions": {"rouge2": "higher"},
                     "section": {"title": "news", "index": 1, "of": 1, "reference": None}}]
    rows = json.loads(cli("compare", tmp_path, "-f", "json", "--task", "qa")[1])
    assert [r["model"] for r in rows] == ["q"]


@pytest.mark.parametrize("option,value,expected", [
    ("--model", "lead3", "no run has model 'lead3'"),
    ("--task", "nws", "Did you mean 'news'?"),
    ("--metric", "rouge3", "no run has metric 'rouge3'"),
    ("--baseline", "aa", "no run of baseline model 'aa'"),
])
def test_unknown_names_are_one_clear_error(two_models, cli, option, value, expected):
    code, out, err = cli("compare", two_models, option, value)
    assert code == 2 and out == ""
    assert expected in err and "Traceback" not in err


# ------------------------------------------------------ kept-apart columns


def test_differing_signatures_are_kept_apart_with_a_note(tmp_path, cli):
    make_run(tmp_path, model="a", scores={"rouge1": [10, 20]}, stem="porter")
    make_run(tmp_path, model="c", scores={"rouge1": [0, 20]}, stem="porter", run_id="20260101T000000Z-000003")
    make_run(tmp_path, model="b", scores={"rouge1": [90, 90]}, stem="none", run_id="20260101T000000Z-000002")
    sections = select([tmp_path])
    assert [[r.model for r in s.runs] for s in sections] == [["a", "c"], ["b"]]  # the larger table first
    assert [s.title for s in sections] == ["news (table 1 of 2)", "news (table 2 of 2)"]
    assert sections[0].note is None
    note = sections[1].note
    assert note is not None and "stem:none (first table: stem:porter)" in note and "rouge1" in note
    assert sections[0].best["rouge1"] == 15.0 and sections[1].best == {}  # 90 is not "best" over other settings
    code, out, err = cli("compare", tmp_path, "--format", "md")
    assert code == 0 and "stem:none (first table: stem:porter)" in out
    (line_b,) = [line for line in out.splitlines() if line.startswith("| b |")]
    assert "90.00 [90.00, 90.00]" in line_b and "**" not in line_b
    code, out, err = cli("compare", tmp_path, "--format", "json")
    assert code == 0 and len(json.loads(out)) == 3 and "stem:none (first table: stem:porter)" in err


def test_differing_task_hash_and_size_are_kept_apart(tmp_path):
    make_run(tmp_path, model="a", scores={"rouge1": [10, 20]}, task_hash="h-one")
    make_run(tmp_path, model="d", scores={"rouge1": [10, 20]}, task_hash="h-one", run_id="20260101T000000Z-000004")
    make_run(tmp_path, model="b", scores={"rouge1": [10, 20]}, task_hash="h-two", run_id="20260101T000000Z-000002")
    make_run(tmp_path, model="c", scores={"rouge1": [10, 20, 30]}, task_hash="h-one", run_id="20260101T000000Z-3")
    first, *others = select([tmp_path])
    assert {r.model for r in first.runs} == {"a", "d"} and first.note is None
    notes = {next(iter(s.runs)).model: s.note for s in others}
    assert notes["b"] == ("Kept apart from the first table of this task: task hash h-two (first table: h-one): "
                          "the task definition or its examples changed.")
    assert notes["c"] == "Kept apart from the first table of this task: 3 examples (first table: 2; e.g. a run with --limit)."


def test_the_same_model_with_other_settings_keeps_its_latest_comparable_run(tmp_path):
    make_run(tmp_path, model="a", scores={"rouge1": [10]}, stem="porter", run_id="20260101T000000Z-000001")
    make_run(tmp_path, model="b", scores={"rouge1": [20]}, stem="porter", run_id="20260101T000000Z-000002")
    make_run(tmp_path, model="a", scores={"rouge1": [30]}, stem="none", run_id="20260102T000000Z-000003")
    first, second = select([tmp_path])
    assert {r.run_id for r in first.runs} == {"20260101T000000Z-000001", "20260101T000000Z-000002"}
    assert [r.run_id for r in second.runs] == ["20260102T000000Z-000003"]


# ------------------------------------------------------------- statistics


def test_permutation_test_hand_computed():
    # signs of (1, 2, 3): sums 6, 4, 2, 0, 0, -2, -4, -6; |sum| >= 6 in 2 of 8
    assert permutation_test([1, 2, 3]) == (0.25, True)
    # (3, -1, 2) sums 4, -2, 6, 0, 0, -6, 2, -4: 4 of 8 reach |4|; the 0 changes nothing
    assert permutation_test([3, -1, 2, 0]) == (0.5, True)
    assert permutation_test([100.0] * 10) == (2 / 1024, True)


def test_permutation_test_identical_runs_give_p_one():
    assert permutation_test([0.0] * 5) == (1.0, True)
    assert permutation_test([0.0] * 200) == (1.0, False)


def test_permutation_test_monte_carlo_is_seeded():
    d = np.random.default_rng(0).normal(1.0, 10.0, size=300)
    p1, exact = permutation_test(d, seed=7)
    assert not exact and permutation_test(d, seed=7)[0] == p1
    assert 1 / (PERMUTATION_RESAMPLES + 1) <= p1 <= 1
    # a clear win over many examples: no random sign vector reaches the observed mean
    assert permutation_test([25.0] * 300) == (1 / (PERMUTATION_RESAMPLES + 1), False)


def test_mcnemar_exact_hand_computed():
    # b=1, c=9: 2 * (C(10,0) + C(10,1)) / 2^10 = 22/1024
    assert mcnemar_exact(1, 9) == pytest.approx(22 / 1024, rel=1e-12)
    assert mcnemar_exact(9, 1) == pytest.approx(22 / 1024, rel=1e-12)
    assert mcnemar_exact(0, 6) == pytest.approx(2 / 64, rel=1e-12)
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(5, 5) == 1.0
    # large counts stay finite and exact to rounding: b=c+1 is close to 1
    assert 0.9 < mcnemar_exact(5000, 5001) <= 1.0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from([0.0, 100.0]), min_size=1, max_size=12).flatmap(
    lambda a: st.tuples(st.just(a), st.lists(st.sampled_from([0.0, 100.0]), min_size=len(a), max_size=len(a)))))
def test_exact_sign_flip_test_equals_mcnemar_on_binary_scores(pair):
    a, b = np.array(pair[0]), np.array(pair[1])
    counts = discordant(a, b)
    p, exact = permutation_test(b - a)
    assert exact and p == pytest.approx(mcnemar_exact(*counts), rel=1e-9)


def test_paired_bootstrap_ci():
    assert paired_bootstrap_ci([0.0] * 7) == (0.0, 0.0)
    assert paired_bootstrap_ci([2.5] * 7) == (2.5, 2.5)
    d = np.random.default_rng(1).normal(3.0, 5.0, size=200)
    lo, hi = paired_bootstrap_ci(d, seed=3)
    assert paired_bootstrap_ci(d, seed=3) == (lo, hi)
    assert lo < d.mean() < hi
    # about mean +- 1.96 * sd / sqrt(n)
    half = 1.96 * d.std(ddof=1) / math.sqrt(d.size)
    assert lo == pytest.approx(d.mean() - half, abs=0.25 * half)
    assert hi == pytest.approx(d.mean() + half, abs=0.25 * half)


def _pair(root: Path, base_scores, other_scores, metric="rouge1"):
    make_run(root, model="base", scores={metric: base_scores})
    make_run(root, model="other", scores={metric: other_scores}, run_id="20260101T000000Z-000002")
    (s,) = select([root])
    return compare_section(s, "base")


def test_identical_runs_zero_difference_p_one(tmp_path):
    c = _pair(tmp_path, [10, 35, 60, 0, 100], [10, 35, 60, 0, 100])
    (p,) = c.results
    assert (p.diff, p.ci, p.p_value, p.n) == (0.0, (0.0, 0.0), 1.0, 5)
    assert not p.significant


def test_clear_win_is_significant(tmp_path):
    c = _pair(tmp_path, [0.0] * 20, [100.0] * 20)
    (p,) = c.results
    assert p.diff == 100.0 and p.ci == (100.0, 100.0)
    assert p.p_value < 0.001 and p.significant
    assert (p.baseline_mean, p.mean) == (0.0, 100.0)


def test_exact_match_gets_mcnemar(tmp_path):
    base = [100.0] * 1 + [0.0] * 9 + [100.0] * 5
    other = [0.0] * 1 + [100.0] * 9 + [100.0] * 5  # b = 1, c = 9
    (p,) = _pair(tmp_path, base, other, metric="exact_match").results
    assert p.mcnemar == (1, 9)
    assert p.mcnemar_p == pytest.approx(22 / 1024, rel=1e-12)
    assert p.p_value == pytest.approx(22 / 1024, rel=1e-12)  # exact sign-flip test, n = 15


def test_paired_uses_only_shared_examples(tmp_path):
    make_run(tmp_path, model="base", scores={"rouge1": [10, 20, 30]}, ids=["x", "y", "z"])
    make_run(tmp_path, model="other", scores={"rouge1": [50, 20, 99]}, ids=["x", "y", "w"],
             run_id="20260101T000000Z-000002")
    (s,) = select([tmp_path])
    (p,) = compare_section(s, "base").results
    assert p.n == 2 and p.diff == pytest.approx(20.0) and (p.baseline_mean, p.mean) == (15.0, 35.0)


def test_baseline_in_cli_md_and_table(tmp_path, cli):
    _pair(tmp_path, [0.0] * 20, [100.0] * 20)
    code, out, err = cli("compare", tmp_path, "--baseline", "base", "--format", "md")
    assert code == 0, err
    line = next(x for x in out.splitlines() if x.startswith("| other | rouge1 ↑ |"))
    assert "| 20 | 0.00 | 100.00 | **+100.00** | [+100.00, +100.00] | <0.0001 |" in line and "**yes**" in line
    assert "paired permutation test" in out and "95% paired bootstrap CI" in out
    code, out, err = cli("compare", tmp_path, "--baseline", "base")
    assert code == 0 and "paired comparison with base" in out and "+100.00" in out


def test_flipped_examples_ordered_by_difference():
    base = {i: Prediction(i, f"b{i}", ("r",), {"f1": s}) for i, s in zip("abcd", (100.0, 0.0, 50.0, 20.0))}
    other = {i: Prediction(i, f"o{i}", ("r",), {"f1": s}) for i, s in zip("abcd", (0.0, 0.0, 90.0, 20.0))}
    flips = flipped_examples(base, other, "f1", 10)
    assert [(f.id, f.diff) for f in flips] == [("a", -100.0), ("c", 40.0)]
    assert (flips[0].baseline_prediction, flips[0].prediction) == ("ba", "oa")
    assert [f.id for f in flipped_examples(base, other, "f1", 1)] == ["a"]


def test_examples_option_prints_flips(tmp_path, cli):
    make_run(tmp_path, model="base", scores={"rouge1": [10, 20, 30]}, predictions=["p0", "p1", "p2"])
    make_run(tmp_path, model="other", scores={"rouge1": [10, 80, 0]}, predictions=["q0", "q1", "q2"],
             run_id="20260101T000000Z-000002")
    code, out, err = cli("compare", tmp_path, "--baseline", "base", "--examples", "5")
    assert code == 0, err
    assert "Examples where other and base differ most on rouge1" in out
    assert out.index("ex1  rouge1: base 20.00 -> other 80.00 (+60.00)") < out.index("ex2  rouge1")
    assert "ex0  rouge1" not in out and "other: q1" in out and "base: p1" in out
    code, _, err = cli("compare", tmp_path, "--examples", "3", "--format", "json")
    assert code == 2 and "--examples" in err


# ----------------------------------------------------------- formats


def test_csv_and_json_parse_back_to_the_same_numbers(tmp_path, cli):
    rng = np.random.default_rng(5)
    for k, model in enumerate(("a", "b", "c")):
        make_run(tmp_path, model=model, scores={m: list(rng.uniform(0, 100, 7)) for m in ("rouge1", "rougeL")},
                 examples_per_s=float(rng.uniform(1, 1000)), run_id=f"20260101T000000Z-00000{k}")
    code, out_json, _ = cli("compare", tmp_path, "--format", "json")
    code2, out_csv, _ = cli("compare", tmp_path, "--format", "csv")
    assert code == code2 == 0
    rows = json.loads(out_json)
    table = list(csv.DictReader(io.StringIO(out_csv)))
    assert len(table) == 2 * len(rows)
    by = {(t["run"], t["metric"]): t for t in table}
    for r in rows:
        for m, v in r["metrics"].items():
            t = by[(r["run"], m)]
            assert float(t["value"]) == v
            assert [float(t["ci_lo"]), float(t["ci_hi"])] == r["ci"][m]
            assert float(t["examples_per_s"]) == r["examples_per_s"]
            assert int(t["n"]) == r["n"] and t["model"] == r["model"] and t["task"] == r["task"]


def test_json_rows_have_exactly_the_documented_keys(two_models, cli):
    rows = json.loads(cli("compare", two_models, "--format", "json")[1])
    assert all(list(r) == ["task", "model", "run", "n", "metrics", "ci", "examples_per_s", "task_hash", "signatures",
                           "directions", "section"] for r in rows)
    assert all(list(r["section"]) == ["title", "index", "of", "reference"] for r in rows)


def test_json_and_csv_rows_of_tables_that_must_not_be_compared_can_be_told_apart(tmp_path, cli):
    # stemmed vs unstemmed, another task hash, another size: four tables of one task
    make_run(tmp_path, model="a", scores={"rouge1": [10, 20]}, stem="porter")
    make_run(tmp_path, model="b", scores={"rouge1": [30, 20]}, stem="porter", run_id="20260101T000000Z-000002")
    make_run(tmp_path, model="c", scores={"rouge1": [90, 90]}, stem="none", run_id="20260101T000000Z-000003")
    make_run(tmp_path, model="d", scores={"rouge1": [50, 50]}, task_hash="hash-2", run_id="20260101T000000Z-000004")
    make_run(tmp_path, model="e", scores={"rouge1": [50]}, run_id="20260101T000000Z-000005")
    code, out, err = cli("compare", tmp_path, "--format", "json")
    assert code == 0, err
    rows = {r["model"]: r for r in json.loads(out)}
    keys = {m: (r["task_hash"], tuple(sorted(r["signatures"].items())), r["n"]) for m, r in rows.items()}
    assert keys["a"] == keys["b"] and len({keys[m] for m in "acde"}) == 4
    assert rows["c"]["signatures"]["rouge1"] == "rouge1|nrefs:1|stem:none|agg:mean|bench:0.1.0"
    assert rows["d"]["task_hash"] == "hash-2"
    sections = {m: (r["section"]["title"], r["section"]["index"]) for m, r in rows.items()}
    assert sections["a"] == sections["b"] == ("news (table 1 of 4)", 1)
    assert len({sections[m] for m in "acde"}) == 4 and all(r["section"]["of"] == 4 for r in rows.values())
    # the runs' own files agree with the rows
    for m, r in rows.items():
        record = json.loads(next(tmp_path.glob(f"news/{m}/*/results.json")).read_text())
        assert r["task_hash"] == record["task_hash"] and r["signatures"] == record["signatures"]
    # CSV: task_hash and signature on every (run, metric) line
    table = list(csv.DictReader(io.StringIO(cli("compare", tmp_path, "--format", "csv")[1])))
    by_model = {t["model"]: t for t in table}
    for m, r in rows.items():
        assert by_model[m]["task_hash"] == r["task_hash"] and by_model[m]["signature"] == r["signatures"]["rouge1"]
    # and the Python API returns the same rows
    import bench

    assert bench.compare([tmp_path]) == json.loads(out)


def test_csv_and_json_with_baseline_carry_the_paired_numbers(tmp_path, cli):
    _pair(tmp_path, [0.0, 10.0, 20.0, 30.0], [5.0, 10.0, 40.0, 30.0])
    rows = json.loads(cli("compare", tmp_path, "--format", "json", "--baseline", "base")[1])
    other = next(r for r in rows if r["model"] == "other")
    base = next(r for r in rows if r["model"] == "base")
    assert "paired" not in base
    p = other["paired"]["rouge1"]
    assert p["diff"] == 6.25 and p["n"] == 4 and p["baseline"] == "base"
    # differences (5, 0, 20, 0): of the 16 sign vectors, the 8 with equal signs on 5 and 20 reach |25|
    assert p["p_value"] == 0.5 and p["p_exact"] is True
    table = list(csv.DictReader(io.StringIO(cli("compare", tmp_path, "-f", "csv", "--baseline", "base")[1])))
    t = next(t for t in table if t["model"] == "other")
    assert float(t["diff"]) == p["diff"] and float(t["p_value"]) == p["p_value"]
    assert [float(t["diff_ci_lo"]), float(t["diff_ci_hi"])] == p["ci"]


def test_output_file_is_written(two_models, cli, tmp_path):
    target = tmp_path / "out" / "table.md"
    code, out, err = cli("compare", two_models, "--format", "md", "--output", target)
    assert code == 0 and out == "" and "wrote" in err
    assert target.read_text().startswith("## news")
    assert not list(target.parent.glob(".*tmp*"))


def test_python_api_returns_the_json_rows(two_models, cli):
    import bench

    assert bench.compare([two_models]) == json.loads(cli("compare", two_models, "--format", "json")[1])
    rows = bench.compare([two_models], baseline="a")
    assert rows[0]["paired"]["rouge1"]["diff"] == 30.0


# ------------------------------------------------------------ errors


def test_malformed_results_json_is_one_error_naming_the_file(two_models, cli):
    bad = next(two_models.glob("news/a/*/results.json"))
    bad.write_text('{"schema_version": 1, "run_id": ')
    code, out, err = cli("compare", two_models)
    assert code == 2 and out == ""
    assert "results.json" in err and "not a valid results.json" in err and "Traceback" not in err


def test_newer_schema_is_one_error_naming_the_file(tmp_path, cli):
    make_run(tmp_path, model="a", scores={"rouge1": [1]}, schema_version=99)
    code, _, err = cli("compare", tmp_path)
    assert code == 2 and "schema_version 99" in err and "results.json" in err and "upgrade bench" in err


def test_missing_field_is_one_error(two_models, cli):
    path = next(two_models.glob("news/a/*/results.json"))
    record = json.loads(path.read_text())
    del record["signatures"]
    path.write_text(json.dumps(record))
    code, _, err = cli("compare", two_models)
    assert code == 2 and "no field 'signatures'" in err and str(path.name) in err


def test_damaged_predictions_named_with_line(two_models, cli):
    preds = next(two_models.glob("news/b/*/predictions.jsonl"))
    lines = preds.read_text().splitlines()
    lines[1] = "{not json"
    preds.write_text("\n".join(lines) + "\n")
    code, _, err = cli("compare", two_models, "--baseline", "a")
    assert code == 2 and "predictions.jsonl:2" in err and "Traceback" not in err


def test_no_runs_and_missing_directory(tmp_path, cli):
    code, _, err = cli("compare", tmp_path)
    assert code == 2 and "no runs" in err and "bench run" in err
    code, _, err = cli("compare", tmp_path / "nope")
    assert code == 2 and "no such results directory" in err


def test_runs_being_written_are_skipped(two_models):
    (two_models / "news" / "a" / ".tmp-20260101T000000Z-xyz").mkdir()
    (two_models / "news" / "a" / ".tmp-20260101T000000Z-xyz" / "results.json").write_text("{")
    assert len(find_run_files([two_models])) == 2


def test_plot_without_matplotlib_is_a_clear_error(two_models, cli, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    code, _, err = cli("compare", two_models, "--plot", tmp_path / "charts.png")
    assert code == 3 and "pip install 'bench[plot]'" in err and not (tmp_path / "charts.png").exists()


def test_plot_writes_a_png(two_models, cli, tmp_path):
    pytest.importorskip("matplotlib")
    code, _, err = cli("compare", two_models, "--plot", tmp_path / "charts.png")
    assert code == 0, err
    assert f"wrote {tmp_path / 'charts.png'}" in err
    assert (tmp_path / "charts.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ------------------------------------------------------------ end to end


def test_compare_imports_no_heavy_package(two_models):
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "bench", "compare", str(two_models)],
                          capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    imported = {line.split("|")[-1].strip().split(".")[0] for line in proc.stderr.splitlines() if "|" in line}
    assert not imported & {"torch", "transformers", "datasets", "evaluate"}


def test_two_bench_runs_then_compare(in_tmp, cli):
    for args in (("run", "--quiet"), ("run", "--quiet", "-m", "lead-3", "-m", "textrank")):
        code, _, err = cli(*args)
        assert code == 0, err
    code, md, err = cli("compare", "--format", "md")
    assert code == 0, err
    assert "## seed-summarization" in md and "## seed-qa" in md and "| lead-3 |" in md and "| textrank |" in md
    # the latest run of each pair only: 5 (task, model) pairs
    rows = json.loads(cli("compare", "--format", "json")[1])
    assert len(rows) == 5
    assert len(json.loads(cli("compare", "--format", "json", "--all-runs")[1])) == 9
    code, out, err = cli("compare", "--baseline", "lead-3", "--format", "md")
    assert code == 0, err
    assert "Paired comparison with lead-3 (seed-summarization)" in out and "| textrank | rougeLsum ↑ |" in out
    assert "No run of the baseline model in this table" in out  # seed-qa has no lead-3 run
    code, _, err = cli("compare", "--format", "html", "--output", "report.html")
    assert code == 0, err
    page = (in_tmp / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and page.count("<svg") >= 8
    assert (in_tmp / "results" / "leaderboard.md").exists() and (in_tmp / "results" / "leaderboard.csv").exists()


# ------------------------------------------------------------ --output and --plot that cannot be written


def _read_only_os_replace(monkeypatch):
    """The rename that puts a written file in place fails as on a read-only file system."""
    import errno

    import bench.io

    def refuse(src, dst):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(bench.io.os, "replace", refuse)


@pytest.mark.parametrize("option, name", [("--output", "table.md"), ("--plot", "charts.png")])
def test_a_destination_on_a_read_only_file_system_is_one_message_exit_3(two_models, cli, tmp_path, monkeypatch,
                                                                      option, name):
    if option == "--plot":
        pytest.importorskip("matplotlib")
    target = tmp_path / "out" / name
    target.parent.mkdir()
    _read_only_os_replace(monkeypatch)
    code, out, err = cli("compare", two_models, "--format", "md", option, target)
    assert code == 3 and "Traceback" not in err
    assert f"cannot write the {option} file: Read-only file system" in err and str(target) in err
    assert "nothing was written" in err and "wrote" not in err
    assert list(target.parent.iterdir()) == []  # nothing half-written, no temporary file left


@pytest.mark.parametrize("option, name", [("--output", "table.md"), ("--plot", "charts.png")])
def test_a_destination_without_write_permission_is_one_message_exit_3(two_models, cli, tmp_path, option, name):
    if option == "--plot":
        pytest.importorskip("matplotlib")
    if os.geteuid() == 0:  # root writes anywhere; /sys refuses new files even to root
        target = Path("/sys") / name
        try:
            target.write_text("")
        except OSError:
            pass
        else:
            target.unlink()
            pytest.skip("no directory this user cannot write to")
    else:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o555)
        target = locked / name
    before = sorted(os.listdir(target.parent))
    code, out, err = cli("compare", two_models, option, target)
    assert code == 3 and "Traceback" not in err and f"cannot write the {option} file" in err
    assert sorted(os.listdir(target.parent)) == before


@pytest.mark.parametrize("option, name", [("--output", "table.md"), ("--plot", "charts.png")])
def test_a_destination_below_a_file_or_that_is_a_directory_is_refused_before_anything_is_done(
        two_models, cli, tmp_path, option, name):
    (tmp_path / "a-file").write_text("x")
    (tmp_path / "a-dir" / name).mkdir(parents=True)
    for target, message in ((tmp_path / "a-file" / name, "a-file is a file, not a directory"),
                            (tmp_path / "a-file" / "deeper" / name, "a-file is a file, not a directory"),
                            (tmp_path / "a-dir" / name, f"{option} names a directory, not a file")):
        code, out, err = cli("compare", two_models, option, target)
        assert code == 2 and message in err and "Traceback" not in err and out == ""
    assert (tmp_path / "a-file").read_text() == "x" and list((tmp_path / "a-dir" / name).iterdir()) == []


# ------------------------------------------------------------ throughput only where the run measured it


def _set_record(run_dir: Path, **changes) -> None:
    path = run_dir / "results.json"
    record = json.loads(path.read_text())
    for key, value in changes.items():
        record[key] = {**record[key], **value}
    path.write_text(json.dumps(record))


@pytest.mark.parametrize("changes", [
    {"config": {"cache": {"key": "k", "reused": 3, "predicted": 0}}},  # every prediction from the cache (older record)
    {"timing": {"predicted": 0, "cached": 3}},  # the same, as timing records it
    {"config": {"rescored_from": "20260101T000000Z-000001"}},  # rescored: nothing predicted
])
def test_a_throughput_the_run_did_not_measure_is_not_shown_and_never_starred(tmp_path, cli, changes):
    make_run(tmp_path, model="a", scores={"rouge1": [10, 20, 30]}, examples_per_s=50.0)
    fast = make_run(tmp_path, model="b", scores={"rouge1": [40, 50, 60]}, examples_per_s=900.0,
                    run_id="20260101T000000Z-000002")
    make_run(tmp_path, model="c", scores={"rouge1": [0, 0, 30]}, examples_per_s=20.0, run_id="20260101T000000Z-000003")
    _set_record(fast, **changes)
    (s,) = select([tmp_path])
    assert {r.model: r.examples_per_s for r in s.runs} == {"a": 50.0, "b": None, "c": 20.0}
    assert s.best[SPEED] == 50.0
    rows = {r["model"]: r for r in json.loads(cli("compare", tmp_path, "--format", "json")[1])}
    assert rows["b"]["examples_per_s"] is None and rows["a"]["examples_per_s"] == 50.0
    md = cli("compare", tmp_path, "--format", "md")[1]
    assert "**50.0**" in md and "900" not in md


def test_a_run_that_predicted_some_examples_keeps_its_measured_throughput(tmp_path):
    run = make_run(tmp_path, model="a", scores={"rouge1": [10, 20, 30]}, examples_per_s=50.0)
    _set_record(run, timing={"predicted": 1, "cached": 2}, config={"cache": {"predicted": 1, "reused": 2}})
    (s,) = select([tmp_path])
    assert s.runs[0].examples_per_s == 50.0


# ------------------------------------------------------------ symbolic links under a results directory


def test_symlinked_folders_under_results_are_followed_once_and_loops_end(tmp_path, cli):
    elsewhere = tmp_path / "elsewhere"
    make_run(elsewhere, model="a", scores={"rouge1": [10, 20]})
    make_run(elsewhere, model="b", scores={"rouge1": [30, 40]}, task="other", run_id="20260101T000000Z-000002")
    make_run(tmp_path / "more", model="c", scores={"rouge1": [50, 60]}, run_id="20260101T000000Z-000003")
    results = tmp_path / "results"
    (results / "news").mkdir(parents=True)
    (results / "other").symlink_to(elsewhere / "other")  # a task folder that is a link
    (results / "news" / "a").symlink_to(elsewhere / "news" / "a")  # a model folder that is a link
    (results / "news" / "c").symlink_to(tmp_path / "more" / "news" / "c")
    (results / "news" / "a-again").symlink_to(elsewhere / "news" / "a")  # the same run twice: counted once
    (results / "news" / "loop").symlink_to(results)  # a loop back to the top
    (results / "news" / "self").symlink_to(results / "news")
    (results / "broken").symlink_to(tmp_path / "missing")
    (results / ".hidden").symlink_to(elsewhere)  # hidden folders stay skipped
    files = find_run_files([results])
    assert sorted(p.parent.parent.name for p in files) == ["a", "b", "c"]
    code, out, err = cli("compare", results, "--format", "json")
    assert code == 0, err
    assert sorted((r["task"], r["model"]) for r in json.loads(out)) == [("news", "a"), ("news", "c"), ("other", "b")]


def test_an_unreadable_results_folder_is_one_message(tmp_path, cli):
    if os.geteuid() == 0:
        pytest.skip("root reads every folder")
    make_run(tmp_path, model="a", scores={"rouge1": [10, 20]})
    locked = tmp_path / "news" / "locked"
    locked.mkdir()
    locked.chmod(0)
    try:
        code, _, err = cli("compare", tmp_path)
    finally:
        locked.chmod(0o755)
    assert code == 3 and "cannot read results folder" in err and "locked" in err


@pytest.mark.parametrize("fmt", ["md", "csv", "json", "html"])
def test_file_formats_printed_on_a_terminal_show_control_characters_written_out(tmp_path, cli, monkeypatch, fmt):
    payload = "m\x1b]0;pwned\x07\x1b[2J\x9b31m\u202eevil"
    make_run(tmp_path, model=payload, scores={"rouge1": [10, 20]}, predictions=["p\x1b[2J", "q"])
    make_run(tmp_path, model="base", scores={"rouge1": [30, 40]}, run_id="20260101T000000Z-000002")
    extra = ("--examples", "2") if fmt in ("md", "html") else ()
    code, piped, err = cli("compare", tmp_path, "--format", fmt, *extra)
    assert code == 0, err
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    code, shown, err = cli("compare", tmp_path, "--format", fmt, *extra)
    assert code == 0, err
    for raw in ("\x1b", "\x07", "\x9b", "\u202e"):
        assert raw not in shown
    # JSON escapes C0 controls itself (\u001b); everything else is written out by bench.errors.visible
    assert ("\\u001b]0;pwned\\u0007" if fmt == "json" else "\\x1b]0;pwned\\x07") in shown
    assert "\\u202eevil" in shown and "\\x9b31m" in shown
    if fmt in ("md", "csv", "html"):
        assert "\x1b" in piped  # a pipe or --output gets the file as it is


@pytest.mark.parametrize("kind", ["fifo", "directory", "broken link"])
def test_a_results_json_that_is_not_a_regular_file_is_one_message(tmp_path, cli, kind):
    make_run(tmp_path, model="a", scores={"rouge1": [10, 20]})
    odd = tmp_path / "news" / "b" / "20260101T000000Z-000009" / "results.json"
    odd.parent.mkdir(parents=True)
    if kind == "fifo":
        os.mkfifo(odd)
    elif kind == "directory":
        odd.mkdir()
    else:
        odd.symlink_to(tmp_path / "missing.json")
    code, out, err = cli("compare", tmp_path)
    expected = {"fifo": "not a regular file", "directory": "a directory", "broken link": "a broken symbolic link"}
    assert code == 2 and f"results.json is {expected[kind]}" in err and str(odd) in err and out == ""
    if kind == "fifo":  # named on the command line itself
        code, out, err = cli("compare", odd)
        assert code == 2 and "not a results directory, a run directory or a results.json" in err
