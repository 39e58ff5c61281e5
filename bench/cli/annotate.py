"""`bench annotate new | serve | status | export`: human evaluation in the browser, for `bench correlate`.

Imports nothing heavy: the web stack (the ``annotate`` extra) only when `serve` runs.
"""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from bench.cli.options import BenchCommand
from bench.cli.output import cell, console, echo, warn
from bench.errors import BenchError, relpath, visible

#: The defaults of --seed and --resamples (bench.stats.bootstrap's, which the command line does not import).
SEED = 12345
RESAMPLES = 1000

annotate_app = typer.Typer(
    name="annotate", help="Human evaluation in the browser: make a study, serve its rating pages, see agreement, "
    "export ratings for `bench correlate`.", no_args_is_help=True, add_completion=False, rich_markup_mode=None,
)

StudyArg = Annotated[str, typer.Argument(
    metavar="STUDY", show_default=False,
    help="A study name (results/.annotations/NAME.sqlite) or the path of a study file.")]
Seed = Annotated[int, typer.Option("--seed", metavar="S", help="Seed of the bootstrap intervals.")]
Resamples = Annotated[int, typer.Option("--resamples", metavar="N", help="Bootstrap resamples.")]


class StatusFormat(str, Enum):
    table = "table"
    json = "json"


class ExportFormat(str, Enum):
    jsonl = "jsonl"
    json = "json"


@annotate_app.command("new", cls=BenchCommand)
def new(
    study: StudyArg,
    results_dirs: Annotated[list[Path], typer.Argument(
        metavar="RESULTS_DIR", show_default=False,
        help="Results directories holding runs of the task (the latest run of each model is rated).")],
    task: Annotated[str, typer.Option("--task", "-t", metavar="TASK", show_default=False,
                                      help="The task the runs were made on (a name or a .yaml path).")],
    criterion: Annotated[Optional[list[str]], typer.Option(
        "--criterion", metavar="NAME", help="What to rate (repeatable): coherence, consistency, fluency, relevance "
        "(SummEval's, 1-5, fluency 1-3) or a criterion of --criteria.")] = None,
    criteria: Annotated[Optional[Path], typer.Option(
        "--criteria", metavar="FILE", help="Your own criteria: a YAML list of {name, question, scale, definition}. "
        "Without --criterion, all of them.")] = None,
    annotator: Annotated[Optional[list[str]], typer.Option(
        "--annotator", "-a", metavar="NAME", help="An annotator (repeatable); each gets a private link.")] = None,
    sample: Annotated[Optional[int], typer.Option(
        "--sample", metavar="N", help="Rate a seeded sample of N documents (the same for every model). "
        "Default: all.")] = None,
    seed: Annotated[int, typer.Option("--seed", metavar="S", help="Seed of the sample, the assignment and the "
                                      "orders.")] = 0,
    pairwise: Annotated[bool, typer.Option(
        "--pairwise", help="Show two models' summaries of a document and ask which is better (A, B or tie), "
        "instead of rating one summary.")] = False,
    baseline: Annotated[Optional[str], typer.Option(
        "--baseline", "-b", metavar="MODEL", help="Pairwise: compare each model with this one only (default: "
        "every pair).")] = None,
    overlap: Annotated[Optional[int], typer.Option(
        "--overlap", metavar="K", help="Give each item to K annotators (agreement needs 2 or more). Default: "
        "all.")] = None,
    repeat: Annotated[int, typer.Option(
        "--repeat", metavar="N", help="Show N of each annotator's items a second time, to measure their "
        "consistency.")] = 0,
    tasks_dir: Annotated[Optional[list[Path]], typer.Option(
        "--tasks-dir", metavar="DIR", help="Also look for task definitions here (repeatable).")] = None,
) -> None:
    """Make a study: a seeded sample of documents with each model's summary, who rates what, in which order."""
    from bench.api import annotate_new

    made = annotate_new(study, results_dirs, task=task, criteria=criterion or [], criteria_file=criteria,
                        annotators=annotator or [], sample=sample, seed=seed, pairwise=pairwise, baseline=baseline,
                        overlap=overlap, repeat=repeat, tasks_dirs=tasks_dir or [])
    what = "pairs of summaries" if made["mode"] == "pairwise" else "summaries"
    echo(f"made {relpath(made['study'])}: {made['documents']} documents x {len(made['systems'])} models "
         f"({', '.join(made['systems'])}), {made['items']} {what} to {'compare' if made['mode'] == 'pairwise' else 'rate'} "
         f"on {', '.join(made['criteria'])}")
    width = max(len(visible(a["name"])) for a in made["annotators"])
    for a in made["annotators"]:
        echo(f"  {visible(a['name']):<{width}}  {a['pages']} pages")
    if len(made["annotators"]) < 2:
        warn("one annotator: agreement between annotators needs two or more")
    echo(f"next: bench annotate serve {study}   (prints each annotator's private link)")


