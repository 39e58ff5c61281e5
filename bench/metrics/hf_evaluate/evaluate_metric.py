"""Metrics from the `evaluate` library: ``--metric evaluate:NAME_OR_PATH``.

`evaluate_metric_class(target)` makes one `Metric` class per target: a local
metric script (``./my_metric.py``), a directory holding a script of its own
name (``./my_metric/``), or the name of a metric already in the Hugging Face
modules cache (``accuracy``, ``someone/metric``, loaded once online). The
`evaluate` package is imported here only, when such a metric is asked for (it
costs seconds: it imports torch and transformers).

What bench passes and reads back:

- ``compute(predictions=..., references=...)``: predictions are the texts; the
  references are each example's list of references when the module's
  ``references`` feature is a sequence of strings, else (a single string) each
  example's first reference (``refs:first`` in the signatures, and a warning
  when an example has several). A module whose predictions or references are
  not text (numbers, dicts such as evaluate's ``squad``) is refused.
- options (``--metric-opt NAME.key=value``, or a task's ``metrics:`` entry) go
  to ``compute(**options)``; strings are read as JSON where they are JSON
  (``true``, ``4``, ``["a"]``), else kept as strings. ``config_name`` goes to
  the module's constructor, as `evaluate.load` takes it, and
  ``per_example=true`` computes the module once per example (see below).
- results: a value that is a list of one number per example is a per-example
  score: its mean and a seeded bootstrap CI, as every bench metric has. A
  single number is a corpus value: reported as is, with no CI, and no paired
  test in `bench compare` (``agg:corpus`` in its signature). Anything else
  (text, nested dicts, lists of another length) is skipped with a warning.
  Each score is named ``<short name>.<key>`` (``my_metric.accuracy``), so it
  never collides with bench's own (``rouge1``).
- ``per_example=true`` asks for per-example values from a module that gives
  only corpus values, by computing it once per example: right for a mean of
  per-example scores, wrong for a corpus metric such as BLEU, so never done
  unless asked for.

Signatures: ``<score>|module:<module>|code:<sha256 of the script, 16 hex>|<options as key:value, sorted>|
refs:all|first|agg:mean|corpus|evaluate:<version>|bench:<version>``.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import math
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

from bench.errors import EXIT_ENVIRONMENT, EXIT_USAGE, BenchError
from bench.metrics.metric import Metric, MetricInputs, MetricResult, signature
from bench.metrics.metric_options import MetricOptions

PREFIX = "evaluate:"
INSTALL_HINT = "pip install evaluate (or pip install 'bench[evaluate]')"
#: Options bench reads itself; every other key goes to the module's compute().
OWN_OPTIONS = ("config_name", "per_example", "direction")

#: Environment variables that put the Hugging Face libraries offline.
OFFLINE_VARIABLES = ("HF_HUB_OFFLINE", "HF_EVALUATE_OFFLINE", "HF_DATASETS_OFFLINE")

_CLASSES: dict[str, type[EvaluateMetric]] = {}


class EvaluateMetric(Metric):
    """A metric `evaluate` loads; `evaluate_metric_class` makes one subclass per target."""

    target: ClassVar[str] = ""
    #: sha256 (16 hex) of the module's script and the local files it imports (`bench.metrics.metric_code` reads it).
    code: ClassVar[str] = ""
    #: The module's name (its script's name).
    module_name: ClassVar[str] = ""
    main_class: ClassVar[Any] = None
    module_hash: ClassVar[str] = ""
    evaluate_version: ClassVar[str] = ""
    #: Where the module's script was imported from (evaluate's copy in its modules cache).
    script: ClassVar[str] = ""
    #: Whether evaluate may reach the Hub (a Hub name, with the Hub reachable and no offline variable set).
    online: ClassVar[bool] = False

    def __init__(self, options: MetricOptions | None = None, settings: Mapping[str, Any] | None = None,
                 cache_dir: Path | None = None) -> None:
        # Any key is an option of the module's compute(): `Options` cannot list them, so they are read here.
        self.options = options or MetricOptions()
        self.cache_dir = cache_dir
        self.settings = {str(k): decode_option(v) for k, v in (settings or {}).items()}
        per_example = self.settings.get("per_example", False)
        if not isinstance(per_example, bool):
            raise BenchError(f"metric {self.name!r}: option 'per_example' must be true or false, got {per_example!r}",
                             hint=f"--metric-opt {short(self.name)}.per_example=true")
        self.per_example = per_example
        direction = self.settings.get("direction", "higher")
        if direction not in ("higher", "lower", "none"):
            raise BenchError(f"metric {self.name!r}: option 'direction' must be higher, lower or none, got "
                             f"{direction!r}", hint=f"--metric-opt {short(self.name)}.direction=lower (e.g. for WER)")
        self.direction = direction
        self.kwargs = {k: v for k, v in self.settings.items() if k not in OWN_OPTIONS}
        self.module = self.instantiate()
        self.check_kwargs()
        self.refs = references_mode(self.name, self.module)

    # ---------------------------------------------------------------- loading

    def instantiate(self) -> Any:
        """The evaluation module, as `evaluate.load` makes it (config_name, results kept in memory)."""
        config_name = self.settings.get("config_name")
        if config_name is not None and not isinstance(config_name, str):
            raise BenchError(f"metric {self.name!r}: option 'config_name' must be a string, got {config_name!r}")
        try:
            with offline(not self.online):
                module = self.main_class(config_name=config_name, keep_in_memory=True, hash=self.module_hash)
                module.download_and_prepare()
        except BenchError:
            raise
        except ConnectionError as e:
            raise BenchError(f"metric {self.name!r} needs to download resources it has not cached: {e}",
                             hint="run it once where the Hugging Face Hub can be reached, so its resources are "
                                  "cached", exit_code=EXIT_ENVIRONMENT) from None
        except Exception as e:  # the module's own code: a bad config_name raises whatever it raises
            config = f" with config_name={config_name!r}" if config_name else ""
            raise BenchError(f"metric {self.name!r} cannot be set up{config}: {type(e).__name__}: {e}",
                             hint=self.hint()) from None
        return module

    def check_kwargs(self) -> None:
        """Refuse options the module's `_compute` does not take, before anything runs."""
        try:
            params = inspect.signature(self.module._compute).parameters
        except (TypeError, ValueError):
            return
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
            return
        takes = [n for n, p in params.items() if n not in ("predictions", "references")
                 and p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)]
        for key in self.kwargs:
            if key not in takes:
                known = ", ".join([*takes, *OWN_OPTIONS])
                raise BenchError(f"metric {self.name!r} has no option {key!r}",
                                 hint=f"its options: {known} (config_name, per_example and direction are bench's)")

    def direction_of(self, score: str) -> str:  # type: ignore[override]  # one module's scores share the option
        """The `direction` option (higher by default; `lower` for an error rate such as WER)."""
        return self.direction

    def hint(self) -> str:
        """Where to look: the module's script (the user's path, or evaluate's cached copy)."""
        return f"the module's script: {self.target if is_local(self.target) else self.script}"

    def close(self) -> None:
        self.module = None

    # ---------------------------------------------------------------- scoring

    def option_fields(self) -> list[tuple[str, str]]:
        return [(k, option_text(self.settings[k])) for k in sorted(self.settings)]

    def signature_of(self, score: str, agg: str) -> str:
        return signature(score, ("module", self.module_name), ("code", self.code), *self.option_fields(),
                         ("refs", self.refs), ("agg", agg), ("evaluate", self.evaluate_version))

    def run_module(self, predictions: list[str], references: list[Any]) -> dict[str, Any]:
        assert self.module is not None, "the metric was closed"
        try:
            out = self.module.compute(predictions=predictions, references=references, **self.kwargs)
        except Exception as e:
            raise BenchError(f"metric {self.name!r} failed: {type(e).__name__}: {e}", hint=self.hint()) from None
        if not isinstance(out, Mapping):
            raise BenchError(f"metric {self.name!r} returned {type(out).__name__}, not a dict of scores",
                             hint=self.hint())
        return dict(out)

    def compute(self, inputs: MetricInputs) -> MetricResult:
        n = len(inputs)
        predictions = list(inputs.predictions)
        warnings: list[str] = []
        if self.refs == "all":
            references: list[Any] = [list(r) for r in inputs.references]
        else:
            missing = [i for i, r in zip(inputs.ids, inputs.references) if not r]
            if missing:
                raise BenchError(f"metric {self.name!r} takes one reference per example, and example "
                                 f"{missing[0]!r} has none" + (f" (nor do {len(missing) - 1} more)"
                                                               if len(missing) > 1 else ""),
                                 hint="give every example a reference")
            several = sum(len(r) > 1 for r in inputs.references)
            if several:
                warnings.append(f"metric {self.name!r} takes one reference per example: {several} example(s) have "
                                "several, and only the first was scored (refs:first)")
            references = [r[0] for r in inputs.references]
        prefix = short(self.name)
        per: dict[str, list[float]] = {}
        corpus: dict[str, float] = {}
        skipped: list[str] = []
        if self.per_example:
            rows = [self.run_module([p], [r]) for p, r in zip(predictions, references)]
            keys = list(dict.fromkeys(k for row in rows for k in row))
            for key in keys:
                values = [single(row.get(key)) for row in rows]
                if all(v is not None for v in values):
                    per[key] = [float(v) for v in values if v is not None]
                else:
                    skipped.append(key)
        else:
            out = self.run_module(predictions, references) if n else {}
            for key, value in out.items():
                scalar = number(value)
                if scalar is not None:
                    corpus[key] = scalar
                    continue
                values = number_list(value)
                if values is not None and len(values) == n:
                    per[key] = values
                else:
                    skipped.append(key)
        if n and not per and not corpus:
            returned = rows[0] if self.per_example else out
            raise BenchError(f"metric {self.name!r} gave no score: its module returned {_shown(returned)} "
                             f"({'for the first example' if self.per_example else 'for the corpus'}), which has no "
                             f"finite number, nor one number per example",
                             hint="a metric asked for must give at least one score; check its script and options")
        if skipped:
            warnings.append(f"metric {self.name!r}: {', '.join(map(repr, skipped))} skipped: not a finite number, "
                            f"nor one per example")
        signatures: dict[str, str] = {}
        for key in per:
            signatures[f"{prefix}.{key}"] = self.signature_of(f"{prefix}.{key}", "mean")
        for key in corpus:
            signatures[f"{prefix}.{key}"] = self.signature_of(f"{prefix}.{key}", "corpus")
        if corpus:
            warnings.append(f"metric {self.name!r} gives only a corpus value for {', '.join(map(repr, corpus))}: "
                            "no CI, and no paired test in `bench compare` (per_example=true computes the module "
                            "once per example, which is right only for a mean of per-example scores)")
        return MetricResult(per_example={f"{prefix}.{k}": v for k, v in per.items()},
                            corpus={f"{prefix}.{k}": v for k, v in corpus.items()},
                            signatures=signatures, warnings=warnings)


