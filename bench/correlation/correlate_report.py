"""What `bench correlate` produces, in one call: the rated summaries read, every metric correlated with every
criterion, rendered in a format, and written (with an HTML page) where asked."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bench.comparison.compare_report import WRITE_HINT, Report
from bench.correlation import correlate_ratings
from bench.correlation.render import render_csv, render_html, render_json, render_markdown, render_table
from bench.errors import EXIT_ENVIRONMENT, BenchError
from bench.io import atomic_write
from bench.metrics.metric_options import MetricOptions

FORMATS = ("table", "md", "csv", "json")


def correlate_report(paths: Sequence[Path], *, ratings: Path | None = None, metrics: Sequence[str] = (),
                     metric_settings: Mapping[str, Mapping[str, Any]] | None = None, criteria: Sequence[str] = (),
                     annotators: str | None = None, options: MetricOptions | None = None, seed: int,
                     n_resamples: int, fmt: str = "table", to_terminal: bool = False, output: Path | None = None,
                     html: Path | None = None, task: str | None = None, binary: Sequence[str] = (),
                     thresholds: Sequence[str] = (), threshold_from: Path | None = None,
                     oracle: bool = False) -> Report:
    """Correlate metrics with human ratings (`bench.correlation.correlate_ratings`), render the result as
    `fmt`, and write `html` and `output` when given (the text is returned either way). The notes come back
    for the formats that have no place for them in print (csv; json holds them too)."""
    if fmt not in FORMATS:
        raise BenchError(f"unknown format {fmt!r}", hint=f"formats: {', '.join(FORMATS)}")
    rated, result = correlate_ratings(
        list(paths), ratings=ratings, metrics=list(metrics), metric_settings=metric_settings or {},
        criteria=list(criteria), annotators=annotators, options=options, seed=seed, n_resamples=n_resamples,
        task=task, binary=list(binary), thresholds=list(thresholds), threshold_from=threshold_from, oracle=oracle)
    if fmt == "table":
        text = render_table(result, source=rated.source, notes=rated.notes, to_terminal=to_terminal)
    elif fmt == "md":
        text = render_markdown(result, source=rated.source, notes=rated.notes)
    elif fmt == "csv":
        text = render_csv(result)
    else:
        text = render_json(result, source=rated.source, layout=rated.layout, notes=rated.notes)
    notes = [*rated.notes, *result.notes] if fmt in ("csv", "json") else []
    written: list[Path] = []
    if html is not None:
        atomic_write(html, render_html(result, source=rated.source, notes=rated.notes), what="the --html file",
                     hint=WRITE_HINT, exit_code=EXIT_ENVIRONMENT)
        written.append(html)
    if output is not None:
        atomic_write(output, text, what="the --output file", hint=WRITE_HINT, exit_code=EXIT_ENVIRONMENT)
        written.append(output)
    return Report(text, notes, written)
