"""bench against the transformers 4.57 pipelines it replaces, prediction by prediction.

transformers 5 has no ``summarization`` or ``question-answering`` pipeline.
This script builds tiny seeded models (BART with and without generation
settings, T5, BERT, RoBERTa, ALBERT and DistilBERT QA models, and a
DistilBERT whose [CLS] token competes with one word, so that some questions
have no answer), runs the
transformers 4.57 pipelines on them in a separate virtual environment, runs
``bench run`` on the same models and examples in this one, and prints how many
predictions are identical, per model and setting.

    python3 -m venv /tmp/tf4
    /tmp/tf4/bin/pip install torch==2.13.0 transformers==4.57.6 sentencepiece
    .venv/bin/python benchmarks/parity/parity.py --tf4-python /tmp/tf4/bin/python

The models are written by transformers 4.57 (as hub checkpoints were) and read
by both. Summaries are compared after bench's trimming, which every bench
summary goes through (`bench.models.prompting.parse_summary`: each line
stripped, blank lines dropped; a random model writes control characters that
Python counts as line breaks). Not part of the test suite: it
needs transformers 4.57, which CI does not install. Its last output is in
``benchmarks/parity/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HELPERS = REPO / "tests" / "helpers"

SUMMARIZERS = ("bart", "bart-cnn-like", "bart-plain", "t5")
READERS = ("bert", "albert", "roberta", "distilbert", "pointer-null")

#: (setting name, the pipeline's call arguments, bench's --gen settings)
QA_SETTINGS = (
    ("pipeline defaults", {}, {"qa_decoding": "pipeline"}),
    ("handle_impossible_answer", {"handle_impossible_answer": True}, {"qa_decoding": "pipeline", "null_threshold": 0}),
    ("max_seq_len 64, doc_stride 16, max_answer_len 8", {"max_seq_len": 64, "doc_stride": 16, "max_answer_len": 8},
     {"qa_decoding": "pipeline", "max_seq_length": 64, "doc_stride": 16, "max_answer_tokens": 8}),
)
#: bench's default decoding (run_qa.py's) against the pipeline's defaults: expected to differ, shown for scale.
RUN_QA_SETTING = ("bench default (run_qa) vs pipeline defaults", {}, {})
#: bench runs that failed after writing their predictions (reported under the table).
FAILURES: list[str] = []


# ------------------------------------------------------------------ examples


def qa_examples() -> list[dict]:
    """The seed-qa questions twice: over the whole article (several windows) and over the answer's paragraph."""
    rows = [json.loads(line) for line in (REPO / "fixtures" / "seed_qa.jsonl").read_text().splitlines()]
    out = []
    for r in rows:
        out.append({"id": r["id"] + "-article", "question": r["question"], "context": r["context"],
                    "answers": r["answers"]})
        paragraphs, start = [], 0
        for part in r["context"].split("  "):
            paragraphs.append((start, part))
            start += len(part) + 2
        at = r["answers"]["answer_start"][0] if r["answers"]["answer_start"] else 0
        begin, paragraph = next(((s, p) for s, p in paragraphs if s <= at < s + len(p) + 2), paragraphs[0])
        answers = {"text": [t for t, a in zip(r["answers"]["text"], r["answers"]["answer_start"])
                            if begin <= a < begin + len(paragraph)],
                   "answer_start": [a - begin for a in r["answers"]["answer_start"] if begin <= a < begin + len(paragraph)]}
        out.append({"id": r["id"] + "-paragraph", "question": r["question"], "context": paragraph, "answers": answers})
    return out


def documents() -> list[dict]:
    """Documents from the seed article: each paragraph, and growing prefixes of it (the longer ones truncated)."""
    text = (REPO / "fixtures" / "source" / "seed_article.txt").read_text(encoding="utf-8").split("\n", 3)[3]
    paragraphs = [p.strip() for p in text.replace("\n\n", "  ").split("  ") if p.strip()]
    docs = [{"id": f"p{k:02d}", "document": p, "references": [p.split(". ")[0]]} for k, p in enumerate(paragraphs)]
    for k in range(1, len(paragraphs), 2):
        body = " ".join(paragraphs[:k + 1])
        docs.append({"id": f"prefix{k:02d}", "document": body, "references": [paragraphs[0]]})
    return docs


# ------------------------------------------------------------ transformers 4