# -------------------------------------------------------------------- making the class


def evaluate_metric_class(target: str) -> type[EvaluateMetric]:
    """The `Metric` class of ``evaluate:TARGET`` (one per target, made once per process).

    Imports `evaluate` and locates the module's script, offline: a local path
    is never looked up on the Hub, and a Hub name is read from the cache alone
    when the Hub cannot be reached. Every failure is one `BenchError`:
    `evaluate` not installed or a metric neither local nor cached (exit 3), a
    missing script or a script that does not import (exit 2).
    """
    name = PREFIX + target
    if not target.strip():
        raise BenchError(f"metric {name!r} names no metric",
                         hint="write evaluate:NAME (a metric in the Hugging Face cache) or evaluate:PATH "
                              "(a metric script, or a directory holding one of the same name)")
    local = is_local(target)
    key = check_local_script(name, target) if local else target
    if key in _CLASSES:
        return _CLASSES[key]
    evaluate = import_evaluate(name)
    from evaluate import loading

    online = not local and hub_online()
    try:
        with offline(not online):
            importable = loading.evaluation_module_factory(target)
            main_class = loading.import_main_class(importable.module_path)
    except BenchError:
        raise
    except (FileNotFoundError, ConnectionError) as e:
        if local:
            raise BenchError(f"metric {name!r} cannot be loaded offline: {type(e).__name__}: {e}",
                             hint="a local script may import local files only (no '# From: URL' downloads)",
                             exit_code=EXIT_ENVIRONMENT) from None
        if online:
            raise BenchError(f"metric {name!r} not found: {target!r} is not a local metric script, nor a metric in "
                             "the Hugging Face cache or on the Hub",
                             hint="give the path to its script, or a metric name evaluate knows "
                                  "(https://huggingface.co/evaluate-metric)") from None
        raise BenchError(
            f"metric {name!r} is not available offline: {target!r} is neither a local metric script nor a metric "
            f"in the Hugging Face cache, and {offline_reason()}",
            hint=f"give the path to its script (evaluate:./{target}.py, or a directory {target}/ holding "
                 f"{target.rsplit('/', 1)[-1]}.py), or load it once where the Hub can be reached "
                 f"(python -c \"import evaluate; evaluate.load('{target}')\") so it is cached",
            exit_code=EXIT_ENVIRONMENT) from None
    except ImportError as e:
        raise BenchError(f"metric {name!r} cannot be loaded: {e}", hint="install the packages its script imports "
                         "(evaluate reads each `import` line of the script; write one module per line)",
                         exit_code=EXIT_ENVIRONMENT) from None
    except Exception as e:
        raise BenchError(f"metric {name!r} cannot be loaded: {type(e).__name__}: {e}",
                         hint="is it an evaluate metric script (a subclass of evaluate.Metric with _info and "
                              "_compute)?") from None
    if main_class is None:
        raise BenchError(f"metric {name!r}: its script defines no evaluation module",
                         hint="an evaluate metric script defines a subclass of evaluate.Metric")
    script = inspect.getsourcefile(main_class) or ""
    cls = type(f"Evaluate_{short(name)}", (EvaluateMetric,), {
        "name": name,
        "target": target,
        "code": script_fingerprint(script),
        "module_name": importable.module_path.rsplit(".", 1)[-1],
        "main_class": main_class,
        "module_hash": importable.hash,
        "script": script,
        "evaluate_version": evaluate.__version__,
        "online": online,
        "description": f"evaluate module {target}",
        "__module__": __name__,
    })
    _CLASSES[key] = cls
    return cls


