"""Metrics as plug-ins: names, options, what a metric needs, and a user's metric through score, run and rescore."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal, Optional

import pytest

from bench.errors import BenchError
from bench.metrics import (METRICS, MetricInputs, MetricSpec, parse_metric_specs,
                           resolve_metric, short_name, split_metric_opts, well_formed)
from bench.metrics.metric_options import make_settings
from bench.metrics.scoring import score_examples

from conftest import REPO

SUMMARIES = [{"id": "a", "prediction": "the cat sat on the mat", "references": ["a cat sat"],
              "document": "The cat sat on the mat all day."},
             {"id": "b", "prediction": "dogs bark", "references": ["the dogs bark loudly", "dogs bark"],
              "document": "Dogs bark at night."}]


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


# ------------------------------------------------------------------ names and options


def test_split_and_parse_metric_options():
    assert split_metric_opts(["bertscore.layer=4", "bertscore.model=./a=b", "evaluate:./m.py.beta=2"]) == {
        "bertscore": {"layer": "4", "model": "./a=b"}, "evaluate:./m.py": {"beta": "2"}}
    specs = parse_metric_specs(["rouge", "evaluate:./metrics/my_metric.py", "judge:coherence", "judge:fluency"],
                               {"my_metric": {"x": "1"}, "judge": {"model": "openai:m"}})
    assert specs == [MetricSpec("rouge", {}), MetricSpec("evaluate:./metrics/my_metric.py", {"x": "1"}),
                     MetricSpec("judge:coherence", {"model": "openai:m"}),
                     MetricSpec("judge:fluency", {"model": "openai:m"})]
    # options for a task's own metric make a spec of it; for a metric asked for nowhere they are refused
    assert parse_metric_specs([], {"rouge": {"a": 1}}, also=["rouge"]) == [MetricSpec("rouge", {"a": 1})]
    with pytest.raises(BenchError, match="options for metric 'bertscore', which is not asked for"):
        parse_metric_specs(["rouge"], {"bertscore": {"layer": "4"}})
    assert short_name("evaluate:./metrics/my_metric.py") == "my_metric" and short_name("pkg.mod:Mine") == "Mine"


@pytest.mark.parametrize("name, ok", [("pkg.mod:Class", True), ("mod:Class", True), ("evaluate:accuracy", True),
                                      ("evaluate:./a b/m.py", True), ("evaluate:", False), ("mod:", False),
                                      ("a b:C", False), ("mod:Class.x", False), ("\x1b]8;;https://x:y", False)])
def test_well_formed_metric_names(name, ok):
    assert well_formed(name) is ok


@dataclass(frozen=True)
class _Options:
    layer: Optional[int] = None
    scale: float = 1.0
    idf: bool = False
    model: str = "roberta-large"
    mode: Literal["a", "b"] = "a"


def test_option_values_from_the_command_line_take_each_option_s_type():
    s = make_settings(_Options, "m", {"layer": "4", "scale": "2.5", "idf": "true", "model": "./enc", "mode": "b"})
    assert s == _Options(layer=4, scale=2.5, idf=True, model="./enc", mode="b")
    assert make_settings(_Options, "m", {"layer": "none", "idf": "off"}) == _Options(layer=None, idf=False)
    assert make_settings(_Options, "m", {"layer": 3, "scale": 2}) == _Options(layer=3, scale=2.0)  # from YAML


@pytest.mark.parametrize("settings, message", [
    ({"layers": "4"}, "metric 'm' has no option 'layers'"),
    ({"layer": "four"}, "option 'layer' must be an integer or none, got 'four'"),
    ({"idf": "maybe"}, "option 'idf' must be true or false, got 'maybe'"),
    ({"mode": "c"}, "option 'mode' must be 'a' or 'b', got 'c'"),
    ({"scale": True}, "option 'scale' must be a number, got True"),
])
def test_a_bad_option_is_one_clear_error(settings, message):
    with pytest.raises(BenchError, match=message.replace("(", r"\(").replace(")", r"\)")) as info:
        make_settings(_Options, "m", settings)
    assert info.value.hint


def test_resolving_names():
    assert resolve_metric("rouge") is METRICS.get("rouge")
    import user_metrics

    assert resolve_metric("user_metrics:LengthRatio") is user_metrics.LengthRatio
    with pytest.raises(BenchError, match="is not a metric class"):
        resolve_metric("user_metrics:NotAMetric")
    with pytest.raises(BenchError, match="has no attribute 'Missing'"):
        resolve_metric("user_metrics:Missing")
    with pytest.raises(BenchError, match="cannot import module 'no_such_module'"):
        resolve_metric("no_such_module:Metric")
    with pytest.raises(BenchError, match=r"unknown metric 'bleu'\."):
        resolve_metric("bleu")
    with pytest.raises(BenchError, match="Did you mean 'rouge'"):
        resolve_metric("rogue")


def test_an_entry_point_metric_is_found_by_its_name(tmp_path, monkeypatch):
    dist = tmp_path / "my_metrics-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: my-metrics\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[bench.metrics]\nratio = user_metrics:LengthRatio\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import user_metrics

    assert resolve_metric("ratio") is user_metrics.LengthRatio
    inputs = MetricInputs.of(["a b c d"], [["a b"]])
    assert score_examples(["ratio"], inputs).metrics == {"length_ratio": 2.0}


# ------------------------------------------------------------------ scoring


def test_a_user_metric_s_signatures_name_its_code_and_options_change_its_numbers():
    inputs = MetricInputs.of(["a b c d", "a"], [["a b"], ["a b"]])
    plain = score_examples(["user_metrics:LengthRatio"], inputs)
    assert plain.metrics == {"length_ratio": pytest.approx(1.25)}
    sig = plain.signatures["length_ratio"]
    assert "|code:" in sig and sig.startswith("length_ratio|scale:1|unit:word|agg:mean|code:")
    scaled = score_examples([MetricSpec("user_metrics:LengthRatio", {"scale": "4"})], inputs)
    assert scaled.metrics == {"length_ratio": pytest.approx(5.0)} and "|scale:4|" in scaled.signatures["length_ratio"]
    assert [d["length_ratio"] for d in plain.details] == [{"prediction_words": 4},
                                                                      {"prediction_words": 1}]


def test_bad_metric_results_are_refused_before_anything_is_written():
    inputs = MetricInputs.of(["a", "b"], [["a"], ["b"]])
    with pytest.raises(BenchError, match="metrics 'rouge' and 'user_metrics:ClashesWithRouge' both give a score "
                                         "named 'rouge1'"):
        score_examples(["rouge", "user_metrics:ClashesWithRouge"], inputs)
    with pytest.raises(BenchError, match="gave 1 values of 'short' for 2 examples"):
        score_examples(["user_metrics:WrongLength"], inputs)


def test_a_metric_that_needs_the_document_refuses_inputs_without_one():
    inputs = MetricInputs.of(["a"], [["a"]])
    with pytest.raises(BenchError, match="metric 'user_metrics:DocumentShare' needs each example's document"):
        score_examples(["user_metrics:DocumentShare"], inputs)
    assert score_examples(["user_metrics:DocumentShare"], MetricInputs.of(["a b"], [["a"]], documents=["A c"])
                          ).metrics == {"document_share": 50.0}


def test_a_corpus_value_has_no_ci():
    s = score_examples(["user_metrics:CorpusCount"], MetricInputs.of(["a", "a", "b"], [["a"]] * 3))
    assert s.metrics == {"distinct": 2.0} and s.ci == {"distinct": None} and s.per_example == [{}, {}, {}]


# ------------------------------------------------------------------ through the command line


def test_score_with_a_user_metric_and_its_options(in_tmp, cli):
    _write(in_tmp / "s.jsonl", SUMMARIES)
    code, out, err = cli("score", "s.jsonl", "--metric", "user_metrics:LengthRatio", "--metric",
                         "user_metrics:DocumentShare", "--metric-opt", "LengthRatio.scale=10", "--format", "json")
    assert code == 0, err
    result = json.loads(out)
    assert result["metrics"]["length_ratio"] == pytest.approx(10 * (6 / 3 + 2 / 2) / 2)
    assert result["metrics"]["document_share"] == 100.0
    assert "|scale:10|" in result["signatures"]["length_ratio"]


def test_score_names_the_line_without_what_a_metric_needs(in_tmp, cli):
    rows = [dict(SUMMARIES[0]), {k: v for k, v in SUMMARIES[1].items() if k != "document"}]
    _write(in_tmp / "s.jsonl", rows)
    code, _, err = cli("score", "s.jsonl", "--metric", "user_metrics:DocumentShare")
    assert code == 2 and "s.jsonl:2: metric 'user_metrics:DocumentShare' needs a 'document' on every line" in err
    assert "Traceback" not in err
    code, _, err = cli("score", "s.jsonl", "--metric", "user_metrics:LengthRatio", "--metric-opt", "LengthRatio.x=1")
    assert code == 2 and "has no option 'x'" in err and "its options: scale, words" in err


def _summarization_task(root, metrics="[rouge]"):
    """A copy of the bundled seed-summarization task (and its fixture) with other metrics."""
    text = (REPO / "tasks" / "seed-summarization.yaml").read_text(encoding="utf-8")
    text = text.replace("metrics: [rouge, extractiveness]", f"metrics: {metrics}")
    text = text.replace("../fixtures/seed_summarization.jsonl", str(REPO / "fixtures" / "seed_summarization.jsonl"))
    (root / "news.yaml").write_text(text.replace("name: seed-summarization", "name: news"), encoding="utf-8")
    return root / "news.yaml"


@pytest.mark.slow
def test_run_and_rescore_with_user_metrics(in_tmp, cli):
    task = _summarization_task(in_tmp, "[rouge, {user_metrics:LengthRatio: {scale: 2}}]")
    code, _, err = cli("run", "-q", "-m", "lead-3", "-t", task, "--metric", "user_metrics:DocumentShare")
    assert code == 0, err
    (run,) = (in_tmp / "results" / "news" / "lead-3").iterdir()
    record = json.loads((run / "results.json").read_text())
    assert [m["name"] for m in record["config"]["metrics"]] == ["rouge", "user_metrics:LengthRatio",
                                                                 "user_metrics:DocumentShare"]
    assert record["config"]["metrics"][1]["settings"] == {"scale": 2}
    assert {"rouge1", "length_ratio", "document_share"} <= set(record["metrics"])
    rows = [json.loads(line) for line in (run / "predictions.jsonl").read_text().splitlines()]
    assert rows[0]["details"]["length_ratio"]["prediction_words"] == len(rows[0]["prediction"].split())
    assert record["metrics"]["length_ratio"] == pytest.approx(sum(r["scores"]["length_ratio"] for r in rows)
                                                             / len(rows))
    # rescoring keeps the run's metrics and options, adds the one asked for, and reads documents from the task
    code, out, err = cli("rescore", run, "--metric", "user_metrics:CorpusCount", "--metric-opt", "LengthRatio.scale=1")
    assert code == 0, err
    (new,) = [d for d in (in_tmp / "results" / "news" / "lead-3").iterdir() if d != run]
    again = json.loads((new / "results.json").read_text())
    assert again["metrics"]["distinct"] == len({r["prediction"] for r in rows}) and again["ci"]["distinct"] is None
    assert again["metrics"]["length_ratio"] == pytest.approx(record["metrics"]["length_ratio"] / 2)
    assert again["metrics"]["document_share"] == pytest.approx(record["metrics"]["document_share"])
    assert again["config"]["rescored_from"] == record["run_id"]
    # the same rescoring again writes nothing
    code, out, err = cli("rescore", run, "--metric", "user_metrics:CorpusCount", "--metric-opt", "LengthRatio.scale=1")
    assert code == 0 and "nothing written" in err
    # compare and read_run accept the new run (a null CI on a corpus value)
    from bench.results.store import read_run

    assert read_run(new)["ci"]["distinct"] is None


def test_rescore_refuses_documents_from_a_changed_task(in_tmp, cli):
    task = _summarization_task(in_tmp)
    code, _, err = cli("run", "-q", "-m", "lead-3", "-t", task)
    assert code == 0, err
    (run,) = (in_tmp / "results" / "news" / "lead-3").iterdir()
    task.write_text(task.read_text() + "\n# edited\n")
    code, _, err = cli("rescore", run, "--metric", "user_metrics:DocumentShare")
    assert code == 2 and "task 'news' has changed since this run was made" in err and "Traceback" not in err
    code, _, err = cli("rescore", run, "--metric", "user_metrics:LengthRatio")  # needs no document: fine
    assert code == 0, err


def test_a_task_with_a_bad_metric_entry_is_refused_at_load(in_tmp, cli):
    task = _summarization_task(in_tmp, "[rouge, {rouge: {x: 1}}, {squad: {}}, [a], 'bad name:x']")
    code, _, err = cli("validate", task)
    assert code == 2
    assert "metric 'rouge' is listed twice" in err and "metric 'squad' does not apply to summarization" in err
    assert "a metric name must be a string, got ['a']" in err and "unknown metric 'bad name:x'" in err


def test_a_metric_that_does_not_apply_is_refused_before_the_model_runs(in_tmp, cli):
    task = _summarization_task(in_tmp)
    code, _, err = cli("run", "-q", "-m", "lead-3", "-t", task, "--metric", "squad")
    assert code == 2 and "metric 'squad' does not apply to summarization tasks" in err
    assert not (in_tmp / "results" / "news").exists()


def test_an_unscored_example_is_left_out_of_the_mean_and_counted(in_tmp, cli):
    inputs = MetricInputs.of(["a b", "what?", "c d e f"], [["x"]] * 3)
    s = score_examples(["user_metrics:SometimesUnscored"], inputs)
    assert s.metrics["words"] == 3.0 and s.counts == {"words_unscored": 1}
    assert s.per_example == [{"words": 2.0}, {}, {"words": 4.0}]
    with pytest.raises(BenchError, match="left 1 examples without a 'words' score but counts None of them"):
        score_examples(["user_metrics:MiscountsUnscored"], inputs)


@pytest.mark.slow
def test_a_run_with_unscored_examples_reads_back_and_an_edit_is_caught(in_tmp, cli):
    code, _, err = cli("run", "-q", "-m", "sliding-window", "-t", "seed-qa", "--metric",
                       "user_metrics:SometimesUnscored")
    assert code == 0, err
    (run,) = (in_tmp / "results" / "seed-qa" / "sliding-window").iterdir()
    from bench.execution.rescoring import prediction_lines
    from bench.results.store import check_example_scores, read_run

    record = read_run(run)
    lines = [(k, r["scores"]) for k, r in prediction_lines(run / "predictions.jsonl")]
    check_example_scores(run / "predictions.jsonl", lines, record)
    unscored = record["counts"]["words_unscored"]
    # a line without the score that results.json does not count is an edited run
    first = next(i for i, (_, scores) in enumerate(lines) if "words" in scores)
    edited = [(k, {n: v for n, v in scores.items() if n != "words" or i != first}) for i, (k, scores) in
              enumerate(lines)]
    if unscored == 0:
        with pytest.raises(BenchError, match="no 'words' score"):
            check_example_scores(run / "predictions.jsonl", edited, record)
    counted = {**record, "counts": {**record["counts"], "words_unscored": unscored + 1}}
    mean = sum(s["words"] for _, s in edited if "words" in s) / (len(edited) - unscored - 1)
    counted["metrics"] = {**record["metrics"], "words": mean}
    check_example_scores(run / "predictions.jsonl", edited, counted)  # counted: sound
    # bench compare says how many examples a model could not score
    assert unscored > 0
    code, out, err = cli("compare", "-t", "seed-qa", "--metric", "words")
    assert code == 0, err
    assert f"words: sliding-window could not score {unscored} of 48 examples" in " ".join(out.split())


@pytest.mark.slow
def test_a_user_metric_s_direction_is_recorded_for_compare(in_tmp, cli):
    task = _summarization_task(in_tmp)
    code, _, err = cli("run", "-q", "-m", "lead-3", "-m", "textrank", "-t", task, "--metric", "user_metrics:Verbosity")
    assert code == 0, err
    (path,) = (in_tmp / "results" / "news" / "lead-3").glob("*/results.json")
    record = json.loads(path.read_text())
    assert record["config"]["metrics"][-1] == {"name": "user_metrics:Verbosity", "settings": {},
                                               "directions": {"length_ratio": "lower"}}
    from bench.results.record import score_directions

    directions = score_directions(record)
    assert directions["length_ratio"] == "lower" and directions["rouge1"] == "higher"
    code, out, err = cli("compare", "--format", "json")
    assert code == 0, err
    rows = json.loads(out)
    news = [r for r in rows if r["task"] == "news"]
    assert news and all(r["directions"]["length_ratio"] == "lower" for r in news)


def test_a_user_metric_s_options_go_by_its_declared_name_as_well_as_by_module_class(in_tmp, cli):
    rows = in_tmp / "rows.jsonl"
    rows.write_text(json.dumps({"id": "a", "prediction": "one two three four", "references": ["one two"]}) + "\n")
    for target in ("length_ratio", "LengthRatio", "user_metrics:LengthRatio"):
        code, out, err = cli("score", str(rows), "--metric", "user_metrics:LengthRatio", "--metric-opt",
                             f"{target}.scale=2", "--format", "json")
        assert code == 0, err
        assert json.loads(out)["metrics"]["length_ratio"] == 4.0
    code, _, err = cli("score", str(rows), "--metric", "user_metrics:LengthRatio", "--metric-opt", "ratio.scale=2")
    assert code == 2 and "options for metric 'ratio', which is not asked for" in err
    assert "add --metric ratio" not in err and "the name its class declares" in err
