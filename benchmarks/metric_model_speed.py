"""Throughput of the model-based metrics against a hand-written batched loop and the bert-score package.

    python benchmarks/metric_model_speed.py            # writes benchmarks/METRIC_MODELS.md and .json
    python benchmarks/metric_model_speed.py --quick    # smaller sizes, for a smoke test
    python benchmarks/metric_model_speed.py --device cuda --shape large   # on a GPU, roberta-large's shape

1. BERTScore: bench's `bertscore` metric vs a hand-written batched loop on the
   same model (unique texts embedded longest first in batches, then batched
   greedy matching: the practical limit), and vs the bert-score package's
   `BERTScorer.score` (model loaded once, outside the timing). Same numbers
   are checked: bench against the package, max abs difference on the x100 scale.
2. NLI (SummaC-ZS's pair scoring): bench's scorer over sentence pairs (no
   cache) vs a hand-written batched loop (pairs sorted by length, padded
   batches, softmax).

Models have real shapes and random weights (the hub is unreachable here):
``small`` is 4 layers of width 256, ``base`` roberta-base's 12 x 768,
``large`` roberta-large's 24 x 1024. Targets: bench >= 0.95x the hand-written
loop; bench faster than the package, with its numbers. Each ratio compares
timings taken in turns in one process (best of `--repeats` rounds): CPU time
of the process on a CPU (the build machines are shared), wall time on a GPU.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "helpers"))
sys.path.insert(0, str(REPO / "benchmarks"))

from run_benchmarks import machine  # noqa: E402

SHAPES = {
    "small": dict(hidden_size=256, num_hidden_layers=4, num_attention_heads=4, intermediate_size=1024),
    "base": dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072),
    "large": dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096),
}


def _words() -> list[str]:
    from tiny_models import seed_text

    return " ".join(seed_text().splitlines()[3:]).split()


def _spans(n: int, low: int, high: int, seed: int) -> list[str]:
    words = _words()
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        k = rng.randint(low, high)
        start = rng.randrange(0, len(words) - k)
        out.append(" ".join(words[start:start + k]))
    return out


def _test_models():
    """tests/helpers/tiny_metric_models.py, loaded by path (tests/helpers is not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("tiny_metric_models",
                                                  REPO / "tests" / "helpers" / "tiny_metric_models.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _build(root: Path, shape: str, nli: bool) -> Path:
    import torch
    from transformers import RobertaConfig, RobertaForSequenceClassification, RobertaModel

    torch.manual_seed(0)
    tok = _test_models().roberta_tokenizer(512)
    labels = {0: "contradiction", 1: "neutral", 2: "entailment"}
    config = RobertaConfig(vocab_size=len(tok), max_position_embeddings=514, pad_token_id=tok.pad_token_id,
                           bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, id2label=labels,
                           label2id={v: k for k, v in labels.items()}, **SHAPES[shape])
    model = (RobertaForSequenceClassification if nli else RobertaModel)(config)
    path = root / f"{shape}-{'nli' if nli else 'encoder'}"
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path


#: What the timings measure: on a GPU the wall clock; on a CPU this process's CPU time (all its threads),
#: which other jobs on a shared machine disturb far less than the wall clock.
CLOCK = {"cuda": time.perf_counter}


def _interleaved(fns: dict, repeats: int, device: str) -> tuple[dict, dict]:
    """Best time of each function over `repeats` rounds, the functions taking turns in every round (the
    machine's load then weighs on all of them alike); and each one's last value."""
    clock = CLOCK.get(device.split(":")[0], time.process_time)
    best = {k: float("inf") for k in fns}
    values: dict = {}
    for _ in range(repeats):
        for k, fn in fns.items():
            t0 = clock()
            values[k] = fn()
            best[k] = min(best[k], clock() - t0)
    return best, values


# ------------------------------------------------------------- 1. BERTScore


def _hand_bertscore(path: Path, layer: int, cands: list[str], refs: list[str], batch: int, device: str):
    """A plain efficient BERTScore: returns a function that scores (cand, ref) pairs, model loaded once."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path).to(device).eval()
    model.encoder.layer = model.encoder.layer[:layer]
    specials = {tok.cls_token_id, tok.sep_token_id}

    def run():
        texts = list(dict.fromkeys([t.strip() for t in cands + refs]))
        ids = tok(texts, truncation=True, max_length=tok.model_max_length)["input_ids"]
        order = sorted(range(len(texts)), key=lambda i: -len(ids[i]))
        emb: dict[int, tuple] = {}
        with torch.inference_mode():
            for s in range(0, len(order), batch):
                chunk = order[s:s + batch]
                enc = tok.pad({"input_ids": [ids[i] for i in chunk]}, return_tensors="pt").to(device)
                out = model(**enc)[0]
                out = out / out.norm(dim=-1, keepdim=True)
                for row, i in enumerate(chunk):
                    n = len(ids[i])
                    w = torch.tensor([0.0 if t in specials else 1.0 for t in ids[i]], device=device)
                    emb[i] = (out[row, :n], w / w.sum())
            where = {t: i for i, t in enumerate(texts)}
            scores = []
            for s in range(0, len(cands), batch):
                c = [emb[where[t.strip()]] for t in cands[s:s + batch]]
                r = [emb[where[t.strip()]] for t in refs[s:s + batch]]
                ce = torch.nn.utils.rnn.pad_sequence([x[0] for x in c], batch_first=True)
                re_ = torch.nn.utils.rnn.pad_sequence([x[0] for x in r], batch_first=True)
                cw = torch.nn.utils.rnn.pad_sequence([x[1] for x in c], batch_first=True)
                rw = torch.nn.utils.rnn.pad_sequence([x[1] for x in r], batch_first=True)
                sim = torch.bmm(ce, re_.transpose(1, 2))
                cmask, rmask = cw > 0, rw > 0
                p = (sim.masked_fill(~rmask[:, None, :], -2).max(2)[0] * cw).sum(1)
                rr = (sim.masked_fill(~cmask[:, :, None], -2).max(1)[0] * rw).sum(1)
                scores.append(torch.stack([p, rr, 2 * p * rr / (p + rr)], 1).cpu())
        return torch.cat(scores).numpy() * 100

    return run


def bench_bertscore(tmp: Path, shape: str, n: int, batch: int, repeats: int, device: str) -> dict:
    import numpy as np

    from bench.metrics.metric import MetricInputs
    from bench.metrics.model_based.bertscore import BertScore

    path = _build(tmp, shape, nli=False)
    layer = SHAPES[shape]["num_hidden_layers"] - 1
    cands, refs = _spans(n, 20, 60, seed=1), _spans(n, 20, 60, seed=2)
    inputs = MetricInputs(ids=[str(i) for i in range(n)], predictions=cands, references=[[r] for r in refs])

    metric = BertScore(settings={"model": str(path), "layer": layer, "batch_size": batch, "device": device})
    metric.compute(MetricInputs(ids=["w"], predictions=["warm up"], references=[["warm up"]]))  # loads the model
    hand = _hand_bertscore(path, layer, cands, refs, batch, device)
    hand()

    from bert_score import BERTScorer

    scorer = BERTScorer(model_type=str(path), num_layers=layer, batch_size=batch, device=device, nthreads=0)
    times, values = _interleaved({"bench": lambda: metric.compute(inputs), "hand": hand,
                                  "package": lambda: scorer.score(cands, refs, batch_size=batch)}, repeats,
                                 device)
    metric.close()
    result = values["bench"]
    ours = np.stack([result.per_example[k] for k in ("bertscore_precision", "bertscore_recall", "bertscore_f1")], 1)
    theirs = np.stack([t.numpy() for t in values["package"]], 1).astype(np.float64) * 100
    # The package against itself with another batch size: how far float32 rounding moves its own numbers.
    again = np.stack([t.numpy() for t in scorer.score(cands, refs, batch_size=max(1, batch // 4))], 1) * 100.0
    return {"shape": shape, "pairs": n, "batch": batch, "layer": layer, "bench_s": times["bench"],
            "hand_s": times["hand"], "package_s": times["package"], "vs_hand": times["hand"] / times["bench"],
            "vs_package": times["package"] / times["bench"], "max_abs_diff": float(np.abs(ours - theirs).max()),
            "package_self_diff": float(np.abs(again - theirs).max())}


# ------------------------------------------------------------------- 2. NLI


def bench_nli(tmp: Path, shape: str, n: int, batch: int, repeats: int, device: str) -> dict:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from bench.metrics.model_based.loading import NLI, load_metric_model
    from bench.metrics.model_based.summac import SummacZSScorer, open_cache

    path = _build(tmp, shape, nli=True)
    premises, hypotheses = _spans(n, 15, 45, seed=3), _spans(n, 8, 25, seed=4)

    model = load_metric_model(str(path), NLI, device=device, batch_size=batch)
    scorer = SummacZSScorer(model, 2, 0, open_cache(None, "benchmark"))
    scorer.pair_probabilities(premises[:4], hypotheses[:4])
    tok = AutoTokenizer.from_pretrained(path)
    hf = AutoModelForSequenceClassification.from_pretrained(path).to(device).eval()

    def hand():
        order = sorted(range(n), key=lambda i: -(len(premises[i]) + len(hypotheses[i])))
        out = []
        with torch.inference_mode():
            for s in range(0, n, batch):
                chunk = order[s:s + batch]
                enc = tok([premises[i] for i in chunk], [hypotheses[i] for i in chunk], padding=True,
                          truncation=True, return_tensors="pt").to(device)
                out.append(torch.softmax(hf(**enc).logits, -1)[:, [2, 0]].cpu())
        return torch.cat(out)

    hand()
    times, _ = _interleaved({"bench": lambda: scorer.pair_probabilities(premises, hypotheses), "hand": hand}, repeats,
                            device)
    model.close()
    return {"shape": shape, "pairs": n, "batch": batch, "bench_s": times["bench"], "hand_s": times["hand"],
            "vs_hand": times["hand"] / times["bench"]}


# ------------------------------------------------------------------ report


def write_report(path: Path, results: dict) -> None:
    shape_name = {"small": "4 x 256 (small)", "base": "roberta-base shape, 12 x 768",
                  "large": "roberta-large shape, 24 x 1024"}
    lines = [
        "# Model-based metrics: throughput",
        "",
        f"Measured {time.strftime('%Y-%m-%d')} with `python benchmarks/metric_model_speed.py {results['args']}` on: "
        f"{results['machine']}; device {results['device']}"
        + (f", {results['threads']} torch thread(s)." if results["device"] == "cpu" else "."),
        "Models have real shapes and random weights; each ratio compares timings taken in turns in one process "
        f"(best of {results['repeats']} rounds). Times are "
        + ("wall-clock seconds." if results["device"].startswith("cuda") else
           "CPU seconds of the process (all its threads): the machine is shared, and other jobs stretch the "
           "wall clock far more than they change CPU time.")
        + " A ratio above 1 means bench was faster.",
        "",
        "## BERTScore (targets: >= 0.95x the hand-written batched loop; faster than bert-score, same numbers)",
        "",
        "| encoder | pairs | batch | layer | bench s | hand-batched s | bert-score s | vs hand-batched | vs bert-score "
        "| max abs difference to bert-score (x100) | bert-score vs itself at batch / 4 (x100) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results["bertscore"]:
        lines.append(f"| {shape_name[r['shape']]} | {r['pairs']} | {r['batch']} | {r['layer']} | {r['bench_s']:.2f} "
                     f"| {r['hand_s']:.2f} | {r['package_s']:.2f} | {r['vs_hand']:.2f}x | {r['vs_package']:.2f}x "
                     f"| {r['max_abs_diff']:.1e} | {r['package_self_diff']:.1e} |")
    lines += [
        "",
        "bench's time is the whole `bertscore` metric (tokenizing, embedding, matching, the seeded bootstrap CIs); "
        "the hand-written loop embeds unique texts longest first and matches pairs in padded batches; "
        "bert-score's is `BERTScorer.score` with the model already loaded. The last column is the package's own "
        "float32 rounding: its numbers move that much when only its batch size changes (padding changes the "
        "kernels' summation order), the floor for any agreement with it on a model of that size.",
        "",
        "## NLI pairs for SummaC-ZS (target: >= 0.95x the hand-written batched loop)",
        "",
        "| classifier | pairs | batch | bench s | hand-batched s | vs hand-batched |",
        "|---|---|---|---|---|---|",
    ]
    for r in results["nli"]:
        lines.append(f"| {shape_name[r['shape']]} | {r['pairs']} | {r['batch']} | {r['bench_s']:.2f} "
                     f"| {r['hand_s']:.2f} | {r['vs_hand']:.2f}x |")
    lines += ["", "bench's time is `SummacZSScorer.pair_probabilities` (no cache): both sort pairs by length and "
              "pad per batch.", ""]
    if not results["device"].startswith("cuda"):
        lines += ["Not measured on a GPU here (none was available): `python benchmarks/metric_model_speed.py --device cuda "
                  "--shape base --shape large` measures it with roberta-large's shape on one.", ""]
    path.write_text("\n".join(lines), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--shape", action="append", choices=sorted(SHAPES))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads on a CPU (1: on a shared machine, idle threads spinning for work "
                             "inflate CPU time)")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "METRIC_MODELS.md")
    parser.add_argument("--report-only", action="store_true",
                        help="write the .md again from the .json beside it, measuring nothing")
    args = parser.parse_args()
    if args.report_only:
        write_report(args.out, json.loads(args.out.with_suffix(".json").read_text(encoding="utf-8")))
        return
    shapes = args.shape or (["small"] if args.quick else ["small", "base"])
    n_bert, n_nli = (64, 64) if args.quick else (512, 512)
    if args.device == "cpu" and not args.quick:
        sizes = {"small": (512, 512), "base": (128, 128), "large": (32, 32)}
    else:
        sizes = {s: (n_bert, n_nli) if args.device == "cpu" else (4096, 4096) for s in SHAPES}
    batch = 32 if args.device == "cpu" else 128
    if args.device == "cpu":
        import torch

        torch.set_num_threads(args.threads)
    results = {"machine": machine(), "device": args.device, "repeats": args.repeats,
               "args": " ".join(a.replace(str(REPO) + "/", "") for a in sys.argv[1:]), "threads": args.threads, "bertscore": [], "nli": []}
    with tempfile.TemporaryDirectory() as tmp:
        for shape in shapes:
            nb, nn = sizes[shape]
            results["bertscore"].append(bench_bertscore(Path(tmp), shape, nb, batch, args.repeats, args.device))
            print(results["bertscore"][-1], flush=True)
            results["nli"].append(bench_nli(Path(tmp), shape, nn, batch, args.repeats, args.device))
            print(results["nli"][-1], flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    write_report(args.out, results)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