def import_evaluate(name: str) -> Any:
    try:
        import evaluate
    except ImportError:
        raise BenchError(f"metric {name!r} needs the evaluate package, which is not installed",
                         hint=INSTALL_HINT, exit_code=EXIT_ENVIRONMENT) from None
    return evaluate


def is_local(target: str) -> bool:
    """Whether `target` is a path (it exists, ends in .py, or starts like one) rather than a Hub name."""
    if os.path.exists(target) or target.endswith(".py") or target.startswith(("/", "./", "../", "~")):
        return True
    return target.count("/") > 1 or os.sep != "/" and os.sep in target


def check_local_script(name: str, target: str) -> str:
    """Refuse a path that holds no metric script; else a key that changes with the script (the class cache's)."""
    path = Path(os.path.expanduser(target))
    script = path
    if path.is_dir():
        script = path / f"{path.resolve().name}.py"
        if not script.is_file():
            raise BenchError(f"metric {name!r}: directory {target} holds no script {script.name}",
                             hint="an evaluate metric directory holds a script of the directory's name")
    elif not path.is_file():
        raise BenchError(f"metric {name!r}: no metric script at {target}",
                         hint="give the path to an evaluate metric script or to the directory holding it",
                         exit_code=EXIT_USAGE)
    try:
        stat = script.stat()
    except OSError as e:
        raise BenchError(f"metric {name!r}: cannot read {script}: {e.strerror}", exit_code=EXIT_ENVIRONMENT) from None
    return f"{script.resolve()}\0{stat.st_mtime_ns}\0{stat.st_size}"


