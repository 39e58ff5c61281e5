"""bench before and after its C reader of JSON lines and its C bootstrap were removed, side by side in one run.

    python benchmarks/native_scope.py --out native_scope.json            # 20,000 pairs
    python benchmarks/native_scope.py --out /tmp/x.json --quick         # small sizes, a smoke test

"Before" is the newest commit of HEAD's history that has bench/_native.c (or --before REV): its `bench/` is
taken out of git into a temporary folder and its C extension compiled there with its own build hook, so both
sides are built from source on this machine. "After" is this working tree (its editable install). Every measurement runs
in fresh processes, the two sides one after the other in each round; the best of the rounds is kept:

- the bootstrap's intervals (`bootstrap_cis`, 1,000 resamples) of k vectors of n values: before, bench's C
  extension drew numpy's indices itself and summed them; after, numpy draws and gathers them;
- reading the 20,000-line score file (`bench.io.read_jsonl`): before, the usual line was parsed in C;
- `bench score` on 20,000 pairs, in-process (`bench.api.score_file`, after the imports) and as a whole process.

The intervals and the `bench score` output of both sides are compared (they must be identical).
run_benchmarks.py runs this script for its `native_scope` section.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))

from run_benchmarks import _score_file, machine, news_pairs  # noqa: E402

#: bootstrap_cis of k vectors of n uniform values, timed after a warm-up: prints JSON.
BOOTSTRAP = r"""
import json, sys, time, tracemalloc
import numpy as np
from bench.stats.bootstrap import bootstrap_cis
n, k, repeats = map(int, sys.argv[1:4])
values = {f"m{i}": np.random.default_rng(i).uniform(0, 1, n) for i in range(k)}
bootstrap_cis({"warm-up": values["m0"][:50]})
try:
    from bench import native
    c = native.module() is not None
except ImportError:
    c = False
times = []
for _ in range(repeats):
    t = time.perf_counter()
    cis = bootstrap_cis(values)
    times.append(time.perf_counter() - t)
tracemalloc.start()  # numpy reports its arrays to tracemalloc: the most the call holds at once, untimed
assert bootstrap_cis(values) == cis
peak = tracemalloc.get_traced_memory()[1]
print(json.dumps({"s": min(times), "cis": cis, "c": c, "peak_mb": peak / 2**20}))
"""

#: read_jsonl of the score file, timed after a warm-up: prints JSON.
READ = r"""
import json, sys, time
from pathlib import Path
from bench.io import read_jsonl
path, repeats = Path(sys.argv[1]), int(sys.argv[2])
rows = read_jsonl(path)
times = []
for _ in range(repeats):
    t = time.perf_counter()
    rows = read_jsonl(path)
    times.append(time.perf_counter() - t)
print(json.dumps({"s": min(times), "rows": len(rows)}))
"""

#: score_file (what `bench score` calls) in one process: the first call (which imports the metric) and the best
#: of the next ones; prints JSON with the scores.
SCORE = r"""
import json, sys, time
from bench.api import score_file
path, repeats = sys.argv[1], int(sys.argv[2])
t = time.perf_counter()
result = score_file(path, metric="rouge")
first = time.perf_counter() - t
times = []
for _ in range(repeats):
    t = time.perf_counter()
    again = score_file(path, metric="rouge")
    times.append(time.perf_counter() - t)
    assert again["metrics"] == result["metrics"] and again["ci"] == result["ci"]
print(json.dumps({"first_s": first, "s": min(times), "metrics": result["metrics"], "ci": result["ci"]}))
"""


def before_commit(rev: str | None) -> str:
    """The commit measured as "before": `rev`, or the newest commit of HEAD's history that has bench/_native.c
    (where the change was merged, the other side's tip: everything but the change itself)."""
    if rev is None:
        history = subprocess.run(["git", "rev-list", "--max-count=2000", "HEAD"], cwd=REPO, capture_output=True,
                                 text=True, check=True).stdout.split()
        rev = next((c for c in history if subprocess.run(["git", "cat-file", "-e", f"{c}:bench/_native.c"],
                                                         cwd=REPO, capture_output=True).returncode == 0), None)
        if rev is None:
            raise SystemExit("no recent commit has bench/_native.c: give --before REV")
    return subprocess.run(["git", "rev-parse", "--verify", rev], cwd=REPO, capture_output=True, text=True,
                          check=True).stdout.strip()


def checkout_before(commit: str, dest: Path) -> Path:
    """`bench/` and `hatch_build.py` of `commit` in dest, its C extension compiled next to its source."""
    archive = subprocess.run(["git", "archive", "--format=tar", commit, "bench", "hatch_build.py"], cwd=REPO,
                             capture_output=True, check=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(dest, filter="data")
    build = subprocess.run([sys.executable, "-c", (
        "import sys; from pathlib import Path; sys.path.insert(0, sys.argv[1]); from hatch_build import "
        "build_extension; print(build_extension(Path(sys.argv[1]), Path(sys.argv[2])))"),
        str(dest), str(dest / "build")], capture_output=True, text=True, check=True)
    built = Path(build.stdout.strip().splitlines()[-1])
    shutil.copy(built, dest / "bench" / built.name)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(dest / "bench")], check=True)
    return dest


