"""The Python API: what the command line does, callable from a notebook.

    import bench
    records = bench.run(models=["lead-3"], tasks=["seed-summarization"])
    records[0]["metrics"]["rougeLsum"]
    bench.score(["a prediction"], [["a reference"]], metric="rouge")

Each function returns the same records the command line writes.
"""

from __future__ import annotations

from typing import Any

from bench.api.arguments import (MAX_SEED, ArgumentName, check_compare_arguments, check_run_arguments, metric_specs,
                                 parse_metric_opts, parse_value, python_name)
from bench.api.reports import (annotate_export, annotate_new, annotate_serve, annotate_status, check_log_options,
                               compare, compare_report, correlate_report, examples_df, export, log_report_lines,
                               log_runs, runs_df)
from bench.api.running import (describe_catalog, existing_rescore, import_articles, list_tasks, load_task,
                               prepare_scoring, rescore, run, score, score_file, validate)

__all__ = ["run", "score", "score_file", "compare", "rescore", "load_task", "list_tasks",  # noqa: F822 (some come from __getattr__)
           "read_score_file", "validate", "import_articles", "describe_catalog", "existing_rescore",
           "check_run_arguments", "check_compare_arguments", "parse_metric_opts", "parse_value", "prepare_scoring",
           "MetricOptions", "json_line", "compare_report", "correlate_report", "annotate_new", "annotate_serve",
           "annotate_status", "annotate_export", "runs_df", "examples_df", "export", "check_log_options", "log_runs",
           "log_report_lines", "read_record", "metric_specs", "python_name", "ArgumentName", "MAX_SEED"]


def __getattr__(name: str) -> Any:
    """Names re-exported here, imported when first asked for."""
    if name == "read_score_file":
        from bench.metrics.score_file import read_score_file

        return read_score_file
    if name == "MetricOptions":
        from bench.metrics.metric_options import MetricOptions

        return MetricOptions
    if name == "json_line":
        from bench.io import json_line

        return json_line
    if name == "read_record":
        from bench.results.store import read_record

        return read_record
    raise AttributeError(f"module 'bench.api' has no attribute {name!r}")
