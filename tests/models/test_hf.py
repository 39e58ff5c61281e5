"""Hugging Face models end to end, on tiny models built here (tests/tiny_models.py).

Each model is written with `save_pretrained` and run with `bench run --model
<dir>`, the code path of a hub model: config.json read for the kind, weights
loaded by `from_pretrained`, generation through `.generate`, extractive QA
through the QA head and span decoding. Nothing of transformers is mocked.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import tiny_models
from conftest import HELPERS, REPO, skip_without_hf

pytestmark = pytest.mark.slow

BENCH = [sys.executable, "-m", "bench"]


# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="session")
def tiny(tmp_path_factory) -> dict[str, Path]:
    """The tiny models, built once per test session."""
    skip_without_hf()
    from transformers.utils import logging

    logging.disable_progress_bar()
    root = tmp_path_factory.mktemp("tiny-models")
    return tiny_models.build_all(root)


@pytest.fixture(scope="session")
def pointer_models(tmp_path_factory) -> dict[str, Path]:
    """QA models whose answer is known: a span 'Alexander ... Lukashenko', and the null answer."""
    skip_without_hf()
    from transformers.utils import logging

    logging.disable_progress_bar()
    root = tmp_path_factory.mktemp("pointer-models")
    return {
        "span": tiny_models.build_pointer_qa(root / "span", "Alexander", "Lukashenko"),
        "null": tiny_models.build_pointer_qa(root / "null", "[CLS]", "[CLS]"),
    }


def _records(out: Path) -> dict[str, dict]:
    """task name -> results.json of every run under `out`."""
    found = {}
    for path in sorted(out.glob("*/*/*/results.json")):
        record = json.loads(path.read_text())
        record["_predictions"] = [json.loads(line) for line in
                                  (path.parent / "predictions.jsonl").read_text().splitlines()]
        found[record["task"]] = record
    return found


def _run(cli, out: Path, *args: str) -> dict[str, dict]:
    code, _, err = cli("run", "--quiet", "-o", str(out), *args)
    assert code == 0, err
    return _records(out)


def _write_task(root: Path, name: str, type_: str, rows: list[dict], **extra) -> Path:
    """A task definition and its JSONL fixture in `root`; returns the .yaml path."""
    root.mkdir(parents=True, exist_ok=True)
    fixture = root / f"{name}.jsonl"
    fixture.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    lines = [f"name: {name}", "version: 1", f"type: {type_}", f"fixture: {fixture.name}"]
    lines += [f"{k}: {json.dumps(v)}" for k, v in extra.items()]
    path = root / f"{name}.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _sentences() -> list[str]:
    text = tiny_models.seed_text().split("\n", 3)[3]
    return [s.strip() + "." for s in text.replace("\n", " ").split(". ") if len(s.split()) > 4]


# ------------------------------------------------------- every kind, every task


COMMON_MODEL_FIELDS = ("id", "source", "commit", "class", "parameters", "dtype", "device", "gpu", "batch_size",
                       "batch_size_mode", "truncated_inputs", "max_input_tokens", "trust_remote_code")


def _check_record(record: dict, kind: str, n: int) -> dict:
    model = record["config"]["model"]
    assert model["kind"] == kind
    for key in COMMON_MODEL_FIELDS:
        assert key in model, key
    assert model["parameters"] > 10_000
    assert model["dtype"] == "float32" and model["device"] == "cpu" and model["gpu"] is None
    assert model["source"] == "local" and model["commit"] is None
    timing = record["timing"]
    for key in ("load_s", "predict_s", "examples_per_s", "peak_rss_mb"):
        assert timing[key] > 0, key
    assert record["n_examples"] == n == len(record["_predictions"])
    assert all(isinstance(p["prediction"], str) for p in record["_predictions"])
    return model


def test_seq2seq_bart_on_both_summarization_tasks(tiny, cli, tmp_path):
    records = _run(cli, tmp_path, "--model", str(tiny["bart"]))  # every task it can do
    assert set(records) == {"seed-summarization", "seed-headline"}
    for task, record in records.items():
        model = _check_record(record, "seq2seq", 1)
        assert model["class"] == "BartForConditionalGeneration"
        assert model["id"] == str(tiny["bart"].resolve())
        # the seed article is longer than the 128 positions of the tiny BART: truncated and reported
        assert model["truncated_inputs"] == 1 and model["max_input_tokens"] == 128
        assert any("1 input(s) truncated to 128 tokens" in w for w in record["warnings"])
        assert record["timing"]["generated_tokens"] > 0 and record["timing"]["generated_tokens_per_s"] > 0
        assert record["_predictions"][0]["prediction"].strip()
        gen = model["generation"]
        # the model's own generation config, with the task's settings on top
        assert gen["num_beams"] == 2 and gen["no_repeat_ngram_size"] == 3 and gen["length_penalty"] == 2.0
    headline = records["seed-headline"]["config"]["model"]
    assert headline["generation"]["max_new_tokens"] == 32 and headline["generation"]["min_length"] == 0
    assert headline["generation_sources"]["task"] == {"min_new_tokens": 1, "max_new_tokens": 32, "min_length": 0}
    assert records["seed-summarization"]["config"]["model"]["generation"]["max_length"] == 40


def test_gen_overrides_win_over_task_and_model(tiny, cli, tmp_path):
    records = _run(cli, tmp_path, "--model", str(tiny["bart"]), "--task", "seed-headline",
                   "--gen", "num_beams=1", "--gen", "max_new_tokens=8")
    model = records["seed-headline"]["config"]["model"]
    assert model["generation"]["num_beams"] == 1 and model["generation"]["max_new_tokens"] == 8
    assert model["generation_sources"]["run"] == {"num_beams": 1, "max_new_tokens": 8}
    assert records["seed-headline"]["timing"]["generated_tokens"] <= 8


def test_unknown_generation_setting_is_refused_with_a_suggestion(tiny, cli, tmp_path):
    code, _, err = cli("run", "-q", "-o", str(tmp_path), "--model", str(tiny["bart"]), "--task", "seed-headline",
                       "--gen", "num_beam=2")
    assert code == 2
    assert "unknown generation setting 'num_beam'" in err and "num_beams" in err and "Traceback" not in err
    assert not list(tmp_path.glob("*/*/*/results.json"))


def test_t5_uses_its_summarize_prefix_and_task_specific_params(tiny, cli, tmp_path):
    records = _run(cli, tmp_path, "--model", str(tiny["t5"]), "--task", "seed-summarization")
    model = _check_record(records["seed-summarization"], "seq2seq", 1)
    assert model["prefix"] == "summarize: "
    # google-t5/t5-small style task_specific_params["summarization"] apply to summarization tasks
    assert model["generation"]["num_beams"] == 2 and model["generation"]["max_length"] == 30
    assert model["generation_sources"]["model_task_params"]["no_repeat_ngram_size"] == 3


def test_causal_lm_on_every_task_through_its_chat_template(tiny, cli, tmp_path):
    records = _run(cli, tmp_path, "--model", str(tiny["gpt2"]), "--limit", "3")
    assert set(records) == {"seed-summarization", "seed-headline", "seed-qa"}
    for task, record in records.items():
        model = _check_record(record, "causal-lm", 1 if task != "seed-qa" else 3)
        assert model["chat_template"] is True and model["class"] == "GPT2LMHeadModel"
        assert model["prompt"]  # the task's prompt template
        # its own config samples; bench decodes greedily unless asked, and says so
        assert model["generation"]["do_sample"] is False
        assert any("do_sample=True" in w for w in record["warnings"])
        assert record["timing"]["generated_tokens"] > 0
    qa = records["seed-qa"]["config"]["model"]
    assert qa["generation"]["max_new_tokens"] == 24  # from the task
    # The tiny GPT-2 takes 256 tokens: the article is shortened inside the prompt (the question survives).
    assert qa["truncated_inputs"] == 3
    assert records["seed-summarization"]["config"]["model"]["generation"]["max_new_tokens"] == 128


def test_sampling_is_seeded(tiny, cli, tmp_path):
    args = ("--model", str(tiny["gpt2"]), "--task", "seed-qa", "--limit", "2", "--gen", "do_sample=true",
            "--gen", "max_new_tokens=6", "--no-cache")
    first = _run(cli, tmp_path / "a", *args, "--seed", "3")["seed-qa"]
    again = _run(cli, tmp_path / "b", *args, "--seed", "3")["seed-qa"]
    assert first["config"]["model"]["generation"]["do_sample"] is True
    assert [p["prediction"] for p in first["_predictions"]] == [p["prediction"] for p in again["_predictions"]]
    assert not any("do_sample=True" in w for w in first["warnings"])


def test_extractive_qa_on_the_seed_qa_task(tiny, cli, tmp_path):
    records = _run(cli, tmp_path, "--model", str(tiny["distilbert-qa"]), "--limit", "6")
    assert set(records) == {"seed-qa"}
    record = records["seed-qa"]
    model = _check_record(record, "extractive-qa", 6)
    assert model["class"] == "DistilBertForQuestionAnswering"
    assert model["qa"]["max_seq_length"] == 128 and model["qa"]["no_answer"] is False
    assert model["windows"] > 6  # the article does not fit one 128-token window
    context = tiny_models.seed_text()
    for p in record["_predictions"]:
        assert p["prediction"] and p["prediction"] in context  # a span of the context, never empty
    assert "exact_match" in record["metrics"]


# ------------------------------------------------------- batch-size invariance


def test_greedy_outputs_do_not_depend_on_batch_size(tiny, cli, tmp_path):
    sentences = _sentences()
    rows = [{"id": f"d{k}", "document": " ".join(sentences[:k + 1]), "references": [sentences[0]]}
            for k in range(5)]
    summaries = _write_task(tmp_path / "tasks", "five-docs", "summarization", rows)
    runs = {
        "bart": ("--model", str(tiny["bart"]), "--task", str(summaries), "--gen", "num_beams=1"),
        "gpt2": ("--model", str(tiny["gpt2"]), "--task", "seed-qa", "--limit", "5"),
        "qa": ("--model", str(tiny["distilbert-qa"]), "--task", "seed-qa", "--limit", "8"),
    }
    for name, args in runs.items():
        outputs = []
        for bs in ("1", "8"):  # one at a time, and all in one padded batch
            record, = _run(cli, tmp_path / f"{name}-{bs}", *args, "--batch-size", bs).values()
            assert record["config"]["model"]["batch_size"] == int(bs)
            outputs.append([p["prediction"] for p in record["_predictions"]])
        assert outputs[0] == outputs[1], name


# ------------------------------------------------------------ extractive QA


def _long_context_task(root: Path, tokenizer_dir: Path) -> tuple[Path, str, int]:
    """A QA task whose answer 'Alexander Lukashenko' sits in the second 64-token window only."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    filler = [s for s in _sentences() if "Alexander" not in s and "Lukashenko" not in s]
    question = "Which Alexander was named?"  # a start word in the question must not be picked
    context = ""
    for s in filler:
        context = (context + " " + s).strip()
        if len(tok(context, add_special_tokens=False)["input_ids"]) > 50:
            break
    answer_start = len(context) + 1 + len("The man named was ")
    context += " The man named was Alexander Lukashenko of Belarus."
    rows = [
        {"id": "long-1", "context": context, "question": question,
         "answers": {"text": ["Alexander Lukashenko"], "answer_start": [answer_start]}},
        {"id": "long-2", "context": filler[0] + " " + filler[1], "question": "Who won the prize?",
         "answers": {"text": [], "answer_start": []}},
    ]
    settings = {"max_seq_length": 64, "doc_stride": 16, "max_question_tokens": 12}
    path = _write_task(root, "long-qa", "qa", rows, metrics=["squad"], generation=settings)
    # The setup this test relies on: the answer is not in the first window, and is in the second.
    enc = tok(question, context, truncation="only_second", max_length=64, stride=16,
              return_overflowing_tokens=True, return_offsets_mapping=True)
    windows = []
    for i in range(len(enc["input_ids"])):
        seq = enc.sequence_ids(i)
        spans = [o for k, o in enumerate(enc["offset_mapping"][i]) if seq[k] == 1]
        windows.append((spans[0][0], spans[-1][1]))
    assert len(windows) >= 2
    assert windows[0][1] <= answer_start
    assert windows[1][0] <= answer_start and answer_start + len("Alexander Lukashenko") <= windows[1][1]
    return path, context, answer_start


