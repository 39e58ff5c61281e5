"""bench's speed against the practical limits, measured side by side in one process.

    python benchmarks/run_benchmarks.py            # writes benchmarks/RESULTS.md
    python benchmarks/run_benchmarks.py --quick    # smaller sizes, for a smoke test

1. Generation: `bench run` on a seq2seq model vs a hand-written batched
   `model.generate` loop over the same inputs, model and batch size (the
   practical limit), and vs the per-example loop most users write. A model
   with distilbart-cnn-12-6's real shape (its config, random weights) on a
   few inputs, and a small BART on more. The output length is forced
   (min_new_tokens = max_new_tokens) so the compute is real and equal.
2. ROUGE (all four types, stemming on) on 10,000 (prediction, reference)
   pairs of news-like length (3 sentences each): bench vs rouge_score.
3. `bench --help` wall time vs `python -c pass`.
4. A resumed run (all predictions cached) vs a fresh run: re-scoring only.

Targets: (1) bench >= 0.95x the hand-written batched loop; (2) identical
numbers to 1e-9 and bench >= 5x faster; (3) under 0.3 s above the bare
interpreter. The machines are shared and noisy, so each comparison is a ratio
of timings taken one after the other in the same process.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "helpers"))


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return (f"{platform.machine()}, {cpu}, {cores} cores, {gpu}; Python {platform.python_version()}, "
            f"torch {torch.__version__}")


# ------------------------------------------------------------- 1. generation

def _documents(n: int, sentences: int, seed: int = 0) -> list[str]:
    from bench.metrics.sentences import split_sentences
    from tiny_models import seed_text

    body = "\n".join(seed_text().split("\n")[3:])
    pool = split_sentences(body)
    rng = random.Random(seed)
    return [" ".join(rng.choice(pool) for _ in range(rng.randint(sentences // 2, sentences))) for _ in range(n)]


def _write_task(root: Path, name: str, docs: list[str]) -> Path:
    (root / "fixtures").mkdir(parents=True, exist_ok=True)
    (root / "tasks").mkdir(parents=True, exist_ok=True)
    with (root / "fixtures" / f"{name}.jsonl").open("w") as f:
        for k, d in enumerate(docs):
            f.write(json.dumps({"id": f"{name}-{k}", "document": d, "references": ["A reference."]}) + "\n")
    task = root / "tasks" / f"{name}.yaml"
    task.write_text(f"name: {name}\nversion: 1\ntype: summarization\nfixture: ../fixtures/{name}.jsonl\n")
    return task


def _distilbart_shaped(path: Path, tokenizer_dir: Path) -> Path:
    """sshleifer/distilbart-cnn-12-6's architecture (12 encoder, 6 decoder layers, d_model 1024), random weights."""
    from transformers import AutoTokenizer, BartConfig, BartForConditionalGeneration

    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    config = BartConfig(
        vocab_size=50264, d_model=1024, encoder_layers=12, decoder_layers=6, encoder_attention_heads=16,
        decoder_attention_heads=16, encoder_ffn_dim=4096, decoder_ffn_dim=4096, max_position_embeddings=1024,
        pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
        decoder_start_token_id=tok.eos_token_id, forced_bos_token_id=tok.bos_token_id,
        forced_eos_token_id=tok.eos_token_id, num_beams=1,
    )
    import torch

    torch.manual_seed(0)
    model = BartForConditionalGeneration(config)
    model.generation_config.num_beams = 1
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path


def _hand_batched(model_dir: Path, docs: list[str], batch_size: int, new_tokens: int) -> float:
    """The practical limit: length-sorted batches straight into model.generate."""
    import torch
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForSeq2SeqLM.from_pretrained(model_dir).eval()
    max_len = model.config.max_position_embeddings
    order = sorted(range(len(docs)), key=lambda i: -len(docs[i]))
    t = time.perf_counter()
    with torch.inference_mode():
        for k in range(0, len(order), batch_size):
            batch = [docs[i] for i in order[k:k + batch_size]]
            enc = tok(batch, return_tensors="pt", padding=True, truncation=True, max_length=max_len)
            out = model.generate(**enc, min_new_tokens=new_tokens, max_new_tokens=new_tokens, num_beams=1,
                                 do_sample=False)
            tok.batch_decode(out, skip_special_tokens=True)
    return time.perf_counter() - t


