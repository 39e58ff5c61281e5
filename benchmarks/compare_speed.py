"""`bench compare` and `bench correlate` at a leaderboard's size, measured side by side with bench before.

    python benchmarks/compare_speed.py                     # everything; writes benchmarks/COMPARE.md and .json
    python benchmarks/compare_speed.py --only compare,html # some sections (the others keep their last numbers)
    python benchmarks/compare_speed.py --quick             # small sizes: a smoke test, not a measurement

"Before" is bench at commit `--before` (default: the last commit before the paired statistics became matrix
products), taken from git into a temporary folder (`git archive`), its C extension compiled there from its
own source, and run by the same Python in fresh processes; "now" is this checkout. The results directories
come from benchmarks/compare_data.py (20 models x 11,490 examples x 14 scores: CNN/DailyMail's test split with
bench's default summarization metrics). Every command is one whole process: wall time, CPU time (user +
system, the process and its workers: the machine is shared, and other work stretches the wall clock more
than the CPU time), and peak memory (the largest resident set of the process tree, summed over its processes,
sampled every 20 ms). The outputs of before and now are compared: the Markdown tables character for character,
the JSON numbers (p-values equal, interval bounds to 1e-12).

Sections:
- compare: `bench compare --baseline` (md), before and now;
- html: the HTML report without and with a baseline, before and now (size of the file too);
- growth: now, as models, examples and scores grow (a small table);
- many: 200 runs (10 tasks x 20 models): the table, one task against a baseline, every task against it;
- correlate: SummEval's shape (100 documents x 16 systems, 10 metrics, 4 criteria, 1,000 resamples) and 10x
  larger both ways, in process, before and now, per grid cell; now both with the summary and system levels
  alone (the levels before had) and with the sample level too;
- shapes: `correlate` on 100 x 16, 1,000 x 100, 2 x 100,000 and 10,000 x 2 (one metric, one criterion,
  1,000 resamples), whole process, before (under a memory cap and a time limit) and now (with and without
  the sample level).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))

from compare_data import make_results  # noqa: E402

#: The last commit whose `bench compare` drew the permutation test's signs per pair, one metric at a time.
BEFORE = "15c428e"
FULL = {"models": 20, "examples": 11_490, "metrics": 14}
QUICK = {"models": 6, "examples": 800, "metrics": 14}
OUT = REPO / "benchmarks" / "COMPARE.md"
#: Where the measured processes run: a folder with no `bench` in it, so that PYTHONPATH chooses which bench runs.
NEUTRAL = Path(tempfile.gettempdir())


# ------------------------------------------------------------------ bench before, from git


def before_tree(commit: str, root: Path) -> Path:
    """Bench at `commit` in `root` (git archive), with its C extension compiled from its own source."""
    tree = root / f"bench-{commit}"
    if (tree / "bench").is_dir():
        return tree
    tree.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", commit], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    source = tree / "bench" / "_native.c"
    if source.is_file():
        build = (
            "import hashlib, os, sys\n"
            "from setuptools import Distribution, Extension\n"
            "os.chdir(sys.argv[1])\n"
            "digest = hashlib.sha256(open('bench/_native.c', 'rb').read()).hexdigest()\n"
            "ext = Extension('bench._native', ['bench/_native.c'], extra_compile_args=['-O3', '-ffp-contract=off'],"
            " define_macros=[('BENCH_NATIVE_SOURCE_SHA256', f'\"{digest}\"')])\n"
            "cmd = Distribution({'name': 'bench', 'ext_modules': [ext]}).get_command_obj('build_ext')\n"
            "cmd.inplace = True\ncmd.ensure_finalized()\ncmd.run()\n")
        subprocess.run([sys.executable, "-c", build, str(tree)], check=True, capture_output=True)
    return tree


# ------------------------------------------------------------------ one whole process, measured


def _tree_rss(pid: int) -> int:
    """Resident memory (bytes) of `pid` and its descendants."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        stack.extend(children.get(p, []))
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