def test_answer_in_the_second_window_maps_back_to_its_character_span(pointer_models, cli, tmp_path):
    task, context, start = _long_context_task(tmp_path / "tasks", pointer_models["span"])
    records = _run(cli, tmp_path / "out", "--model", str(pointer_models["span"]), "--task", str(task))
    record = records["long-qa"]
    answer = record["_predictions"][0]["prediction"]
    assert answer == "Alexander Lukashenko" == context[start:start + len(answer)]
    assert record["_predictions"][0]["scores"]["exact_match"] == 100.0
    model = record["config"]["model"]
    assert model["qa"]["max_seq_length"] == 64 and model["qa"]["doc_stride"] == 16
    assert model["windows"] >= 3


def test_null_score_gives_no_answer_only_when_asked(pointer_models, cli, tmp_path):
    task, _, _ = _long_context_task(tmp_path / "tasks", pointer_models["null"])
    model = str(pointer_models["null"])
    always = _run(cli, tmp_path / "always", "--model", model, "--task", str(task))["long-qa"]
    # A SQuAD 1.1-style model (the default for a directory) always answers with a span...
    assert all(p["prediction"] for p in always["_predictions"])
    assert always["config"]["model"]["qa"]["null_threshold"] is None
    # ...and with SQuAD 2.0's null score on, the [CLS]-pointing model abstains everywhere.
    abstains = _run(cli, tmp_path / "abstains", "--model", model, "--task", str(task),
                    "--gen", "null_threshold=0")["long-qa"]
    assert [p["prediction"] for p in abstains["_predictions"]] == ["", ""]
    assert abstains["metrics"]["NoAns_exact_match"] == 100.0 and abstains["metrics"]["HasAns_exact_match"] == 0.0
    # a threshold above the gap answers again
    lenient = _run(cli, tmp_path / "lenient", "--model", model, "--task", str(task),
                   "--gen", "null_threshold=1e9")["long-qa"]
    assert all(p["prediction"] for p in lenient["_predictions"])


