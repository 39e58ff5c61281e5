"""The Python API's argument checks and parsers, which the command line shares (messages name a parameter as
Python callers write it, or as the command line does: `ArgumentName`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from bench.errors import BenchError, relpath
from bench.io import file_in_the_way

if TYPE_CHECKING:
    pass


#: Largest seed `run` takes (numpy's and Python's generators take 32-bit seeds).
MAX_SEED = 2**32 - 1


class ArgumentName(Protocol):
    """How a message names a parameter: `limit` (or `limit=N`) for Python callers, `--limit` for the command line."""

    def __call__(self, parameter: str, value: str = "") -> str: ...


def python_name(parameter: str, value: str = "") -> str:
    """A parameter as Python callers write it: `limit`, or `limit=N` with a value."""
    return f"{parameter}={value}" if value else parameter


def check_run_arguments(
    *,
    limit: int | None = None,
    sample: int | None = None,
    seed: int = 0,
    batch_size: int | Literal["auto"] | None = None,
    output_dir: str | Path = "results",
    name: ArgumentName = python_name,
) -> None:
    """Refuse `run` arguments that cannot work, before any model loads; `name` words the messages.

    The command line calls it with its option names (`--limit`) before it calls `run`.
    """
    _check_count(limit, name("limit"))
    if not _is_int(seed) or not 0 <= seed <= MAX_SEED:
        raise BenchError(f"{name('seed')} must be an integer from 0 to {MAX_SEED}, got {seed!r}")
    _check_count(sample, name("sample"))
    if sample is not None and limit is not None:
        raise BenchError(f"{name('limit')} and {name('sample')} cannot be used together",
                         hint=f"{name('limit', 'N')} takes the first N examples, {name('sample', 'N')} a seeded "
                              "random N; pick one")
    if batch_size is not None and batch_size != "auto" and not (_is_int(batch_size) and batch_size >= 1):
        raise BenchError(f"{name('batch_size')} must be a positive integer or 'auto', got {batch_size!r}")
    _check_output_dir(Path(output_dir), name("output_dir"))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_count(value: int | None, name: str) -> None:
    """A number of examples: None (all of them) or at least 1."""
    if value is None:
        return
    if not _is_int(value):
        raise BenchError(f"{name} must be an integer, got {value!r}")
    if value < 1:
        raise BenchError(f"{name} must be at least 1, got {value}")


def _check_output_dir(path: Path, name: str) -> None:
    """Refuse an output directory that cannot be one (a file, or below a file)."""
    if path.exists():
        if not path.is_dir():
            raise BenchError("the output directory is a file", where=relpath(path), hint=f"pass a directory to {name}")
        return
    blocked = file_in_the_way(path)
    if blocked is not None:
        raise BenchError(f"{relpath(blocked)} is a file, not a directory", where=relpath(path),
                         hint=f"pass a directory to {name}")


def check_compare_arguments(*, alpha: float = 0.05, name: ArgumentName = python_name) -> None:
    """Refuse `compare` arguments that cannot work; `name` words the messages."""
    if not 0 < alpha < 1:
        raise BenchError(f"{name('alpha')} must be between 0 and 1, got {alpha}")


def parse_metric_opts(opts: Sequence[str]) -> dict[str, dict[str, str]]:
    """``NAME.key=value`` strings (``--metric-opt``) as ``{NAME: {key: value}}``, values as given."""
    from bench.metrics.catalog import split_metric_opts

    return split_metric_opts(opts)


def parse_value(text: str) -> Any:
    """A setting's value as written on the command line: JSON when it parses as JSON (4, true, 0.7, [1, 2]),
    else the text as it is. A NaN or infinite number raises ValueError."""
    import json

    from bench.io import NonFiniteNumber, has_nonfinite, loads

    try:
        value = loads(text)
    except NonFiniteNumber as e:
        raise ValueError(f"{e} is not a finite number") from None
    except json.JSONDecodeError:  # not JSON (or nested too deeply): the text as it is
        return text
    if has_nonfinite(value):  # a number too large for a float (1e999) reads as infinity
        raise ValueError(f"{text} is not a finite number")
    return value


def metric_specs(metrics: str | Sequence[str], settings: Mapping[str, Mapping[str, Any]] | None,
                 also: Sequence[str] = ()) -> list[Any]:
    """`MetricSpec`s of `metrics` with their `settings` (`bench.metrics.parse_metric_specs`); settings for a
    metric in `also` only (a task's own) make a spec of it too."""
    from bench.metrics import parse_metric_specs

    return parse_metric_specs([metrics] if isinstance(metrics, str) else list(metrics), settings, also)
