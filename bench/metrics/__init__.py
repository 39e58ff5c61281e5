"""Metrics: the families (`rouge/`, `squad/`, `extractiveness/`, `model_based/`, `hf_evaluate/`), the interface
a metric implements (`metric.py`), the catalog of names (`catalog.py`) and scoring (`scoring.py`).

A metric is a built-in by name, a user's by ``module:Class`` or a ``bench.metrics`` entry point, or any
metric `evaluate.load` can load as ``evaluate:NAME_OR_PATH``. Each family's reproduced algorithm is a small
module that names the reference it reproduces, beside the adapter that makes it a bench metric.
"""

from bench.metrics.catalog import (EVALUATE_PREFIX, METRICS, MetricSpec, entry_point_metrics, entry_point_names,
                                   get_metric, is_plugin_name, metric_code, parse_metric_specs, resolve_metric,
                                   short_name, split_metric_opts, well_formed, with_extras)
from bench.metrics.metric import Metric, MetricInputs, MetricResult
from bench.metrics.metric_options import MetricOptions

__all__ = ["METRICS", "EVALUATE_PREFIX", "Metric", "MetricInputs", "MetricOptions", "MetricResult", "MetricSpec",
           "entry_point_metrics", "entry_point_names", "get_metric", "is_plugin_name", "metric_code",
           "parse_metric_specs", "resolve_metric", "short_name", "split_metric_opts",
           "well_formed", "with_extras"]
