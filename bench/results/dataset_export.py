"""`bench export`: runs and examples as files that pandas, polars, DuckDB and `datasets` read, with a card.

``runs.<ext>`` holds `bench.results.runs_df`, ``examples.<ext>`` holds
`bench.results.examples_df` (``run_id`` joins them), in Parquet, CSV or JSON
lines; ``README.md`` says what the columns are, which runs they came from and
their signatures, with the ``configs`` a Hugging Face dataset card uses to name
the two files (so the folder can be pushed to the Hub as it is, and
``datasets.load_dataset(FOLDER, "examples")`` reads it).

Every run is read and checked before anything is written; a damaged run stops
the export with bench's error. The folder is written beside its final name and
moved into place, so it is whole or as it was.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.errors import EXIT_ENVIRONMENT, BenchError, relpath
from bench.io import file_in_the_way, json_line, temporary_name
from bench.results.frames import RUN_COLUMNS, TEXT_COLUMNS, frame_of_runs, load_runs
from bench.results.per_example import frame_of_examples
from bench.version import __version__

if TYPE_CHECKING:
    import pandas as pd

FORMATS = {"parquet": "parquet", "csv": "csv", "jsonl": "jsonl"}
#: How pandas reads each format back as it was written (full precision; no text taken for a missing value).
READERS = {"parquet": 'pd.read_parquet("{}")', "csv": 'pd.read_csv("{}", keep_default_na=False, na_values=[""])',
           "jsonl": 'pd.read_json("{}", lines=True, precise_float=True)'}
#: The line after the card's metadata (which a dataset card must begin with): how a folder is known as bench's
#: export, which a new export may replace.
CARD_MARK = "<!-- written by bench export -->"
WRITE_HINT = "choose a directory you can write to, or check its free space; nothing was written"

#: What each fixed column of runs.<ext> holds (the card's table; docs/results.md has the same).
RUN_COLUMN_DOCS = {
    "run_id": "the run's id (its directory's name); joins examples.run_id",
    "task": "task name", "task_type": "summarization or qa", "task_version": "the task's version",
    "task_hash": "sha256 of the task definition and its data", "model": "model name",
    "created": "when the run was recorded (UTC, from the run id)", "n": "examples scored",
    "rescored_from": "the run a `bench rescore` run was made from",
    "seed": "--seed", "limit": "--limit", "sample": "--sample", "batch_size": "examples per batch",
    "device": "device the model ran on", "dtype": "model dtype", "generation": "generation settings (JSON)",
    "stemmer": "ROUGE with Porter stemming", "split_sentences": "rougeLsum with sentence splitting",
    "tokenizer": "ROUGE tokenizer", "bootstrap_seed": "seed of the bootstrap CIs",
    "bootstrap_resamples": "bootstrap resamples", "metrics_config": "the metrics and their own options (JSON)",
    "model_kind": "baseline, hf, openai, plugin, ...", "model_config": "what the model recorded (JSON)",
    "task_path": "the task definition", "task_fixture": "its fixture", "task_dataset": "its dataset (JSON)",
    "cache_key": "the prediction cache's key", "bench_version": "bench's version", "git_commit": "bench's commit",
    "git_dirty": "bench's checkout had changes", "rouge_engine": "which engine scored ROUGE",
    "python": "Python version", "platform": "operating system", "machine": "CPU architecture",
    "command": "the command line",
    "model_source": "the model's own name (a local directory's path) when `model` is one given with --name",
    "started_at": "start (UTC)", "finished_at": "end (UTC)",
    "total_s": "seconds in all", "load_s": "seconds loading the model", "predict_s": "seconds predicting",
    "score_s": "seconds scoring", "examples_per_s": "predictions per second (null: nothing predicted in this run)",
    "predicted": "predictions made in this run", "cached": "predictions from the prediction cache",
    "warnings": "the run's warnings (JSON list)", "path": "the run directory it was read from",
}
#: The columns named after the runs' scores and packages.
RUN_PATTERN_DOCS = (
    ("<score>, <score>_ci_low, <score>_ci_high", "corpus value (mean over examples, rates x100) and its 95% "
                                                 "bootstrap CI (null for a value that is not a mean)"),
    ("<score>_unscored", "examples the metric could not score (left out of the mean)"),
    ("count_<key>", "the run's other counts (e.g. count_HasAns_total)"),
    ("reference_<statistic>[_ci_low, _ci_high], reference_examples",
     "the statistic computed on the task's references, and how many examples had one"),
    ("signature_<score>, reference_signature_<statistic>", "every option that changes the number"),
    ("package_<name>", "installed version of a package"),
    ("timing_<key>", "what the model measured (tokens/s, memory)"),
)
EXAMPLE_COLUMN_DOCS = {
    "run_id": "joins runs.run_id", "task": "task name", "model": "model name", "example_id": "the example's id",
    "prediction": "the model's output", "references": "the references (a list)",
    "question": "the question (QA tasks)", "no_answer_score": "an extractive QA model's no-answer score",
}
EXAMPLE_PATTERN_DOCS = (
    ("<score>", "the example's score (null: not scored)"),
    ("detail_<metric>[_<key>]", "a scalar the metric keeps per example (a judge's score, ...)"),
)


def export(paths: Iterable[str | Path], output: str | Path, *, fmt: str = "parquet", latest: bool = False,
           texts: bool = True) -> list[Path]:
    """Write ``runs.<ext>``, ``examples.<ext>`` and ``README.md`` to the folder `output`; returns their paths.

    `output` must be missing, empty, or an earlier export (its README.md has
    `CARD_MARK`), which is replaced whole. `latest` exports the latest run
    of each model on each task only; `texts=False` leaves the texts out of the
    examples.
    """
    if fmt not in FORMATS:
        raise BenchError(f"unknown export format {fmt!r}", hint=f"formats: {', '.join(FORMATS)}")
    output = Path(output)
    check_output(output)
    roots = [Path(p) for p in ([paths] if isinstance(paths, (str, Path)) else paths)]
    runs = load_runs(roots, latest=latest, strict=True)
    runs_frame = frame_of_runs(runs)
    examples_frame = frame_of_examples(runs, texts=texts, strict=True)
    ext = FORMATS[fmt]
    names = (f"runs.{ext}", f"examples.{ext}", "README.md")
    stage = temporary_name(output)
    try:
        stage.mkdir(parents=True)
        write_frame(runs_frame, stage / names[0], fmt)
        write_frame(examples_frame, stage / names[1], fmt)
        (stage / names[2]).write_text(card(runs_frame, examples_frame, roots, names, fmt), encoding="utf-8")
        replace_folder(stage, output)
    except OSError as e:
        shutil.rmtree(stage, ignore_errors=True)
        raise BenchError(f"cannot write the export: {e.strerror or e}", where=relpath(output), hint=WRITE_HINT,
                         exit_code=EXIT_ENVIRONMENT) from None
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return [output / n for n in names]


def check_output(output: Path) -> None:
    """Refuse an output that is a file, or a folder holding something other than an earlier export."""
    blocked = file_in_the_way(output)
    if blocked is not None:
        raise BenchError(f"cannot write the export: {relpath(blocked)} is a file, not a directory",
                         where=relpath(output), hint="choose a folder for --output")
    if not output.exists():
        return
    if not output.is_dir():
        raise BenchError("--output names a file; the export is a folder", where=relpath(output),
                         hint="name a new folder, e.g. --output export")
    entries = list(output.iterdir())
    card_file = output / "README.md"
    ours = card_file.is_file() and CARD_MARK in card_file.read_text(encoding="utf-8", errors="replace")[:2000]
    if entries and not ours:
        raise BenchError("--output is a folder that holds other files", where=relpath(output),
                         hint="name a new or empty folder (an earlier `bench export` folder is replaced whole)")


def replace_folder(stage: Path, output: Path) -> None:
    """Move the folder `stage` to `output`; an earlier export there is moved aside first, then removed."""
    if output.exists() and any(output.iterdir()):
        old = output.parent / f".{output.name}.old-{os.getpid()}"
        os.rename(output, old)
        try:
            os.rename(stage, output)
        except OSError:
            os.rename(old, output)
            raise
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(stage, output)


def write_frame(df: pd.DataFrame, path: Path, fmt: str) -> None:
    """One frame as Parquet (typed, lists kept), CSV (a list as JSON text) or JSON lines (a list as a list);
    numbers at full precision, missing values empty (CSV) or null, times in ISO 8601 UTC."""
    if fmt == "parquet":
        write_parquet(df, path)
        return
    columns = {c: plain_values(df[c], lists_as_text=fmt == "csv") for c in df.columns}
    with path.open("w", encoding="utf-8", newline="") as f:
        if fmt == "csv":
            import csv

            w = csv.writer(f, lineterminator="\n")
            w.writerow(columns)
            w.writerows(("" if v is None else v for v in row) for row in zip(*columns.values()))
        else:
            names = list(columns)
            for row in zip(*columns.values()):
                f.write(json_line(dict(zip(names, row))) + "\n")


def write_parquet(df: pd.DataFrame, path: Path) -> None:
    """The frame as Parquet, every column's type kept; a list column recorded for pandas as a column of objects.

    pandas cannot read back the name it records for a list column (``list<item: string>[pyarrow]``), so
    `pd.read_parquet` would fail on the file: it reads the column as arrays instead, and
    ``dtype_backend="pyarrow"`` as a typed list column.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(df, preserve_index=False)
    meta = json.loads(table.schema.metadata[b"pandas"])
    for column in meta["columns"]:
        if str(column.get("numpy_type", "")).startswith("list<"):
            column["numpy_type"] = "object"
    table = table.replace_schema_metadata({**table.schema.metadata, b"pandas": json.dumps(meta).encode("utf-8")})
    pq.write_table(table, path)