@annotate_app.command("serve", cls=BenchCommand)
def serve(
    study: StudyArg,
    port: Annotated[int, typer.Option("--port", "-p", metavar="PORT", help="Port to listen on (0: a free one).")]
    = 8765,
    host: Annotated[str, typer.Option(
        "--host", metavar="HOST", help="Address to listen on. The default is reachable from this machine only; "
        "0.0.0.0 opens it to your network.")] = "127.0.0.1",
) -> None:
    """Serve the rating pages; prints one private link per annotator. Every answer is saved as it is given."""
    from bench.api import annotate_serve

    def ready(links: list[tuple[str, str]], bound_host: str, bound_port: int) -> None:
        echo(f"serving {study} on {bound_host}:{bound_port}; Ctrl-C stops (every answer is already saved)")
        if bound_host not in ("127.0.0.1", "::1", "localhost"):
            warn(f"listening on {bound_host}: anyone who can reach this machine and has a link can answer as that "
                 "annotator, over plain HTTP (no encryption)")
        echo("private links (give each annotator their own):")
        width = max(len(visible(name)) for name, _ in links)
        for name, link in links:
            echo(f"  {visible(name):<{width}}  {link}")
        sys.stdout.flush()

    annotate_serve(study, host=host, port=port, on_ready=ready)


@annotate_app.command("status", cls=BenchCommand)
def status(
    study: StudyArg,
    fmt: Annotated[StatusFormat, typer.Option("--format", "-f", metavar="table|json", help="table or json.")]
    = StatusFormat.table,
    seed: Seed = SEED,
    resamples: Resamples = RESAMPLES,
) -> None:
    """Progress per annotator, agreement so far, each model's results with 95% bootstrap intervals."""
    from bench.api import annotate_status

    if resamples < 1:
        raise BenchError(f"--resamples must be 1 or more, got {resamples}")
    data = annotate_status(study, seed=seed, n_resamples=resamples)
    if fmt is StatusFormat.json:
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=1) + "\n")
        return
    render_status(data)


@annotate_app.command("export", cls=BenchCommand)
def export(
    study: StudyArg,
    output: Annotated[Optional[Path], typer.Option(
        "--output", "-o", metavar="FILE", help="Write to this file instead of stdout.")] = None,
    fmt: Annotated[ExportFormat, typer.Option(
        "--format", "-f", metavar="jsonl|json", help="jsonl: the ratings file `bench correlate` reads (pairwise: "
        "one line per judgment); json: the statistics of `status` with those lines.")] = ExportFormat.jsonl,
    seed: Seed = SEED,
    resamples: Resamples = RESAMPLES,
) -> None:
    """Write the answers: the ratings layout `bench correlate --ratings` reads, or the statistics as JSON."""
    from bench.api import annotate_export

    if resamples < 1:
        raise BenchError(f"--resamples must be 1 or more, got {resamples}")
    if output is not None and output.is_dir():
        raise BenchError("--output names a directory, not a file", where=relpath(output),
                         hint=f"give a file name, e.g. --output {relpath(output / 'ratings.jsonl')}")
    text, n = annotate_export(study, output, fmt=fmt.value, seed=seed, n_resamples=resamples)
    if output is None:
        sys.stdout.write(text)
    else:
        echo(f"wrote {n} line{'s' if n != 1 else ''} to {relpath(output)}", err=True)


# ---------------------------------------------------------------------- the status tables


def _num(x: Any, digits: int = 2) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def _ci(ci: Any, digits: int = 2) -> str:
    return "-" if not ci or ci[0] is None else f"[{ci[0]:.{digits}f}, {ci[1]:.{digits}f}]"