def hub_online() -> bool:
    """Whether evaluate may look at the Hub: not in offline mode, and the Hub answers."""
    from bench.hub import hub_reachable

    if any(os.environ.get(v, "").upper() in ("1", "ON", "YES", "TRUE") for v in OFFLINE_VARIABLES):
        return False
    return hub_reachable()


def offline_reason() -> str:
    """Why evaluate is kept off the Hub: an offline variable set, or no connection."""
    for v in OFFLINE_VARIABLES:
        if os.environ.get(v, "").upper() in ("1", "ON", "YES", "TRUE"):
            return f"{v} is set (offline mode)"
    return "the Hugging Face Hub cannot be reached"


@contextmanager
def offline(on: bool) -> Iterator[None]:
    """Within this block, `evaluate` reads only its cache when `on` (it would otherwise retry the Hub), and keeps
    its log quiet (it logs where it found a cached module: the signature's code names the script)."""
    from evaluate import config
    from evaluate.utils import logging

    saved = config.HF_EVALUATE_OFFLINE
    verbosity = logging.get_verbosity()
    if on:
        config.HF_EVALUATE_OFFLINE = True
    logging.set_verbosity_error()
    try:
        yield
    finally:
        config.HF_EVALUATE_OFFLINE = saved
        logging.set_verbosity(verbosity)