def plain_values(column: pd.Series, *, lists_as_text: bool) -> list[Any]:
    """A column as Python values: None for a missing one, a time as ISO 8601 text, a list as a list (or its JSON
    text)."""
    import pandas as pd

    if str(column.dtype).startswith("datetime64"):
        return [None if pd.isna(t) else t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in column]
    if str(column.dtype).startswith("list<"):
        values = column.tolist()
        return [json.dumps(v, ensure_ascii=False) for v in values] if lists_as_text else values
    if str(column.dtype) == "float64":
        return [None if v != v else v for v in column.tolist()]  # NaN: missing
    return column.astype(object).where(column.notna(), None).tolist()


def card(runs: pd.DataFrame, examples: pd.DataFrame, roots: Sequence[Path], names: Sequence[str], fmt: str) -> str:
    """The folder's README.md: a dataset card naming the two files, what they hold and where they came from."""
    def code(text: Any) -> str:
        return str(text).replace("`", "'").replace("\n", " ")

    def cell(text: Any) -> str:
        return code(text).replace("|", "\\|")

    signatures = sorted({(c[len("signature_"):], v) for c in runs.columns if c.startswith("signature_")
                         for v in runs[c].dropna().unique()})
    lines = [
        "---", "configs:",
        "- config_name: runs", f"  data_files: {names[0]}",
        "- config_name: examples", f"  data_files: {names[1]}",
        "tags:", "- bench", "- evaluation", "---", CARD_MARK, "",
        "# bench results", "",
        f"Exported by `bench export` (bench {__version__}) from {', '.join(f'`{cell(relpath(r))}`' for r in roots)}: "
        f"{len(runs)} run{'s' if len(runs) != 1 else ''} in `{names[0]}` (one row per run) and {len(examples)} "
        f"example row{'s' if len(examples) != 1 else ''} in `{names[1]}` (one row per example of each run; "
        f"`run_id` joins them), as {fmt}.", "",
        "Tasks: " + ", ".join(f"`{cell(t)}`" for t in sorted(runs["task"].dropna().unique())) + ".", "",
        "Models: " + ", ".join(f"`{cell(m)}`" for m in sorted(runs["model"].dropna().unique())) + ".", "",
        "Numbers with different signatures (below) or task hashes are not comparable: `bench compare` keeps them "
        "in separate tables.", "",
        "```python", "import pandas as pd", "",
        *(f'{n} = {READERS[fmt].format(name)}' for n, name in (("runs", names[0]), ("examples", names[1]))),
        "```", "",
        f"## {names[0]}", "", "| column | content |", "|---|---|",
        *(f"| `{name}` | {cell(RUN_COLUMN_DOCS[name])} |" for name, _ in RUN_COLUMNS),
        *(f"| `{cell(p)}` | {cell(d)} |" for p, d in RUN_PATTERN_DOCS), "",
        f"## {names[1]}", "", "| column | content |", "|---|---|",
        *(f"| `{name}` | {cell(doc)} |" for name, doc in EXAMPLE_COLUMN_DOCS.items()
          if name in examples.columns or name not in dict(TEXT_COLUMNS)),
        *(f"| `{cell(p)}` | {cell(d)} |" for p, d in EXAMPLE_PATTERN_DOCS), "",
        "## Signatures", "",
        *(f"- `{code(name)}`: `{code(sig)}`" for name, sig in signatures), "",
    ]
    if fmt == "csv":
        lines += ["In the CSV files a list (`references`) is written as JSON text, times as ISO 8601 UTC, and an "
                  "empty text is an empty field, as a missing value is (the Parquet and JSON lines files keep them "
                  "apart).", ""]
    return "\n".join(lines)

