"""The metric catalog: names to metric classes, and the options asked for each.

A metric is asked for as a `MetricSpec`: its name and its own options (a
task's ``metrics:`` entry, or ``--metric NAME`` with ``--metric-opt
NAME.key=value``). `resolve_metric` finds the class of a name without running
anything heavy: a built-in (`METRICS`), ``judge:CRITERION``, ``evaluate:NAME_OR_PATH``,
a user's ``package.module:Class`` or a ``bench.metrics`` entry point;
`get_metric` makes one. `task_metric_problem` is the check a task definition's
metrics go through (`bench.tasks.definition.MetricCheck`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.errors import BenchError
from bench.metrics.metric import FIELDS, Metric
from bench.metrics.metric_options import MetricOptions, make_settings
from bench.registry import Registry, did_you_mean
from bench.tasks.records import TaskType

METRICS: Registry[type[Metric]] = Registry("metric")

#: The prefix of a metric that `evaluate.load` loads.
EVALUATE_PREFIX = "evaluate:"

METRIC_HINT = "see `bench list` for the built-in metrics; a metric of your own is --metric package.module:Class"


def _register() -> None:
    from bench.metrics.extractiveness.extractiveness_metric import Extractiveness
    from bench.metrics.rouge.rouge_metric import Rouge
    from bench.metrics.squad.squad_metric import Squad
    from bench.metrics.model_based.bertscore import BertScore
    from bench.metrics.model_based.summac import SummacZS
    from bench.metrics.model_based.summac_conv import SummacConv

    METRICS.register("rouge", Rouge)
    METRICS.register("squad", Squad)
    METRICS.register("extractiveness", Extractiveness)
    METRICS.register("bertscore", BertScore)
    METRICS.register("summac_zs", SummacZS)
    METRICS.register("summac_conv", SummacConv)


_register()


@dataclass(frozen=True)
class MetricSpec:
    """A metric as a task or a command asks for it: its name and its own options (as given)."""

    name: str
    settings: Mapping[str, Any] = field(default_factory=dict)

    def record(self) -> dict[str, Any]:
        """As results.json's ``config.metrics`` keeps it."""
        return {"name": self.name, "settings": dict(self.settings)}


def as_specs(metrics: Sequence[str | MetricSpec]) -> list[MetricSpec]:
    """Metric names (or specs) as specs."""
    return [m if isinstance(m, MetricSpec) else MetricSpec(m) for m in metrics]


#: ``package.module:Class``, as Python spells them.
_PLUGIN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*")


def with_extras(base: Iterable[MetricSpec], extras: Iterable[MetricSpec]) -> list[MetricSpec]:
    """A task's (or a run's) metrics with those asked for added; options given for one of its own metrics
    override its options key by key."""
    specs = {spec.name: spec for spec in base}
    for extra in extras:
        own = specs.get(extra.name)
        specs[extra.name] = MetricSpec(extra.name, {**(own.settings if own else {}), **extra.settings})
    return list(specs.values())


def is_plugin_name(name: str) -> bool:
    """Whether `name` names a user's metric class (``module:Class``) rather than a registered one."""
    return ":" in name and not name.startswith(EVALUATE_PREFIX)


def well_formed(name: str) -> bool:
    """Whether a name that is not a built-in could name a metric: ``package.module:Class``, or
    ``evaluate:`` and a name or path of printable characters."""
    if name.startswith(EVALUATE_PREFIX):
        rest = name[len(EVALUATE_PREFIX):]
        return bool(rest.strip()) and rest.isprintable()
    return bool(_PLUGIN.fullmatch(name))