def script_fingerprint(script: str) -> str:
    """sha256 (16 hex) of a module's script and the other Python files beside it (its local imports)."""
    if not script:
        return "unknown"
    folder = Path(script).parent
    files = [Path(script)] + sorted(p for p in folder.glob("*.py") if p.name not in ("__init__.py", Path(script).name))
    digest = hashlib.sha256()
    for p in files:
        data = p.read_bytes()
        digest.update(f"{p.name}\0{len(data)}\0".encode() + data)
    return digest.hexdigest()[:16]


# -------------------------------------------------------------------- features and values


def text_kind(feature: Any) -> str | None:
    """'text' for a string feature, 'texts' for a sequence of strings, None for anything else."""
    inner = feature[0] if isinstance(feature, list) and len(feature) == 1 else getattr(feature, "feature", None)
    if inner is not None and not isinstance(feature, dict):
        return "texts" if text_kind(inner) == "text" else None
    return "text" if getattr(feature, "dtype", None) in ("string", "large_string") else None


def references_mode(name: str, module: Any) -> str:
    """'all' (each example's list of references) or 'first' (one string), from the module's features."""
    features = module.features
    options = features if isinstance(features, list) else [features]
    kinds = []
    for f in options:
        if not hasattr(f, "keys") or not {"predictions", "references"} <= set(f.keys()):
            continue
        if text_kind(f["predictions"]) == "text" and text_kind(f["references"]):
            kinds.append(text_kind(f["references"]))
    if "texts" in kinds:
        return "all"
    if "text" in kinds:
        return "first"
    shown = "; ".join(f"predictions {f.get('predictions')!r}, references {f.get('references')!r}"
                      for f in options if hasattr(f, "get"))
    raise BenchError(f"metric {name!r} does not score texts against reference texts "
                     f"(it takes {shown or 'no predictions and references'})",
                     hint="bench gives an evaluate module a string per prediction and a string, or a list of "
                          "strings, per example's references")


def number(value: Any) -> float | None:
    """`value` as a finite float when it is one number (a numpy scalar or a 0-d array too), else None."""
    if isinstance(value, bool) or value is None:
        return None
    if hasattr(value, "ndim") and getattr(value, "ndim", 1) == 0 and hasattr(value, "item"):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    f = float(value)
    return f if math.isfinite(f) else None


def single(value: Any) -> float | None:
    """One example's value: a number, or a list of one number (a module's per-example list, for one example)."""
    values = number_list(value)
    return values[0] if values is not None and len(values) == 1 else number(value)


def number_list(value: Any) -> list[float] | None:
    """`value` as a list of finite floats (a list, a tuple or a 1-d array), else None."""
    if hasattr(value, "tolist") and getattr(value, "ndim", 0) == 1:
        value = value.tolist()
    if not isinstance(value, (list, tuple)):
        return None
    out = [number(v) for v in value]
    return None if any(v is None for v in out) else [float(v) for v in out if v is not None]


def decode_option(value: Any) -> Any:
    """A string from the command line read as JSON where it is JSON (``true``, ``4``, ``["a"]``), else as given."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def option_text(value: Any) -> str:
    """An option's value as a signature shows it: a plain string as is, anything else as compact JSON."""
    if isinstance(value, str) and value and not any(c in value for c in "|:\n\"") and value == value.strip():
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def short(name: str) -> str:
    """The prefix of a module's score names: ``evaluate:./metrics/my_metric.py`` -> ``my_metric`` (as
    `bench.metrics.short_name` names it for --metric-opt)."""
    tail = name.removeprefix(PREFIX)
    tail = tail.replace(os.sep, "/").rstrip("/").rsplit("/", 1)[-1]
    return tail.removesuffix(".py")


__all__ = ["OWN_OPTIONS", "EvaluateMetric", "evaluate_metric_class"]


def _shown(value: Any, limit: int = 200) -> str:
    """A module's returned value for a message, cut to `limit` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."
