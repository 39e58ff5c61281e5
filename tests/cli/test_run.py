"""`bench run`, `bench score` and `bench list` end to end, with the built-in baselines."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from conftest import REPO
from rouge_score import rouge_scorer

from bench.text.sentences import one_sentence_per_line


def _runs(root: Path) -> list[Path]:
    return sorted(p.parent for p in root.glob("*/*/*/results.json"))


def test_default_run_scores_every_baseline_on_every_bundled_task(in_tmp, cli):
    code, out, err = cli("run", "--quiet")
    assert code == 0, err
    runs = _runs(in_tmp / "results")
    pairs = {(p.parent.parent.name, p.parent.name) for p in runs}
    assert pairs == {
        ("seed-summarization", "lead-3"), ("seed-summarization", "textrank"),
        ("seed-headline", "lead-3"), ("seed-headline", "textrank"), ("seed-qa", "sliding-window"),
    }
    for run in runs:
        record = json.loads((run / "results.json").read_text())
        for key in ("schema_version", "model", "task", "task_hash", "metrics", "ci", "signatures", "n_examples",
                    "config", "provenance", "timing"):
            assert key in record
        for key in ("packages", "python", "platform", "device"):
            assert key in record["provenance"]
        assert record["timing"]["total_s"] > 0 and record["timing"]["examples_per_s"] > 0
        preds = [json.loads(line) for line in (run / "predictions.jsonl").read_text().splitlines()]
        assert len(preds) == record["n_examples"]
        from bench.metrics import METRICS

        for name, value in record["metrics"].items():
            lo_range, hi_range = next((METRICS.get(m).range_of(name) for m in record["config"]["task"]["metrics"]
                                       if name in METRICS.get(m).score_ranges), (0.0, float("inf")))
            assert lo_range <= value <= hi_range
            lo, hi = record["ci"][name]
            assert lo <= value <= hi
            assert record["signatures"][name].startswith(name + "|")
        # corpus value = mean of the per-example scores written beside it
        for name in preds[0]["scores"]:
            mean = sum(p["scores"][name] for p in preds) / len(preds)
            assert record["metrics"][name] == pytest.approx(mean)
    assert "rougeLsum" in out and "exact_match" in out


def test_run_scores_agree_with_rouge_score_on_the_written_predictions(in_tmp, cli):
    code, _, err = cli("run", "--quiet", "-m", "textrank", "-t", "seed-summarization")
    assert code == 0, err
    (run,) = _runs(in_tmp / "results")
    record = json.loads((run / "results.json").read_text())
    (row,) = [json.loads(line) for line in (run / "predictions.jsonl").read_text().splitlines()]
    ref = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL", "rougeLsum"], use_stemmer=True)
    theirs = ref.score_multi(row["references"], one_sentence_per_line(row["prediction"]))
    for t, s in theirs.items():
        assert record["metrics"][t] == pytest.approx(100 * s.fmeasure, abs=1e-9)
    assert "split:nupunkt" in record["signatures"]["rougeLsum"]
    assert "stem:porter" in record["signatures"]["rouge1"]
    assert "nrefs:4" in record["signatures"]["rouge1"]


def test_lead_baseline_takes_one_sentence_for_headlines(in_tmp, cli):
    code, _, err = cli("run", "--quiet", "-m", "lead-3", "-t", "seed-headline", "-t", "seed-summarization")
    assert code == 0, err
    preds = {p.parent.parent.name: json.loads((p / "predictions.jsonl").read_text().splitlines()[0])["prediction"]
             for p in _runs(in_tmp / "results")}
    assert preds["seed-headline"].count("\n") == 0
    assert preds["seed-summarization"].count("\n") == 2
    assert preds["seed-summarization"].startswith("KYIV: The authoritarian leader of Belarus")


def test_baselines_never_look_at_references(in_tmp, cli):
    """Predictions stay the same when every reference is replaced."""
    tasks = in_tmp / "mytasks"
    fixtures = in_tmp / "myfixtures"
    tasks.mkdir()
    fixtures.mkdir()
    for src, name in (("seed_summarization.jsonl", "sum"), ("seed_qa.jsonl", "qa")):
        rows = [json.loads(line) for line in (REPO / "fixtures" / src).read_text().splitlines()]
        for r in rows:
            if "references" in r:
                r["references"] = ["Something else entirely.\nNothing to do with it."]
            else:
                r["answers"] = {"text": [], "answer_start": []}
        (fixtures / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        spec = (REPO / "tasks" / ("seed-summarization.yaml" if name == "sum" else "seed-qa.yaml")).read_text()
        spec = spec.replace("name: seed-", "name: blind-").replace("../fixtures/seed_summarization.jsonl",
                                                                     "../myfixtures/sum.jsonl")
        spec = spec.replace("../fixtures/seed_qa.jsonl", "../myfixtures/qa.jsonl")
        (tasks / f"{name}.yaml").write_text(spec)
    code, _, err = cli("run", "--quiet", "--tasks-dir", tasks, "-t", "seed-summarization", "-t", "blind-summarization",
                       "-t", "seed-qa", "-t", "blind-qa")
    assert code == 0, err
    by = {}
    for run in _runs(in_tmp / "results"):
        rows = [json.loads(line) for line in (run / "predictions.jsonl").read_text().splitlines()]
        by[(run.parent.parent.name, run.parent.name)] = [r["prediction"] for r in rows]
    for model in ("lead-3", "textrank"):
        assert by[("seed-summarization", model)] == by[("blind-summarization", model)]
    assert by[("seed-qa", "sliding-window")] == by[("blind-qa", "sliding-window")]


def test_limit_and_seed_are_recorded(in_tmp, cli):
    code, _, err = cli("run", "--quiet", "-m", "sliding-window", "--limit", "5", "--seed", "7")
    assert code == 0, err
    (run,) = _runs(in_tmp / "results")
    record = json.loads((run / "results.json").read_text())
    assert record["n_examples"] == 5
    assert record["config"]["seed"] == 7 and record["config"]["limit"] == 5


def test_score_json_contract(in_tmp, cli):
    f = in_tmp / "preds.jsonl"
    f.write_text(
        json.dumps({"id": "a", "prediction": "The army is ready. Jets arrive next week.",
                    "references": ["The army is ready.\nJets arrive soon.", "Jets come next week."]}) + "\n"
        + json.dumps({"id": "b", "prediction": "", "references": ["Nothing matches."]}) + "\n"
    )
    code, out, err = cli("score", f, "--metric", "rouge", "--format", "json")
    assert code == 0, err
    result = json.loads(out)
    assert set(result) >= {"n", "metrics", "ci", "signatures"}
    assert result["n"] == 2
    assert set(result["metrics"]) == {"rouge1", "rouge2", "rougeL", "rougeLsum"}
    ref = rouge_scorer.RougeScorer(["rougeLsum"], use_stemmer=True)
    a = ref.score_multi(["The army is ready.\nJets arrive soon.", "Jets come next week."],
                        "The army is ready.\nJets arrive next week.").get("rougeLsum").fmeasure
    assert result["metrics"]["rougeLsum"] == pytest.approx(100 * a / 2, abs=1e-9)

    code, out2, _ = cli("score", f, "--metric", "rouge", "--format", "json", "--no-split-sentences", "--no-stemmer")
    unsplit = json.loads(out2)
    assert unsplit["signatures"]["rougeLsum"].count("split:newline") == 1
    assert "stem:none" in unsplit["signatures"]["rouge1"]
    plain = rouge_scorer.RougeScorer(["rougeLsum"], use_stemmer=False)
    b = plain.score_multi(["The army is ready.\nJets arrive soon.", "Jets come next week."],
                          "The army is ready. Jets arrive next week.").get("rougeLsum").fmeasure
    assert unsplit["metrics"]["rougeLsum"] == pytest.approx(100 * b / 2, abs=1e-9)


def test_score_squad_file(in_tmp, cli):
    f = in_tmp / "qa.jsonl"
    f.write_text("".join(json.dumps(r) + "\n" for r in [
        {"id": "1", "prediction": "KYIV", "references": ["KYIV"]},
        {"id": "2", "prediction": "", "references": []},
        {"id": "3", "prediction": "soon", "references": ["next week"]},
    ]))
    code, out, err = cli("score", f, "--metric", "squad", "--format", "json")
    assert code == 0, err
    result = json.loads(out)
    assert result["metrics"]["exact_match"] == pytest.approx(200 / 3)
    assert result["metrics"]["NoAns_exact_match"] == 100.0


@pytest.mark.parametrize("content, message", [
    ('{"id": "a", "prediction": "x", "references": ["y"]}\n{"id": "b", "prediction": "x"\n', "preds.jsonl:2"),
    ('{"id": "a", "prediction": 3, "references": ["y"]}\n', "'prediction' must be a string"),
    ('{"id": "a", "prediction": "x", "references": [""]}\n', "no non-empty reference"),
    ('{"id": "a", "prediction": "x", "references": ["y"]}\n{"id": "a", "prediction": "x", "references": ["y"]}\n',
     "duplicate id"),
    ("", "file is empty"),
    ('[1, 2]\n', "expected a JSON object"),
])
def test_score_rejects_malformed_files_with_a_clear_message(in_tmp, cli, content, message):
    f = in_tmp / "preds.jsonl"
    f.write_text(content)
    code, out, err = cli("score", f)
    assert code == 2
    assert message in err
    assert "Traceback" not in err


def test_score_missing_file_and_bad_bytes(in_tmp, cli):
    code, _, err = cli("score", in_tmp / "nope.jsonl")
    assert code == 2 and "cannot read file" in err
    f = in_tmp / "bad.jsonl"
    f.write_bytes(b'{"id": "a", "prediction": "caf\xe9", "references": ["x"]}\n')
    code, _, err = cli("score", f)
    assert code == 2 and "bad.jsonl:1" in err and "UTF-8" in err


def test_broken_fixture_stops_the_run_before_any_model(in_tmp, cli):
    tasks = in_tmp / "tasks"
    tasks.mkdir()
    shutil.copy(REPO / "fixtures" / "seed_qa.jsonl", in_tmp / "qa.jsonl")
    lines = (in_tmp / "qa.jsonl").read_text().splitlines()
    row = json.loads(lines[0])
    row["answers"]["answer_start"] = [row["answers"]["answer_start"][0] + 3]
    lines[0] = json.dumps(row)
    (in_tmp / "qa.jsonl").write_text("\n".join(lines) + "\n")
    (tasks / "broken.yaml").write_text("name: broken\nversion: 1\ntype: qa\nfixture: ../qa.jsonl\n")
    code, _, err = cli("run", "--quiet", "--tasks-dir", tasks, "-t", "broken")
    assert code == 2
    assert "qa.jsonl:1" in err and "answer_start 0" in err
    assert "Traceback" not in err
    assert not (in_tmp / "results").exists()


@pytest.mark.parametrize("args, message", [
    (("-m", "lead3"), "Did you mean 'lead-3'"),
    (("-t", "seed-sumarization"), "Did you mean 'seed-summarization'"),
    (("-m", "lead-3", "-t", "seed-qa"), "cannot do task 'seed-qa'"),
    (("--limit", "0"), "--limit must be at least 1"),
])
def test_usage_errors(in_tmp, cli, args, message):
    code, _, err = cli("run", "--quiet", *args)
    assert code == 2
    assert message in err
    assert "Traceback" not in err
    assert not (in_tmp / "results").exists()


@pytest.mark.parametrize("yaml_text, message", [
    ("name: x\nversion: 1\ntype: summarisation\nfixture: f.jsonl\n", "Did you mean 'summarization'"),
    ("name: x\nversion: 1\ntype: qa\nfixture: missing.jsonl\n", "fixture file not found"),
    ("name: x\ntype: qa\nfixture: f.jsonl\n", "'version' must be a positive integer"),
    ("name: x\nversion: 1\ntype: qa\nfixture: f.jsonl\nmetrics: [rouge]\n", "does not apply to qa tasks"),
    ("name: x\nversion: 1\ntype: qa\nfixture: f.jsonl\nmetric: [squad]\n", "unknown key 'metric'"),
    ("name: x\nversion: 1\n  type: qa\n", "invalid YAML"),
    ("!!python/object/apply:os.system ['echo hi']\n", "invalid YAML"),
])
def test_bad_task_definitions(in_tmp, cli, yaml_text, message):
    (in_tmp / "f.jsonl").write_text('{"id": "1", "context": "c", "question": "q", "answers": {"text": [], "answer_start": []}}\n')
    (in_tmp / "x.yaml").write_text(yaml_text)
    code, _, err = cli("run", "--quiet", "-t", in_tmp / "x.yaml")
    assert code == 2, err
    assert message in err
    assert "x.yaml" in err
    assert "Traceback" not in err


def test_list_shows_tasks_and_models(in_tmp, cli):
    code, out, err = cli("list")
    assert code == 0, err
    for name in ("seed-summarization", "seed-headline", "seed-qa", "lead-3", "textrank", "sliding-window"):
        assert name in out


@pytest.mark.parametrize("args", [("run", "--bogus"), ("run", "--limit", "x"), ("nope",), ("score",)])
def test_parser_errors_exit_2_without_traceback(in_tmp, cli, args):
    code, out, err = cli(*args)
    assert code == 2
    assert "Traceback" not in err + out


def test_a_damaged_run_elsewhere_does_not_hide_new_results(in_tmp, cli):
    code, _, err = cli("run", "--quiet", "-m", "lead-3", "-t", "seed-headline")
    assert code == 0, err
    (old,) = (in_tmp / "results").glob("seed-headline/lead-3/*/results.json")
    old.write_text('{"schema_version": 1, "truncated')
    code, out, err = cli("run", "--quiet", "-m", "sliding-window", "--limit", "3")
    assert code == 0, err
    assert "exact_match" in out, "the new scores are shown"
    assert "warning:" in err and "were not updated" in err and "results.json" in err
    assert "Traceback" not in err
    assert len(list((in_tmp / "results").glob("seed-qa/sliding-window/*/results.json"))) == 1


@pytest.mark.parametrize("output_dir, extra, again", [
    ("results", [], "the same command again"),
    ("out/deeper", [], "the same command again"),
    ("results", ["--no-cache"], "the same command without --no-cache"),
])
def test_ctrl_c_names_the_real_prediction_cache(in_tmp, cli, output_dir, extra, again):
    code, _, err = cli("run", "-q", "-m", "interrupt_models:CtrlCAfterFirstBatch", "-t", "seed-qa",
                       "-o", output_dir, *extra)
    assert code == 130 and "Traceback" not in err, err
    assert (f"interrupted: the predictions made so far are kept in the prediction cache ({output_dir}/.cache); "
            f"run {again} to resume") in err
    assert "<output-dir>" not in err
    from cache_kinds import rows

    assert len(rows(in_tmp / output_dir / ".cache", "predictions")) >= 4  # the first batch is kept


def test_ctrl_c_in_another_command_says_interrupted_only(in_tmp, cli, monkeypatch):
    import bench.tasks.task_checks
    from bench.cli.options import Interrupted

    def interrupted(*args, **kwargs):
        raise Interrupted()  # what bench's SIGINT handler raises

    monkeypatch.setattr(bench.tasks.task_checks, "validate_targets", interrupted)
    code, _, err = cli("validate")
    assert (code, err) == (130, "interrupted\n")


@pytest.mark.parametrize("argv, message, help_of", [
    (["run", "--seed", "one"], "error: Invalid value for '--seed'", "bench run"),
    (["run", "--modle", "lead-3"], "error: No such option: --modle", "bench run"),
    (["score"], "error: Missing argument 'FILE'.", "bench score"),
    (["score", "x.jsonl", "--format", "xml"], "error: Invalid value for '--format'", "bench score"),
    (["compare", "--format", "xml"], "error: Invalid value for '--format'", "bench compare"),
    (["fixture", "import", "a.txt"], "error: Missing option '--name'", "bench fixture import"),
    (["frobnicate"], "error: No such command 'frobnicate'.", "bench"),
])
def test_usage_errors_are_in_bench_style_with_where_the_help_is(in_tmp, cli, argv, message, help_of):
    code, out, err = cli(*argv)
    assert code == 2 and not out
    assert err.startswith(message), err
    assert err.rstrip().endswith(f"hint: see `{help_of} --help`"), err
    assert "Usage:" not in err and "Traceback" not in err


def _commands():
    import typer

    from bench.cli.app import app

    group = typer.main.get_command(app)
    for name, command in group.commands.items():
        subs = getattr(command, "commands", None)
        yield from ([(f"{name} {n}", c) for n, c in subs.items()] if subs else [(name, command)])


@pytest.mark.parametrize("name, command", list(_commands()), ids=lambda x: x if isinstance(x, str) else "")
def test_every_option_and_argument_has_a_metavar_and_help_shows_no_type_names(cli, name, command):
    for param in command.params:
        if param.param_type_name == "option" and (param.is_flag or param.name == "help"):
            continue
        if param.param_type_name == "argument":
            assert param.metavar and param.metavar.isupper(), (name, param.name)
        else:
            assert param.metavar, (name, param.opts)
    code, out, err = cli(*name.split(), "--help")
    assert code == 0, err
    assert not re.search(r"<(str|int|float|path|list\[\w+\]|[a-z|]+)>", out), out  # typer's type names
    usage = out.splitlines()[0]
    assert usage.startswith(f"Usage: bench {name} [OPTIONS]") and "{" not in usage, usage
