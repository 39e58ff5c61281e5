"""The Markdown of benchmarks/COMPARE.md, from the numbers benchmarks/compare_speed.py measured (its JSON)."""

from __future__ import annotations


def _t(r: dict | None) -> str:
    if not r:
        return "-"
    if r.get("timed_out") or r.get("error"):
        return f"({r.get('error') or 'stopped'})"
    wall = r.get("wall_s", r.get("seconds"))
    digits = 1 if wall >= 1 else 2
    return f"{wall:.{digits}f} s ({r['cpu_s']:.{digits}f} s CPU)"


def _m(r: dict | None) -> str:
    return "-" if not r or r.get("peak_mb") is None else f"{r['peak_mb']:.0f} MB"


def _ratio(before: dict, now: dict, key: str = "cpu_s") -> str:
    if before.get("error") or before.get("timed_out") or not now.get(key):
        return "-"
    return f"{before[key] / now[key]:.1f}x"


def _diff(x: float | None) -> str:
    return "-" if x is None else "0" if x == 0 else f"{x:.1e}"


def report(results: dict, profiled: list[str]) -> str:
    lines = ["# `bench compare` and `bench correlate` at a leaderboard's size", "",
             "Written by `python benchmarks/compare_speed.py` (see its docstring for what is measured and how). Each "
             "section says when and where it ran, and the load average of the machine (shared with other work: "
             "wall times stretch with the load, CPU times much less, so the ratios are of CPU seconds). \"before\" "
             "is bench at the commit named, \"now\" this checkout, in fresh processes one after the other. "
             "numpy's BLAS runs the matrix products on both cores; while another job holds one of them, its threads "
             "wait on each other, and the statistics of the largest comparison took up to 10 s instead of 2 s in "
             "runs outside these tables (OPENBLAS_NUM_THREADS=1 held them at 2.4 s).", ""]

    def head(name: str, title: str) -> dict | None:
        if name not in results:
            return None
        r = results[name]
        lines.extend([f"## {title}", "", f"Measured {r['date']} on {r['machine']}; bench before: {r['before']}; "
                      f"load average {r['load']}.", ""])
        return r["data"]

    d = head("compare", "`bench compare --baseline`: 20 models x 11,490 examples x 14 scores")
    if d:
        lines += ["| | before | now | CPU ratio |", "|---|---|---|---|",
                  f"| `--format md`: time | {_t(d['before'])} | {_t(d['now'])} | {_ratio(d['before'], d['now'])} |",
                  f"| `--format md`: peak memory | {_m(d['before'])} | {_m(d['now'])} | |",
                  f"| `--format json`: time | {_t(d['before_json'])} | {_t(d['now_json'])} | "
                  f"{_ratio(d['before_json'], d['now_json'])} |", "",
                  f"The Markdown output is {'identical' if d['same_markdown'] else 'NOT identical'}. In the JSON "
                  f"output ({d['json'].get('pairs')} paired comparisons) the p-values (permutation and McNemar) are "
                  f"{'equal' if d['json'].get('p_values_equal') else 'NOT equal'}, and the interval bounds differ by "
                  f"at most {d['json'].get('ci_max_relative_difference', 0):.1e} (relative): the resample means are "
                  "sums in another order (draw counts times the differences), printed the same to the last digit "
                  "of every table.", ""]
    d = head("html", "The HTML report of the same runs")
    if d:
        lines += ["| | before | now | CPU ratio | size before | size now | same page |",
                  "|---|---|---|---|---|---|---|"]
        for label, title in (("no_baseline", "without a baseline"), ("baseline", "with `--baseline m00`")):
            x = d[label]
            lines.append(f"| {title} | {_t(x['before'])}, {_m(x['before'])} | {_t(x['now'])}, {_m(x['now'])} | "
                         f"{_ratio(x['before'], x['now'])} | {x['before'].get('size_mb')} MB | "
                         f"{x['now'].get('size_mb')} MB | {'yes' if x['same_page'] else 'no'} |")
        p = results.get("profile", {}).get("data")
        if p:
            share = {k: f"{p.get(k, 0):.{1 if p.get(k, 0) >= 1 else 2}f} s" for k in profiled}
            lines += ["", f"Where the time of the report without a baseline went before (cProfile, {p['total_s']:.1f} s "
                      f"in all under the profiler, which slows the many small calls most): choosing the examples that differ most, {share['section_flips']}, "
                      f"of which reading every run's predictions.jsonl into objects with their texts "
                      f"{share['read_predictions']} (checking each score one by one "
                      f"{share['check_example_scores']}, walking every line for unpaired surrogates "
                      f"{share['lone_surrogate']}, making the objects {share['prediction_from_row']}, parsing the JSON "
                      f"{share['parse_jsonl']}); the page itself, charts included, {share['render_html']}. Now the "
                      "runs' scores are read in worker processes and checked a column at a time, kept as matrices, "
                      "and only the lines of the examples shown are parsed again for their texts.", ""]
        else:
            lines.append("")
    d = head("growth", "How the cost grows (now): models, examples, scores")
    if d:
        lines += ["`bench compare --baseline m00 --format md`, whole process.", "",
                  "| models | examples | scores | time | peak memory |", "|--:|--:|--:|---|---|"]
        for r in d["rows"]:
            lines.append(f"| {r['models']} | {r['examples']:,} | {r['metrics']} | {_t(r)} | {_m(r)} |")
        lines.append("")
    d = head("many", "Many runs: 10 tasks x 20 models")
    if d:
        lines += [f"{d['tasks']} tasks x {d['models']} models x {d['examples']:,} examples x 14 scores.", "",
                  "| command | before | now | CPU ratio |", "|---|---|---|---|"]
        for label, title in (("table", "`bench compare --format md` (no predictions read)"),
                             ("one_task_baseline", "one task against a baseline (that task's predictions only)"),
                             ("all_baseline", "every task against a baseline")):
            x = d[label]
            lines.append(f"| {title} | {_t(x['before'])}, {_m(x['before'])} | {_t(x['now'])}, {_m(x['now'])} | "
                         f"{_ratio(x['before'], x['now'])} |")
        lines += ["", "On a terminal, a command that runs longer than 1.5 s shows how far reading the runs and testing "
                  "them has come, on one line of stderr that it clears at the end.", ""]
    d = head("correlate", "`bench correlate`'s statistics: SummEval's shape and 10x larger")
    if d:
        lines += ["10 metrics x 4 criteria, 1,000 resamples, in process. Before computed the summary and system "
                  "levels; now is measured with those two alone (the same work: CPU ratio) and with the sample "
                  "level too (every rated summary pooled, resampled summary by summary).", "",
                  "| grid | cells | before | now, summary and system | CPU ratio | now, with the sample level | "
                  "now, CPU per cell | peak memory before / now | largest difference |",
                  "|---|--:|---|---|---|---|---|---|---|"]
        for r in d["rows"]:
            per = f"{1000 * r['now']['cpu_s'] / r['cells']:.2f} ms" if r["now"].get("cpu_s") else "-"
            grid = r.get("now_grid", {})
            lines.append(f"| {r['label']} ({r['docs']:,} x {r['systems']:,}) | {r['cells']:,} | {_t(r['before'])} | "
                         f"{_t(grid)} | {_ratio(r['before'], grid) if grid else '-'} | {_t(r['now'])} | {per} | "
                         f"{_m(r['before'])} / {_m(r['now'])} | {_diff(r['max_difference'])} |")
        lines += ["", "The largest difference is over the values and interval bounds both compute: the document "
                  "resamples are now sums of draw counts times the per-document values (matrix products), in "
                  "another order than before's sums over the drawn documents. The sample level weighs every "
                  "summary of every resample for each metric and criterion (its Kendall's tau-b a few passes per "
                  "bit of the ratings' distinct values), so it costs more than the two other levels together: "
                  "about 16 to 18 ns per summary, resample and pair in this table (more, up to 50 ns, with one pair and many summaries below).", ""]
    d = head("shapes", "`bench correlate` shapes: documents x systems")
    if d:
        lines += ["One metric, one criterion, 1,000 resamples, in process (peak memory: the process's own, "
                  "numpy and bench imported); before ran under an 8 GiB address-space cap and a 300 s limit.", "",
                  "| documents x systems | before | now, summary and system | now, with the sample level | "
                  "peak memory before / now |", "|---|---|---|---|---|"]
        for r in d["rows"]:
            lines.append(f"| {r['docs']:,} x {r['systems']:,} | {_t(r['before'])} | {_t(r.get('now_grid'))} | "
                         f"{_t(r['now'])} | {_m(r['before'])} / {_m(r['now'])} |")
            if "now_fewer" in r:
                f = r["now_fewer"]
                lines.append(f"| ... with {f['resamples']} resamples | | | {_t(f)} | {_m(f)} |")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
