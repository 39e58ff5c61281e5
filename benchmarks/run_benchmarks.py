"""bench's speed against the practical limits and its peers, measured side by side.

    python benchmarks/run_benchmarks.py                      # every section; writes benchmarks/RESULTS.md
    python benchmarks/run_benchmarks.py --only rouge,startup # some sections (the others keep their last numbers)
    python benchmarks/run_benchmarks.py --quick              # small sizes, a smoke test, not a measurement

Each section is a function registered in SECTIONS: it measures and returns
JSON-able data, and its report function turns that data into Markdown. To add
one (spaCy tokenization, metric models, ...), write the two functions and call
`register`; RESULTS.json keeps every section's last numbers with the date and
machine they were taken on, so sections can be rerun one at a time.

Sections:
- startup: `bench --help` and `bench score` on one pair vs the bare interpreter,
  in an environment that also has scipy, pandas, spaCy and evaluate installed.
- rouge: rouge1/2/L/Lsum with stemming on news-length pairs made from real
  text, bench vs rouge_score, rapidrouge and rouge-score-rs, numbers compared.
- bootstrap: the seeded bootstrap CIs of four ROUGE types on 20,000 examples.
- native_scope: bench before and after its C reader of JSON lines and its C bootstrap were removed, the old
  tree built from git (benchmarks/native_scope.py): the bootstrap, reading, `bench score` in and out of process.
- baseline_run: `bench run` of the lead-3 baseline on 10,000 CNN-length
  documents, whole process, and where its time goes (cProfile).
- resume: a resumed run (all predictions cached) vs a fresh run.
- metric_models: BERTScore vs a hand-written batched loop and the bert-score package, NLI pairs vs a
  hand-written loop (benchmarks/metric_model_speed.py, which also writes METRIC_MODELS.md).
- compare: `bench compare --baseline` on 20 models x 11,490 examples x 14 scores, the HTML report, 200 runs,
  how the cost grows, and `bench correlate` at SummEval's size and beyond, against bench before
  (benchmarks/compare_speed.py, which also writes COMPARE.md).
- token_cache: the extractiveness metric's spaCy tokens per 1,000 CNN-length documents, cold, from the disk
  cache and from memory (benchmarks/token_cache.py).
- prediction_cache: 10,000 predictions written to the prediction cache and read back, beside the cache before
  the store (benchmarks/prediction_cache.py).
- generation: `bench run` on a seq2seq model vs a hand-written batched
  `model.generate` loop (the practical limit) and the per-example loop.

The machines are shared and noisy, so every comparison is a ratio of timings
taken one after the other in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "helpers"))

ROUGE_TYPES = ["rouge1", "rouge2", "rougeL", "rougeLsum"]

#: name -> (measure(tmp: Path, quick: bool) -> data, report(data) -> Markdown lines, title)
SECTIONS: dict[str, tuple[Callable[[Path, bool], object], Callable[[object], list[str]], str]] = {}


def register(name: str, title: str, measure: Callable[[Path, bool], object],
             report: Callable[[object], list[str]]) -> None:
    if name in SECTIONS:
        raise ValueError(f"section {name!r} registered twice")
    SECTIONS[name] = (measure, report, title)


def version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


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
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split("\n")[0].split()[1])
        mem = f", {kb / 2**20:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    try:
        import torch
    except ImportError:
        return f"{platform.machine()}, {cpu}, {cores} cores{mem}, no torch; Python {platform.python_version()}"
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return (f"{platform.machine()}, {cpu}, {cores} cores{mem}, {gpu}; Python {platform.python_version()}, "
            f"torch {torch.__version__}, numpy {version('numpy')}")



# ------------------------------------------------------------ real text

def _sentence_pool() -> list[str]:
    """Sentences of real English text: the bundled seed article and fixtures, and the Python Language
    Reference's own text (pydoc_data.topics, shipped with CPython). 8 to 45 words each."""
    from pydoc_data.topics import topics

    from tiny_models import seed_text

    texts = [seed_text()]
    for path in sorted((REPO / "fixtures").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            texts += [v for k, v in row.items() if k in ("document", "context") and isinstance(v, str)]
    texts += list(topics.values())
    pool = []
    for text in texts:
        for s in re.split(r"(?<=[.!?])\s+", re.sub(r"\s+", " ", text)):
            words = s.split()
            if 8 <= len(words) <= 45 and s[0].isupper() and not re.search(r"[{}=<>*_|\\]", s):
                pool.append(s)
    return sorted(set(pool))


def news_pairs(n: int, seed: int = 1) -> list[tuple[str, str]]:
    """(prediction, reference) pairs of news-summary length, one sentence per line (as bench scores them):
    3-4 reference sentences; the prediction keeps one or two of them, lightly edited, and adds others."""
    pool = _sentence_pool()
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        ref = rng.sample(pool, rng.randint(3, 4))
        kept = []
        for s in rng.sample(ref, rng.randint(1, 2)):
            words = s.split()
            kept.append(" ".join(w for w in words if rng.random() > 0.15))
        pred = kept + rng.sample(pool, rng.randint(1, 2))
        rng.shuffle(pred)
        out.append(("\n".join(pred), "\n".join(ref)))
    return out


def cnn_documents(n: int, seed: int = 3) -> list[tuple[str, str]]:
    """(document, reference) of CNN/DailyMail length: about 30-40 sentences (~750 words) and 3-4 highlights."""
    pool = _sentence_pool()
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        doc = rng.sample(pool, rng.randint(28, 40))
        highlights = [" ".join(s.split()[:18]) for s in rng.sample(doc[:10], 3)]
        out.append((" ".join(doc), "\n".join(highlights)))
    return out


def _write_fixture_task(root: Path, name: str, docs: list[tuple[str, str]], metrics: list[str]) -> Path:
    (root / "fixtures").mkdir(parents=True, exist_ok=True)
    (root / "tasks").mkdir(parents=True, exist_ok=True)
    with (root / "fixtures" / f"{name}.jsonl").open("w", encoding="utf-8") as f:
        for k, (doc, ref) in enumerate(docs):
            f.write(json.dumps({"id": f"{name}-{k}", "document": doc, "references": [ref]}) + "\n")
    task = root / "tasks" / f"{name}.yaml"
    task.write_text(f"name: {name}\nversion: 1\ntype: summarization\nfixture: ../fixtures/{name}.jsonl\n"
                    f"metrics: [{', '.join(metrics)}]\nsummary_sentences: 3\n", encoding="utf-8")
    return task


def _wall(cmd: list[str], repeats: int = 1, best: bool = False, **kw) -> tuple[float, subprocess.CompletedProcess]:
    """Wall time of a command: the median of `repeats` runs, or the fastest with `best`."""
    samples = []
    proc = None
    for _ in range(repeats):
        t = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, **kw)
        samples.append(time.perf_counter() - t)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    return (min(samples) if best else statistics.median(samples)), proc


