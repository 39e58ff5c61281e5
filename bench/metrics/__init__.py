"""Metrics: name -> class. Each module names the reference it reproduces."""

from __future__ import annotations

from bench.metrics.base import Metric, MetricOptions, MetricResult
from bench.registry import Registry

METRICS: Registry[type[Metric]] = Registry("metric")


def _register() -> None:
    from bench.metrics.rouge_metric import Rouge
    from bench.metrics.squad_metric import Squad

    METRICS.register("rouge", Rouge)
    METRICS.register("squad", Squad)


_register()


def get_metric(name: str, options: MetricOptions | None = None) -> Metric:
    return METRICS.get(name)(options)


__all__ = ["METRICS", "Metric", "MetricOptions", "MetricResult", "get_metric"]
