"""GPU check of the Hugging Face runner: run it once on a machine with a CUDA GPU.

    python benchmarks/gpu_check.py [--out gpu_check.json] [--quick]

No hub access needed: it builds random models locally (the tiny test models,
and models shaped like sshleifer/distilbart-cnn-12-6 and
distilbert-base-cased-distilled-squad, with the tiny tokenizer) and runs them
through `bench.run` on CUDA in float32, float16 and bfloat16 with
``--batch-size auto``, on a 64-document summarization task and the 48
questions of seed-qa. It prints, per run: examples/s, generated tokens/s, the
batch size auto found, peak GPU memory (max allocated) and load time; then
checks that

- float16/bfloat16 runs finish and agree with float32 on most predictions
  of the tiny models (random weights make near-ties, so not all);
- auto batch size halves on out-of-memory: the distilbart-shaped model is run
  again with the process limited to a small fraction of GPU memory, and must
  finish with a smaller batch than without the limit;
- greedy predictions are the same at batch size 1 and auto (float32).

Random weights make generation run to max_length every time: a worst case for
throughput, not a score.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "helpers"))
sys.path.insert(0, str(REPO))


def build_models(root: Path) -> dict[str, Path]:
    import torch
    import tiny_models
    from transformers import (BartConfig, BartForConditionalGeneration, DistilBertConfig,
                              DistilBertForQuestionAnswering, GenerationConfig)

    models = tiny_models.build_all(root)
    bart_tok_dir = models["bart"]
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(bart_tok_dir)
    tok.model_max_length = 1024
    torch.manual_seed(0)
    # sshleifer/distilbart-cnn-12-6's shape (config.json of the model card), random weights.
    config = BartConfig(vocab_size=50264, d_model=1024, encoder_layers=12, decoder_layers=6,
                        encoder_attention_heads=16, decoder_attention_heads=16, encoder_ffn_dim=4096,
                        decoder_ffn_dim=4096, max_position_embeddings=1024, pad_token_id=tok.pad_token_id,
                        bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                        decoder_start_token_id=tok.eos_token_id)
    model = BartForConditionalGeneration(config)
    model.generation_config = GenerationConfig(
        num_beams=4, length_penalty=2.0, max_length=142, min_length=56, no_repeat_ngram_size=3, early_stopping=True,
        decoder_start_token_id=tok.eos_token_id, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
        forced_bos_token_id=tok.bos_token_id, forced_eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    out = root / "distilbart-shaped"
    model.save_pretrained(out)
    tok.save_pretrained(out)
    models["distilbart-shaped"] = out
    qa_tok = AutoTokenizer.from_pretrained(models["distilbert-qa"])
    qa_tok.model_max_length = 512
    qa = DistilBertForQuestionAnswering(DistilBertConfig(vocab_size=28996, max_position_embeddings=512,
                                                         pad_token_id=qa_tok.pad_token_id))
    out = root / "distilbert-squad-shaped"
    qa.save_pretrained(out)
    qa_tok.save_pretrained(out)
    models["distilbert-squad-shaped"] = out
    return models


def summarization_task(root: Path, n: int = 64) -> Path:
    """n documents cut from the seed article at different lengths (so batches have padding)."""
    import tiny_models

    sentences = [s.strip() + "." for s in tiny_models.seed_text().split("\n", 3)[3].replace("\n", " ").split(". ")
                 if len(s.split()) > 4]
    rows = []
    for k in range(n):
        start = k % len(sentences)
        doc = " ".join((sentences[start:] + sentences[:start])[: 4 + k % (len(sentences) - 3)])
        rows.append({"id": f"doc-{k}", "document": doc, "references": [sentences[start]]})
    (root / "docs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (root / "docs.yaml").write_text("name: gpu-docs\nversion: 1\ntype: summarization\nfixture: docs.jsonl\n")
    return root / "docs.yaml"


def run_one(model: Path, task: str, dtype: str, out: Path, batch_size="auto", memory_fraction: float | None = None,
            device: str = "cuda"):
    import torch

    import bench

    if device == "cuda":
        torch.cuda.empty_cache()
    if memory_fraction is not None:
        torch.cuda.set_per_process_memory_fraction(memory_fraction)
    t0 = time.perf_counter()
    try:
        (record,) = bench.run(models=[str(model)], tasks=[task], output_dir=out, batch_size=batch_size,
                              model_options={"device": device, "dtype": dtype}, no_cache=True)
    finally:
        if memory_fraction is not None:
            torch.cuda.set_per_process_memory_fraction(1.0)
    wall = time.perf_counter() - t0
    preds = [json.loads(line)["prediction"] for line in
             (Path(record["path"]) / "predictions.jsonl").read_text().splitlines()]
    m, t = record["config"]["model"], record["timing"]
    row = {
        "model": model.name, "task": record["task"], "dtype": m["dtype"], "gpu": m["gpu"],
        "parameters": m["parameters"],
        "batch": m["batch_size"], "n": record["n_examples"], "examples_per_s": t.get("examples_per_s"),
        "tokens_per_s": t.get("generated_tokens_per_s"), "cuda_max_allocated_mb": t.get("cuda_max_allocated_mb"),
        "load_s": t.get("load_s"), "wall_s": wall, "warnings": record["warnings"],
    }
    return row, preds


def fmt(x, spec=".1f"):
    return "-" if x is None else format(x, spec)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=None, help="also write the rows as JSON here")
    parser.add_argument("--quick", action="store_true", help="tiny models only")
    parser.add_argument("--device", default="cuda", help="cuda (the check), or cpu for a dry run of the script")
    parser.add_argument("--docs", type=int, default=64, help="documents in the summarization task (default 64)")
    args = parser.parse_args()
    import torch

    cuda = args.device == "cuda"
    if cuda and not torch.cuda.is_available():
        print("no CUDA GPU visible: this check needs one (--device cpu for a dry run)", file=sys.stderr)
        return 2
    print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, "
          f"{torch.cuda.get_device_name(0) if cuda else 'CPU dry run'}")
    rows, failures = [], []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        models = build_models(root / "models")
        print(f"built models in {time.perf_counter() - t0:.1f}s")
        docs = str(summarization_task(root, args.docs))
        plan = [("bart", docs), ("t5", docs), ("gpt2", "seed-qa"), ("distilbert-qa", "seed-qa")]
        if not args.quick:
            plan += [("distilbart-shaped", docs), ("distilbert-squad-shaped", "seed-qa")]
        for name, task in plan:
            by_dtype = {}
            for dtype in ("float32", "float16", "bfloat16"):
                row, preds = run_one(models[name], task, dtype, root / "out", device=args.device)
                rows.append(row)
                by_dtype[dtype] = preds
                print(f"{name:24} {row['task']:9} {dtype:9} batch {row['batch']:>4}  {fmt(row['examples_per_s'])} ex/s"
                      f"  {fmt(row['tokens_per_s'])} tok/s  {fmt(row['cuda_max_allocated_mb'])} MiB"
                      f"  load {fmt(row['load_s'], '.2f')}s", flush=True)
            for dtype in ("float16", "bfloat16"):
                same = sum(a == b for a, b in zip(by_dtype["float32"], by_dtype[dtype])) / len(by_dtype[dtype])
                print(f"  {dtype} agrees with float32 on {100 * same:.0f}% of predictions")
            row1, preds1 = run_one(models[name], task, "float32", root / "out", batch_size=1, device=args.device)
            if preds1 != by_dtype["float32"]:
                failures.append(f"{name}: float32 predictions differ between batch size 1 and auto")
            print(f"  float32 batch 1: {fmt(row1['examples_per_s'])} ex/s; same predictions as auto: "
                  f"{preds1 == by_dtype['float32']}")
        if cuda and not args.quick:
            # Leave room for the weights and a quarter of what the auto batch used on top of them.
            full = next(r for r in rows if r["model"] == "distilbart-shaped" and r["dtype"] == "float16")
            total = torch.cuda.get_device_properties(0).total_memory / 2**20
            weights = full["parameters"] * 2 / 2**20
            fraction = min(0.5, max(0.02, (weights + 0.25 * (full["cuda_max_allocated_mb"] - weights)) / total))
            row, _ = run_one(models["distilbart-shaped"], docs, "float16", root / "out", memory_fraction=fraction)
            rows.append({**row, "memory_fraction": fraction})
            print(f"distilbart-shaped with {100 * fraction:.1f}% of GPU memory: batch {row['batch']} "
                  f"(was {full['batch']}), {fmt(row['examples_per_s'])} ex/s, warnings {row['warnings']}")
            if not row["batch"] < full["batch"]:
                failures.append("auto batch size did not shrink under a memory limit")
    if args.out:
        args.out.write_text(json.dumps(rows, indent=2) + "\n")
    for f in failures:
        print("FAIL:", f)
    print("ok" if not failures else f"{len(failures)} check(s) failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