# ------------------------------------------------------------- start-up

HEAVY = ("scipy", "nltk", "torch", "transformers", "datasets", "evaluate", "spacy", "pandas")


def measure_startup(tmp: Path, quick: bool) -> dict:
    repeats = 3 if quick else 7
    one = tmp / "one_pair.jsonl"
    one.write_text(json.dumps({"id": "1", "prediction": "Cats were running.", "references": ["A cat runs."]}) + "\n")
    py = sys.executable
    bare, _ = _wall([py, "-c", "pass"], repeats)
    help_, _ = _wall([py, "-m", "bench", "--help"], repeats)
    score1, _ = _wall([py, "-m", "bench", "score", str(one), "--format", "json"], repeats)
    nltk_, _ = _wall([py, "-c", "from nltk.stem import porter"], repeats)
    _, trace = _wall([py, "-X", "importtime", "-m", "bench", "score", str(one), "--format", "json"])
    imported = sorted({line.rsplit("|", 1)[1].strip().split(".")[0] for line in trace.stderr.splitlines()
                       if line.startswith("import time:") and line.count("|") == 2})
    row = {"python_s": bare, "bench_help_s": help_, "bench_score_one_s": score1, "nltk_porter_import_s": nltk_,
           "heavy_imported": [m for m in HEAVY if m in imported],
           "installed": {p: version(p) for p in ("scipy", "pandas", "spacy", "evaluate", "nltk", "rouge-score-rs")}}
    print(f"startup: {row}", flush=True)
    return row


def report_startup(s: dict) -> list[str]:
    inst = ", ".join(f"{k} {v}" for k, v in s["installed"].items())
    return [
        "Target: `bench --help` under 0.3 s above the bare interpreter; `bench score` imports nothing heavy "
        "whatever else is installed.",
        "",
        "| `python -c pass` s | `bench --help` s | `bench score` (1 pair) s | `from nltk.stem import porter` s | heavy packages imported by `bench score` |",
        "|---|---|---|---|---|",
        f"| {s['python_s']:.3f} | {s['bench_help_s']:.3f} | {s['bench_score_one_s']:.3f} | "
        f"{s['nltk_porter_import_s']:.3f} | {', '.join(s['heavy_imported']) or 'none'} |",
        "",
        f"Installed in this environment: {inst}. `bench score` used to import nltk for its Porter stemmer, and nltk "
        "imports scipy.stats when scipy is installed: the `from nltk.stem import porter` column is what every "
        "`bench score` paid. bench now has its own implementation of nltk's stemmer (`bench.text.porter`, "
        "held to nltk's `PorterStemmer()` word for word by tests/metrics/test_porter.py) and "
        "tests/test_import_time.py fails if `bench score --metric rouge` imports any of "
        f"{', '.join(HEAVY)}. typer 0.29 imports pydantic at every start (0.1-0.15 s here): bench asks for "
        "typer below 0.29. `bench score` on one pair took 1.39 s before these changes (measured the same way "
        "earlier on 2026-11-27, load 7.9).",
    ]


register("startup", "Start-up", measure_startup, report_startup)


# ---------------------------------------------------------------- ROUGE

def _score_file(path: Path, pairs: list[tuple[str, str]]) -> None:
    with path.open("w", encoding="utf-8") as f:
        for k, (p, r) in enumerate(pairs):
            f.write(json.dumps({"id": str(k), "prediction": p, "references": [r]}) + "\n")


