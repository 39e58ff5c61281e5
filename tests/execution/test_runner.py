"""run_pair's steps: cache lookup, predict missing, score, record."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bench.execution.cache import PredictionCache, model_identity
from bench.runtime.distributed import World
from bench.execution.runner import (
    RunOptions, open_cache, predict_missing, prediction_rows, run_pair,
)
from bench.models import resolve_model
from bench.results.store import RESULT_FIELDS, SCHEMA_VERSION
from bench.tasks.discovery import resolve_tasks
from bench.tasks.examples import load_examples


@pytest.fixture
def qa():
    (task,) = resolve_tasks(["seed-qa"])
    return load_examples(task, limit=5)


@pytest.fixture
def counting_spec():
    """The sliding-window baseline, counting how often it is loaded."""
    spec = resolve_model("sliding-window")
    created: list[int] = []

    def factory(**options):
        created.append(1)
        return spec.create(**options)

    return replace(spec, factory=factory), created


def test_run_pair_makes_a_complete_record(tmp_path, qa, counting_spec):
    task, examples = qa
    spec, created = counting_spec
    record, rows = run_pair(spec, task, examples, RunOptions(output_dir=tmp_path, limit=5))
    assert list(record) == [f for f in RESULT_FIELDS if f != "reference"]  # a QA run has no reference statistics
    assert record["schema_version"] == SCHEMA_VERSION and record["n_examples"] == 5
    assert record["model"] == "sliding-window" and record["task"] == "seed-qa" and record["task_hash"] == task.hash
    assert set(record["metrics"]) == set(record["ci"]) == set(record["signatures"])
    assert record["config"]["cache"]["predicted"] == 5 and record["config"]["cache"]["reused"] == 0
    assert record["config"]["model"]["kind"] == spec.kind and record["config"]["limit"] == 5
    assert record["provenance"]["device"] == "cpu" and record["provenance"]["started_at"].endswith("Z")
    timing = record["timing"]
    assert timing["total_s"] >= timing["load_s"] + timing["predict_s"] and timing["examples_per_s"] > 0
    assert [r["id"] for r in rows] == [e.id for e in examples]
    assert all(r["question"] == e.question for r, e in zip(rows, examples))
    assert created == [1]


def test_a_second_run_reuses_every_prediction_without_loading_the_model(tmp_path, qa, counting_spec):
    task, examples = qa
    spec, created = counting_spec
    options = RunOptions(output_dir=tmp_path)
    first, _ = run_pair(spec, task, examples, options)
    again, rows = run_pair(spec, task, examples, options)
    assert created == [1]
    assert again["metrics"] == first["metrics"] and again["run_id"] != first["run_id"]
    assert again["config"]["cache"] == {**first["config"]["cache"], "reused": 5, "predicted": 0}
    assert again["config"]["model"] == first["config"]["model"]  # from the cache's record of the model
    # no throughput for predictions not made in this run: it says how many came from the cache instead
    assert again["timing"]["load_s"] == 0.0 and again["timing"]["examples_per_s"] is None
    assert (again["timing"]["cached"], again["timing"]["predicted"]) == (5, 0)
    fresh, _ = run_pair(spec, task, examples, replace(options, fresh=True))
    assert created == [1, 1] and fresh["config"]["cache"]["predicted"] == 5


def test_open_cache_without_the_cache_has_nothing(tmp_path, qa, counting_spec):
    task, _ = qa
    spec, _ = counting_spec
    assert open_cache(spec, task, RunOptions(output_dir=tmp_path, use_cache=False), World()) == (None, {})
    assert not (tmp_path / ".cache").exists()


def test_open_cache_finds_what_an_earlier_run_stored(tmp_path, qa, counting_spec):
    task, examples = qa
    spec, _ = counting_spec
    options = RunOptions(output_dir=tmp_path)
    stored = PredictionCache(tmp_path, task.name, spec.name, model_identity(spec, task, {}))
    stored.append([(examples[0].id, "an answer")])
    stored.close()
    cache, done = open_cache(spec, task, options, World())
    assert cache is not None and cache.key == stored.key and done == {examples[0].id: "an answer"}
    cache, done = open_cache(spec, task, replace(options, fresh=True), World())
    assert done == {} and stored.load() == {}


def test_predict_missing_with_nothing_to_do_loads_no_model(tmp_path, qa, counting_spec):
    task, _ = qa
    spec, created = counting_spec
    predicted = predict_missing(spec, task, [], RunOptions(batch_size=4), None, None)
    assert created == [] and predicted.predictions == {} and predicted.batch_size == 4
    assert predicted.model_config == {} and predicted.load_s == predicted.predict_s == 0.0


def test_predict_missing_predicts_into_the_cache_and_closes_it(tmp_path, qa, counting_spec):
    task, examples = qa
    spec, created = counting_spec
    cache = PredictionCache(tmp_path, task.name, spec.name, {"x": 1})
    seen: list[int] = []
    predicted = predict_missing(spec, task, examples[:3], RunOptions(batch_size=2), cache, seen.append)
    assert created == [1] and sum(seen) == 3 and predicted.batch_size == 2
    assert set(predicted.predictions) == {e.id for e in examples[:3]}
    assert cache.load() == predicted.predictions
    assert cache.model_config() == (predicted.model_config, 2)


def test_prediction_rows_carry_the_question_only_for_qa(qa):
    _, examples = qa
    rows = prediction_rows(examples[:1], ["p"], [{"f1": 1.0}])
    assert rows == [{"id": examples[0].id, "prediction": "p", "references": list(examples[0].references),
                     "scores": {"f1": 1.0}, "question": examples[0].question}]
    no_question = replace(examples[0], question=None)
    assert "question" not in prediction_rows([no_question], ["p"], [{}])[0]
