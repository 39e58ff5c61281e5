"""Reading predictions.jsonl through bench.io, and choosing the examples two runs score most differently."""

from __future__ import annotations

import json

import pytest
from test_compare import make_run

from bench.comparison.flips import (
    Prediction, flipped_examples, prediction_from_row, read_predictions, run_predictions, section_flips,
)
from bench.comparison.select import baseline_run, check_baseline, select
from bench.errors import BenchError, BenchErrors
from bench.results.reading import is_prediction_row
from bench.results.store import DAMAGED


def _lines(run_dir) -> list[str]:
    return (run_dir / "predictions.jsonl").read_text(encoding="utf-8").splitlines()


def _write(run_dir, lines: list[str]) -> None:
    (run_dir / "predictions.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_read_predictions_gives_records_by_id(tmp_path):
    run = make_run(tmp_path, model="a", scores={"f1": [100.0, 25.0]}, predictions=["x", "y"])
    preds = read_predictions(run)
    assert preds == {"ex0": Prediction("ex0", "x", ("reference 0",), {"f1": 100.0}),
                     "ex1": Prediction("ex1", "y", ("reference 1",), {"f1": 25.0})}


def test_a_non_number_score_is_left_out_and_a_question_kept():
    row = {"id": "q1", "prediction": "1066", "references": ["1066", 1066], "scores": {"em": 100, "f1": None,
                                                                                    "ok": True},
           "question": "When?"}
    assert is_prediction_row(row)
    assert prediction_from_row(row) == Prediction("q1", "1066", ("1066", "1066"), {"em": 100.0}, "When?")
    assert not is_prediction_row({**row, "scores": []})


def test_every_damaged_line_is_named_with_its_line(tmp_path):
    run = make_run(tmp_path, model="a", scores={"f1": [1.0, 2.0, 3.0, 4.0]})
    lines = _lines(run)
    lines[1] = "{not json"
    lines[2] = json.dumps({"id": "ex0", "prediction": "p", "references": [], "scores": {}})  # a repeated id
    lines[3] = '{"id": "ex3", "prediction": "p", "references": [], "scores": {"f1": NaN}}'
    _write(run, lines)
    with pytest.raises(BenchErrors) as info:
        read_predictions(run)
    problems = info.value.errors
    assert [e.where.rsplit(":", 1)[1] for e in problems] == ["2", "3", "4"]
    assert "duplicate example id 'ex0'" in problems[1].message and "NaN" in problems[2].message
    assert all(e.hint == DAMAGED for e in problems)


def test_one_damaged_line_is_one_error(tmp_path):
    run = make_run(tmp_path, model="a", scores={"f1": [1.0, 2.0]})
    lines = _lines(run)
    lines[1] = json.dumps({"id": "ex1", "prediction": 5, "references": [], "scores": {}})
    _write(run, lines)
    with pytest.raises(BenchError) as info:
        read_predictions(run)
    assert not isinstance(info.value, BenchErrors)
    assert info.value.where.endswith("predictions.jsonl:2") and '"prediction": str' in info.value.message


def test_an_empty_file_is_a_count_mismatch(tmp_path):
    run = make_run(tmp_path, model="a", scores={"f1": [1.0, 2.0]})
    _write(run, [])
    with pytest.raises(BenchError, match="predictions.jsonl has 0 examples but its results.json says 2"):
        read_predictions(run)


def test_run_predictions_reads_each_run_once(tmp_path):
    make_run(tmp_path, model="a", scores={"f1": [1.0]})
    (s,) = select([tmp_path])
    cache: dict = {}
    first = run_predictions(s.runs[0], cache)
    (s.runs[0].path / "predictions.jsonl").unlink()
    assert run_predictions(s.runs[0], cache) is first and list(cache) == [s.runs[0].path]


@pytest.fixture
def three_models(tmp_path):
    make_run(tmp_path, model="base", scores={"f1": [100.0, 0.0, 50.0]}, run_id="20260101T000000Z-000001")
    make_run(tmp_path, model="good", scores={"f1": [100.0, 100.0, 50.0]}, run_id="20260101T000000Z-000002")
    make_run(tmp_path, model="same", scores={"f1": [100.0, 0.0, 50.0]}, run_id="20260101T000000Z-000003")
    return select([tmp_path])


def test_section_flips_against_the_baseline(three_models):
    out = section_flips(three_models, "base", [], 5)
    assert list(out) == [0]
    by_model = {run.model: (ref.model, [f.id for f in items]) for ref, run, items in out[0]}
    assert by_model == {"good": ("base", ["ex1"]), "same": ("base", [])}


def test_section_flips_without_a_baseline_use_the_best_run(three_models):
    out = section_flips(three_models, None, ["f1"], 5)
    assert {ref.model for ref, _, _ in out[0]} == {"good"}
    assert sorted(run.model for _, run, _ in out[0]) == ["base", "same"]


def test_section_flips_skip_sections_without_the_baseline_or_a_second_run(three_models, tmp_path):
    assert section_flips(three_models, "nobody", [], 5) == {}
    assert section_flips([s for s in select([tmp_path], models=["base"])], None, [], 5) == {}


def test_baseline_run_by_name_or_slug_and_a_clear_error_for_a_typo(three_models):
    (s,) = three_models
    assert baseline_run(s, "good").model == "good"
    assert baseline_run(s, "nobody") is None
    with pytest.raises(BenchError, match="no run of baseline model 'god' in the selection. Did you mean 'good'?"):
        check_baseline(three_models, "god")


# ------------------------------------------------------------ per-example scores agree with results.json


def _edit_scores(run_dir, edit) -> None:
    """Rewrite each line's scores object through `edit(line index, scores)`."""
    rows = [json.loads(line) for line in _lines(run_dir)]
    for k, row in enumerate(rows):
        edit(k, row["scores"])
    _write(run_dir, [json.dumps(r).replace("Infinity", "1e999") for r in rows])  # 1e999 parses to inf


def _set(k_line: int, name: str, value):
    def edit(k, scores):
        if k == k_line:
            scores[name] = value
    return edit


def _drop(k_line: int, name: str):
    def edit(k, scores):
        if k == k_line:
            del scores[name]
    return edit


def _scale(factor: float):
    def edit(k, scores):
        for name in scores:
            scores[name] *= factor
    return edit


@pytest.mark.parametrize("edit, where_line, message", [
    (_set(1, "rouge1", 99.0), False, "the per-example 'rouge1' scores average"),
    (_set(0, "rouge2", 41.0), False, "the per-example 'rouge2' scores average"),
    (_scale(0.01), False, "the per-example 'rouge1' scores average"),  # a 0..1 scale
    (_scale(3.0), True, "score 'rouge1' is 120.0, outside the metric's range 0..100"),
    (_drop(2, "rouge1"), True, "no 'rouge1' score (other lines have one)"),
    (_set(1, "rouge1", None), True, "score 'rouge1' is None, not a finite number"),
    (_set(1, "rouge1", "40"), True, "score 'rouge1' is '40', not a finite number"),
    (_set(2, "rouge1", 1e999), True, "score 'rouge1' is inf, not a finite number"),
    (_set(2, "rouge1", 10 ** 400), True, "score 'rouge1' is 10000000000000000000...00000000 (401 characters), not a"),
])
def test_per_example_scores_that_disagree_with_results_json_are_refused(tmp_path, cli, edit, where_line, message):
    make_run(tmp_path, model="base", scores={"rouge1": [10.0, 20.0, 50.0], "rouge2": [0.0, 5.0, 10.0]})
    other = make_run(tmp_path, model="other", scores={"rouge1": [40.0, 50.0, 60.0], "rouge2": [5.0, 5.0, 5.0]},
                     run_id="20260101T000000Z-000002")
    _edit_scores(other, edit)
    with pytest.raises(BenchError) as info:
        read_predictions(other)
    e = info.value
    assert e.message.startswith(message) and "predictions.jsonl" in e.where
    assert (e.where[-2] == ":") is where_line  # a line of its own names it
    assert "disagree" in e.hint
    if not where_line:
        assert "but results.json says" in e.message
    for args in (("--baseline", "base"), ("--examples", "2"), ("--baseline", "base", "--format", "json")):
        code, out, err = cli("compare", tmp_path, *args)
        assert code == 2 and out == "" and message in err and "predictions.jsonl" in err, (args, err)
        assert "Traceback" not in err
    assert cli("compare", tmp_path)[0] == 0  # the table alone reads no per-example scores


def test_the_reported_case_main_table_and_paired_table_cannot_disagree(tmp_path, cli):
    # results.json says 56.08 while the stored per-example scores were edited to 99.00
    make_run(tmp_path, model="base", scores={"rouge1": [50.0, 50.0]})
    other = make_run(tmp_path, model="other", scores={"rouge1": [56.08, 56.08]}, run_id="20260101T000000Z-000002")
    _edit_scores(other, lambda k, scores: scores.update(rouge1=99.0))
    code, out, err = cli("compare", tmp_path, "--baseline", "base", "--format", "md")
    assert code == 2 and "99.0" in err and "56.08" in err and "99.00" not in out


def test_per_example_scores_within_float_summation_order_are_accepted(tmp_path):
    values = [100 / 3, 200 / 3, 0.1, 0.2, 0.7]
    run = make_run(tmp_path, model="a", scores={"rouge1": values})
    _edit_scores(run, lambda k, scores: scores.update(rouge1=scores["rouge1"] + 1e-9))
    assert len(read_predictions(run)) == 5
    # a score only on predictions.jsonl (no results.json metric of that name) is checked per line only
    _edit_scores(run, lambda k, scores: scores.update(extra=1.0))
    assert read_predictions(run)["ex0"].scores["extra"] == 1.0


def test_differences_of_float_noise_are_no_difference(tmp_path, cli):
    base = {i: Prediction(i, f"b{i}", ("r",), {"f1": s}) for i, s in zip("abcd", (200 / 3, 50.0, 10.0, 0.1 + 0.2))}
    other = {i: Prediction(i, f"o{i}", ("r",), {"f1": s})
             for i, s in zip("abcd", (66.66666666666666, 50.0 + 1e-12, 10.001, 0.3))}
    assert [(f.id, round(f.diff, 6)) for f in flipped_examples(base, other, "f1", 10)] == [("c", 0.001)]
    # through the command: a run equal but for summation order shows no "differ most" rows of (-0.00)
    make_run(tmp_path, model="base", scores={"rouge1": [200 / 3, 0.1 + 0.2]}, predictions=["p0", "p1"])
    make_run(tmp_path, model="other", scores={"rouge1": [66.66666666666666, 0.3]}, predictions=["q0", "q1"],
             run_id="20260101T000000Z-000002")
    code, out, err = cli("compare", tmp_path, "--baseline", "base", "--examples", "5")
    assert code == 0, err
    assert "0.00)" not in out and "ex0" not in out and "ex1" not in out


def test_a_string_of_references_is_one_reference_here_too(tmp_path):
    run = make_run(tmp_path, model="a", scores={"f1": [100.0, 0.0]}, predictions=["Wednesday", "W"])
    rows = [json.loads(line) for line in _lines(run)]
    for r in rows:
        r["references"] = "Wednesday"
    _write(run, [json.dumps(r) for r in rows])
    preds = read_predictions(run)
    assert preds["ex0"].references == preds["ex1"].references == ("Wednesday",)
    assert prediction_from_row({"id": "x", "prediction": "p", "references": "ab", "scores": {}}).references == ("ab",)