def _per_example(model_dir: Path, docs: list[str], new_tokens: int) -> float:
    """What many users write: one example at a time."""
    import torch
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForSeq2SeqLM.from_pretrained(model_dir).eval()
    t = time.perf_counter()
    with torch.inference_mode():
        for d in docs:
            enc = tok(d, return_tensors="pt", truncation=True, max_length=model.config.max_position_embeddings)
            out = model.generate(**enc, min_new_tokens=new_tokens, max_new_tokens=new_tokens, num_beams=1)
            tok.decode(out[0], skip_special_tokens=True)
    return time.perf_counter() - t


def _bench_run(model_dir: Path, task: Path, out: Path, batch_size: int, new_tokens: int) -> float:
    import bench

    (record,) = bench.run(
        models=[str(model_dir)], tasks=[str(task)], output_dir=out, batch_size=batch_size, no_cache=True,
        model_options={"device": "cpu", "dtype": "float32",
                       "generation": {"min_new_tokens": new_tokens, "max_new_tokens": new_tokens, "num_beams": 1,
                                      "do_sample": False}},
    )
    return record["timing"]["predict_s"]


def bench_generation(tmp: Path, quick: bool) -> list[dict]:
    from tiny_models import build_bart

    small = build_bart(tmp / "small-bart", max_positions=512)
    rows = []
    cases = [("small BART (d_model 32, 2+2 layers)", small, 16 if quick else 64, 8, 32)]
    if not quick:
        big = _distilbart_shaped(tmp / "distilbart-shaped", small)
        cases.append(("distilbart-cnn-12-6 shape (306M params, random weights)", big, 8, 4, 32))
    for label, model_dir, n, bs, new_tokens in cases:
        docs = _documents(n, 12)
        task = _write_task(tmp / f"task-{n}", f"gen{n}", docs)
        # one warm-up of each path, then alternate and keep the best of the repeats
        _hand_batched(model_dir, docs[:bs], bs, 2)
        times = {"bench": [], "hand": [], "loop": []}
        for _ in range(1 if quick else 2):
            times["hand"].append(_hand_batched(model_dir, docs, bs, new_tokens))
            times["bench"].append(_bench_run(model_dir, task, tmp / "out", bs, new_tokens))
        times["loop"].append(_per_example(model_dir, docs, new_tokens))
        best = {k: min(v) for k, v in times.items()}
        rows.append({"model": label, "examples": n, "batch_size": bs, "new_tokens": new_tokens,
                     "bench_s": best["bench"], "hand_s": best["hand"], "loop_s": best["loop"],
                     "bench_vs_hand": best["hand"] / best["bench"], "bench_vs_loop": best["loop"] / best["bench"]})
        print(f"generation {label}: {rows[-1]}", flush=True)
    return rows


# ------------------------------------------------------------------ 2. ROUGE

def _pairs(n: int) -> list[tuple[str, str]]:
    docs = _documents(2 * n, 3, seed=1)
    rng = random.Random(2)
    out = []
    for k in range(n):
        pred = docs[2 * k].split(" ")
        pred = [w if rng.random() > 0.25 else rng.choice(pred) for w in pred]
        out.append((" ".join(pred), docs[2 * k + 1] if k % 3 else docs[2 * k]))
    return out


def bench_rouge(n: int) -> dict:
    from rouge_score import rouge_scorer

    from bench.metrics import MetricOptions
    from bench.metrics.rouge_metric import Rouge

    types = ["rouge1", "rouge2", "rougeL", "rougeLsum"]
    pairs = _pairs(n)
    # Predictions one sentence per line, as bench scores them, so both compute the same rougeLsum.
    from bench.metrics.sentences import one_sentence_per_line

    preds = [one_sentence_per_line(p) for p, _ in pairs]
    refs = [one_sentence_per_line(r) for _, r in pairs]
    t = time.perf_counter()
    scorer = rouge_scorer.RougeScorer(types, use_stemmer=True)
    theirs = [scorer.score(r, p) for p, r in zip(preds, refs)]
    t_ref = time.perf_counter() - t
    t = time.perf_counter()
    ours = Rouge(MetricOptions(split_sentences=False)).compute(preds, [[r] for r in refs])
    t_bench = time.perf_counter() - t
    max_diff = max(abs(ours.per_example[ty][k] - 100 * theirs[k][ty].fmeasure) for k in range(n) for ty in types)
    row = {"pairs": n, "rouge_score_s": t_ref, "bench_s": t_bench, "speedup": t_ref / t_bench,
           "max_abs_diff": max_diff}
    print(f"rouge: {row}", flush=True)
    return row


# ------------------------------------------------------------- 3. start-up

