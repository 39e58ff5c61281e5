"""Results directories of the size a leaderboard has, for benchmarks/compare_speed.py: many models on large tasks.

    python benchmarks/compare_data.py OUT --models 20 --examples 11490 --metrics 14 [--tasks 1]

Each run is written by bench's own writer (`bench.results.store.write_run`) in the format of a real
`bench run` of a summarizer with the default metrics (ROUGE x4 and the 10 extractiveness statistics, with
their signatures, a reference block and a config naming the metrics): the record of a real run of lead-3 on
the bundled seed task is the template. Predictions and references are news-length texts
(`run_benchmarks.news_pairs`); per-example scores are seeded random numbers in each metric's range, each
model a little better than the one before it, and each results.json holds their means, so every check
`bench compare` makes of a run passes. `--metrics` keeps the first N of the 14 scores.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
sys.path.insert(0, str(REPO / "tests" / "helpers"))

#: The scores of a summarizer's run with the default metrics, in results.json order, and the range each is drawn in.
SCORES = {"rouge1": (20, 60), "rouge2": (5, 30), "rougeL": (15, 45), "rougeLsum": (20, 55),
          "coverage": (70, 100), "density": (1, 40), "compression": (3, 20), "novel_1gram": (0, 20),
          "novel_2gram": (0, 60), "novel_3gram": (0, 80), "repeated_1gram": (0, 30), "repeated_2gram": (0, 5),
          "repeated_3gram": (0, 2), "summary_length": (30, 120)}


def template() -> dict:
    """results.json of a real `bench run` of lead-3 on the seed summarization task (default metrics)."""
    from bench.api import run

    with tempfile.TemporaryDirectory() as tmp:
        (record,) = run(models=["lead-3"], tasks=["seed-summarization"], output_dir=tmp)
        return json.loads((Path(record["path"]) / "results.json").read_text(encoding="utf-8"))


def make_results(out: Path, *, models: int, examples: int, metrics: int = 14, tasks: int = 1,
                 seed: int = 0) -> Path:
    """Write `tasks` x `models` runs of `examples` examples with the first `metrics` scores into `out`."""
    from run_benchmarks import news_pairs

    from bench.results.store import write_run

    base = template()
    names = list(SCORES)[:metrics]
    pairs = news_pairs(min(examples, 2000), seed=seed + 1)
    rng = random.Random(seed)
    for t in range(tasks):
        task = f"big{t}" if tasks > 1 else "big"
        task_hash = f"{t:04d}" + "ab" * 30
        for m in range(models):
            per_example = []
            for _ in range(examples):
                row = {}
                for name in names:
                    lo, hi = SCORES[name]
                    v = lo + (hi - lo) * min(1.0, max(0.0, rng.betavariate(2, 2) + 0.004 * m - 0.04))
                    row[name] = v
                per_example.append(row)
            values = {name: [r[name] for r in per_example] for name in names}
            means = {name: math.fsum(v) / len(v) for name, v in values.items()}
            record = {**base, "run_id": f"2026010{1 + t % 9}T00{m:02d}00Z-{t:03x}{m:03x}", "model": f"m{m:02d}",
                      "task": task, "task_hash": task_hash, "n_examples": examples,
                      "metrics": means, "ci": {k: [v - 0.3, v + 0.3] for k, v in means.items()},
                      "signatures": {k: base["signatures"][k] for k in names},
                      "timing": {**base["timing"], "examples_per_s": 50.0 + 7 * m}}
            if base.get("reference"):
                ref = base["reference"]
                keep = [k for k in names if k in ref["metrics"]]
                if keep:
                    record["reference"] = {"metrics": {k: ref["metrics"][k] for k in keep},
                                           "ci": {k: ref["ci"][k] for k in keep},
                                           "signatures": {k: ref["signatures"][k] for k in keep},
                                           "counts": ref.get("counts", {})}
                else:
                    record.pop("reference")
            rows = ({"id": f"{task}-{i:06d}", "prediction": pairs[i % len(pairs)][0],
                     "references": [pairs[i % len(pairs)][1]], "scores": per_example[i]} for i in range(examples))
            write_run(out, record, rows)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--models", type=int, default=20)
    parser.add_argument("--examples", type=int, default=11490)
    parser.add_argument("--metrics", type=int, default=14)
    parser.add_argument("--tasks", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    a = parser.parse_args()
    make_results(a.out, models=a.models, examples=a.examples, metrics=a.metrics, tasks=a.tasks, seed=a.seed)


if __name__ == "__main__":
    main()