def render_status(data: dict[str, Any]) -> None:
    """The status tables on stdout."""
    from rich.table import Table

    out = console()
    kind = "pairwise preferences" if data["mode"] == "pairwise" else "ratings"
    echo(f"{data['study']}: {kind} on task {data['task']}, {data['documents']} documents x {len(data['systems'])} "
         f"models, {data['items']} items; criteria {', '.join(c['name'] for c in data['criteria'])}")
    table = Table(title="progress (pages answered)")
    for col, justify in (("annotator", "left"), ("done", "right"), ("of", "right"), ("%", "right")):
        table.add_column(col, justify=justify)
    for p in data["progress"]:
        table.add_row(cell(p["annotator"]), str(p["done"]), str(p["total"]),
                      f"{100 * p['done'] / p['total']:.0f}" if p["total"] else "-")
    out.print(table)
    table = Table(title="agreement: Krippendorff's alpha (interval); each annotator against the others' mean "
                        "(Pearson r) and against themselves on repeated items (same answers / repeats)")
    table.add_column("criterion")
    table.add_column("alpha", justify="right")
    table.add_column("items (2+ answers)", justify="right")
    for a in data["progress"]:
        table.add_column(cell(a["annotator"]), justify="right")
    for agreement in data["agreement"]:
        c = agreement["criterion"]
        per = {x["annotator"]: x for x in data["annotators"] if x["criterion"] == c}
        table.add_row(cell(c), _num(agreement["alpha"], 3), str(agreement["units"]),
                      *[_agreement_cell(per[a["annotator"]]) for a in data["progress"]])
    out.print(table)
    if data["mode"] == "pairwise":
        _render_pairwise(data, out)
    else:
        table = Table(title="mean rating per model (each summary's ratings averaged; 95% bootstrap CI over documents)")
        table.add_column("model")
        for c in data["criteria"]:
            table.add_column(cell(f"{c['name']} (1-{c['scale']})"), justify="right")
        for system in data["systems"]:
            rows = {r["criterion"]: r for r in data["means"] if r["system"] == system}
            table.add_row(cell(system), *[f"{_num(rows[c['name']]['mean'])} {_ci(rows[c['name']]['ci'])}"
                                          for c in data["criteria"]])
        out.print(table)
    for note in data["notes"]:
        echo(f"note: {note}")


def _agreement_cell(a: dict[str, Any]) -> str:
    text = f"r {_num(a['others']['r'])}"
    if a["self"]["n"]:
        text += f", self {round(a['self']['same'] * a['self']['n'])}/{a['self']['n']}"
    return text


def _render_pairwise(data: dict[str, Any], out: Any) -> None:
    from rich.table import Table

    for c in data["criteria"]:
        name = c["name"]
        table = Table(title=f"{name}: win rate (ties half; 95% CI over items), sign test, Bradley-Terry strength "
                            "(log scale, mean 0; 95% CI)")
        for col, justify in (("model", "left"), ("win rate", "right"), ("95% CI", "right"), ("W/L/T", "right"),
                             ("p", "right"), ("strength", "right"), ("95% CI ", "right")):
            table.add_column(col, justify=justify)
        strengths = {s["system"]: s for s in data["bradley_terry"] if s["criterion"] == name}
        for r in [r for r in data["win_rates"] if r["criterion"] == name]:
            s = strengths[r["system"]]
            table.add_row(cell(r["system"]), _num(r["rate"], 3), _ci(r["ci"], 3),
                          f"{r['wins']}/{r['losses']}/{r['ties']}", _num(r["p"], 4), _num(s["strength"], 3),
                          _ci(s["ci"], 3))
        out.print(table)
        for p in [p for p in data["pairs"] if p["criterion"] == name]:
            echo(f"  {visible(p['a'])} over {visible(p['b'])}: {_num(p['rate'], 3)} {_ci(p['ci'], 3)} "
                 f"(W/L/T {p['wins']}/{p['losses']}/{p['ties']}, sign test p = {_num(p['p'], 4)})")
        pos = next(p for p in data["position"] if p["criterion"] == name)
        echo(f"  left position chosen in {_num(pos['left'], 3)} of {pos['left_count'] + pos['right_count']} "
             f"non-tie answers (sign test against 0.5: p = {_num(pos['p'], 4)})")
