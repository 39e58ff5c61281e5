"""Half-precision generation on a GPU: transformers' own `generate` against bench, same model and inputs.

    python benchmarks/gpu_generate_dtypes.py        (writes $OUT/gen_dtype.json when OUT is set)

Builds the models of gpu_check.py (random weights), tokenizes its 64 documents
once, and times `model.generate` on CUDA in float32, float16 and bfloat16 with
the model's generation config, without n-gram blocking, and greedy; then runs
the distilbart-shaped model through bench in float32 and float16.
"""
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "benchmarks"), str(REPO / "tests" / "helpers"), str(REPO)]
import torch
import gpu_check
from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

out = {}
with tempfile.TemporaryDirectory() as tmp:
    root = Path(tmp)
    models = gpu_check.build_models(root / "models")
    docs_yaml = gpu_check.summarization_task(root, 64)
    docs = [json.loads(l)["document"] for l in (root / "docs.jsonl").read_text().splitlines()]
    for name in ("bart", "distilbart-shaped"):
        tok = AutoTokenizer.from_pretrained(models[name])
        enc = tok(docs, return_tensors="pt", padding=True, truncation=True).to("cuda")
        for dtype in (torch.float32, torch.float16, torch.bfloat16):
            model = AutoModelForSeq2SeqLM.from_pretrained(models[name], dtype=dtype).to("cuda").eval()
            for label, extra in (("config", {}), ("no ngram block", {"no_repeat_ngram_size": 0}),
                                 ("greedy 142", {"num_beams": 1, "no_repeat_ngram_size": 0, "min_length": 0})):
                with torch.inference_mode():
                    model.generate(**enc, max_new_tokens=4)  # warm-up
                    torch.cuda.synchronize(); t0 = time.perf_counter()
                    gen = model.generate(**enc, **extra)
                    torch.cuda.synchronize(); dt = time.perf_counter() - t0
                toks = int((gen != tok.pad_token_id).sum())
                key = f"{name} {str(dtype)[6:]} {label}"
                out[key] = {"s": round(dt, 3), "ex_per_s": round(len(docs) / dt, 1), "tokens": toks,
                            "tok_per_s": round(toks / dt, 1), "len": gen.shape[1]}
                print(f"{key:45} {dt:7.2f}s {len(docs)/dt:7.1f} ex/s {toks/dt:9.1f} tok/s  out len {gen.shape[1]}", flush=True)
            del model; torch.cuda.empty_cache()
    # bench itself on the same model, for the same table
    for dtype in ("float32", "float16"):
        row, _ = gpu_check.run_one(models["distilbart-shaped"], str(docs_yaml), dtype, root / "out")
        print(f"bench distilbart-shaped {dtype}: {row['examples_per_s']:.1f} ex/s, {row['tokens_per_s']:.1f} tok/s, batch {row['batch']}", flush=True)
        out[f"bench distilbart-shaped {dtype}"] = row
if os.environ.get("OUT"):
    Path(os.environ["OUT"], "gen_dtype.json").write_text(json.dumps(out, indent=2))
