"""Reading predictions.jsonl through bench.io, and choosing the examples two runs score most differently."""

from __future__ import annotations

import json

import pytest
from test_compare import make_run

from bench.comparison.flips import (
    Prediction, is_prediction_row, prediction_from_row, read_predictions, run_predictions, section_flips,
)
from bench.comparison.select import baseline_run, check_baseline, select
from bench.errors import BenchError, BenchErrors
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