def test_best_span_respects_context_mask_and_maximum_length():
    from bench.models.hf.qa import Span, best_span, choose_answer

    offsets = [None, None, (0, 5), (6, 11), (12, 17), None]  # [CLS] question [context x3] [SEP]
    start = [9.0, 50.0, 1.0, 4.0, 0.0, 0.0]  # the question token is the highest: not part of the context
    end = [9.0, 50.0, 0.0, 1.0, 5.0, 0.0]
    assert best_span(start, end, offsets, max_answer_tokens=30, n_best=20) == Span(9.0, 6, 17)
    assert best_span(start, end, offsets, max_answer_tokens=1, n_best=20) == Span(5.0, 6, 11)
    assert best_span(start, end, [None] * 6, 30, 20) is None
    context = "alpha bravo charl"
    spans = [Span(9.0, 6, 17), Span(3.0, 0, 5)]
    assert choose_answer(context, spans, [18.0, 2.0], None) == "bravo charl"
    # SQuAD 2.0: the lowest null score over the windows against the best span; no answer when null - best > t
    assert choose_answer(context, spans, [18.0, 20.0], 0.0) == ""
    assert choose_answer(context, spans, [18.0, 20.0], 10.0) == "bravo charl"
    assert choose_answer(context, spans, [5.0, 20.0], 0.0) == "bravo charl"
    assert choose_answer(context, [None, None], [1.0, 2.0], None) == ""


