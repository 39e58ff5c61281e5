"""Reading results into pandas: `bench.results.runs_df` over 1,000 runs and `examples_df` over 1,000,000 example
rows, beside the ways a user reads the same files without bench.

    python benchmarks/dataframes.py                  # 1,000 runs of 20 examples; 100 runs of 10,000 examples
    python benchmarks/dataframes.py --quick          # 100 runs; 10 runs of 10,000 examples

The runs are written by bench's own writer (`bench.results.store.write_run`) with the record of a summarization
run scored with ROUGE and the extractiveness statistics (14 scores per example), predictions of three news
sentences and a reference of three highlights (run_benchmarks.py's `cnn_documents`), so a line is about 1 KB as in
a CNN/DailyMail run. Compared in the same process, each the best of `--repeats` rounds:

- ``examples_df``: bench (every results.json and predictions.jsonl checked, typed columns);
- ``json loop``: what a notebook does by hand: ``json.loads`` per line, a dict per row, ``pd.DataFrame(rows)``
  (no check, no types beyond pandas' guesses, the scores left as a dict column would be: flattened here);
- ``pyarrow.json``: ``pyarrow.json.read_json`` per file and one concatenated table to pandas (no check).

Writes benchmarks/FRAMES.md and FRAMES.json with the machine they ran on.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from run_benchmarks import cnn_documents, machine  # noqa: E402

from bench.results.store import score_range, write_run  # noqa: E402

ROUGE = ("rouge1", "rouge2", "rougeL", "rougeLsum")
EXTRACTIVE = ("coverage", "density", "compression", "novel_1gram", "novel_2gram", "novel_3gram", "repeated_1gram",
              "repeated_2gram", "repeated_3gram", "summary_length")


def write_runs(root: Path, n_runs: int, n_examples: int, seed: int = 0) -> int:
    """`n_runs` runs of `n_examples` examples each under `root`; returns the bytes of predictions written."""
    docs = cnn_documents(min(n_examples, 2000), seed=seed)
    rng = random.Random(seed)
    record0 = {"task": "news", "config": {"metrics": [{"name": "rouge", "settings": {}},
                                                      {"name": "extractiveness", "settings": {}}]}}
    ranges = {m: score_range(record0, m) for m in ROUGE + EXTRACTIVE}
    size = 0
    for r in range(n_runs):
        rows, per = [], {m: [] for m in ranges}
        for k in range(n_examples):
            doc, ref = docs[k % len(docs)]
            prediction = "\n".join(doc.split(". ")[:3])
            scores = {}
            for m, (lo, hi) in ranges.items():
                v = rng.uniform(max(lo, 0.0), min(hi, 100.0))
                scores[m] = v
                per[m].append(v)
            rows.append({"id": f"news-{k}", "prediction": prediction, "references": [ref], "scores": scores})
        metrics = {m: math.fsum(v) / len(v) for m, v in per.items()}
        record = {
            "schema_version": 2, "run_id": f"20260101T{r // 3600:02d}{r // 60 % 60:02d}{r % 60:02d}Z-{r:06x}",
            "model": f"model-{r % 50}", "task": f"news-{r // 50}", "task_type": "summarization", "task_version": 1,
            "task_hash": "0" * 64, "n_examples": n_examples, "metrics": metrics,
            "ci": {m: [max(ranges[m][0], v - 1.0), min(ranges[m][1], v + 1.0)] for m, v in metrics.items()},
            "signatures": {m: f"{m}|nrefs:1|tok:rouge-ascii|stem:porter|agg:mean|bench:0.1.0" for m in metrics},
            "counts": {}, "config": {"seed": 0, "batch_size": 32, **record0["config"],
                                     "model": {"kind": "baseline"}, "task": {"path": "news.yaml"}},
            "provenance": {"bench_version": "0.1.0", "packages": {"bench": "0.1.0", "numpy": "2"},
                           "started_at": "2026-01-01T00:00:00Z", "finished_at": "2026-01-01T00:00:01Z"},
            "timing": {"total_s": 1.0, "load_s": 0.1, "predict_s": 0.5, "score_s": 0.4, "examples_per_s": 20.0,
                       "predicted": n_examples, "cached": 0},
            "warnings": [],
        }
        path = write_run(root, record, rows)
        size += (path / "predictions.jsonl").stat().st_size
    return size


def json_loop(root: Path):
    import pandas as pd

    rows = []
    for f in sorted(root.glob("*/*/*/results.json")):
        record = json.loads(f.read_text(encoding="utf-8"))
        with (f.parent / "predictions.jsonl").open(encoding="utf-8") as lines:
            for line in lines:
                row = json.loads(line)
                scores = row.pop("scores")
                rows.append({"run_id": record["run_id"], "task": record["task"], "model": record["model"], **row,
                             **scores})
    return pd.DataFrame(rows)


def pyarrow_json(root: Path):
    import pyarrow as pa
    import pyarrow.json as pj

    tables = []
    for f in sorted(root.glob("*/*/*/results.json")):
        t = pj.read_json(f.parent / "predictions.jsonl")
        tables.append(t.append_column("run_id", pa.array([f.parent.name] * t.num_rows)))
    return pa.concat_tables(tables).flatten().to_pandas()


def best(fn, repeats: int) -> tuple[float, float, object]:
    """(best wall time, its CPU time, the result) of `repeats` calls."""
    times = []
    out = None
    for _ in range(repeats):
        out = None
        wall, cpu = time.perf_counter(), time.process_time()
        out = fn()
        times.append((time.perf_counter() - wall, time.process_time() - cpu))
    wall, cpu = min(times)
    return wall, cpu, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--output", type=Path, default=REPO / "benchmarks" / "FRAMES.md")
    args = parser.parse_args()
    from bench.results import examples_df, runs_df

    many_runs, big_runs = (100, 10) if args.quick else (1000, 100)
    tmp = Path(tempfile.mkdtemp(prefix="bench-frames-"))
    data: dict[str, object] = {"machine": machine(), "measured": time.strftime("%Y-%m-%d")}
    try:
        t0 = time.perf_counter()
        write_runs(tmp / "many", many_runs, 20)
        size = write_runs(tmp / "big", big_runs, 10_000, seed=1)
        print(f"wrote the runs in {time.perf_counter() - t0:.0f} s ({size / 2**20:.0f} MiB of predictions)",
              flush=True)
        wall, cpu, df = best(lambda: runs_df([tmp / "many"]), args.repeats)
        data["runs_df"] = {"runs": many_runs, "wall_s": wall, "cpu_s": cpu, "shape": list(df.shape)}
        print(f"runs_df, {many_runs} runs: {wall:.2f} s ({df.shape[1]} columns)", flush=True)
        wall, cpu, df = best(lambda: examples_df([tmp / "many"]), args.repeats)
        data["examples_df_many"] = {"runs": many_runs, "rows": len(df), "wall_s": wall, "cpu_s": cpu}
        print(f"examples_df, {many_runs} runs of 20: {wall:.2f} s", flush=True)
        rows = big_runs * 10_000
        data["big"] = {"runs": big_runs, "rows": rows, "predictions_mib": size / 2**20}
        for name, fn in (("examples_df", lambda: examples_df([tmp / "big"])),
                         ("examples_df texts=False", lambda: examples_df([tmp / "big"], texts=False)),
                         ("json loop", lambda: json_loop(tmp / "big")),
                         ("pyarrow.json", lambda: pyarrow_json(tmp / "big"))):
            wall, cpu, df = best(fn, args.repeats)
            assert len(df) == rows, (name, len(df))
            data["big"][name] = {"wall_s": wall, "cpu_s": cpu}
            print(f"{name}, {rows:,} rows: {wall:.2f} s wall, {cpu:.2f} s CPU", flush=True)
            del df
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    data["load"] = os.getloadavg()[2]
    args.output.with_suffix(".json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    args.output.write_text(report(data), encoding="utf-8")
    print(f"wrote {args.output}")


def report(d: dict) -> str:
    big = d["big"]
    bench = big["examples_df"]["wall_s"]
    lines = [
        "# Reading results into pandas", "",
        "Written by `python benchmarks/dataframes.py`" + f". Measured {d['measured']} on: {d['machine']}."
        + (f" The machine's load average was {d['load']:.1f} (shared with other work: wall times stretch more "
           "than CPU times)." if d.get("load") is not None else ""), "",
        "Runs written by bench's own writer: a summarization run's record, 14 scores per example, predictions of "
        "three news sentences and a reference of three highlights (about 1 KB a line, as in a CNN/DailyMail run). "
        "Each time is the best of the rounds, in one process; the files are in the page cache.", "",
        "| what | runs | rows | wall s | CPU s | vs examples_df |", "|---|--:|--:|--:|--:|--:|",
        f"| `runs_df` | {d['runs_df']['runs']:,} | {d['runs_df']['runs']:,} | {d['runs_df']['wall_s']:.2f} | "
        f"{d['runs_df']['cpu_s']:.2f} | |",
        f"| `examples_df` | {d['examples_df_many']['runs']:,} | {d['examples_df_many']['rows']:,} | "
        f"{d['examples_df_many']['wall_s']:.2f} | {d['examples_df_many']['cpu_s']:.2f} | |",
    ]
    for name in ("examples_df", "examples_df texts=False", "json loop", "pyarrow.json"):
        e = big[name]
        label = f"`{name}`" if name.startswith("examples_df") else name
        lines.append(f"| {label} | {big['runs']:,} | {big['rows']:,} | {e['wall_s']:.2f} | {e['cpu_s']:.2f} | "
                     f"{e['wall_s'] / bench:.2f}x |")
    lines += ["", f"The {big['rows']:,} rows are {big['predictions_mib']:.0f} MiB of predictions.jsonl. `examples_df` "
              "checks every line (fields, duplicate ids, each score against its metric's range, the means against "
              "results.json) and types every column; the json loop and pyarrow.json check nothing.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