def build(work: Path) -> None:
    """Build every model with this interpreter's transformers (4.57)."""
    sys.path.insert(0, str(HELPERS))
    import parity_models
    import tiny_models

    models = work / "models"
    builders = {
        "bart": parity_models.build_bart_two_beams, "bart-cnn-like": parity_models.build_bart_cnn_like,
        "bart-plain": parity_models.build_bart_plain, "t5": tiny_models.build_t5,
        "bert": parity_models.build_bert_qa, "albert": parity_models.build_albert_qa,
        "roberta": parity_models.build_roberta_qa, "distilbert": parity_models.build_distilbert_qa,
        # [CLS] against 'Belarus': no answer where the window has no 'Belarus' (exercises handle_impossible_answer)
        "pointer-null": partial(parity_models.build_weighted_pointer_qa, start={"[CLS]": 1.0, "Belarus": 1.02},
                                end={"[CLS]": 1.0, "Belarus": 1.02}),
    }
    for name, builder in builders.items():
        if not (models / name / "config.json").is_file():
            builder(models / name)


def run_pipelines(work: Path) -> None:
    """The transformers 4.57 pipelines' predictions, into work/pipeline.json (one file per model on the way, so
    that an interrupted run resumes)."""
    import transformers
    from transformers import pipeline

    transformers.logging.set_verbosity_error()
    models, done = work / "models", work / "pipeline"
    done.mkdir(parents=True, exist_ok=True)
    docs, examples = documents(), qa_examples()
    for name in SUMMARIZERS + READERS:
        target = done / f"{name}.json"
        if target.is_file():
            continue
        started = time.perf_counter()
        if name in SUMMARIZERS:
            pipe = pipeline("summarization", model=str(models / name), device="cpu")
            result = {d["id"]: pipe(d["document"], truncation=True)[0]["summary_text"] for d in docs}
        else:
            pipe = pipeline("question-answering", model=str(models / name), device="cpu")
            result = {}
            for setting, kwargs, _ in QA_SETTINGS:
                answers = {}
                for ex in examples:
                    answer = pipe(question=ex["question"], context=ex["context"], **kwargs)
                    answers[ex["id"]] = answer["answer"] if isinstance(answer, dict) else ""
                result[setting] = answers
        target.write_text(json.dumps(result, indent=1), encoding="utf-8")
        print(f"pipeline {name}: {time.perf_counter() - started:.0f} s", flush=True)
    out = {"transformers": transformers.__version__,
           "summaries": {n: json.loads((done / f"{n}.json").read_text()) for n in SUMMARIZERS},
           "answers": {n: json.loads((done / f"{n}.json").read_text()) for n in READERS}}
    (work / "pipeline.json").write_text(json.dumps(out, indent=1), encoding="utf-8")


# -------------------------------------------------------------------- bench


def write_tasks(work: Path) -> tuple[Path, Path]:
    tasks = work / "tasks"
    tasks.mkdir(parents=True, exist_ok=True)
    (tasks / "parity_qa.jsonl").write_text("".join(json.dumps(e) + "\n" for e in qa_examples()), encoding="utf-8")
    (tasks / "parity_summaries.jsonl").write_text("".join(json.dumps(d) + "\n" for d in documents()),
                                                  encoding="utf-8")
    qa = tasks / "parity-qa.yaml"
    qa.write_text("name: parity-qa\nversion: 1\ntype: qa\nfixture: parity_qa.jsonl\nmetrics: [squad]\n")
    summaries = tasks / "parity-summaries.yaml"
    summaries.write_text("name: parity-summaries\nversion: 1\ntype: summarization\nfixture: parity_summaries.jsonl\n"
                         "metrics: [rouge]\n")
    return qa, summaries


