"""`--metric evaluate:NAME_OR_PATH`: metrics the evaluate library loads, run through bench score, run, rescore and
compare, and bench's own ROUGE and SQuAD as evaluate modules.

The metric scripts are written by the tests (real evaluate.Metric subclasses). `import evaluate` costs seconds
(it imports torch and transformers), so every test that loads a module is slow; the tests that need no module
(bench's own checks before evaluate is imported, and the value helpers) are fast.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO

from bench.errors import BenchError
from bench.metrics.hf_evaluate import evaluate_metric as em

#: Per example: 1 when the prediction is one of the references (times `scale`); the corpus value is a count.
PER_EXAMPLE = '''"""Exact match per example (a test metric)."""
import datasets
import evaluate


class Match(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description="exact match", citation="", inputs_description="",
            features=datasets.Features({"predictions": datasets.Value("string"),
                                        "references": datasets.Sequence(datasets.Value("string"))}))

    def _compute(self, predictions, references, scale=1.0, ignore=()):
        per = [scale * float(p in r and p not in ignore) for p, r in zip(predictions, references)]
        return {"match": per, "count": len(per), "note": "text is skipped"}
'''

#: One number for the corpus: the share of predictions longer than their first reference (a corpus statistic).
CORPUS = '''"""Share of predictions longer than their reference (a test metric)."""
import datasets
import evaluate


class Longer(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description="longer", citation="", inputs_description="",
            features=datasets.Features({"predictions": datasets.Value("string"),
                                        "references": datasets.Value("string")}))

    def _compute(self, predictions, references, factor=1):
        longer = sum(len(p) > factor * len(r) for p, r in zip(predictions, references))
        return {"longer": 100.0 * longer / len(predictions)}
'''

#: Configurations, as evaluate's glue has: an unknown one raises in _info.
CONFIGS = '''import datasets
import evaluate


class Configs(evaluate.Metric):
    def _info(self):
        if self.config_name not in ("default", "strict"):
            raise KeyError(f"unknown configuration {self.config_name}")
        return evaluate.MetricInfo(
            description="configs", citation="", inputs_description="",
            features=datasets.Features({"predictions": datasets.Value("string"),
                                        "references": datasets.Value("string")}))

    def _compute(self, predictions, references):
        strict = self.config_name == "strict"
        return {"same": [float(p == r if strict else p.lower() == r.lower()) for p, r in zip(predictions, references)]}
'''

#: Integer labels: not texts, so bench refuses it.
LABELS = '''import datasets
import evaluate


class Labels(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description="labels", citation="", inputs_description="",
            features=datasets.Features({"predictions": datasets.Value("int32"),
                                        "references": datasets.Value("int32")}))

    def _compute(self, predictions, references):
        return {"accuracy": 0.0}
'''

#: Raises in compute.
BROKEN = '''import datasets
import evaluate


class Broken(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description="broken", citation="", inputs_description="",
            features=datasets.Features({"predictions": datasets.Value("string"),
                                        "references": datasets.Value("string")}))

    def _compute(self, predictions, references, **kwargs):
        raise RuntimeError("the metric broke")
'''

#: The same without the corpus value: per-example scores only.
ONLY_PER_EXAMPLE = PER_EXAMPLE.replace('"count": len(per), ', "")
assert ONLY_PER_EXAMPLE != PER_EXAMPLE

ROWS = [
    {"id": "a", "prediction": "the cat sat", "references": ["the cat sat", "a cat sat"]},
    {"id": "b", "prediction": "a dog", "references": ["the dog barked"]},
    {"id": "c", "prediction": "birds sing loudly at dawn", "references": ["birds sing", "birds sing loudly at dawn"]},
    {"id": "d", "prediction": "rain", "references": ["it rained all day"]},
]


def write_rows(path: Path, rows=ROWS) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def write_metric(folder: Path, name: str, text: str) -> Path:
    path = folder / f"{name}.py"
    path.write_text(text, encoding="utf-8")
    return path


def score_json(cli, *args):
    code, out, err = cli("score", *args, "--format", "json")
    assert code == 0, err
    return json.loads(out), err


def sha16(path: Path) -> str:
    data = path.read_bytes()
    return hashlib.sha256(f"{path.name}\0{len(data)}\0".encode() + data).hexdigest()[:16]


def one_run(root: Path, model: str) -> Path:
    (path,) = [p.parent for p in root.glob(f"results/seed-summarization/{model}/*/results.json")]
    return path


# ------------------------------------------------------------------ fast: no evaluate module is loaded


@pytest.mark.parametrize("given, decoded", [("true", True), ("4", 4), ("0.5", 0.5), ('["a", "b"]', ["a", "b"]),
                                            ("null", None), ("rouge1", "rouge1"), ("a b", "a b"), (3, 3),
                                            ("", "")])
def test_option_strings_are_read_as_json_where_they_are_json(given, decoded):
    assert em.decode_option(given) == decoded


@pytest.mark.parametrize("value, shown", [("rouge1", "rouge1"), (True, "true"), (4, "4"), (["a", "b"], '["a","b"]'),
                                          ("a|b", '"a|b"'), ("x:y", '"x:y"'), ({"b": 1, "a": 2}, '{"a":2,"b":1}')])
def test_option_values_in_a_signature_cannot_break_its_fields(value, shown):
    assert em.option_text(value) == shown


def test_numbers_and_lists_of_numbers():
    import numpy as np

    assert em.number(3) == 3.0 and em.number(np.float32(0.5)) == 0.5 and em.number(np.array(2.0)) == 2.0
    assert em.number(True) is None and em.number("1") is None and em.number(float("nan")) is None
    assert em.number_list([1, 2.5]) == [1.0, 2.5] and em.number_list(np.array([1, 2])) == [1.0, 2.0]
    assert em.number_list([1, None]) is None and em.number_list([1, float("inf")]) is None
    assert em.number_list("12") is None and em.number_list({"a": 1}) is None
    assert em.single([2]) == 2.0 and em.single(2) == 2.0 and em.single([1, 2]) is None


@pytest.mark.parametrize("name, prefix", [("evaluate:./metrics/my_metric.py", "my_metric"),
                                          ("evaluate:./metrics/my_metric/", "my_metric"),
                                          ("evaluate:accuracy", "accuracy"), ("evaluate:someone/bleu2", "bleu2")])
def test_score_names_take_the_short_name_of_the_metric(name, prefix):
    from bench.metrics import short_name

    assert em.short(name) == prefix == short_name(name)


@pytest.mark.parametrize("target, local", [("./m.py", True), ("m.py", True), ("/abs/m", True), ("../m", True),
                                           ("accuracy", False), ("someone/metric", False), ("a/b/c", True)])
def test_paths_are_told_from_hub_names(target, local, in_tmp):
    assert em.is_local(target) is local


def test_a_missing_script_is_a_usage_error_before_evaluate_is_imported(in_tmp, cli):
    imported_before = "evaluate" in sys.modules  # another test may have imported it
    write_rows(in_tmp / "s.jsonl")
    code, out, err = cli("score", "s.jsonl", "--metric", "evaluate:./nope.py")
    assert code == 2 and not out and "Traceback" not in err
    assert "no metric script at ./nope.py" in err
    (in_tmp / "folder").mkdir()
    code, _, err = cli("score", "s.jsonl", "--metric", "evaluate:./folder")
    assert code == 2 and "directory ./folder holds no script folder.py" in err
    code, _, err = cli("score", "s.jsonl", "--metric", "evaluate:")
    assert code == 2 and "'evaluate:'" in err and "Traceback" not in err
    assert imported_before or "evaluate" not in sys.modules


def test_the_paths_of_benchs_evaluate_modules(capsys):
    from bench.evaluate_modules import NAMES, path
    from bench.evaluate_modules.__main__ import main

    for name in NAMES:
        assert Path(path(name), f"{name}.py").is_file()
    assert main(["rouge"]) == 0
    assert capsys.readouterr().out == path("rouge") + "\n"
    assert main([]) == 0
    assert capsys.readouterr().out.splitlines() == [f"{n}\t{path(n)}" for n in NAMES]
    assert main(["bleu"]) == 2
    assert "bench ships no evaluate module 'bleu'" in capsys.readouterr().err
    with pytest.raises(BenchError, match="its modules: rouge, squad"):
        path("bleu")


@pytest.mark.slow
def test_without_the_evaluate_package_one_message_names_the_install(tmp_path):
    write_metric(tmp_path, "match", PER_EXAMPLE)
    write_rows(tmp_path / "s.jsonl")
    code = ("import sys; sys.modules['evaluate'] = None\n"
            "from bench.cli.app import main\n"
            "main(['score', 's.jsonl', '--metric', 'evaluate:./match.py'])\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          check=False,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 3, proc.stderr
    assert "Traceback" not in proc.stderr and not proc.stdout
    assert "metric 'evaluate:./match.py' needs the evaluate package, which is not installed" in proc.stderr
    assert "pip install evaluate (or pip install 'bench[evaluate]')" in proc.stderr


# ------------------------------------------------------------------ slow: modules loaded by evaluate


@pytest.mark.slow
def test_per_example_values_get_a_mean_a_ci_and_a_signature_with_the_scripts_code(in_tmp, cli):
    script = write_metric(in_tmp, "match", PER_EXAMPLE)
    write_rows(in_tmp / "s.jsonl")
    out, err = score_json(cli, "s.jsonl", "--metric", "evaluate:./match.py", "--metric-opt", "match.scale=100")
    assert out["metrics"]["match.match"] == pytest.approx(50.0)
    lo, hi = out["ci"]["match.match"]
    assert 0.0 <= lo <= 50.0 <= hi <= 100.0 and lo < hi
    assert out["signatures"]["match.match"] == (
        f"match.match|module:match|code:{sha16(script)}|scale:100|refs:all|agg:mean|"
        f"evaluate:{em.import_evaluate('x').__version__}|bench:{em.signature('x').rsplit(':', 1)[1]}")
    # A single number is a corpus value: no CI, agg:corpus, and a warning that paired tests are not available.
    assert out["metrics"]["match.count"] == 4.0 and out["ci"]["match.count"] is None
    assert "|agg:corpus|" in out["signatures"]["match.count"]
    assert "gives only a corpus value for 'count': no CI, and no paired test in `bench compare`" in err
    # Text is skipped, with a warning.
    assert "match.note" not in out["metrics"] and "'note' skipped: not a finite number" in err
    # Options reach compute(): a JSON list from the command line, and the signature records it.
    out, _ = score_json(cli, "s.jsonl", "--metric", "evaluate:./match.py",
                        "--metric-opt", 'match.ignore=["the cat sat"]')
    assert out["metrics"]["match.match"] == pytest.approx(0.25)
    assert '|ignore:["the cat sat"]|refs:all|' in out["signatures"]["match.match"]
    # An option the module does not take is refused before anything is scored.
    code, out, err = cli("score", "s.jsonl", "--metric", "evaluate:./match.py", "--metric-opt", "match.scael=2")
    assert code == 2 and not out and "has no option 'scael'" in err and "its options: scale, ignore" in err


@pytest.mark.slow
def test_a_changed_script_changes_the_code_in_the_signature(in_tmp, cli):
    write_rows(in_tmp / "s.jsonl")
    folder = in_tmp / "match"
    folder.mkdir()
    script = write_metric(folder, "match", PER_EXAMPLE)
    first = sha16(script)
    out, _ = score_json(cli, "s.jsonl", "--metric", "evaluate:./match")  # a directory holding match.py
    other = in_tmp / "other" / "match"
    other.mkdir(parents=True)
    changed = write_metric(other, "match", PER_EXAMPLE.replace("exact match", "exact match, again"))
    out2, _ = score_json(cli, "s.jsonl", "--metric", "evaluate:./other/match")
    assert f"|code:{first}|" in out["signatures"]["match.match"]
    assert f"|code:{sha16(changed)}|" in out2["signatures"]["match.match"] and first != sha16(changed)
    assert out["metrics"]["match.match"] == out2["metrics"]["match.match"]
    # The same path, edited: the new code is loaded and named.
    edited = write_metric(folder, "match", PER_EXAMPLE.replace("scale * float", "2 * scale * float"))
    out3, _ = score_json(cli, "s.jsonl", "--metric", "evaluate:./match")
    assert f"|code:{sha16(edited)}|" in out3["signatures"]["match.match"] and sha16(edited) != first
    assert out3["metrics"]["match.match"] == 2 * out["metrics"]["match.match"]


@pytest.mark.slow
def test_a_corpus_value_has_no_ci_and_per_example_true_asks_for_one_per_example(in_tmp, cli):
    write_metric(in_tmp, "longer", CORPUS)
    write_rows(in_tmp / "s.jsonl")
    out, err = score_json(cli, "s.jsonl", "--metric", "evaluate:./longer.py")
    assert out["metrics"] == {"longer.longer": 25.0} and out["ci"] == {"longer.longer": None}
    sig = out["signatures"]["longer.longer"]
    assert "|refs:first|agg:corpus|" in sig
    assert "no paired test" in err
    # The module takes one reference: the first one, and a warning says how many examples had more.
    assert "2 example(s) have several, and only the first was scored (refs:first)" in err
    code, table, err = cli("score", "s.jsonl", "--metric", "evaluate:./longer.py")
    assert code == 0 and "longer.longer" in table and "no paired test in `bench compare`" in err
    out, err = score_json(cli, "s.jsonl", "--metric", "evaluate:./longer.py", "--metric-opt", "longer.per_example=true",
                          "--metric-opt", "longer.factor=0.5")
    assert out["metrics"]["longer.longer"] == pytest.approx(50.0)
    assert out["ci"]["longer.longer"] is not None
    assert "|factor:0.5|per_example:true|refs:first|agg:mean|" in out["signatures"]["longer.longer"]
    assert "only a corpus value" not in err
    code, _, err = cli("score", "s.jsonl", "--metric", "evaluate:./longer.py", "--metric-opt", "longer.per_example=3")
    assert code == 2 and "'per_example' must be true or false" in err


@pytest.mark.slow
def test_config_name_reaches_the_module(in_tmp, cli):
    write_metric(in_tmp, "configs", CONFIGS)
    write_rows(in_tmp / "s.jsonl", [{"id": "a", "prediction": "Paris", "references": ["paris"]},
                                    {"id": "b", "prediction": "Rome", "references": ["Rome"]}])
    out, _ = score_json(cli, "s.jsonl", "--metric", "evaluate:./configs.py")
    assert out["metrics"]["configs.same"] == 1.0
    out, _ = score_json(cli, "s.jsonl", "--metric", "evaluate:./configs.py",
                        "--metric-opt", "configs.config_name=strict")
    assert out["metrics"]["configs.same"] == 0.5
    assert "|config_name:strict|refs:first|agg:mean|" in out["signatures"]["configs.same"]
    code, out, err = cli("score", "s.jsonl", "--metric", "evaluate:./configs.py", "--metric-opt",
                         "configs.config_name=loose")
    assert code == 2 and not out and "Traceback" not in err
    assert "cannot be set up with config_name='loose': KeyError: 'unknown configuration loose'" in err


@pytest.mark.slow
def test_one_reference_modules_refuse_examples_without_one(in_tmp, cli):
    write_metric(in_tmp, "longer", CORPUS)
    write_rows(in_tmp / "s.jsonl", [{"id": "a", "prediction": "x", "references": ["y"]},
                                    {"id": "b", "prediction": "", "references": []}])
    code, out, err = cli("score", "s.jsonl", "--metric", "evaluate:./longer.py")
    assert code == 2 and not out and "Traceback" not in err
    assert "takes one reference per example, and example 'b' has none" in err


@pytest.mark.slow
def test_modules_bench_cannot_map_or_that_fail_are_one_message(in_tmp, cli):
    write_metric(in_tmp, "labels", LABELS)
    write_metric(in_tmp, "broken", BROKEN)
    (in_tmp / "syntax.py").write_text("import evaluate\nclass Syntax(evaluate.Metric:\n", encoding="utf-8")
    write_rows(in_tmp / "s.jsonl")
    code, out, err = cli("score", "s.jsonl", "--metric", "evaluate:./labels.py")
    assert code == 2 and not out and "Traceback" not in err
    assert "does not score texts against reference texts" in err and "int32" in err
    code, out, err = cli("score", "s.jsonl", "--metric", "evaluate:./broken.py")
    assert code == 2 and not out and "Traceback" not in err
    assert "metric 'evaluate:./broken.py' failed: RuntimeError: the metric broke" in err
    code, out, err = cli("score", "s.jsonl", "--metric", "evaluate:./syntax.py")
    assert code == 2 and not out and "Traceback" not in err and "cannot be loaded: SyntaxError" in err


@pytest.mark.slow
def test_a_metric_neither_local_nor_cached_is_one_message_and_comes_at_once(in_tmp, cli):
    write_rows(in_tmp / "s.jsonl")
    em.import_evaluate("x")  # the import is slow; the failure must not be
    start = time.monotonic()
    code, out, err = cli("score", "s.jsonl", "--metric", "evaluate:bench-test-no-such-metric")
    elapsed = time.monotonic() - start
    assert code == 3 and not out and "Traceback" not in err
    assert ("metric 'evaluate:bench-test-no-such-metric' is not available offline: 'bench-test-no-such-metric' is "
            "neither a local metric script nor a metric in the Hugging Face cache") in err
    assert "evaluate.load('bench-test-no-such-metric')" in err and "give the path to its script" in err
    assert elapsed < 10, elapsed


@pytest.mark.slow
def test_offline_a_metric_in_the_cache_loads_and_one_not_cached_is_refused(tmp_path):
    """A metric loaded once online sits in evaluate's modules cache (here made by hand, as evaluate lays it
    out); offline, bench loads it from there, and names one that is not there. Offline mode comes from no
    variable here: bench finds that the Hub cannot be reached, unless it can."""
    cache = tmp_path / "modules"
    folder = cache / "evaluate_modules" / "metrics" / "evaluate-metric--cachedmatch" / ("0" * 64)
    folder.mkdir(parents=True)
    (cache / "evaluate_modules" / "__init__.py").write_text("")
    (folder / "__init__.py").write_text("")
    write_metric(folder, "cachedmatch", PER_EXAMPLE)
    write_rows(tmp_path / "s.jsonl")
    env = {k: v for k, v in os.environ.items() if k not in em.OFFLINE_VARIABLES}
    env.update(HF_MODULES_CACHE=str(cache), PYTHONPATH=str(REPO), HF_HOME=str(tmp_path / "hf"))
    code = ("import json, sys, time\n"
            "import evaluate\n"
            "from bench.hub import hub_reachable\n"
            "from bench.cli.app import main\n"
            "def run(*args):\n"
            "    start = time.monotonic()\n"
            "    try:\n"
            "        main(list(args))\n"
            "        code = 0\n"
            "    except SystemExit as e:\n"
            "        code = e.code\n"
            "    print(json.dumps({'code': code, 's': time.monotonic() - start, 'hub': hub_reachable()}),"
            " file=sys.stderr)\n"
            "run('score', 's.jsonl', '--metric', 'evaluate:cachedmatch', '--format', 'json')\n"
            "run('score', 's.jsonl', '--metric', 'evaluate:bench-test-not-cached')\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          check=False,
                          env=env)
    assert proc.returncode == 0, proc.stderr
    codes = [json.loads(line) for line in proc.stderr.splitlines() if line.startswith('{"code"')]
    assert [c["code"] for c in codes][:1] == [0], proc.stderr
    out = json.loads(proc.stdout)
    assert out["metrics"]["cachedmatch.match"] == 0.5
    assert f"|code:{sha16(folder / 'cachedmatch.py')}|" in out["signatures"]["cachedmatch.match"]
    if codes[1]["hub"]:
        pytest.skip("the Hugging Face Hub is reachable here: a metric not cached is looked up there")
    assert "Using the latest cached version" not in proc.stderr  # evaluate's log is kept quiet
    assert codes[1]["code"] == 3 and codes[1]["s"] < 15, codes
    assert "is not available offline" in proc.stderr and "the Hugging Face Hub cannot be reached" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.slow
def test_run_and_rescore_with_a_per_example_module(in_tmp, cli):
    write_metric(in_tmp, "match", ONLY_PER_EXAMPLE)
    code, _, err = cli("run", "--model", "lead-3", "--task", "seed-summarization", "--metric", "evaluate:./match.py",
                       "--metric-opt", "match.scale=100")
    assert code == 0, err
    run_dir = one_run(in_tmp, "lead-3")
    record = json.loads((run_dir / "results.json").read_text())
    assert record["metrics"]["match.match"] == 0.0 and record["ci"]["match.match"] == [0.0, 0.0]
    assert record["metrics"]["rouge1"] > 0  # the task's own metrics are scored too
    assert "|scale:100|refs:all|agg:mean|" in record["signatures"]["match.match"]
    assert {"name": "evaluate:./match.py", "settings": {"scale": "100"}} in record["config"]["metrics"]
    rows = [json.loads(line) for line in (run_dir / "predictions.jsonl").read_text().splitlines()]
    assert rows[0]["scores"]["match.match"] == 0.0
    # The prediction itself as a reference: a match once rescored against it.
    code, _, err = cli("rescore", str(run_dir), "--metric", "evaluate:./match.py", "--metric-opt", "match.scale=2")
    assert code == 0, err
    (rescored,) = [p for p in (in_tmp / "results/seed-summarization/lead-3").iterdir() if p != run_dir]
    record = json.loads((rescored / "results.json").read_text())
    assert record["metrics"]["match.match"] == 0.0
    assert "|scale:2|" in record["signatures"]["match.match"]
    assert record["config"]["rescored_from"]


@pytest.mark.slow
def test_run_rescore_and_compare_with_a_corpus_module(in_tmp, cli):
    write_metric(in_tmp, "longer", CORPUS)
    for model in ("lead-3", "textrank"):
        code, _, err = cli("run", "--model", model, "--task", "seed-summarization", "--metric",
                           "evaluate:./longer.py")
        assert code == 0, err
        assert "gives only a corpus value for 'longer'" in err
    run_dir = one_run(in_tmp, "lead-3")
    record = json.loads((run_dir / "results.json").read_text())
    assert record["ci"]["longer.longer"] is None and "|agg:corpus|" in record["signatures"]["longer.longer"]
    rows = [json.loads(line) for line in (run_dir / "predictions.jsonl").read_text().splitlines()]
    assert "longer.longer" not in rows[0]["scores"]  # no per-example value
    code, _, err = cli("rescore", str(run_dir), "--metric", "evaluate:./longer.py", "--metric-opt", "longer.factor=2")
    assert code == 0, err
    # bench compare shows the corpus value without a CI, and runs no paired test on it.
    code, out, err = cli("compare", "--baseline", "lead-3", "--format", "json")
    assert code == 0, err
    textrank = next(r for r in json.loads(out) if r["model"] == "textrank")
    assert textrank["metrics"]["longer.longer"] in (0.0, 100.0)
    assert not any(isinstance(b, (int, float)) for b in (textrank["ci"]["longer.longer"] or []))
    assert "rouge1" in textrank["paired"] and "longer.longer" not in textrank["paired"]
    code, out, err = cli("compare", "--baseline", "lead-3")
    assert code == 0 and "longer.longer" in out, err


@pytest.mark.slow
def test_a_task_file_names_an_evaluate_metric_with_options(in_tmp, cli):
    write_metric(in_tmp, "longer", CORPUS)
    tasks = in_tmp / "tasks"
    tasks.mkdir()
    write_rows(tasks / "toy.jsonl", [{"id": f"t{k}", "document": "One. Two words. Three short words here.",
                                      "references": ["Two words."]} for k in range(3)])
    (tasks / "toy.yaml").write_text(
        "name: toy\nversion: 1\ntype: summarization\ndescription: a toy task\nfixture: toy.jsonl\n"
        "fields: {id: id, document: document, references: references}\nsummary_sentences: 1\n"
        "metrics:\n  - rouge\n  - evaluate:./longer.py: {factor: 0.5, per_example: true}\n", encoding="utf-8")
    code, _, err = cli("run", "--model", "lead-3", "--task", "toy", "--tasks-dir", "tasks")
    assert code == 0, err
    (results,) = in_tmp.glob("results/toy/lead-3/*/results.json")
    record = json.loads(results.read_text())
    assert record["metrics"]["longer.longer"] == 0.0  # "One." is not longer than half of "Two words."
    assert "|factor:0.5|per_example:true|refs:first|agg:mean|" in record["signatures"]["longer.longer"]
    assert {"name": "evaluate:./longer.py", "settings": {"factor": 0.5, "per_example": True}} in \
        record["config"]["metrics"]
    # --metric-opt overrides the task's option.
    code, _, err = cli("run", "--model", "lead-3", "--task", "toy", "--tasks-dir", "tasks",
                       "--metric-opt", "longer.factor=0.1")
    assert code == 0, err
    (latest,) = [p for p in in_tmp.glob("results/toy/lead-3/*/results.json") if p != results]
    record = json.loads(latest.read_text())
    assert record["metrics"]["longer.longer"] == 100.0
    assert "|factor:0.1|per_example:true|" in record["signatures"]["longer.longer"]


@pytest.mark.slow
def test_compare_runs_paired_tests_on_a_per_example_module(in_tmp, cli):
    write_metric(in_tmp, "match", ONLY_PER_EXAMPLE)
    for model in ("lead-3", "textrank"):
        code, _, err = cli("run", "--model", model, "--task", "seed-summarization", "--metric", "evaluate:./match.py")
        assert code == 0, err
    code, out, err = cli("compare", "--baseline", "lead-3", "--format", "json")
    assert code == 0, err
    rows = json.loads(out)
    textrank = next(r for r in rows if r["model"] == "textrank")
    assert "match.match" in textrank["metrics"] and "match.match" in textrank["paired"]


# ------------------------------------------------------------------ bench's ROUGE and SQuAD as evaluate modules

PREDICTIONS = ["The cat sat on the mat. It was happy about it.", "A dog barked loudly at the postman",
               "Prices rose 3% in Kraków.", ""]
REFERENCES = [["The cat was sitting on the mat.", "A cat sat there."], ["The dog barked."],
              ["Prices in Kraków rose by 3 percent.\nAnalysts were surprised."], ["Nothing happened."]]


@pytest.mark.slow
def test_benchs_rouge_module_gives_benchs_numbers():
    import evaluate

    from bench.api import score
    from bench.evaluate_modules import path
    from bench.metrics import MetricOptions

    rouge = evaluate.load(path("rouge"))
    expected = score(PREDICTIONS, REFERENCES)
    assert rouge.compute(predictions=PREDICTIONS, references=REFERENCES) == expected["metrics"]
    per = rouge.compute(predictions=PREDICTIONS, references=REFERENCES, use_aggregator=False)
    assert per == {t: [row[t] for row in expected["per_example"]] for t in expected["metrics"]}
    plain = score(PREDICTIONS, REFERENCES, options=MetricOptions(stemmer=False, split_sentences=False))
    only_lsum = rouge.compute(predictions=PREDICTIONS, references=REFERENCES, use_stemmer=False,
                              split_sentences=False, rouge_types=["rougeLsum"])
    assert only_lsum == {"rougeLsum": plain["metrics"]["rougeLsum"]}
    one = [r[0] for r in REFERENCES]
    assert rouge.compute(predictions=PREDICTIONS, references=one) == score(PREDICTIONS, one)["metrics"]


@pytest.mark.slow
def test_benchs_squad_module_gives_benchs_numbers():
    import evaluate

    from bench.api import score
    from bench.evaluate_modules import path

    squad = evaluate.load(path("squad"))
    predictions = ["Paris", "the Eiffel tower", "", "1889", "maybe"]
    references = [["Paris", "in Paris"], ["Eiffel Tower"], [], ["in 1889", "1889."], []]
    no_answer = [0.1, 0.2, 0.9, 0.3, 0.4]
    expected = score(predictions, references, metric="squad", no_answer_probabilities=no_answer)
    got = squad.compute(predictions=predictions, references=references, no_answer_probabilities=no_answer)
    assert got == {**expected["metrics"], **expected["counts"]}
    # evaluate's squad form: dicts matched by id, in any order.
    ids = [f"q{k}" for k in range(len(predictions))]
    as_dicts = squad.compute(
        predictions=[{"id": i, "prediction_text": p} for i, p in zip(ids, predictions)][::-1],
        references=[{"id": i, "answers": {"text": r, "answer_start": [0] * len(r)}} for i, r in zip(ids, references)],
        no_answer_probabilities=no_answer[::-1])
    assert as_dicts == got
    per = squad.compute(predictions=predictions, references=references, use_aggregator=False)
    assert per == {k: [row[k] for row in expected["per_example"]] for k in ("exact_match", "f1")}


@pytest.mark.slow
def test_benchs_rouge_module_through_bench_score_gives_the_built_in_numbers(in_tmp, cli):
    from bench.evaluate_modules import path

    write_rows(in_tmp / "s.jsonl", [{"id": str(k), "prediction": p, "references": r}
                                    for k, (p, r) in enumerate(zip(PREDICTIONS, REFERENCES))])
    built_in, _ = score_json(cli, "s.jsonl")
    target = f"evaluate:{path('rouge')}"
    per, _ = score_json(cli, "s.jsonl", "--metric", target, "--metric-opt", "rouge.use_aggregator=false")
    corpus, _ = score_json(cli, "s.jsonl", "--metric", target)
    for t in ("rouge1", "rouge2", "rougeL", "rougeLsum"):
        assert per["metrics"][f"rouge.{t}"] == built_in["metrics"][t]
        assert per["ci"][f"rouge.{t}"] == built_in["ci"][t]
        assert corpus["metrics"][f"rouge.{t}"] == built_in["metrics"][t] and corpus["ci"][f"rouge.{t}"] is None
    assert "|use_aggregator:false|refs:all|agg:mean|" in per["signatures"]["rouge.rouge1"]
    # Once per example: the module's corpus value, or its list of one value, of each example.
    for extra in ([], ["--metric-opt", "rouge.use_aggregator=false"]):
        each, _ = score_json(cli, "s.jsonl", "--metric", target, "--metric-opt", "rouge.per_example=true", *extra)
        assert each["metrics"] == {f"rouge.{t}": v for t, v in built_in["metrics"].items()}
        assert each["ci"] == {f"rouge.{t}": v for t, v in built_in["ci"].items()}


#: Only values that are no score: NaN, and text.
NO_SCORE = '''import datasets
import evaluate


class NoScore(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description="no score", citation="", inputs_description="",
            features=datasets.Features({"predictions": datasets.Value("string"),
                                        "references": datasets.Value("string")}))

    def _compute(self, predictions, references):
        return {"score": float("nan"), "verdict": "fine"}
'''


@pytest.mark.slow
@pytest.mark.parametrize("per_example", [False, True])
def test_a_metric_that_gives_no_score_at_all_is_an_error_not_an_empty_result(cli, in_tmp, per_example):
    write_metric(in_tmp, "no_score", NO_SCORE)
    rows = write_rows(in_tmp / "rows.jsonl")
    args = ["score", str(rows), "--metric", "evaluate:./no_score.py"]
    if per_example:
        args += ["--metric-opt", "no_score.per_example=true"]
    code, out, err = cli(*args)
    assert code == 2 and "metric 'evaluate:./no_score.py' gave no score" in err and "nan" in err and "'fine'" in err
    assert "Traceback" not in err and out == ""
