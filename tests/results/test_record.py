"""The typed run record: results.json read into a `RunRecord` and written back byte for byte.

The files in tests/results/data/ were written by bench before `RunRecord` existed (a summarization run with a
reference block, its rescoring, a QA run whose user metric left examples unscored, a run with an `evaluate`
module's corpus value); the good runs of the bad-input corpus are schema 1 records.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from pathlib import Path

import pytest
from conftest import REPO

from bench.io import json_text
from bench.results.record import RESULT_FIELDS, MetricConfig, RunRecord
from bench.results.store import read_record, read_run, write_run

DATA = Path(__file__).parent / "data"
GOOD = REPO / "tests" / "bad_inputs" / "good" / "results" / "news"
WRITTEN_BEFORE = [DATA / "summarization.json", DATA / "rescored.json", DATA / "unscored.json",
                  DATA / "corpus_value.json", *sorted(GOOD.glob("*/*/results.json"))]


@pytest.mark.parametrize("path", WRITTEN_BEFORE, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_a_record_read_and_written_again_is_the_same_file(tmp_path, path):
    record = read_record(path)
    assert json_text(record.to_dict()) == path.read_text(encoding="utf-8")
    written = write_run(tmp_path, record, [])
    assert (written / "results.json").read_bytes() == path.read_bytes()
    again = read_record(written)
    assert again == record and again.path == written and record.path == path.parent


def test_the_record_reads_as_results_json_and_is_frozen():
    path = DATA / "summarization.json"
    record = read_record(path)
    assert record == read_run(path) and list(record) == [f for f in RESULT_FIELDS if f in read_run(path)]
    copy = record["metrics"]
    copy["rouge1"] = -1.0  # a copy: the record does not change
    assert record["metrics"]["rouge1"] == record.metrics["rouge1"] != -1.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.model = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        record.config.fields["seed"] = 1  # type: ignore[index]
    with pytest.raises(TypeError):
        record.metrics["rouge1"] = 0.0  # type: ignore[index]


def test_typed_fields():
    summarization = read_record(DATA / "summarization.json")
    raw = json.loads((DATA / "summarization.json").read_text(encoding="utf-8"))
    assert (summarization.model, summarization.task, summarization.task_type) == ("lead-3", "seed-summarization",
                                                                                 "summarization")
    assert summarization.n_examples == raw["n_examples"] and summarization.schema_version == 2
    assert dict(summarization.metrics) == raw["metrics"]
    assert summarization.interval("rouge1") == tuple(raw["ci"]["rouge1"])
    assert summarization.reference is not None and dict(summarization.reference.metrics) == raw["reference"]["metrics"]
    assert summarization.config.seed == 0 and summarization.config.limit is None
    assert summarization.config.metrics[0] == MetricConfig("rouge", {})
    assert summarization.config.metric_options["stemmer"] is True
    assert summarization.provenance.bench_version == raw["provenance"]["bench_version"]
    assert summarization.provenance.started_at == raw["provenance"]["started_at"]
    assert summarization.timing.seconds("score_s") == raw["timing"]["score_s"]
    assert summarization.examples_per_s == raw["timing"]["examples_per_s"]
    assert summarization.direction("rouge1") == "higher" and summarization.direction("summary_length") == "none"
    assert summarization.metric_names == ["rouge", "extractiveness"]
    # a rescored run keeps no throughput of its own
    rescored = read_record(DATA / "rescored.json")
    assert rescored.config.rescored_from == summarization.run_id and rescored.examples_per_s is None
    assert rescored.config.metric_options["stemmer"] is False
    # a corpus value has no interval; a metric that could not score every example counts them
    corpus = read_record(DATA / "corpus_value.json")
    assert corpus.scores.ci["longer.longer"] is None and corpus.interval("longer.longer") == (None, None)
    assert corpus.corpus_only("longer.longer") and not corpus.corpus_only("rouge1")
    unscored = read_record(DATA / "unscored.json")
    assert unscored.unscored == {"words": 16} and unscored.task_type == "qa"
    # a schema 1 record without the reference block, config.metrics or a git commit
    (old,) = [read_record(p) for p in GOOD.glob("lead-3/*/results.json")]
    assert old.schema_version == 1 and old.reference is None and old.config.metrics == ()
    assert old.metric_names == ["rouge"] and old.provenance.git_commit is None


def test_absent_blocks_stay_absent(tmp_path):
    (good,) = GOOD.glob("lead-3/*/results.json")
    raw = json.loads(good.read_text(encoding="utf-8"))
    for key in ("config", "timing", "provenance", "warnings", "counts"):
        raw.pop(key)
    path = tmp_path / "results.json"
    path.write_text(json_text(raw), encoding="utf-8")
    record = read_record(path)
    assert record.to_dict() == raw and record.config.seed is None and record.examples_per_s is None
    assert json_text(record.to_dict()) == path.read_text(encoding="utf-8")


#: What differs between two runs of the same model on the same task: when and where they ran.
VARYING = re.compile(r'^(\s*"(run_id|rescored_from|path|fixture|command|started_at|finished_at|platform|python|'
                     r'total_s|load_s|predict_s|score_s|examples_per_s|peak_rss_mb|rouge_engine)": ).*?(,?)$')
#: Recorded only when bench runs from a git checkout (the files of tests/results/data were made from an archive).
GIT = re.compile(r'^\s*"git_(commit|dirty)": ')


#: The versions of the installed packages: the environment's (pip may install newer ones than those of the files).
PACKAGES = re.compile(r'("packages": \{)[^{}]*(\})')


def _steady(text: str) -> str:
    text = PACKAGES.sub(r"\1...\2", text)
    return "\n".join(VARYING.sub(r"\1...\3", line) for line in text.splitlines() if not GIT.match(line))


@pytest.mark.slow
def test_a_run_today_writes_what_bench_wrote_before_for_the_same_run(tmp_path):
    """lead-3 on the seed task, run now and by bench before the record was typed (tests/results/data): the same
    file but for when and where it ran, and the model's own name in the provenance (recorded since `--name`)."""
    from bench.api import run

    (made,) = run(models=["lead-3"], tasks=["seed-summarization"], output_dir=tmp_path)
    now = (Path(made["path"]) / "results.json").read_text(encoding="utf-8")
    before = (DATA / "summarization.json").read_text(encoding="utf-8")
    added = '    "model_source": "lead-3",\n'
    assert added in now and added not in before
    assert _steady(now.replace(added, "")) == _steady(before)
    # and rescoring it as that run was rescored
    from bench.execution.rescoring import rescore_run
    from bench.metrics import MetricOptions

    shutil.copy(DATA / "summarization.json", tmp_path / "before.json")
    new, path = rescore_run(Path(made["path"]), MetricOptions(stemmer=False))
    assert _steady((path / "results.json").read_text(encoding="utf-8").replace(added, "")) == _steady(
        (DATA / "rescored.json").read_text(encoding="utf-8"))
    assert isinstance(new, dict) and new == read_run(path)


def test_a_record_is_equal_to_its_file_wherever_it_was_read(tmp_path):
    a = read_record(DATA / "unscored.json")
    shutil.copy(DATA / "unscored.json", tmp_path / "results.json")
    b = read_record(tmp_path)
    assert a == b and a.path != b.path
    assert dataclasses.replace(b, model="other") != a
    assert isinstance(a, RunRecord)