def measure(argv: list[str], *, tree: Path | None = None, cwd: Path | None = None, timeout: float = 1800,
            memory_cap: int | None = None) -> dict:
    """Run `bench ARGV` (bench of `tree`, else this checkout) in a fresh process: wall and CPU seconds, peak
    memory of the process tree, exit code, stdout."""
    env = {**os.environ, "PYTHONPATH": str(tree or REPO), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
           "PYTHONSAFEPATH": "1"}
    cap = (lambda: __import__("resource").setrlimit(__import__("resource").RLIMIT_AS, (memory_cap, memory_cap))
           ) if memory_cap else None
    before = os.times()
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "bench", *argv], cwd=cwd or NEUTRAL, env=env,
                            stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, preexec_fn=cap)
    peak = [0]

    def sample() -> None:
        while proc.poll() is None:
            peak[0] = max(peak[0], _tree_rss(proc.pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        out, err = proc.communicate(timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        timed_out = True
    wall = time.perf_counter() - start
    sampler.join()
    after = os.times()
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "peak_mb": round(peak[0] / 2**20),
            "code": proc.returncode, "timed_out": timed_out, "stdout": out.decode("utf-8", "replace"),
            "stderr": err.decode("utf-8", "replace")[-2000:]}


def _brief(r: dict) -> dict:
    return {k: v for k, v in r.items() if k not in ("stdout", "stderr")}


def _paired_numbers(text: str) -> dict:
    """(model, metric) -> (p, lo, hi) from `bench compare --format json`."""
    out = {}
    for row in json.loads(text):
        for metric, p in (row.get("paired") or {}).items():
            out[row["model"], metric] = (p["p_value"], p["ci"][0], p["ci"][1], p["mcnemar_p"])
    return out


def same_numbers(before: str, now: str) -> dict:
    a, b = _paired_numbers(before), _paired_numbers(now)
    if set(a) != set(b):
        return {"same_pairs": False}
    p_equal = all(a[k][0] == b[k][0] and a[k][3] == b[k][3] for k in a)
    ci = max((abs(x - y) / max(1.0, abs(x)) for k in a for x, y in zip(a[k][1:3], b[k][1:3])), default=0.0)
    return {"same_pairs": True, "pairs": len(a), "p_values_equal": p_equal, "ci_max_relative_difference": ci}


# ------------------------------------------------------------------ sections


def section_compare(tmp: Path, size: dict, before: Path) -> dict:
    data = make_results(tmp / "compare", **size)
    md = ["compare", str(data), "-t", "big", "--baseline", "m00", "--format", "md"]
    js = ["compare", str(data), "-t", "big", "--baseline", "m00", "--format", "json"]
    now, old = measure(md), measure(md, tree=before)
    now_json, old_json = measure(js), measure(js, tree=before)
    return {"size": size, "now": _brief(now), "before": _brief(old), "now_json": _brief(now_json),
            "before_json": _brief(old_json), "same_markdown": now["stdout"] == old["stdout"],
            "json": same_numbers(old_json["stdout"], now_json["stdout"])}


def section_html(tmp: Path, size: dict, before: Path) -> dict:
    data = tmp / "compare" if (tmp / "compare").is_dir() else make_results(tmp / "compare", **size)
    out = {}
    for label, extra in (("no_baseline", []), ("baseline", ["--baseline", "m00"])):
        runs = {}
        for who, tree in (("now", None), ("before", before)):
            path = tmp / f"{label}-{who}.html"
            r = measure(["compare", str(data), "-t", "big", *extra, "--format", "html", "-o", str(path)], tree=tree)
            runs[who] = {**_brief(r), "size_mb": round(path.stat().st_size / 2**20, 2) if path.exists() else None}
            runs[who + "_text"] = path.read_text(encoding="utf-8") if path.exists() else ""
        out[label] = {"now": runs["now"], "before": runs["before"],
                      "same_page": runs["now_text"] == runs["before_text"]}
    return out


def section_growth(tmp: Path, size: dict, before: Path) -> dict:
    rows = []
    examples = [size["examples"] // 4, size["examples"] // 2, size["examples"]]
    for n in examples:
        data = tmp / f"growth-{n}"
        if not data.is_dir():
            make_results(data, models=size["models"], examples=n, metrics=size["metrics"])
        models_list = [size["models"] // 4, size["models"] // 2, size["models"]] if n == size["examples"] else \
            [size["models"]]
        for m in models_list:
            metric_counts = [4, 7, size["metrics"]] if (n, m) == (size["examples"], size["models"]) else \
                [size["metrics"]]
            for k in metric_counts:
                argv = ["compare", str(data), "-t", "big", "--baseline", "m00", "--format", "md"]
                argv += [a for i in range(m) for a in ("-m", f"m{i:02d}")]
                if k < size["metrics"]:
                    from compare_data import SCORES

                    argv += [a for name in list(SCORES)[:k] for a in ("--metric", name)]
                r = measure(argv)
                rows.append({"models": m, "examples": n, "metrics": k, **_brief(r)})
    return {"rows": rows}


def section_many(tmp: Path, size: dict, before: Path) -> dict:
    tasks, models, n = (10, 20, 1_000) if size is FULL else (3, 5, 200)
    data = tmp / "many"
    if not data.is_dir():
        make_results(data, models=models, examples=n, metrics=14, tasks=tasks)
    out = {"tasks": tasks, "models": models, "examples": n}
    one = f"big{min(3, tasks - 1)}"
    for label, argv in (("table", ["compare", str(data), "--format", "md"]),
                        ("one_task_baseline", ["compare", str(data), "-t", one, "--baseline", "m00", "--format", "md"]),
                        ("all_baseline", ["compare", str(data), "--baseline", "m00", "--format", "md"])):
        out[label] = {"now": _brief(measure(argv)), "before": _brief(measure(argv, tree=before))}
    return out


CORRELATE_CHILD = """
import json, sys, time
import numpy as np
from bench.correlation.levels import correlate
docs, systems, metrics, criteria, resamples = {docs}, {systems}, {metrics}, {criteria}, {resamples}
levels = {levels!r}  # None: the default (bench before has no levels argument)
rng = np.random.default_rng(0)
quality = rng.normal(size=(docs, systems)) + np.linspace(0, 2, systems)
scores = {{f"m{{k}}": quality + rng.normal(scale=0.5 + 0.2 * k, size=quality.shape) for k in range(metrics)}}
ratings = {{f"c{{k}}": np.clip(np.round(quality + rng.normal(scale=0.7, size=quality.shape) + 3), 1, 5)
           for k in range(criteria)}}
start, cpu = time.perf_counter(), time.process_time()
try:
    result = correlate(scores, ratings, n_resamples=resamples, **({{}} if levels is None else {{"levels": levels}}))
    error = None
    rows = [[r.metric, r.criterion, r.level, r.values, r.ci] for r in result.rows]
except Exception as e:
    error, rows = f"{{type(e).__name__}}: {{e}}", None
# VmHWM: this process's peak resident memory (ru_maxrss would carry the parent's over from before exec)
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({{"seconds": time.perf_counter() - start, "cpu_s": time.process_time() - cpu,
                  "peak_mb": peak / 1024, "error": error, "rows": rows}}))
"""


#: The levels bench had before the sample level: what "before" computes, measured now too.
GRID_LEVELS = ("summary", "system")


def correlate_in_process(tree: Path | None, timeout: float, memory_cap: int | None = None, levels=None,
                         **shape) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree or REPO), "PYTHONSAFEPATH": "1"}
    cap = (lambda: __import__("resource").setrlimit(__import__("resource").RLIMIT_AS, (memory_cap, memory_cap))
           ) if memory_cap else None
    try:
        proc = subprocess.run([sys.executable, "-c", CORRELATE_CHILD.format(levels=levels, **shape)], env=env,
                              capture_output=True,
                              text=True, timeout=timeout, preexec_fn=cap, cwd=NEUTRAL)
    except subprocess.TimeoutExpired:
        return {"error": f"stopped after {timeout:.0f} s"}
    if proc.returncode != 0 or not proc.stdout.strip():
        tail = proc.stderr.strip().splitlines()[-1:] or [f"exit {proc.returncode}"]
        return {"error": tail[0][:200]}
    return json.loads(proc.stdout)


def _largest_difference(now: dict, old: dict) -> float | None:
    """The largest difference between the values and interval bounds of the rows both have (metric, criterion,
    level)."""
    if not (now.get("rows") and old.get("rows")):
        return None
    mine = {tuple(r[:3]): r for r in now["rows"]}
    diffs = [abs(a - b) for o in old["rows"] if tuple(o[:3]) in mine
             for n in [mine[tuple(o[:3])]]
             for a, b in ([(n[3][c], o[3][c]) for c in n[3]] + [(x, y) for c in n[4] for x, y in zip(n[4][c], o[4][c])])
             if a == a and b == b]
    return max(diffs) if diffs else None


def section_correlate(tmp: Path, size: dict, before: Path) -> dict:
    shapes = [("SummEval", 100, 16), ("10x documents", 1_000, 16), ("10x systems", 100, 160)]
    if size is QUICK:
        shapes = [("SummEval", 100, 16), ("10x documents", 1_000, 16)]
    out = []
    for label, docs, systems in shapes:
        shape = {"docs": docs, "systems": systems, "metrics": 10, "criteria": 4, "resamples": 1000}
        now = correlate_in_process(None, 1800, **shape)
        grid = correlate_in_process(None, 1800, levels=GRID_LEVELS, **shape)
        old = correlate_in_process(before, 1800, **shape)
        out.append({"label": label, **shape, "cells": docs * systems,
                    "now": {k: v for k, v in now.items() if k != "rows"},
                    "now_grid": {k: v for k, v in grid.items() if k != "rows"},
                    "before": {k: v for k, v in old.items() if k != "rows"},
                    "max_difference": _largest_difference(now, old)})
    return {"rows": out}


def section_shapes(tmp: Path, size: dict, before: Path) -> dict:
    shapes = [(100, 16), (1_000, 100), (2, 100_000), (10_000, 2)] if size is FULL else [(100, 16), (2, 3_000)]
    out = []
    for docs, systems in shapes:
        shape = {"docs": docs, "systems": systems, "metrics": 1, "criteria": 1, "resamples": 1000}
        row = {"docs": docs, "systems": systems,
               "now": {k: v for k, v in correlate_in_process(None, 1800, **shape).items() if k != "rows"},
               "now_grid": {k: v for k, v in correlate_in_process(None, 1800, levels=GRID_LEVELS, **shape).items()
                            if k != "rows"},
               "before": {k: v for k, v in correlate_in_process(before, 300, memory_cap=8 * 2**30, **shape).items()
                          if k != "rows"}}
        if row["now"].get("error"):  # refused: what it takes with the resamples it suggests
            fewer = {**shape, "resamples": 1000 * 1000 // max(1000, 10 * systems)}
            row["now_fewer"] = {"resamples": fewer["resamples"],
                                **{k: v for k, v in correlate_in_process(None, 1800, **fewer).items() if k != "rows"}}
        out.append(row)
    return {"rows": out}


PROFILE_CHILD = """
import cProfile, pstats, sys
sys.argv = ["bench", "compare", {data!r}, "-t", "big", "--format", "html", "-o", {out!r}]
from bench.cli import main
profile = cProfile.Profile()
profile.enable()
try:
    main()
except SystemExit:
    pass
profile.disable()
stats = pstats.Stats(profile).stats
total = sum(row[2] for row in stats.values())
out = {{"total_s": total}}
for (path, line, name), row in stats.items():
    if name in {names!r}:
        out[name] = max(out.get(name, 0.0), row[3])
print(__import__("json").dumps(out))
"""
#: Where the HTML report's time went before: the functions whose cumulative seconds the profile keeps.
PROFILED = ["section_flips", "read_predictions", "check_example_scores", "lone_surrogate", "prediction_from_row",
            "parse_jsonl", "render_html", "select"]


def section_profile(tmp: Path, size: dict, before: Path) -> dict:
    """cProfile of the HTML report without a baseline, before: which steps took its time."""
    data = tmp / "compare" if (tmp / "compare").is_dir() else make_results(tmp / "compare", **size)
    env = {**os.environ, "PYTHONPATH": str(before), "PYTHONSAFEPATH": "1"}
    code = PROFILE_CHILD.format(data=str(data), out=str(tmp / "profiled.html"), names=PROFILED)
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=NEUTRAL)
    return json.loads(proc.stdout.strip().splitlines()[-1])


SECTIONS = {"compare": section_compare, "html": section_html, "growth": section_growth, "many": section_many,
            "correlate": section_correlate, "shapes": section_shapes, "profile": section_profile}


# ------------------------------------------------------------------ report


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "unknown CPU")
    cores = len(os.sched_getaffinity(0))
    mem = int(Path("/proc/meminfo").read_text().split("\n")[0].split()[1]) / 2**20
    import numpy

    return (f"{platform.machine()}, {cpu}, {cores} cores, {mem:.0f} GiB; Python {platform.python_version()}, "
            f"numpy {numpy.__version__}")


def load() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default=",".join(SECTIONS))
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--before", default=BEFORE)
    parser.add_argument("--json", type=Path, default=OUT.with_suffix(".json"))
    a = parser.parse_args()
    size = QUICK if a.quick else FULL
    results = json.loads(a.json.read_text()) if a.json.exists() and not a.quick else {}
    with tempfile.TemporaryDirectory(prefix="bench-compare-") as tmp:
        before = before_tree(a.before, Path(tmp))
        for name in a.only.split(","):
            started = load()
            data = SECTIONS[name](Path(tmp), size, before)
            results[name] = {"date": time.strftime("%Y-%m-%d"), "machine": machine(), "before": a.before,
                             "load": f"{started} at the start, {load()} at the end", "data": data}
            print(name, json.dumps(data, indent=1)[:3000], flush=True)
            if not a.quick:
                a.json.write_text(json.dumps(results, indent=1) + "\n")
    if a.quick:
        return
    from compare_tables import report

    OUT.write_text(report(results, PROFILED), encoding="utf-8")


if __name__ == "__main__":
    main()