def resolve_metric(name: str) -> type[Metric]:
    """The class of a metric name: a built-in, ``evaluate:NAME_OR_PATH``, ``module:Class`` or an entry point.

    Nothing heavy is imported for a built-in; ``evaluate:`` imports the evaluate
    package (seconds) and checks the metric can be loaded offline.
    """
    if not isinstance(name, str) or not name:
        raise BenchError(f"a metric name must be a non-empty string, got {name!r}", hint=METRIC_HINT)
    if name in METRICS:
        return METRICS.get(name)
    if name.startswith("judge:"):
        from bench.metrics.model_based.judge import judge_metric_class

        return judge_metric_class(name)
    if ":" in name and not well_formed(name):
        raise BenchError(f"unknown metric {name!r}: not a metric name, package.module:Class or "
                         f"{EVALUATE_PREFIX}NAME_OR_PATH", hint=f"metrics: {', '.join(METRICS.names())}; {METRIC_HINT}")
    if name.startswith(EVALUATE_PREFIX):
        from bench.metrics.hf_evaluate.evaluate_metric import evaluate_metric_class

        return evaluate_metric_class(name[len(EVALUATE_PREFIX):])
    if ":" in name:
        from bench.plugins import import_named

        return checked_metric_class(name, import_named(name, "metric", METRIC_HINT))
    plugins = entry_point_metrics()
    if name in plugins:
        return plugins[name]
    raise BenchError(f"unknown metric {name!r}.{did_you_mean(name, [*METRICS.names(), *plugins])}",
                     hint=f"metrics: {', '.join([*METRICS.names(), *plugins])}; {METRIC_HINT}")


def checked_metric_class(name: str, cls: Any) -> type[Metric]:
    """A user's metric class, refused with a clear message when it is not one."""
    if not (isinstance(cls, type) and issubclass(cls, Metric)):
        raise BenchError(f"{name} is not a metric class (a subclass of bench.metrics.Metric)",
                         hint="see 'Your own metric' in docs/metrics.md")
    if cls.compute is Metric.compute:
        raise BenchError(f"{name} does not implement compute()", hint="see 'Your own metric' in docs/metrics.md")
    unknown = set(cls.needs) - set(FIELDS)
    if unknown:
        raise BenchError(f"{name} needs unknown fields {sorted(unknown)}", hint=f"fields: {', '.join(FIELDS)}")
    return cls


def entry_point_metrics() -> dict[str, type[Metric]]:
    """Metrics other packages register under the ``bench.metrics`` entry point group."""
    from bench.plugins import entry_points

    return {name: checked_metric_class(value, cls) for name, value, cls in entry_points("bench.metrics", "metric")}


def entry_point_names() -> list[str]:
    """The names of the ``bench.metrics`` entry points, without loading them."""
    return [ep.name for ep in metadata.entry_points(group="bench.metrics")]


def metric_code(name: str, cls: type[Metric]) -> str | None:
    """The fingerprint of a user's metric's source (None for bench's own), part of its signatures."""
    if name in METRICS:
        return None
    from bench.plugins import code_fingerprint

    if name.startswith(EVALUATE_PREFIX):
        return getattr(cls, "code", None)
    return code_fingerprint(cls, name.partition(":")[0] if ":" in name else None)


def get_metric(name: str, options: MetricOptions | None = None, settings: Mapping[str, Any] | None = None,
               cache_dir: Path | None = None) -> Metric:
    return resolve_metric(name)(options, settings, cache_dir)


def split_metric_opts(opts: Iterable[str]) -> dict[str, dict[str, str]]:
    """``--metric-opt NAME.key=value`` (repeatable) as ``{NAME: {key: value}}`` (values as given)."""
    out: dict[str, dict[str, str]] = {}
    for opt in opts:
        target, key, value = _split_opt(opt)
        given = out.setdefault(target, {})
        if key in given and given[key] != value:
            raise BenchError(f"--metric-opt {target}.{key} is given twice, as {given[key]!r} and {value!r}",
                             hint="give each option once")
        given[key] = value
    return out


def parse_metric_specs(names: Iterable[str], settings: Mapping[str, Mapping[str, Any]] | None = None,
                       also: Iterable[str] = ()) -> list[MetricSpec]:
    """The metrics asked for (`names`) with their options, as `MetricSpec`s.

    `settings` maps a metric to its options; a key names a metric asked for,
    or one of `also` (a task's or a run's own metrics, whose options it
    overrides; such a metric gets a spec too), by its name or its short name
    (``my_metric`` for ``evaluate:./my_metric.py``); ``judge`` names every
    ``judge:CRITERION``. Options for a metric asked for nowhere are refused.
    """
    names = list(dict.fromkeys(names))
    candidates = list(dict.fromkeys([*names, *also]))
    out: dict[str, dict[str, Any]] = {n: {} for n in names}
    for target, options in (settings or {}).items():
        if not isinstance(options, Mapping):
            raise BenchError(f"the options of metric {target!r} must be a mapping, got {type(options).__name__}")
        for metric in _opt_targets(target, candidates):
            out.setdefault(metric, {}).update(options)
    return [MetricSpec(n, v) for n, v in out.items()]


