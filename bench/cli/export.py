"""`bench export`: runs and their examples as Parquet, CSV or JSON lines files with a README card."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from bench.cli.output import echo
from bench.errors import relpath


class ExportFormat(str, Enum):
    parquet = "parquet"
    csv = "csv"
    jsonl = "jsonl"


def export(
    results_dirs: Annotated[Optional[list[Path]], typer.Argument(
        metavar="RESULTS_DIR", help="Results directories (or task, model or run directories) to read. Default: "
        "results.", show_default=False)] = None,
    fmt: Annotated[ExportFormat, typer.Option("--format", "-f", metavar="parquet|csv|jsonl",
                                              help="parquet, csv or jsonl.")] = ExportFormat.parquet,
    output: Annotated[Path, typer.Option("--output", "-o", metavar="DIR", help="The folder to write (new, empty, "
                                         "or an earlier export, which is replaced).")] = ...,  # type: ignore[assignment]
    latest: Annotated[bool, typer.Option("--latest", help="Only the latest run of each model on each task, as "
                                         "`bench compare` shows them.")] = False,
    no_texts: Annotated[bool, typer.Option("--no-texts", help="Leave predictions, references and questions out of "
                                           "the examples.")] = False,
) -> None:
    """Write runs and their examples as files for pandas, polars, DuckDB or the Hugging Face Hub.

    The folder gets runs.parquet (one row per run), examples.parquet (one row per example of each run), or the
    same as .csv or .jsonl, and a README.md that says what the columns are; `datasets.load_dataset(DIR,
    "examples")` reads it.
    """
    from bench.api import export as api_export

    paths = api_export(results_dirs or [Path("results")], output, fmt=fmt.value, latest=latest, texts=not no_texts)
    echo(f"wrote {', '.join(p.name for p in paths)} to {relpath(output)}", err=True)
