"""Model registry: built-in baselines, model aliases, and user models.

`resolve_model(name)` accepts a registered name (a baseline or a Hugging Face
alias such as ``distilbart``), ``package.module:ClassName``, a ``bench.models``
entry point, ``openai:NAME`` (a model behind an OpenAI-compatible server), or
(with the `hf` extra) a Hugging Face hub id or local model directory.
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
from importlib import metadata

from bench.errors import BenchError
from bench.models.base import Model, ModelSpec
from bench.models.hf import factory as hf_factory
from bench.registry import Registry

MODELS: Registry[ModelSpec] = Registry("model")

#: Models `bench run` uses when no --model is given.
DEFAULT_MODELS = ("lead-3", "textrank", "sliding-window")


def _baseline(cls_name: str):
    def make(**options) -> Model:
        from bench.models import baselines

        return getattr(baselines, cls_name)()

    return make


MODELS.register("lead-3", ModelSpec(
    "lead-3", "baseline", ("summarization",), _baseline("Lead"),
    "first 3 sentences of the document (first sentence for one-sentence tasks)"))
MODELS.register("textrank", ModelSpec(
    "textrank", "baseline", ("summarization",), _baseline("TextRank"),
    "graph-based extractive summary (Mihalcea & Tarau, 2004)"))
MODELS.register("sliding-window", ModelSpec(
    "sliding-window", "baseline", ("qa",), _baseline("SlidingWindow"),
    "lexical-overlap QA baseline (Richardson et al., 2013) returning a short span"))


def _register_hf_aliases() -> None:
    for spec in hf_factory.alias_specs():  # specs only: nothing is loaded, torch is not imported
        MODELS.register(spec.name, spec)


_register_hf_aliases()


def _construct(cls: type, options: dict) -> Model:
    """An instance of a user's model class, given the run options its __init__ names (all, with **kwargs)."""
    try:
        params = inspect.signature(cls).parameters.values()
    except (TypeError, ValueError):
        return cls()
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return cls(**options)
    names = {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    return cls(**{k: v for k, v in options.items() if k in names})


def _plugin_spec(name: str, cls: type) -> ModelSpec:
    if not (isinstance(cls, type) and issubclass(cls, Model)) and not hasattr(cls, "predict"):
        raise BenchError(f"{name} is not a model class (it has no 'predict' method)",
                         hint="see 'Your own model' in the README")
    task_types = tuple(getattr(cls, "task_types", ()) or ())
    if not task_types:
        raise BenchError(f"{name} declares no task_types", hint="set task_types = ('summarization',) or ('qa',)")
    return ModelSpec(getattr(cls, "name", "") or name, "plugin", task_types, lambda **o: _construct(cls, o),
                     (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else "", target=name)


def entry_point_models() -> dict[str, ModelSpec]:
    specs = {}
    for ep in metadata.entry_points(group="bench.models"):
        try:
            cls = ep.load()
        except Exception as e:
            raise BenchError(f"cannot load model entry point {ep.name!r} ({ep.value}): {e}", exit_code=3) from None
        specs[ep.name] = _plugin_spec(ep.value, cls)
    return specs


def resolve_model(name: str, revision: str | None = None) -> ModelSpec:
    """The spec for a model name, without loading any weights.

    A Hugging Face model (alias, hub id or directory) is checked to be there
    (cached or downloadable, at `revision`) now, before any run starts.
    """
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
        module_name, _, attr = name.partition(":")
        try:
            module = _import_user_module(module_name)
        except ImportError as e:
            raise BenchError(f"cannot import module {module_name!r} for model {name!r}: {e}",
                             hint="is the package installed, or its directory on PYTHONPATH?") from None
        cls = getattr(module, attr, None)
        if cls is None:
            raise BenchError(f"module {module_name!r} has no attribute {attr!r}")
        return _plugin_spec(name, cls)
    plugins = entry_point_models()
    if name in plugins:
        return plugins[name]
    hf = hf_factory.spec_for(name, revision)  # a hub id or local directory
    if hf is not None:
        return hf
    MODELS.get(name)  # raises with a did-you-mean
    raise AssertionError  # pragma: no cover


def _import_user_module(module_name: str):
    """Import a user's module; a module in the working directory is found too (as `python -m` would)."""
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        cwd = os.getcwd()
        if e.name != module_name.split(".")[0] or cwd in sys.path or "" in sys.path:
            raise
    sys.path.append(cwd)
    return importlib.import_module(module_name)


__all__ = ["MODELS", "DEFAULT_MODELS", "Model", "ModelSpec", "resolve_model", "entry_point_models"]