def _split_opt(opt: str) -> tuple[str, str, str]:
    hint = "write --metric-opt NAME.key=value, e.g. --metric-opt bertscore.layer=4"
    left, eq, value = opt.partition("=")
    if not eq:
        raise BenchError(f"--metric-opt {opt!r}: no '='", hint=hint)
    target, dot, key = left.rpartition(".")
    if not dot or not target.strip() or not key.strip():
        raise BenchError(f"--metric-opt {opt!r}: no metric name before the option", hint=hint)
    if not value.strip():
        raise BenchError(f"--metric-opt {opt!r}: no value after '='",
                         hint=f"leave the option out for its default, or give a value: {left.strip()}=VALUE")
    return target.strip(), key.strip(), value


def short_name(name: str) -> str:
    """``evaluate:./metrics/my_metric.py`` -> ``my_metric``; ``pkg.mod:Class`` -> ``Class``; else the name."""
    tail = name.rsplit(":", 1)[-1].rstrip("/").rsplit("/", 1)[-1]
    return tail[:-3] if tail.endswith(".py") else tail


def _opt_targets(target: str, names: Sequence[str]) -> list[str]:
    if target in names:
        return [target]
    matches = [n for n in names if short_name(n) == target]
    if len(matches) == 1:
        return matches
    if ":" not in target:  # `judge.model=...` is for every judge:CRITERION asked for
        family = [n for n in names if n.startswith(target + ":") and not n.startswith(EVALUATE_PREFIX)]
        if family:
            return family
        # a user's metric asked for as package.module:Class, named by the name its class declares
        declared = [n for n in names if is_plugin_name(n) and _declared_name(n) == target]
        if len(declared) == 1:
            return declared
    asked = ", ".join(names) or "none"
    can_add = target in METRICS or target.startswith(EVALUATE_PREFIX) or ":" in target and well_formed(target)
    raise BenchError(f"options for metric {target!r}, which is not asked for (metrics: {asked})",
                     hint=(f"add --metric {target}, or give" if can_add else "give") +
                          " the options to one of the metrics asked for, by the name it was asked for, its short "
                          "name or the name its class declares")


def _declared_name(name: str) -> str | None:
    """The `name` a user's metric class declares (None when it cannot be imported: asking for it says why)."""
    try:
        return resolve_metric(name).name or None
    except BenchError:
        return None


def task_metric_problem(name: str, options: Mapping[str, Any], task_type: TaskType | None) -> BenchError | None:
    """What is wrong with a task asking for metric `name` with `options`, or None.

    A built-in metric must apply to the task's type and accept the options; a
    user's (``module:Class``), ``evaluate:`` or entry-point metric must be well
    formed here, and is resolved when a run or a rescoring starts, before any
    model loads.
    """
    if name in METRICS:
        cls = METRICS.get(name)
        if task_type is not None and cls.task_types and task_type.name not in cls.task_types:
            return BenchError(f"metric {name!r} does not apply to {task_type.name} tasks",
                              hint=f"{task_type.name} tasks use: {', '.join(task_type.default_metrics)}")
        try:
            make_settings(cls.Options, name, options)
        except BenchError as e:
            return e
        return None
    if not well_formed(name) and name not in entry_point_names():
        return BenchError(f"unknown metric {name!r}.{did_you_mean(str(name), METRICS.names())}",
                          hint=f"metrics: {', '.join(METRICS.names())}; {METRIC_HINT}; "
                               f"a metric evaluate can load: {EVALUATE_PREFIX}NAME_OR_PATH")
    return None