def _timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def measure_rouge(tmp: Path, quick: bool) -> dict:
    import numpy as np

    from bench.metrics import MetricInputs, MetricOptions, rouge_engine, rouge_metric

    rows = []
    for n in ([300, 2000] if quick else [3000, 20000]):
        pairs = news_pairs(n)
        preds = [p for p, _ in pairs]
        refs = [r for _, r in pairs]
        row: dict = {"pairs": n, "s": {}, "max_abs_diff": {}}
        f = {}

        from rouge_score import rouge_scorer

        scorer = rouge_scorer.RougeScorer(ROUGE_TYPES, use_stemmer=True)
        row["s"]["rouge_score"], out = _timed(lambda: [scorer.score(r, p) for p, r in zip(preds, refs)])
        f["rouge_score"] = np.array([[s[t].fmeasure for t in ROUGE_TYPES] for s in out]) * 100.0
        try:
            import rapidrouge

            rr = rapidrouge.RougeScorer(ROUGE_TYPES, use_stemmer=True)
            row["s"]["rapidrouge"], out = _timed(lambda: [rr.score(r, p) for p, r in zip(preds, refs)])
            f["rapidrouge"] = np.array([[s[t].fmeasure for t in ROUGE_TYPES] for s in out]) * 100.0
        except ImportError:
            pass
        import rouge_score_rs

        rs = rouge_score_rs.RougeScorer(ROUGE_TYPES, use_stemmer=True)
        no_split = MetricOptions(split_sentences=False)
        inputs = MetricInputs.of(preds, [[r] for r in refs])

        def with_engine(engine, fn, threads=None):
            """fn() with BENCH_ROUGE_ENGINE=engine (and the C engine's thread count capped)."""
            os.environ["BENCH_ROUGE_ENGINE"] = engine
            rouge_engine.cache_clear()
            saved = rouge_engine.cpus
            if threads:
                rouge_engine.cpus = lambda: threads
            try:
                return fn()
            finally:
                rouge_engine.cpus = saved
                del os.environ["BENCH_ROUGE_ENGINE"]
                rouge_engine.cache_clear()

        def per_type(result):
            return np.array([result.per_example[t] for t in ROUGE_TYPES]).T

        def rs_array(out):
            return np.array([[s[t].fmeasure for t in ROUGE_TYPES] for s in out]) * 100.0

        # bench's ROUGE step alone: the engine, and the count of texts the tokenizer loses
        def engine_step():
            return rouge_metric._score_chunk((True, "default", False, preds, [[r] for r in refs]))[0]

        fast = {
            "rouge-score-rs score() loop": lambda: rs_array([rs.score(r, p) for p, r in zip(preds, refs)]),
            "rouge-score-rs score_batch": lambda: rs_array(rs.score_batch(refs, preds)),
            "bench engine (C)": lambda: with_engine("c", engine_step),
            "bench engine (C), one thread": lambda: with_engine("c", engine_step, threads=1),
            "bench engine (rouge-score-rs, where C did not build)": lambda: with_engine("rouge-score-rs", engine_step),
            # the whole metric, with the mean and seeded bootstrap CI of each type
            "bench in process (with CIs)": lambda: per_type(rouge_metric.Rouge(no_split).compute(inputs)),
        }
        # Interleaved repeats, the fastest of each kept: on a shared machine the minimum is the least disturbed.
        times: dict[str, list[float]] = {k: [] for k in fast}
        for _ in range(1 if quick else 3):
            for name, fn in fast.items():
                t, f[name] = _timed(fn)
                times[name].append(t)
        for name in fast:
            row["s"][name] = min(times[name])
        row["s"]["bench, Python engine"], f["bench, Python engine"] = _timed(
            lambda: with_engine("python", lambda: per_type(rouge_metric.Rouge(no_split).compute(inputs))))

        path = tmp / f"pairs{n}.jsonl"
        _score_file(path, pairs)
        cmd = [sys.executable, "-m", "bench", "score", str(path), "--format", "json"]
        row["s"]["bench score, whole process"], proc = _wall([*cmd, "--no-split-sentences"], 1 if quick else 3, best=True)
        means = json.loads(proc.stdout)["metrics"]
        row["bench_score_means"] = means
        row["s"]["bench score, whole process, sentence splitting on"], _ = _wall(cmd, 1 if quick else 3, best=True)
        row["engine"] = rouge_engine.name("default")
        for name, v in f.items():
            row["max_abs_diff"][name] = float(np.abs(v - f["rouge_score"]).max())
        row["max_abs_diff"]["bench score, whole process"] = max(
            abs(means[t] - float(f["rouge_score"][:, k].mean())) for k, t in enumerate(ROUGE_TYPES))
        rows.append(row)
        print(f"rouge: {row}", flush=True)
    return {"rows": rows, "versions": {p: version(p) for p in ("rouge_score", "rapidrouge", "rouge-score-rs", "nupunkt")}}


