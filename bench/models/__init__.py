"""Model registry: built-in baselines, model aliases, and user models.

`resolve_model(name)` accepts a registered name (a baseline or a Hugging Face
alias such as ``distilbart``), ``package.module:ClassName``, a ``bench.models``
entry point, ``openai:NAME`` (a model behind an OpenAI-compatible server), or
(with the `hf` extra) a Hugging Face hub id or local model directory.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from bench.errors import EXIT_ENVIRONMENT, BenchError, clip
from bench.models.model import Model, ModelSpec
from bench.models.hf import factory as hf_factory
from bench.plugins import code_fingerprint, entry_points, import_named
from bench.registry import DIRECTORY_NAME_RULE, Registry, is_directory_name

MODELS: Registry[ModelSpec] = Registry("model")

#: Models `bench run` uses when no --model is given.
DEFAULT_MODELS = ("lead-3", "textrank", "sliding-window")


def _baseline(cls_name: str):
    def make(**options) -> Model:
        from bench.models import baselines

        return getattr(baselines, cls_name)()

    return make


@dataclass(frozen=True)
class BaselineSpec(ModelSpec):
    """A built-in baseline: deterministic, it takes no run option, and its code is bench's (whose version is in
    the cache key)."""

    def identity(self, options: Mapping[str, Any]) -> dict[str, Any]:
        return {}


MODELS.register("lead-3", BaselineSpec(
    "lead-3", "baseline", ("summarization",), _baseline("Lead"),
    "first 3 sentences of the document (first sentence for one-sentence tasks)"))
MODELS.register("textrank", BaselineSpec(
    "textrank", "baseline", ("summarization",), _baseline("TextRank"),
    "graph-based extractive summary (Mihalcea & Tarau, 2004)"))
MODELS.register("sliding-window", BaselineSpec(
    "sliding-window", "baseline", ("qa",), _baseline("SlidingWindow"),
    "lexical-overlap QA baseline (Richardson et al., 2013) returning a short span"))


def _register_hf_aliases() -> None:
    for spec in hf_factory.alias_specs():  # specs only: nothing is loaded, torch is not imported
        MODELS.register(spec.name, spec)


_register_hf_aliases()


def named_options(fn: Any, options: Mapping[str, Any]) -> dict[str, Any]:
    """The run options `fn` (a user's model class, or its `fingerprint`) names; all of them when it takes
    **kwargs; none when its signature cannot be read."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return {}
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return dict(options)
    names = {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    return {k: v for k, v in options.items() if k in names}


def _construct(cls: type, options: dict) -> Model:
    """An instance of a user's model class, given the run options its __init__ names (all, with **kwargs)."""
    return cls(**named_options(cls, options))


def init_settings(cls: type, options: Mapping[str, Any]) -> dict[str, Any]:
    """What a user's model class is created with: the run options its __init__ names, and the defaults of the
    parameters that are not given (so that changing a default changes the settings)."""
    given = named_options(cls, options)
    try:
        params = inspect.signature(cls).parameters.values()
    except (TypeError, ValueError):
        return given
    defaults = {p.name: p.default for p in params
                if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.default is not p.empty}
    return {k: _stable(v) for k, v in {**defaults, **given}.items()}


def _stable(value: Any) -> Any:
    """A setting as it goes into the cache key: JSON values as they are, anything else by its repr without
    memory addresses (which change from one process to the next)."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (list, tuple)):
        return [_stable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _stable(v) for k, v in value.items()}
    return re.sub(r" at 0x[0-9a-fA-F]+", "", repr(value))


@dataclass(frozen=True)
class PluginSpec(ModelSpec):
    """A user's model class (``module:Class`` or an entry point)."""

    cls: Any = field(default=None, repr=False, compare=False)
    module: str | None = None
    """The module the class was named by."""

    def identity(self, options: Mapping[str, Any]) -> dict[str, Any]:
        """Its code (source files), its settings (what __init__ receives, defaults included), the seed (which
        seeds Python's, numpy's and torch's generators before it runs, whether it names it or not), and its
        own `version` and `fingerprint(...)` when it declares them."""
        cls = self.cls
        out: dict[str, Any] = {"code": code_fingerprint(cls, self.module), "settings": init_settings(cls, options),
                               "seed": options.get("seed", 0)}
        version = getattr(cls, "version", None)
        if version is not None:
            out["version"] = version
        if "fingerprint" in dir(cls):
            fp = inspect.getattr_static(cls, "fingerprint")
            if not isinstance(fp, (classmethod, staticmethod)):
                raise BenchError(f"{self.target}: fingerprint must be a classmethod or staticmethod: it is called "
                                 "before the model is created", hint="add @classmethod above `def fingerprint`")
            fn = getattr(cls, "fingerprint")
            try:
                value = fn(**named_options(fn, options))
            except BenchError:
                raise
            except Exception as e:
                raise BenchError(f"model {self.name!r}: fingerprint() failed: {type(e).__name__}: {e}",
                                 exit_code=EXIT_ENVIRONMENT) from e
            if value is not None:
                out["fingerprint"] = value
        return out


def _plugin_spec(name: str, cls: type) -> ModelSpec:
    if not (isinstance(cls, type) and issubclass(cls, Model)) and not hasattr(cls, "predict"):
        raise BenchError(f"{name} is not a model class (it has no 'predict' method)",
                         hint="see 'Your own model' in the README")
    task_types = tuple(getattr(cls, "task_types", ()) or ())
    if not task_types:
        raise BenchError(f"{name} declares no task_types", hint="set task_types = ('summarization',) or ('qa',)")
    return PluginSpec(getattr(cls, "name", "") or name, "plugin", task_types, lambda **o: _construct(cls, o),
                      (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else "", target=name, cls=cls,
                      module=name.partition(":")[0] or None)


def entry_point_models() -> dict[str, ModelSpec]:
    return {name: _plugin_spec(value, cls) for name, value, cls in entry_points("bench.models", "model")}


#: The longest model name taken: a path or a hub id is far shorter (PATH_MAX is 4096 on Linux).
MAX_MODEL_NAME = 4096


def resolve_model(name: str, revision: str | None = None) -> ModelSpec:
    """The spec for a model name, without loading any weights.

    A Hugging Face model (alias, hub id or directory) is checked to be there
    (cached or downloadable, at `revision`) now, before any run starts.
    """
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_MODEL_NAME:
        shown = f"{len(name)} characters ({clip(name, 60)!r})" if isinstance(name, str) and name.strip() else repr(name)
        raise BenchError(f"not a model name: {shown}",
                         hint="a model is a name from `bench list`, a hub id org/name, a directory or "
                              "package.module:Class")
    if name in MODELS:
        spec = MODELS.get(name)
        preflight = getattr(spec, "preflight", None)
        if callable(preflight):
            preflight(revision)
        return spec
    if name.startswith("openai:"):
        from bench.models.openai_compat import spec_for as openai_spec

        return openai_spec(name)
    if ":" in name and not name.startswith(("/", ".")):
        return _plugin_spec(name, import_named(name, "model"))
    plugins = entry_point_models()
    if name in plugins:
        return plugins[name]
    hf = hf_factory.spec_for(name, revision)  # a hub id or local directory
    if hf is not None:
        return hf
    MODELS.get(name)  # raises with a did-you-mean
    raise AssertionError  # pragma: no cover


def named(spec: ModelSpec, name: str) -> ModelSpec:
    """`spec` under a name the user gave it (``--name``): what tables, reports, the results directory and a
    ratings file's ``system`` say. Its own name stays its `ModelSpec.source` (the cache key, the provenance)."""
    if name == spec.name:
        return spec
    if not is_directory_name(name):
        raise BenchError(f"invalid model name {name!r} (--name): it becomes a directory name under results/",
                         hint=DIRECTORY_NAME_RULE)
    if name in MODELS and MODELS.get(name).source != spec.source:
        raise BenchError(f"--name {name!r} is the name of a built-in model ({MODELS.get(name).kind})",
                         hint=f"give {spec.name} a name of its own")
    return replace(spec, name=name, own_name=spec.source)


def resolve_models(models: Sequence[str], names: Sequence[str] = (), revision: str | None = None,
                   ) -> list[ModelSpec]:
    """The specs of `models` (`resolve_model`), each under the name `names` gives it, in the same order.

    `names` is empty (every model keeps its own name) or holds one name per
    model; two different models are never given one name.
    """
    if names and len(names) != len(models):
        times = "once" if len(names) == 1 else f"{len(names)} times"
        raise BenchError(f"--name is given {times} for {len(models)} models (--model)" if models else
                         "--name names the models given with --model, and none is given",
                         hint="give one --name per --model, in the same order (a model's own name keeps it, "
                              "e.g. --name lead-3), or run the model to rename on its own")
    for name in names:
        if not is_directory_name(name):
            raise BenchError(f"invalid model name {name!r} (--name): it becomes a directory name under results/",
                             hint=DIRECTORY_NAME_RULE)
    specs = [resolve_model(m, revision) for m in models]
    if names:
        specs = [named(spec, name) for spec, name in zip(specs, names)]
    seen: dict[str, ModelSpec] = {}
    for spec in specs:
        other = seen.setdefault(spec.name, spec)
        if other.source != spec.source:
            raise BenchError(f"two models are named {spec.name!r}: {other.source} and {spec.source}",
                             hint="give each model a --name of its own")
    return specs


__all__ = ["MODELS", "DEFAULT_MODELS", "Model", "ModelSpec", "resolve_model", "resolve_models", "named",
           "entry_point_models"]