def bench_startup(repeats: int) -> dict:
    def wall(cmd: list[str]) -> float:
        samples = []
        for _ in range(repeats):
            t = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True)
            samples.append(time.perf_counter() - t)
        return statistics.median(samples)

    bare = wall([sys.executable, "-c", "pass"])
    help_ = wall([sys.executable, "-m", "bench", "--help"])
    row = {"python_s": bare, "bench_help_s": help_, "overhead_s": help_ - bare}
    print(f"startup: {row}", flush=True)
    return row


# --------------------------------------------------------------- 4. resume

def bench_resume(tmp: Path) -> dict:
    import bench

    out = tmp / "resume"
    t = time.perf_counter()
    bench.run(models=["sliding-window", "textrank"], output_dir=out, no_cache=True)
    fresh = time.perf_counter() - t
    t = time.perf_counter()
    records = bench.run(models=["sliding-window", "textrank"], output_dir=out)
    resumed = time.perf_counter() - t
    assert all(r["config"]["cache"]["predicted"] == 0 for r in records)
    row = {"fresh_s": fresh, "resumed_s": resumed,
           "score_s": sum(r["timing"]["score_s"] for r in records)}
    print(f"resume: {row}", flush=True)
    return row


# ------------------------------------------------------------------ report

def write_report(path: Path, results: dict) -> None:
    g, r, s, z = results["generation"], results["rouge"], results["startup"], results["resume"]
    lines = [
        "# Benchmarks",
        "",
        f"Measured {time.strftime('%Y-%m-%d')} with `python benchmarks/run_benchmarks.py` on: {results['machine']}.",
        "Each ratio compares timings taken one after the other in one process on a shared machine.",
        "",
        "## 1. Generation throughput (target: bench >= 0.95x the hand-written batched loop)",
        "",
        "| model | examples | batch | new tokens | bench s | hand-batched s | per-example s | bench vs hand-batched | bench vs per-example |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in g:
        lines.append(f"| {row['model']} | {row['examples']} | {row['batch_size']} | {row['new_tokens']} | "
                     f"{row['bench_s']:.2f} | {row['hand_s']:.2f} | {row['loop_s']:.2f} | "
                     f"{row['bench_vs_hand']:.2f}x | {row['bench_vs_loop']:.2f}x |")
    lines += [
        "",
        "A ratio above 1 means bench was faster. bench sorts inputs by length into batches, as the hand-written",
        "loop does; the per-example loop pays the per-call overhead of `generate` for every example.",
        "",
        "## 2. ROUGE on news-like pairs (target: identical to 1e-9, bench >= 5x faster)",
        "",
        "| pairs | rouge_score s | bench s | speedup | max abs difference (x100 scale) |",
        "|---|---|---|---|---|",
        f"| {r['pairs']} | {r['rouge_score_s']:.1f} | {r['bench_s']:.2f} | {r['speedup']:.1f}x | {r['max_abs_diff']:.1e} |",
        "",
        "rouge1, rouge2, rougeL and rougeLsum with stemming; bench includes its seeded bootstrap CIs in its time.",
        "",
        "## 3. Start-up (target: `bench --help` under 0.3 s above the bare interpreter)",
        "",
        "| `python -c pass` s | `bench --help` s | overhead s |",
        "|---|---|---|",
        f"| {s['python_s']:.3f} | {s['bench_help_s']:.3f} | {s['overhead_s']:.3f} |",
        "",
        "## 4. Resumed run vs fresh run (baselines on the bundled tasks)",
        "",
        "| fresh run s | resumed run s (everything cached) | of which scoring s |",
        "|---|---|---|",
        f"| {z['fresh_s']:.2f} | {z['resumed_s']:.2f} | {z['score_s']:.2f} |",
        "",
    ]
    if "no GPU" in results["machine"]:
        lines += [
            "## GPU",
            "",
            "Not measured on this machine (it has no GPU). `python benchmarks/gpu_check.py` runs the Hugging Face",
            "runner on a CUDA GPU in float32, float16 and bfloat16 with `--batch-size auto` and prints examples/s,",
            "generated tokens/s, the batch size found and peak GPU memory; the last such measurements, with the",
            "machine they ran on, are in `benchmarks/GPU_RESULTS.md`.",
            "",
        ]
    path.write_text("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke test, not a measurement)")
    parser.add_argument("--output", type=Path, default=REPO / "benchmarks" / "RESULTS.md")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    with tempfile.TemporaryDirectory() as tmp:
        results = {
            "machine": machine(),
            "startup": bench_startup(3 if args.quick else 10),
            "rouge": bench_rouge(500 if args.quick else 10_000),
            "resume": bench_resume(Path(tmp)),
            "generation": bench_generation(Path(tmp), args.quick),
        }
    write_report(args.output, results)
    (args.output.with_suffix(".json")).write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