def report_rouge(data: dict) -> list[str]:
    v = data["versions"]
    lines = [
        "Target: numbers identical to rouge_score to 1e-9; bench in process at least as fast as rouge-score-rs; "
        "`bench score` on 20,000 pairs, whole process, no slower than rouge-score-rs in process.",
        "",
        "rouge1, rouge2, rougeL and rougeLsum with stemming, one reference per pair, texts one sentence per line "
        f"(so every tool computes the same rougeLsum). rouge_score {v['rouge_score']}, rapidrouge {v['rapidrouge']}, "
        f"rouge-score-rs {v['rouge-score-rs']}. Each fast implementation was timed three times, interleaved, and "
        "the fastest kept; rouge_score and rapidrouge once.",
        "",
    ]
    for row in data["rows"]:
        base = row["s"]["rouge_score"]
        rs = min(row["s"]["rouge-score-rs score() loop"], row["s"]["rouge-score-rs score_batch"])
        lines += [f"### {row['pairs']:,} pairs (bench's engine: {row['engine']})", "",
                  "| implementation | seconds | vs rouge_score | vs fastest rouge-score-rs | max abs difference from rouge_score (x100) |",
                  "|---|---|---|---|---|"]
        for name, s in row["s"].items():
            diff = row["max_abs_diff"].get(name)
            lines.append(f"| {name} | {s:.3f} | {base / s:.1f}x | {rs / s:.2f}x | "
                         f"{'' if diff is None else f'{diff:.1e}'} |")
        lines.append("")
    for row in data["rows"]:
        t = row["s"]
        if "bench engine (C)" not in t:  # measured before bench had its C engine
            continue
        rs_best = min(t["rouge-score-rs score() loop"], t["rouge-score-rs score_batch"])
        lines.append(
            f"- {row['pairs']:,} pairs: bench's C engine {rs_best / t['bench engine (C)']:.2f}x the fastest "
            f"rouge-score-rs ({t['rouge-score-rs score() loop'] / t['bench engine (C), one thread']:.2f}x its "
            f"one-core `score()` loop on one thread); the whole metric with CIs "
            f"{rs_best / t['bench in process (with CIs)']:.2f}x; `bench score` (whole process) "
            f"{t['rouge-score-rs score() loop'] / t['bench score, whole process']:.2f}x rouge-score-rs's `score()` "
            f"loop and {t['rouge-score-rs score_batch'] / t['bench score, whole process']:.2f}x its `score_batch`, "
            "both in process.")
    lines += [
        "",
        "How to read the ratios (above 1: faster than that peer):",
        "",
        "- rouge_score and rapidrouge are pure Python: a Python step per token and per LCS cell (rapidrouge uses "
        "a bit-parallel LCS, so it gains on long texts only).",
        "- rouge-score-rs is Rust: `score()` in a loop is one core and one Python call per pair; `score_batch` "
        "scores the whole list on every core without the GIL. The 'vs fastest rouge-score-rs' column divides by "
        "the faster of the two.",
        "- bench engine (C): bench's ROUGE step alone, `bench.metrics.rouge._engine` (bench/metrics/rouge/_engine.c), which "
        "bench compiles when it is installed. Each text is tokenized once for the four types, each distinct word "
        "is stemmed once per call (rouge-score-rs stems every token it meets), tokens become integer ids, "
        "ROUGE-1/2 count ids in arrays and a small hash table, and the LCS of ROUGE-L and ROUGE-Lsum is "
        "bit-parallel (64 DP cells per machine word; Lsum's backtrack reads the DP values from the bit columns). "
        "It releases the GIL and bench splits a large batch into one chunk per core, scored in threads; the "
        "'one thread' row is the same code on one core, the fair comparison with rouge-score-rs's `score()` loop. "
        "It also counts the texts the ASCII tokenizer loses most of (the warning bench prints), which the peers "
        "do not do.",
        "- bench engine (rouge-score-rs): where the C extension did not build, bench hands the whole list to "
        "rouge-score-rs's `score_batch` and counts lossy texts in Python.",
        "- bench in process (with CIs): the `rouge` metric as bench runs it: the engine plus the mean and the "
        "seeded bootstrap 95% CI of each of the four types (see the bootstrap section), which the peers do not "
        "compute at all.",
        "- bench, Python engine: the same metric with BENCH_ROUGE_ENGINE=python, bench's own pure-Python scorer "
        "(bit-parallel LCS, per-word stem cache, worker processes on large sets): what bench's unicode tokenizer "
        "and an installation with neither compiled engine get.",
        "- bench score, whole process: `bench score FILE --no-split-sentences` from the shell: interpreter "
        "start-up, imports, reading and checking the JSONL file, scoring, CIs and printing (bench's bytecode "
        "compiled beforehand, as a wheel install does). Its difference column compares the printed corpus means.",
        "- with sentence splitting on (bench's default), predictions are re-split into sentences by nupunkt "
        "before scoring, which the peers do not do; that Python work is shared out to worker processes.",
        "",
        "Where a whole `bench score` process goes on 20,000 pairs (about 0.6 s on a quiet machine; profiled "
        "with `perf` and timers, the shares move with the machine's load): about 0.2 s before the first line "
        "is read (the interpreter, numpy about 0.09 s, typer and bench's modules: see the start-up section), "
        "about 0.1 s reading and checking the 15 MB file (the usual line is parsed by the C extension into "
        "json's very dict; the checks are one test per line), 0.13 s of ROUGE on both cores, 0.09 s for the "
        "four bootstrap CIs (section 3), and the rest merging scores, printing and exiting. So the process is "
        "ahead of rouge-score-rs only when ROUGE itself is most of the work: at 20,000 pairs rouge-score-rs "
        "needs 0.8-1.2 s and bench's whole process 0.6 s; at 3,000 pairs rouge-score-rs needs 0.1-0.2 s, less "
        "than bench's start-up alone, and bench's in-process metric (engine and CIs) is the fair comparison. "
        "Before this work `bench score` paid 0.1-0.15 s more for typer 0.29's pydantic import, 0.1 s for "
        "Python's cyclic garbage collector walking every imported module during the reading (now paused "
        "while JSON is parsed and scores are merged, and the import-time heap frozen), and had no C reader.",
        "",
        "Are the numbers identical? Every row's difference column compares all 4 x pairs F-measures with "
        "rouge_score's. Beyond these pairs, tests/metrics/test_c_engine.py holds the C engine's precision, recall "
        "and F-measure bit for bit to bench's Python scorer (held to rouge_score by tests/metrics/test_rouge.py) "
        "on hypothesis-generated texts (Unicode case-mapping corners, empty and punctuation-only texts, blank "
        "lines, several references with ties), and its Porter stemmer to bench's (held to nltk's) on 80,000 "
        "generated words; tests/metrics/test_rouge_engine.py holds both compiled engines, through bench's own "
        "calls, threads included, to the Python scorer.",
    ]
    return lines


register("rouge", "ROUGE side by side", measure_rouge, report_rouge)


# ------------------------------------------------------------ bootstrap