def bench_run(work: Path, model: str, task: Path, gen: dict, batch_size: int, tag: str) -> dict[str, str]:
    out = work / "bench" / tag
    found = list(out.glob("*/*/*/predictions.jsonl"))
    if len(found) == 1:  # made by an earlier `compare` of this work directory
        return {json.loads(line)["id"]: json.loads(line)["prediction"]
                for line in found[0].read_text(encoding="utf-8").splitlines()}
    args = [sys.executable, "-m", "bench", "run", "--quiet", "--no-cache", "-o", str(out), "--model",
            str(work / "models" / model), "--task", str(task), "--batch-size", str(batch_size)]
    for key, value in gen.items():
        args += ["--gen", f"{key}={value}"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    found = list(out.glob("*/*/*/predictions.jsonl"))
    if done.returncode != 0:
        if len(found) != 1:
            raise SystemExit(f"bench run failed ({' '.join(args)}):\n{done.stderr}")
        last = (done.stderr.strip().splitlines() or ["?"])[-1]
        FAILURES.append(f"`bench run` ({tag}) exited {done.returncode} after writing its predictions: {last}")
    predictions, = found
    return {json.loads(line)["id"]: json.loads(line)["prediction"]
            for line in predictions.read_text(encoding="utf-8").splitlines()}


def bench_predictions(work: Path) -> list[tuple[str, str, str, str, dict[str, str]]]:
    """Every bench run: (kind, model, setting, the pipeline's setting it is compared with, predictions)."""
    qa_task, summary_task = write_tasks(work)
    runs = []
    for model in SUMMARIZERS:
        for bs in (1, 8):
            runs.append(("summary", model, f"bench defaults, batch {bs}", "",
                         bench_run(work, model, summary_task, {}, bs, f"{model}-sum-{bs}")))
        if model == "bart":  # its own num_beams is 2; the 4.57 pipeline's 4 outranked it
            runs.append(("summary", model, "bench --gen num_beams=4", "",
                         bench_run(work, model, summary_task, {"num_beams": 4}, 8, f"{model}-sum-beams4")))
    for model in READERS:
        for k, (setting, _, gen) in enumerate(QA_SETTINGS):
            for bs in ((1, 8) if k == 0 else (8,)):
                runs.append(("answer", model, f"{setting}, batch {bs}", setting,
                             bench_run(work, model, qa_task, gen, bs, f"{model}-qa{k}-{bs}")))
        runs.append(("answer", model, RUN_QA_SETTING[0], QA_SETTINGS[0][0],
                     bench_run(work, model, qa_task, RUN_QA_SETTING[2], 8, f"{model}-runqa")))
    return runs


def compare(work: Path) -> str:
    from bench.models.prompting import parse_summary

    runs = bench_predictions(work)
    ref = json.loads((work / "pipeline.json").read_text(encoding="utf-8"))
    rows: list[tuple[str, str, str, int, int, list[str]]] = []
    for kind, model, setting, theirs_setting, ours in runs:
        if kind == "summary":
            theirs = {k: parse_summary(v) for k, v in ref["summaries"][model].items()}
        else:
            theirs = ref["answers"][model][theirs_setting]
        differ = [k for k in theirs if ours[k] != theirs[k]]
        rows.append((kind, model, setting, len(theirs), len(theirs) - len(differ), differ))

    import torch
    import transformers

    machine = (f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {platform.platform()}, "
               f"{os.cpu_count()} CPU(s), CPU only; pipelines: transformers {ref['transformers']}; bench: "
               f"transformers {transformers.__version__}, torch {torch.__version__}; Python {platform.python_version()}.")
    lines = [f"# bench against the transformers {ref['transformers']} pipelines", "", machine,
             "", "| kind | model | setting | predictions | identical | differ |", "|---|---|---|---|---|---|"]
    for kind, model, setting, n, same, differ in rows:
        lines.append(f"| {kind} | {model} | {setting} | {n} | {same} | {len(differ)} |")
    expected_differences = {RUN_QA_SETTING[0]}
    unexpected = [(m, s, d) for k, m, s, _, _, d in rows if d and not s.startswith(tuple(expected_differences))
                  and not (m == "bart" and s.startswith("bench defaults"))]
    expected = ("Expected to differ: bench's default QA decoding (run_qa.py's: token offsets, raw logits compared "
                "across windows) against the pipeline's, and the tiny BART whose own num_beams (2) the 4.57 pipeline "
                "replaced with its default 4 (bench keeps the checkpoint's; `--gen num_beams=4` reproduces it).")
    lines += ["", expected, ""]
    if unexpected:
        lines.append("Unexpected differences:")
        for model, setting, ids in unexpected:
            lines.append(f"- {model}, {setting}: {', '.join(ids[:10])}{' ...' if len(ids) > 10 else ''}")
    else:
        lines.append("Every other prediction is identical.")
    if FAILURES:
        lines += ["", f"{len(FAILURES)} bench run(s) failed after writing their predictions, e.g.:", "",
                  f"- {FAILURES[0]}"]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", nargs="?", default="all", choices=("all", "build", "pipelines", "bench", "compare"))
    parser.add_argument("--tf4-python", default="/tmp/tf4/bin/python",
                        help="the Python of a virtual environment with transformers 4.57.6")
    parser.add_argument("--work", type=Path, default=Path("/tmp/bench-parity"), help="models and runs go here")
    parser.add_argument("--output", type=Path, default=Path(__file__).with_name("RESULTS.md"))
    args = parser.parse_args()
    if args.step == "build":
        build(args.work)
    elif args.step == "pipelines":
        run_pipelines(args.work)
    elif args.step == "bench":
        bench_predictions(args.work)
    else:
        if args.step == "all":
            import shutil

            shutil.rmtree(args.work / "bench", ignore_errors=True)
            for step in ("build", "pipelines"):
                subprocess.run([args.tf4_python, __file__, step, "--work", str(args.work)], check=True)
        report = compare(args.work)
        print(report, end="")
        args.output.write_text(report, encoding="utf-8")


if __name__ == "__main__":
    main()
