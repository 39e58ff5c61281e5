"""The prediction cache's cost: 10,000 predictions of about 400 characters written in batches of 32 (as a run
writes them), then read back by a new process (as a resumed run reads them).

    python benchmarks/prediction_cache.py                       # this tree
    python benchmarks/prediction_cache.py --tree /tmp/old-bench # another bench (e.g. `git archive` of an older
                                                                #   commit, extracted), side by side in one run

Each measurement runs in a process of its own that imports bench from the tree named (the same
`PredictionCache(root, task, model, identity)`, `append`, `close`, `load` calls in both), best of the rounds;
CPU and wall seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

CHILD = """
import json, random, sys, time
from pathlib import Path
sys.path.insert(0, {tree!r})
from bench.execution.cache import PredictionCache
root, step, n = Path({root!r}), {step!r}, {n}
identity = {{"model": "m", "task_hash": "h"}}
rng = random.Random(0)
words = "the army said on tuesday that its troops would stay in the north until the talks end".split()
if step == "write":
    rows = [(f"ex-{{i:06d}}", " ".join(rng.choice(words) for _ in range(70))) for i in range(n)]
    wall, cpu = time.perf_counter(), time.process_time()
    cache = PredictionCache(root, "task", "model", identity)
    for k in range(0, n, 32):
        cache.append(rows[k:k + 32])
    cache.close()
else:
    wall, cpu = time.perf_counter(), time.process_time()
    cache = PredictionCache(root, "task", "model", identity)
    found = cache.load()
    cache.close()
    assert len(found) == n, len(found)
print(json.dumps({{"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}}))
"""


def measure(tree: Path, n: int, repeats: int) -> dict[str, tuple[float, float]]:
    best: dict[str, tuple[float, float]] = {}
    for _ in range(repeats):
        with tempfile.TemporaryDirectory(prefix="bench-prediction-cache-") as root:
            for step in ("write", "read"):
                code = CHILD.format(tree=str(tree), root=root, step=step, n=n)
                out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                     env={**os.environ, "PYTHONPATH": str(tree)})
                got = json.loads(out.stdout)
                if step not in best or got["cpu"] < best[step][1]:
                    best[step] = (got["wall"], got["cpu"])
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tree", type=Path, action="append", default=[], help="another bench tree to measure too")
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"{args.n} predictions in batches of 32, best of {args.repeats}; machine: {platform.machine()}, "
          f"{os.cpu_count()} cores; Python {platform.python_version()}")
    print()
    print("| tree | write s (CPU / wall) | read by a new process s (CPU / wall) |")
    print("|---|---|---|")
    for tree in [*args.tree, REPO]:
        r = measure(tree.resolve(), args.n, args.repeats)
        print(f"| {tree} | {r['write'][1]:.3f} / {r['write'][0]:.3f} | {r['read'][1]:.3f} / {r['read'][0]:.3f} |",
              flush=True)


if __name__ == "__main__":
    main()
