"""Metric options: the flags scoring commands share (`MetricOptions`), a metric's own options (its `Options`
dataclass, set by ``--metric-opt NAME.key=value`` or a task's ``metrics:`` entry, converted here from text),
and the options every metric that runs a model takes (`ModelOptions`)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from bench.errors import BenchError
from bench.stats.bootstrap import DEFAULT_RESAMPLES, DEFAULT_SEED


@dataclass(frozen=True)
class MetricOptions:
    """The metric flags every scoring command takes (``--no-stemmer``, ``--no-split-sentences``, ``--tokenizer``)
    and the bootstrap's settings, as results.json records them (``config.metric_options``).

    The flags are ROUGE's: they are the defaults of the `rouge` metric's own options (`RougeOptions`, which
    ``--metric-opt rouge.stemmer=false`` also sets); the bootstrap's are the scoring step's, which computes
    every mean and CI.
    """

    stemmer: bool = True
    """ROUGE: Porter-stem tokens longer than 3 characters (rouge_score's use_stemmer)."""
    split_sentences: bool = True
    """ROUGE-Lsum: split predictions, and references without newlines, into sentences."""
    tokenizer: str = "default"
    """ROUGE: 'default' (rouge_score's, ASCII a-z0-9 only) or 'unicode' (letters of every script)."""
    bootstrap_seed: int = DEFAULT_SEED
    bootstrap_resamples: int = DEFAULT_RESAMPLES


@dataclass(frozen=True)
class NoOptions:
    """A metric with no options of its own."""


@dataclass(frozen=True)
class ModelOptions:
    """The options of every metric that runs a model (BERTScore's encoder, SummaC's NLI model, a local judge),
    which mean what they mean for ``bench run``'s models."""

    batch_size: int | str = "auto"
    """Inputs per batch, or 'auto' (32 on CPU; on a GPU 256, halved on out-of-memory)."""
    device: str = "auto"
    """auto, cpu, cuda, cuda:N or mps (as for models)."""
    dtype: str = "auto"
    """auto, float32, float16 or bfloat16 (as for models)."""
    max_length: int | None = None
    """Tokens of one input; default the tokenizer's limit (a longer input is truncated and counted)."""
    revision: str | None = None
    """A hub model's branch, tag or commit."""


def check_model_options(s: Any, metric: str, min_length: int = 2, who: str | None = None) -> None:
    """Refuse `ModelOptions` no model can run with: a batch size that is not a positive integer or 'auto', a
    max_length below `min_length` tokens (what one input needs besides its text). `who` names the model's user in
    the message (default: the metric)."""
    who = who or f"metric {metric!r}"
    if not (s.batch_size == "auto" or (isinstance(s.batch_size, int) and s.batch_size > 0)):
        raise BenchError(f"{who}: batch_size must be a positive integer or 'auto', not {s.batch_size!r}")
    if s.max_length is not None and s.max_length < min_length:
        raise BenchError(f"{who}: max_length must be {min_length} or more, not {s.max_length}")


def with_model_options(own: type) -> type:
    """A metric's options: the frozen dataclass `own` (its own options, listed first) and `ModelOptions`."""
    ns = {"__doc__": own.__doc__, "__module__": own.__module__, "__qualname__": own.__qualname__}
    return dataclass(frozen=True)(type(own.__name__, (ModelOptions, own), ns))


def make_settings(options_cls: type, metric: str, settings: Mapping[str, Any]) -> Any:
    """An instance of a metric's `Options` from ``key -> value`` (strings from the command line converted to
    each field's type); an unknown key or a value of the wrong type is a BenchError naming the known keys."""
    known = {f.name: f for f in fields(options_cls)}
    hints = get_type_hints(options_cls)
    values: dict[str, Any] = {}
    for key, value in settings.items():
        if key not in known:
            names = ", ".join(known) or "(none)"
            raise BenchError(f"metric {metric!r} has no option {key!r}",
                             hint=f"its options: {names}" if known else f"metric {metric!r} takes no options")
        values[key] = convert_option(metric, key, value, hints.get(key, Any))
    return options_cls(**values)


def convert_option(metric: str, key: str, value: Any, annotation: Any) -> Any:
    """`value` as the annotated type of option `key`: '4' -> 4 for an int, 'true' -> True for a bool, ..."""
    types = get_args(annotation) if get_origin(annotation) in (Union, UnionType) else (annotation,)
    if value is None and type(None) in types or annotation is Any:
        return value
    if isinstance(value, str) and value.lower() in ("none", "null") and type(None) in types:
        return None
    for t in (t for t in types if t is not type(None)):
        if t is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("true", "yes", "1", "on", "false", "no", "0", "off"):
                return value.lower() in ("true", "yes", "1", "on")
        elif t is int:
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
                return int(value)
        elif t is float:
            number: float | None = None
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                try:
                    number = float(value)
                except OverflowError:  # an int too large for a float
                    number = math.inf
            elif isinstance(value, str):
                try:
                    number = float(value)
                except ValueError:
                    pass
            if number is not None:
                if not math.isfinite(number):
                    raise BenchError(f"metric {metric!r}: option {key!r} must be a finite number, got {value!r}",
                                     hint=f"e.g. --metric-opt {metric}.{key}=VALUE")
                return number
        elif t is str:
            if isinstance(value, str):
                return value
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return str(value)
        elif get_origin(t) is Literal:
            if value in get_args(t):
                return value
        elif isinstance(t, type) and isinstance(value, t):
            return value
    wanted = " or ".join(_type_name(t) for t in types)
    raise BenchError(f"metric {metric!r}: option {key!r} must be {wanted}, got {value!r}",
                     hint=f"e.g. --metric-opt {metric}.{key}=VALUE")


def _type_name(t: Any) -> str:
    if t is type(None):
        return "none"
    if get_origin(t) is Literal:
        return " or ".join(repr(a) for a in get_args(t))
    return {bool: "true or false", int: "an integer", float: "a number", str: "a string"}.get(
        t, getattr(t, "__name__", str(t)))