# ------------------------------------------------------- offline, refusals


def _bench_subprocess(args, cwd, **env_extra):
    env = {**os.environ, **env_extra}
    return subprocess.run([*BENCH, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("model, hub_id", [
    ("distilbart", "sshleifer/distilbart-cnn-12-6"),
    ("facebook/bart-large-cnn", "facebook/bart-large-cnn"),
])
def test_offline_model_not_in_the_cache_fails_with_one_clear_message(tmp_path, model, hub_id):
    empty_home = tmp_path / "hf-home"
    empty_home.mkdir()
    proc = _bench_subprocess(["run", "--model", model], tmp_path, HF_HUB_OFFLINE="1", HF_HOME=str(empty_home),
                             PYTHONPATH=str(REPO))
    assert proc.returncode == 3, proc.stderr
    err = proc.stderr
    assert "Traceback" not in err and err.count("error:") == 1
    assert hub_id in err and "HF_HUB_OFFLINE" in err
    assert "hf download" in err and "--model /path/to/model" in err  # the ways out
    if model != hub_id:
        assert f"alias {model}" in err
    assert not (tmp_path / "results").exists()


def test_a_model_that_cannot_do_a_task_is_refused_before_loading(tiny, cli, tmp_path):
    # config.json alone: any attempt to load weights would fail differently
    bare = tmp_path / "bare-bart"
    bare.mkdir()
    (bare / "config.json").write_text((tiny["bart"] / "config.json").read_text())
    code, _, err = cli("run", "-q", "-o", str(tmp_path / "out"), "--model", str(bare), "--task", "seed-qa")
    assert code == 2
    assert "cannot do task 'seed-qa'" in err and "does summarization tasks" in err
    code, _, err = cli("run", "-q", "-o", str(tmp_path / "out"), "--model", str(tiny["distilbert-qa"]),
                       "--task", "seed-headline")
    assert code == 2 and "does qa tasks" in err
    assert not (tmp_path / "out").exists()


def test_kind_comes_from_the_config():
    from bench.models.hf.config import kind_from_config

    assert kind_from_config({"is_encoder_decoder": True, "architectures": ["BartForConditionalGeneration"]}) == "seq2seq"
    assert kind_from_config({"architectures": ["RobertaForQuestionAnswering"]}) == "extractive-qa"
    assert kind_from_config({"architectures": ["Qwen2ForCausalLM"]}) == "causal-lm"
    assert kind_from_config({"architectures": ["GPT2LMHeadModel"]}) == "causal-lm"
    assert kind_from_config({"architectures": ["BertForSequenceClassification"]}) is None


def test_unusable_directories_and_options_give_clear_errors(tiny, cli, tmp_path):
    def fails(*args) -> tuple[int, str]:
        code, _, err = cli("run", "-q", "-o", str(tmp_path / "out"), *args)
        assert "Traceback" not in err
        return code, err

    code, err = fails("--model", str(tmp_path / "missing-dir"))
    assert code == 2 and "model directory not found" in err
    (tmp_path / "no-config").mkdir()
    code, err = fails("--model", str(tmp_path / "no-config"))
    assert code == 2 and "has no config.json" in err
    classifier = tmp_path / "classifier"
    classifier.mkdir()
    (classifier / "config.json").write_text(json.dumps({"model_type": "bert",
                                                        "architectures": ["BertForSequenceClassification"]}))
    code, err = fails("--model", str(classifier))
    assert code == 2 and "cannot tell what kind of model" in err
    code, err = fails("--model", str(tiny["bart"]), "--task", "seed-headline", "--device", "cuda")
    assert code == 3 and "CUDA is not available" in err
    code, err = fails("--model", str(tiny["bart"]), "--task", "seed-headline", "--dtype", "float64")
    assert code == 2 and "unknown --dtype 'float64'" in err
    code, err = fails("--model", str(tiny["bart"]), "--task", "seed-headline", "--revision", "main")
    assert code == 2 and "--revision main applies to hub models" in err
    assert not list((tmp_path / "out").glob("*/*/*/results.json"))


def test_remote_code_runs_only_when_allowed(tmp_path, cli):
    skip_without_hf()  # without torch and transformers the message is that they are missing
    custom = tmp_path / "custom"
    custom.mkdir()
    (custom / "config.json").write_text(json.dumps({
        "model_type": "my-own-lm", "architectures": ["MyOwnForCausalLM"],
        "auto_map": {"AutoConfig": "configuration_mine.MyConfig", "AutoModelForCausalLM": "modeling_mine.MyOwnForCausalLM"},
    }))
    code, _, err = cli("run", "-q", "-o", str(tmp_path / "out"), "--model", str(custom), "--task", "seed-headline")
    assert code == 3 and "needs its own code" in err and "--trust-remote-code" in err and "Traceback" not in err


def test_bf16_on_cpu_records_the_dtype(tiny, cli, tmp_path):
    records = _run(cli, tmp_path, "--model", str(tiny["distilbert-qa"]), "--limit", "2", "--dtype", "bfloat16")
    assert records["seed-qa"]["config"]["model"]["dtype"] == "bfloat16"


# ------------------------------------------------------------ your own model


PLUGIN_DIR = HELPERS / "plugin_example"


def test_own_model_class_from_the_working_directory(tmp_path):
    """The README example: `bench run --model my_models:FirstWords` next to my_models.py."""
    out = tmp_path / "results"
    proc = _bench_subprocess(["run", "-q", "--model", "my_models:FirstWords", "--task", "seed-summarization",
                              "-o", str(out)], PLUGIN_DIR, PYTHONPATH=str(REPO))
    assert proc.returncode == 0, proc.stderr
    (record,) = _records(out).values()
    assert record["model"] == "first-words"
    assert record["config"]["model"] == {"kind": "plugin", "name": "first-words", "n_words": 40}
    words = record["_predictions"][0]["prediction"].split()
    assert words == tiny_models.seed_text().split("\n", 3)[3].split()[:40]


def test_own_model_through_an_entry_point(tmp_path):
    site = tmp_path / "site"
    dist = site / "my_models_pkg-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: my-models-pkg\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[bench.models]\nfirst-words = my_models:FirstWords\n")
    env = {"PYTHONPATH": os.pathsep.join([str(site), str(PLUGIN_DIR), str(REPO)])}
    listed = _bench_subprocess(["list"], tmp_path, **env)
    assert listed.returncode == 0, listed.stderr
    assert "first-words" in listed.stdout and "plugin" in listed.stdout
    out = tmp_path / "results"
    proc = _bench_subprocess(["run", "-q", "--model", "first-words", "--task", "seed-headline", "-o", str(out)],
                             tmp_path, **env)
    assert proc.returncode == 0, proc.stderr
    assert _records(out)["seed-headline"]["config"]["model"]["name"] == "first-words"


# ---------------------------------------------------------------- python API


def test_python_api_runs_a_local_model_and_returns_the_records(tiny, tmp_path):
    import bench

    records = bench.run(models=[str(tiny["distilbert-qa"])], tasks=["seed-qa"], limit=3, output_dir=tmp_path,
                        model_options={"device": "cpu", "dtype": "float32"})
    (record,) = records
    assert record["config"]["model"]["kind"] == "extractive-qa" and record["n_examples"] == 3
    on_disk = json.loads((Path(record["path"]) / "results.json").read_text())
    assert on_disk["metrics"] == record["metrics"]


# -------------------------------------------------------------- small pieces


def test_answers_are_parsed_honestly():
    from bench.models.prompting import parse_answer

    assert parse_answer("  Answer: Alexander Lukashenko\nmore text") == "Alexander Lukashenko"
    assert parse_answer('"KYIV"') == "KYIV"
    assert parse_answer("Unanswerable.") == "" and parse_answer("   ") == ""
    assert parse_answer("unanswerable because the text is silent") == "unanswerable because the text is silent"


def test_out_of_memory_halves_the_batch_and_keeps_the_order():
    skip_without_hf()
    import torch

    from bench.runtime.batching import map_batches
    from bench.runtime.memory import is_out_of_memory

    sizes, shrunk = [], []

    def run(batch):
        sizes.append(len(batch))
        if len(batch) > 3:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return [x * 10 for x in batch]

    out, size = map_batches(list(range(10)), 8, run, is_out_of_memory, shrunk.append)
    assert out == [x * 10 for x in range(10)] and size == 2 and shrunk == [4, 2]
    assert sizes[:3] == [8, 4, 2]

    def broken(batch):
        raise ValueError("not memory")

    with pytest.raises(ValueError):
        map_batches([1, 2], 2, broken, is_out_of_memory, shrunk.append)
    with pytest.raises(torch.cuda.OutOfMemoryError):
        map_batches([1], 1, lambda b: run([0, 0, 0, 0]), is_out_of_memory, shrunk.append)


def test_aliases_are_listed_without_importing_torch():
    proc = subprocess.run([sys.executable, "-c", "import sys, bench.models as m; "
                           "print(m.MODELS.get('distilbart').target, m.MODELS.get('t5-small').kind); "
                           "print('torch' in sys.modules, 'transformers' in sys.modules)"],
                          capture_output=True, text=True, cwd=REPO, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["sshleifer/distilbart-cnn-12-6", "seq2seq", "False", "False"]


# ------------------------------------------------------------------ hub cache


def _fake_hub_cache(home: Path, repo_id: str, model_dir: Path, commit: str) -> None:
    """Lay out `model_dir` in the Hugging Face cache as `hf download repo_id` would leave it."""
    import shutil

    repo = home / "hub" / ("models--" + repo_id.replace("/", "--"))
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    shutil.copytree(model_dir, repo / "snapshots" / commit)


def test_a_cached_hub_model_runs_offline_and_records_its_commit(tiny, tmp_path):
    home = tmp_path / "hf-home"
    commit = "0123456789abcdef0123456789abcdef01234567"
    _fake_hub_cache(home, "tiny-org/tiny-bart", tiny["bart"], commit)
    out = tmp_path / "results"
    env = dict(HF_HUB_OFFLINE="1", HF_HOME=str(home), PYTHONPATH=str(REPO))
    proc = _bench_subprocess(["run", "-q", "--model", "tiny-org/tiny-bart", "--task", "seed-headline",
                              "--batch-size", "auto", "-o", str(out)], tmp_path, **env)
    assert proc.returncode == 0, proc.stderr
    record = _records(out)["seed-headline"]
    model = record["config"]["model"]
    assert model["source"] == "hub" and model["id"] == "tiny-org/tiny-bart" and model["commit"] == commit
    assert record["config"]["batch_size"] == "auto" and model["batch_size_mode"] == "auto"
    # a revision that is not in the cache is the clear offline error
    proc = _bench_subprocess(["run", "-q", "--model", "tiny-org/tiny-bart", "--revision", "v2"], tmp_path, **env)
    assert proc.returncode == 3 and "at revision 'v2'" in proc.stderr and "Traceback" not in proc.stderr


def test_cached_predictions_are_reused_until_the_local_weights_change(tiny, cli, tmp_path):
    import shutil

    model = tmp_path / "qa-copy"
    shutil.copytree(tiny["distilbert-qa"], model)
    out = tmp_path / "results"

    def cache_of_a_fresh_run() -> dict:
        for old in out.glob("seed-qa/*/*/results.json"):  # keep the cache, drop the earlier run
            shutil.rmtree(old.parent)
        return _run(cli, out, "--model", str(model), "--task", "seed-qa", "--limit", "2")["seed-qa"]["config"]["cache"]

    first = cache_of_a_fresh_run()
    assert first["predicted"] == 2
    assert cache_of_a_fresh_run()["reused"] == 2
    weights = model / "model.safetensors"
    os.utime(weights, ns=(weights.stat().st_atime_ns, weights.stat().st_mtime_ns + 10**9))  # saved again
    changed = cache_of_a_fresh_run()
    assert changed["predicted"] == 2 and changed["key"] != first["key"]


def test_unreachable_hub_reads_the_cache_and_fails_fast_without_offline_mode(tiny, tmp_path):
    """No HF_HUB_OFFLINE, and the hub's address refuses connections: cache only, no retry loop."""
    home = tmp_path / "hf-home"
    commit = "fedcba9876543210fedcba9876543210fedcba98"
    _fake_hub_cache(home, "tiny-org/tiny-bart", tiny["bart"], commit)
    env = {k: v for k, v in os.environ.items()
           if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HTTPS_PROXY", "https_proxy", "ALL_PROXY",
                        "all_proxy")}
    env.update(HF_HOME=str(home), HF_ENDPOINT="http://127.0.0.1:9", PYTHONPATH=str(REPO))
    run = [*BENCH, "run", "-q", "--task", "seed-headline", "-o", str(tmp_path / "results")]
    proc = subprocess.run([*run, "--model", "tiny-org/tiny-bart"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert _records(tmp_path / "results")["seed-headline"]["config"]["model"]["commit"] == commit
    proc = subprocess.run([*run, "--model", "distilbart"], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 3, proc.stderr
    assert "the Hugging Face Hub cannot be reached" in proc.stderr and "Traceback" not in proc.stderr
    assert "Retrying" not in proc.stderr


@pytest.mark.slow
def test_a_model_says_where_it_loads_before_its_bar_moves(tiny, cli, tmp_path):
    code, _, err = cli("run", "-o", str(tmp_path), "--model", str(tiny["bart"]), "--task", "seed-headline",
                       "--device", "cpu")
    assert code == 0, err
    # the line as a terminal of any width wraps it (a long temporary path breaks it at a space)
    assert f"loading {tiny['bart'].resolve()} on cpu, float32..." in " ".join(err.split())
    # from the cache, nothing loads and nothing is said
    code, _, err = cli("run", "-o", str(tmp_path), "--model", str(tiny["bart"]), "--task", "seed-headline",
                       "--device", "cpu")
    assert code == 0 and "loading" not in err