def run(tree: Path, args: list[str], cwd: Path) -> tuple[float, str]:
    """(wall seconds, stdout) of `python ARGS` with bench imported from `tree`."""
    env = {k: v for k, v in os.environ.items() if k not in ("BENCH_NO_NATIVE", "BENCH_ROUGE_ENGINE")}
    env["PYTHONPATH"] = str(tree)
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise RuntimeError(f"{args[:3]} with bench from {tree} failed:\n{proc.stderr[-3000:]}")
    return wall, proc.stdout


def side_by_side(trees: dict[str, Path], args: list[str], cwd: Path, rounds: int) -> dict[str, list]:
    """Each side's outputs over `rounds` rounds, the sides one after the other in each round."""
    out: dict[str, list] = {side: [] for side in trees}
    for _ in range(rounds):
        for side, tree in trees.items():
            out[side].append(run(tree, args, cwd))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="where the measurements go (JSON)")
    parser.add_argument("--before", help="the commit measured as before (default: the newest with bench/_native.c)")
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke test, not a measurement)")
    args = parser.parse_args()
    commit = before_commit(args.before)
    pairs = 2_000 if args.quick else 20_000
    rounds = 2 if args.quick else 5
    loads = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory(prefix="bench-native-scope-") as tmp:
        tmp = Path(tmp)
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "bench")], check=True)
        trees = {"before": checkout_before(commit, tmp / "before"), "after": REPO}
        data: dict = {"before_commit": commit, "machine": machine(), "pairs": pairs, "bootstrap": []}

        sizes = [(pairs, 4), (pairs, 1), (pairs // 10, 4), (pairs * 10, 4)]
        for n, k in sizes:
            got = side_by_side(trees, ["-c", BOOTSTRAP, str(n), str(k), "3"], tmp, rounds)
            res = {side: [json.loads(o) for _, o in runs] for side, runs in got.items()}
            row = {"n": n, "k": k, "identical": all(r["cis"] == res["before"][0]["cis"]
                                                   for side in res for r in res[side]),
                   "before_was_c": res["before"][0]["c"], "after_was_c": res["after"][0]["c"]}
            for side in res:
                row[f"{side}_s"] = min(r["s"] for r in res[side])
                row[f"{side}_peak_mb"] = max(r["peak_mb"] for r in res[side])
            print(f"bootstrap {row}", flush=True)
            data["bootstrap"].append(row)

        path = tmp / "pairs.jsonl"
        _score_file(path, news_pairs(pairs))
        data["file_mb"] = path.stat().st_size / 2**20

        got = side_by_side(trees, ["-c", READ, str(path), "5"], tmp, rounds)
        data["read"] = {f"{side}_s": min(json.loads(o)["s"] for _, o in runs) for side, runs in got.items()}
        print(f"read {data['read']}", flush=True)

        got = side_by_side(trees, ["-c", SCORE, str(path), "3"], tmp, rounds)
        res = {side: [json.loads(o) for _, o in runs] for side, runs in got.items()}
        data["score_in_process"] = {
            **{f"{side}_s": min(r["s"] for r in res[side]) for side in res},
            **{f"{side}_first_s": min(r["first_s"] for r in res[side]) for side in res},
            "identical": all((r["metrics"], r["ci"]) == (res["before"][0]["metrics"], res["before"][0]["ci"])
                             for side in res for r in res[side]),
        }
        print(f"score in process {data['score_in_process']}", flush=True)

        got = side_by_side(trees, ["-m", "bench", "score", str(path), "--format", "json"], tmp, rounds + 2)
        outputs = {o for runs in got.values() for _, o in runs}
        data["score_process"] = {**{f"{side}_s": min(w for w, _ in runs) for side, runs in got.items()},
                                 "identical": len(outputs) == 1}
        print(f"score process {data['score_process']}", flush=True)
    loads.append(os.getloadavg()[0])
    data["load"] = max(loads)
    data["measured"] = time.strftime("%Y-%m-%d")
    args.out.write_text(json.dumps(data, indent=2) + "\n")


if __name__ == "__main__":
    main()
