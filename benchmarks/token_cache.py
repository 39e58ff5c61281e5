"""The cost of the extractiveness metric's spaCy tokens per 1,000 CNN-length documents: tokenized by spaCy (cold),
read from the token cache in the cache store (warm: a new process, or this one with its in-memory cache cleared),
and taken from the in-memory cache.

    python benchmarks/token_cache.py                 # 1,000 documents, best of 3 rounds
    python benchmarks/token_cache.py --docs 10000 --repeats 1

Documents come from run_benchmarks.py's `cnn_documents` (30-40 sentences of news text, about 750 tokens). Times are
the process's CPU time (the machine may be shared: other jobs stretch the wall clock more than CPU time) and wall
time, best of the rounds, scaled to 1,000 documents. The store is read from the operating system's page cache
(it was just written); a first read from a cold disk adds its latency. Every way gives the same tokens (checked).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from run_benchmarks import cnn_documents

from bench.cache.token_table import TokenCache
from bench.metrics.extractiveness import fragments as extractive

#: Run in a new process: read every document's tokens from the cache, report the times and whether spaCy was imported.
CHILD = """
import json, sys, time
sys.path.insert(0, {repo!r})
from bench.cache.token_table import TokenCache
from bench.metrics.extractiveness import fragments as extractive
docs = json.load(open({docs!r}, encoding="utf-8"))
cache = TokenCache({cache!r}, extractive.tokenizer_id())
wall, cpu = time.perf_counter(), time.process_time()
tokens = extractive.tokenize(docs, cache)
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
print(json.dumps({{"wall": wall, "cpu": cpu, "stats": cache.stats(), "spacy": "spacy" in sys.modules,
                  "tokens": sum(map(len, tokens))}}))
"""


def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    docs = [d for d, _ in cnn_documents(args.docs)]
    scale = 1000 / len(docs)
    tmp = Path(tempfile.mkdtemp(prefix="bench-token-cache-"))
    try:
        (tmp / "docs.json").write_text(json.dumps(docs), encoding="utf-8")
        wall, cpu, _ = timed(lambda: extractive.tokenize(["spaCy imported and loaded first."]))
        print(f"spaCy import and load (once per process that tokenizes): {wall:.2f} s wall, {cpu:.2f} s CPU",
              flush=True)
        extractive.tokenize([d for d, _ in cnn_documents(50, seed=99)])  # spaCy's first documents are slower
        rows: dict[str, list[tuple[float, float]]] = {}
        reference = None
        for _ in range(args.repeats):
            extractive.clear_cache()
            w, c, reference = timed(lambda: extractive.tokenize(docs))
            rows.setdefault("cold: spaCy, no disk cache", []).append((w, c))

            shutil.rmtree(tmp / "cache", ignore_errors=True)
            extractive.clear_cache()
            cache = TokenCache(tmp / "cache", extractive.tokenizer_id())
            w, c, got = timed(partial(extractive.tokenize, docs, cache))
            assert got == reference and cache.tokenized == len(set(docs))
            cache.close()
            rows.setdefault("cold: spaCy, writing the disk cache", []).append((w, c))

            extractive.clear_cache()
            cache = TokenCache(tmp / "cache", extractive.tokenizer_id())
            w, c, got = timed(partial(extractive.tokenize, docs, cache))
            assert got == reference and cache.tokenized == 0 and cache.loaded == len(set(docs))
            cache.close()
            rows.setdefault("warm: disk cache, in-memory cache cleared", []).append((w, c))

            child = subprocess.run([sys.executable, "-c", CHILD.format(repo=str(REPO), docs=str(tmp / "docs.json"),
                                                                       cache=str(tmp / "cache"))],
                                   capture_output=True, text=True, check=True)
            result = json.loads(child.stdout)
            assert result["stats"]["tokenized"] == 0 and not result["spacy"]
            assert result["tokens"] == sum(map(len, reference))
            rows.setdefault("warm: disk cache, new process (spaCy never imported)", []).append(
                (result["wall"], result["cpu"]))

            cache = TokenCache(tmp / "cache", extractive.tokenizer_id())
            w, c, got = timed(partial(extractive.tokenize, docs, cache))
            assert got == reference and cache.from_memory == len(set(docs))
            cache.close()
            rows.setdefault("in-memory hit, with the disk cache (each text's presence checked)", []).append((w, c))

            w, c, got = timed(lambda: extractive.tokenize(docs))
            assert got == reference
            rows.setdefault("in-memory hit, no disk cache", []).append((w, c))

        size = sum(p.stat().st_size for p in (tmp / "cache").glob("cache.sqlite*"))
        tokens = sum(map(len, reference))
        cold_cpu = min(c for _, c in rows["cold: spaCy, no disk cache"])
        print()
        print(f"{len(docs)} CNN-length documents, {tokens / len(docs):.0f} tokens each on average; "
              f"best of {args.repeats}; per 1,000 documents")
        print(f"machine: {platform.machine()}, {platform.processor() or platform.platform()}, "
              f"{os.cpu_count()} cores; Python {platform.python_version()}, {extractive.tokenizer_id()}")
        print()
        print("| way | CPU s / 1,000 docs | wall s / 1,000 docs | cold CPU / this CPU |")
        print("|---|---|---|---|")
        for name, samples in rows.items():
            w = min(s[0] for s in samples) * scale
            c = min(s[1] for s in samples) * scale
            print(f"| {name} | {c:.3f} | {w:.3f} | {cold_cpu * scale / c:.1f}x |")
        print()
        print(f"disk: {size / len(set(docs)) / 1024:.1f} KiB per document (one database, "
              f"{size / 2**20 * scale:.1f} MiB per 1,000 documents)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