def measure_bootstrap(tmp: Path, quick: bool) -> dict:
    import numpy as np

    from bench.stats.bootstrap import bootstrap_ci, bootstrap_cis

    n = 2000 if quick else 20000
    rng = np.random.default_rng(0)
    values = {t: rng.uniform(0, 100, n) for t in ROUGE_TYPES}

    def before(x, n_resamples=1000, seed=12345, cells=2_000_000):
        """The resampler as it was: one gather of the whole chunk per vector."""
        r = np.random.default_rng(seed)
        means = np.empty(n_resamples)
        chunk = max(1, cells // x.size)
        for start in range(0, n_resamples, chunk):
            stop = min(n_resamples, start + chunk)
            means[start:stop] = x[r.integers(0, x.size, size=(stop - start, x.size))].mean(axis=1)
        return tuple(float(q) for q in np.quantile(means, [0.025, 0.975]))

    t_before, a = _timed(lambda: {k: before(v) for k, v in values.items()})
    t_each, b = _timed(lambda: {k: bootstrap_ci(v) for k, v in values.items()})
    t_many, c = min((_timed(lambda: bootstrap_cis(values)) for _ in range(3)), key=lambda r: r[0])
    row = {"examples": n, "vectors": len(values), "before_s": t_before, "each_s": t_each, "shared_s": t_many,
           "identical": a == b == c}
    print(f"bootstrap: {row}", flush=True)
    return row


def report_bootstrap(r: dict) -> list[str]:
    return [
        "Target: the same intervals, faster.",
        "",
        "| examples | vectors | numpy, one gather per vector s | `bootstrap_ci` each s | `bootstrap_cis` (one draw) s | identical intervals |",
        "|---|---|---|---|---|---|",
        f"| {r['examples']:,} | {r['vectors']} | {r['before_s']:.3f} | {r['each_s']:.3f} | {r['shared_s']:.3f} | "
        f"{'yes' if r['identical'] else 'NO'} |",
        "",
        "1,000 resamples of each of the four ROUGE types, all in numpy: the resampler as it once was (one gather "
        "of the whole chunk per vector), `bootstrap_ci` per vector, and `bootstrap_cis`, which draws the indices "
        "once for all vectors of one length (every CI uses the same seed, so they are the same indices). Both "
        "gather each block of indices for every vector while it is in the CPU cache, with `np.take` into one "
        "buffer, and take numpy's mean of it, so every mean is `x[idx].mean(axis=1)` bit for bit (the last column "
        "compares the intervals of the three ways). The C bootstrap bench had before is compared with this in "
        "the section 'Native code only for ROUGE'.",
    ]


register("bootstrap", "Bootstrap CIs", measure_bootstrap, report_bootstrap)


# ------------------------------------------- native code only for ROUGE

def measure_native_scope(tmp: Path, quick: bool) -> dict:
    """benchmarks/native_scope.py: bench before and after its C JSON reader and C bootstrap were removed (the
    old tree built from git), side by side in fresh processes."""
    out = tmp / "native_scope.json"
    _wall([sys.executable, str(REPO / "benchmarks" / "native_scope.py"), "--out", str(out)]
          + (["--quick"] if quick else []))
    return json.loads(out.read_text())


def report_native_scope(r: dict) -> list[str]:
    def ratio(d: dict) -> str:
        return f"{d['after_s'] / d['before_s']:.2f}x"

    def yes(flag: bool) -> str:
        return "yes" if flag else "NO"

    pairs = f"{r['pairs']:,}"
    lines = [
        f"Before: commit {r['before_commit'][:12]}, the newest with bench's C extension doing three jobs (ROUGE, "
        "reading JSON lines, the bootstrap), its `bench/` taken out of git and compiled on this machine. After: "
        "the C engine does ROUGE only; JSON lines are read with `json`, the bootstrap's means taken by numpy "
        "(`benchmarks/native_scope.py`). Each number is the best of several rounds of fresh processes, before "
        "and after one after the other in each round. The time ratio is after / before: above 1, after is slower.",
        "",
        "| what | before s | after s | time ratio | identical output |",
        "|---|---|---|---|---|",
        f"| `bench score` on {pairs} pairs, whole process | {r['score_process']['before_s']:.3f} | "
        f"{r['score_process']['after_s']:.3f} | {ratio(r['score_process'])} | "
        f"{yes(r['score_process']['identical'])} |",
        f"| `bench score` on {pairs} pairs, in-process (`score_file`, imports done) | "
        f"{r['score_in_process']['before_s']:.3f} | {r['score_in_process']['after_s']:.3f} | "
        f"{ratio(r['score_in_process'])} | {yes(r['score_in_process']['identical'])} |",
        f"| reading its {r['file_mb']:.0f} MB file (`read_jsonl`) | {r['read']['before_s']:.3f} | "
        f"{r['read']['after_s']:.3f} | {ratio(r['read'])} | |",
    ]
    for b in r["bootstrap"]:
        lines.append(
            f"| bootstrap CIs, {b['k']} vector{'s' if b['k'] != 1 else ''} of {b['n']:,} (`bootstrap_cis`; "
            f"peak memory {b['before_peak_mb']:.0f} / {b['after_peak_mb']:.0f} MB) | {b['before_s']:.3f} | "
            f"{b['after_s']:.3f} | {ratio(b)} | {yes(b['identical'])} |")
    lines += [
        "",
        "The bootstrap before is the C path (bench's extension drew numpy's PCG64 indices itself and summed each "
        "resample in numpy's pairwise order); after, numpy draws the same indices (in chunks of at most 2 million) "
        "and `np.take` gathers each block of them, still in the CPU cache, into one buffer whose rows numpy sums: "
        "the same means bit for bit, hence the same intervals (the last column compares them, and the whole "
        "`bench score` output). 4 vectors are the four ROUGE types of a run, 1 a paired difference in "
        "`bench compare`. The peak memory is what the call holds at once beyond its inputs (tracemalloc). "
        "The sections 'ROUGE side by side' and '`bench run` of a baseline' were measured while bench still read "
        "JSON lines in C; this section gives the difference.",
    ]
    return lines


register("native_scope", "Native code only for ROUGE: before and after", measure_native_scope, report_native_scope)


# ------------------------------------------------- model-based metrics

def measure_metric_models(tmp: Path, quick: bool) -> dict:
    """benchmarks/metric_model_speed.py in a process of its own (it sets torch's threads): BERTScore against a
    hand-written batched loop and the bert-score package, NLI pairs against a hand-written loop. A full run
    also writes benchmarks/METRIC_MODELS.md and .json; a quick one writes to a temporary folder."""
    out = (tmp / "METRIC_MODELS.md") if quick else (REPO / "benchmarks" / "METRIC_MODELS.md")
    cmd = [sys.executable, str(REPO / "benchmarks" / "metric_model_speed.py"), "--out", str(out)]
    cmd += ["--quick", "--repeats", "1"] if quick else ["--repeats", "2"]
    _wall(cmd)
    return {"markdown": out.read_text(encoding="utf-8")}


def report_metric_models(r: dict) -> list[str]:
    lines = r["markdown"].splitlines()
    # the script's own title becomes this section's; its sections become subsections
    return [("#" + line if line.startswith("## ") else line) for line in lines if not line.startswith("# ")]


register("metric_models", "Model-based metrics (BERTScore, NLI) against their peers", measure_metric_models,
         report_metric_models)


def measure_compare(tmp: Path, quick: bool) -> dict:
    """benchmarks/compare_speed.py in a process of its own: `bench compare` and `bench correlate` at a
    leaderboard's size, against bench before (built from git) side by side. A full run also writes
    benchmarks/COMPARE.md and .json (it takes about an hour); a quick one prints its numbers only."""
    cmd = [sys.executable, str(REPO / "benchmarks" / "compare_speed.py")] + (["--quick"] if quick else [])
    _wall(cmd)
    path = REPO / "benchmarks" / "COMPARE.md"
    return {"markdown": path.read_text(encoding="utf-8") if path.is_file() and not quick else ""}


register("compare", "`bench compare` and `bench correlate` at a leaderboard's size", measure_compare,
         report_metric_models)


#: The last commit before the cache store (`bench.cache`): its caches are measured beside the store's.
BEFORE_STORE = "15c428e"


def tree_before_store(tmp: Path) -> Path | None:
    """`BEFORE_STORE`'s files (a `git archive`), or None where git cannot give them."""
    old = tmp / "before-store"
    if old.is_dir():
        return old
    archive = subprocess.run(["git", "-C", str(REPO), "archive", BEFORE_STORE], capture_output=True)
    if archive.returncode != 0:
        return None
    old.mkdir()
    subprocess.run(["tar", "-x", "-C", str(old)], input=archive.stdout, check=True)
    return old


def measure_token_cache(tmp: Path, quick: bool) -> dict:
    """benchmarks/token_cache.py in a process of its own: the extractiveness metric's spaCy tokens per 1,000
    CNN-length documents, cold, from the disk cache and from memory; and the same with `BEFORE_STORE`'s token
    files, in the same run."""
    args = ["--docs", "200" if quick else "1000", "--repeats", "1" if quick else "3"]
    _, proc = _wall([sys.executable, str(REPO / "benchmarks" / "token_cache.py"), *args])
    out = {"stdout": proc.stdout}
    old = tree_before_store(tmp)
    if old is not None:
        _, before = _wall([sys.executable, str(old / "benchmarks" / "token_cache.py"), *args], cwd=old,
                          env={**os.environ, "PYTHONPATH": str(old)})
        out["before"] = before.stdout
    return out


def report_token_cache(r: dict) -> list[str]:
    return [
        "Target: each document tokenized once per task, reused across models, runs and rescoring.",
        "",
        *[line for line in r["stdout"].splitlines()],
        "",
        "`bench run` and `bench rescore` keep each document's spaCy tokens in the cache store of "
        "`results/.cache/metrics/` (one SQLite database, `bench.cache`), so a second model, run or rescoring of a "
        "task reads them instead of tokenizing again, and a process that finds every document there never "
        "imports spaCy (docs/metrics.md).",
        *([] if not r.get("before") else [
            "",
            f"The same, measured in the same run, with bench at {BEFORE_STORE}: its token cache was one file per "
            "document (`extractive_tokens/`):",
            "",
            *[line for line in r["before"].splitlines() if line.startswith("|")],
            "",
            *[line for line in r["before"].splitlines() if line.startswith("disk")]]),
    ]


register("token_cache", "Extractiveness: spaCy tokens per 1,000 CNN-length documents", measure_token_cache,
         report_token_cache)


# ---------------------------------------------------------- bench run

def measure_baseline_run(tmp: Path, quick: bool) -> dict:
    import pstats

    n = 500 if quick else 10_000
    docs = cnn_documents(n)
    task = _write_fixture_task(tmp / "cnn", "cnn-like", docs, ["rouge"])
    size_mb = (tmp / "cnn" / "fixtures" / "cnn-like.jsonl").stat().st_size / 1e6
    out = tmp / "run-results"
    cmd = [sys.executable, "-m", "bench", "run", "--model", "lead-3", "--task", str(task), "-o", str(out),
           "--no-cache"]
    wall, _ = _wall(cmd)
    record = json.loads(next(out.rglob("results.json")).read_text())
    prof = tmp / "run.prof"
    _wall([sys.executable, "-m", "cProfile", "-o", str(prof), "-m", "bench", "run", "--model", "lead-3",
           "--task", str(task), "-o", str(tmp / "run-results-prof"), "--no-cache"])
    stats = pstats.Stats(str(prof))
    total = stats.total_tt

    def cumulative(path: str, function: str) -> float:
        return max([ct for (file, _, fn), (_, _, _, ct, _) in stats.stats.items()
                    if file.endswith(path) and fn == function] or [0.0])

    run_cmd = cumulative("bench/cli/run.py", "run")
    stages = [
        ("interpreter start-up, imports, argument parsing", total - run_cmd),
        ("reading the task's examples (`load_examples`)", cumulative("bench/tasks/examples.py", "load_examples")),
        ("- of which reading and checking the fixture (`validate_fixture`)",
         cumulative("bench/tasks/fixtures.py", "validate_fixture")),
        ("predicting (`predict_all`)", cumulative("bench/execution/runner.py", "predict_all")),
        ("- sentence splitting (nupunkt; the lead-3 model, and ROUGE below 2,000 pairs)", cumulative("bench/text/sentences.py", "split_sentences")),
        ("- of which the prediction cache (`cache.append`)", cumulative("bench/execution/cache.py", "append")),
        ("scoring (`score_examples`)", cumulative("bench/metrics/scoring.py", "score_examples")),
        ("writing the run (`write_run`)", cumulative("bench/results/store.py", "write_run")),
    ]
    top = []
    for (file, line, fn), (cc, nc, tt, ct, callers) in sorted(stats.stats.items(), key=lambda kv: -kv[1][2])[:15]:
        short = re.sub(r".*site-packages/", "", file.replace(str(REPO) + "/", ""))
        top.append({"function": f"{short}:{line}({fn})", "cumulative_s": ct, "own_s": tt, "calls": nc})
    row = {"documents": n, "fixture_mb": size_mb, "wall_s": wall, "timing": record.get("timing", {}),
           "profile_total_s": total, "profile_stages": stages, "profile_top": top}
    print(f"baseline_run: {json.dumps(row)[:2000]}", flush=True)
    return row


def report_baseline_run(r: dict) -> list[str]:
    if "profile_stages" not in r:
        return ["(measured by an earlier version of this script; run `--only baseline_run` again)"]
    timing = ", ".join(f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}" for k, v in r["timing"].items())
    lines = [
        f"`bench run --model lead-3` on {r['documents']:,} CNN-length documents (about 750 words each, "
        f"{r['fixture_mb']:.0f} MB of JSONL made from the sentences of real text), metrics: rouge; no cache.",
        "",
        f"Whole process: {r['wall_s']:.1f} s (25.7 s before the changes below, measured the same way earlier "
        f"on 2026-11-27 on a more loaded machine). The run record's timing: {timing}.",
        "",
        f"Where the time goes: cProfile of the same command ({r['profile_total_s']:.1f} s under the profiler, "
        "which slows Python code more than C code; the shares are what matter):",
        "",
        "| stage | seconds under the profiler | share |",
        "|---|---|---|",
    ]
    lines += [f"| {label} | {sec:.2f} | {100 * sec / r['profile_total_s']:.0f}% |" for label, sec in r["profile_stages"]]
    lines += ["", "The functions with the most time of their own:", "", "| function | own s | cumulative s | calls |",
              "|---|---|---|---|"]
    lines += [f"| `{t['function']}` | {t['own_s']:.2f} | {t['cumulative_s']:.2f} | {t['calls']} |" for t in r["profile_top"]]
    share = {label.split(" (")[0].lstrip("- "): 100 * sec / r["profile_total_s"] for label, sec in r["profile_stages"]}
    lines += [
        "",
        "What was worth taking, by the file that changed (the shares are this profile's; the 'before' numbers "
        "are the same measurement before each change):",
        "",
        f"1. Sentence splitting for lead-3 (now {share['sentence splitting']:.0f}% under the profiler; 57% "
        "before), `bench/models/baselines.py`: `leading_sentences` splits a prefix of the document and grows "
        "it until it holds more than k + 1 sentences; its first prefix was 4,096 characters, nearly a whole "
        "CNN-length document, so nupunkt split some 30 sentences to keep 3. It now starts at 1,024 characters "
        "(three news sentences are 400-600): a quarter of the splitting (3.4x on the seed article's cuts), the "
        "same sentences by the function's own rule (tests/models/test_baselines.py).",
        f"2. Reading the examples (now {share['reading the task' + chr(39) + 's examples']:.0f}%; 16% before, "
        "7% of it importing Hugging Face `datasets`), `bench/tasks/examples.py`: a local JSONL fixture was "
        "read twice, by `datasets` (import, Arrow conversion, per-row formatting) and by bench's own check, "
        "which already had every row. The examples are now made from the rows the check read, `datasets` is "
        "imported only for tasks that name a `dataset:`, and the lines go through bench's C reader of JSON "
        "lines where it is built (the same dicts as json).",
        f"3. The prediction cache (now {share['of which the prediction cache']:.0f}%; 5% before), "
        "`bench/execution/cache.py`: one fsync per batch (313 batches of 32 here); now at most one a second "
        "and one on close (a machine crash loses at most that second, which the resume predicts again).",
        f"4. Scoring (now {share['scoring']:.0f}%): ROUGE runs on bench's C engine. Left alone: rougeLsum "
        "re-splits every prediction into sentences even when the model wrote one sentence per line with the "
        "same splitter (lead-3 does). Keeping such a prediction as it is would give the same numbers only if "
        "splitting a split sentence again never splits it further, which nupunkt does not promise.",
        "5. Start-up (see the start-up section): typer 0.29 imports pydantic at every start (a third of "
        "bench's import time); bench now asks for typer below 0.29.",
    ]
    return lines


register("baseline_run", "`bench run` of a baseline on 10,000 CNN-length documents", measure_baseline_run,
         report_baseline_run)


# ------------------------------------------------------------- 1. generation

def _documents(n: int, sentences: int, seed: int = 0) -> list[str]:
    from bench.text.sentences import split_sentences
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


# ------------------------------------------------------------- resume

def measure_resume(tmp: Path, quick: bool) -> dict:
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


def report_resume(z: dict) -> list[str]:
    return [
        "Baselines on the bundled tasks.",
        "",
        "| fresh run s | resumed run s (everything cached) | of which scoring s |",
        "|---|---|---|",
        f"| {z['fresh_s']:.2f} | {z['resumed_s']:.2f} | {z['score_s']:.2f} |",
    ]


register("resume", "Resumed run vs fresh run", measure_resume, report_resume)


def report_generation(g: list) -> list[str]:
    lines = [
        "Target: bench >= 0.95x the hand-written batched loop.",
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
    ]
    return lines


register("generation", "Generation throughput", lambda tmp, quick: bench_generation(tmp, quick), report_generation)

def measure_prediction_cache(tmp: Path, quick: bool) -> dict:
    """benchmarks/prediction_cache.py: the prediction cache of this tree and of `BEFORE_STORE`, side by side in
    one run."""
    old = tree_before_store(tmp)
    trees = ["--tree", str(old)] if old is not None else []
    cmd = [sys.executable, str(REPO / "benchmarks" / "prediction_cache.py"), *trees, "--n",
           "2000" if quick else "10000", "--repeats", "1" if quick else "3"]
    _, proc = _wall(cmd)
    return {"stdout": proc.stdout.replace(str(old), f"bench at {BEFORE_STORE} (JSONL files)")
            .replace(str(REPO), "this tree (the cache store)")}


def report_prediction_cache(r: dict) -> list[str]:
    return [
        "Target: the store costs a run little beside predicting (compare the `bench run` of a baseline on "
        "10,000 documents above).",
        "",
        *r["stdout"].splitlines(),
        "",
        "Each batch is one SQLite transaction (its entries checksummed); the JSONL cache appended lines without "
        "checking them. Both sync to disk at most once a second and on close.",
    ]


register("prediction_cache", "The prediction cache: 10,000 predictions written and read back",
         measure_prediction_cache, report_prediction_cache)


# ------------------------------------------------------------------ report

def _load(path: Path) -> dict:
    """Every section's last numbers: {name: {"measured", "machine", "data"}} (older files converted)."""
    if not path.exists():
        return {}
    old = json.loads(path.read_text())
    if "sections" in old:
        return old["sections"]
    # the first format: one machine and date for all, a key per section
    return {k: {"measured": "2026-11-26", "machine": old.get("machine", "?"), "data": old[k]}
            for k in ("generation", "resume") if k in old}


def write_report(path: Path, sections: dict) -> None:
    lines = [
        "# Benchmarks",
        "",
        "Written by `python benchmarks/run_benchmarks.py`. Each section says when and on which machine it was "
        "measured; within a section every ratio compares timings taken one after the other in one run on a "
        "shared machine.",
        "",
    ]
    for k, name in enumerate([n for n in SECTIONS if n in sections], 1):
        _, report, title = SECTIONS[name]
        entry = sections[name]
        load = entry.get("load")
        busy = f" The machine's load average was {load:.1f} (shared with other work)." if load is not None else ""
        lines += [f"## {k}. {title}", "", f"Measured {entry['measured']} on: {entry['machine']}.{busy}", ""]
        lines += report(entry["data"])
        lines.append("")
    if not any("GPU" in e["machine"] and "no GPU" not in e["machine"] for e in sections.values()):
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
    parser.add_argument("--only", help=f"comma-separated sections to run (of: {', '.join(SECTIONS)})")
    parser.add_argument("--output", type=Path, default=REPO / "benchmarks" / "RESULTS.md")
    parser.add_argument("--report-only", action="store_true",
                        help="measure nothing: write RESULTS.md again from RESULTS.json")
    args = parser.parse_args()
    if args.report_only:
        write_report(args.output, _load(args.output.with_suffix(".json")))
        print(f"wrote {args.output}")
        return
    names = [n.strip() for n in args.only.split(",")] if args.only else list(SECTIONS)
    unknown = [n for n in names if n not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; sections: {', '.join(SECTIONS)}")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # bench's bytecode compiled once, as installing a wheel does: an editable install (or PYTHONDONTWRITEBYTECODE)
    # would otherwise compile every module again in each `bench` process timed below
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "bench")], check=True, capture_output=True)
    store = args.output.with_suffix(".json")
    sections = _load(store)
    where = machine()
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            measure = SECTIONS[name][0]
            work = Path(tmp) / name
            work.mkdir()
            load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
            data = measure(work, args.quick)
            if load is not None:
                load = max(load, os.getloadavg()[0])
            sections[name] = {"measured": time.strftime("%Y-%m-%d"), "machine": where, "data": data, "load": load}
            if not args.quick:  # a smoke test never overwrites measurements
                store.write_text(json.dumps({"sections": sections}, indent=2) + "\n")
                write_report(args.output, sections)
    if args.quick:
        with tempfile.TemporaryDirectory() as tmp:
            write_report(Path(tmp) / "RESULTS.md", sections)
            print((Path(tmp) / "RESULTS.md").read_text())
        print("quick run: nothing written")
    else:
        print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
