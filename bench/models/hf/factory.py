"""Hugging Face model specs, and the factory that loads the model a spec names.

The model registry holds a spec per alias (`alias_specs`) and asks for one per
hub id or directory (`spec_for`); neither imports torch. Only `create_model`
(a spec's factory) and `HFModelSpec.fingerprint` import the modules that load
and run a model (`runtime`, `generate`, `qa`), which in turn rely on `config`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from bench.errors import BenchError
from bench.models.model import Model, ModelSpec
from bench.models.hf.config import (ALIASES, EXTRACTIVE_QA, SEQ2SEQ, HFModelInfo, info_for, local_fingerprint,
                                    locate, read_local_config)


#: Raised whenever the runner's predictions change for the same model and settings, so that cached predictions
#: of the earlier code are not reused. 2: segment ids given to models that take them; the summarization
#: pipeline's defaults; decoding without cleaning up tokenization spaces.
RUNNER_REVISION = 2


@dataclass(frozen=True)
class HFModelSpec(ModelSpec):
    """A model spec that can check its files are there, and fingerprint them, without loading."""

    info: HFModelInfo | None = field(default=None, repr=False, compare=False)

    def loading_note(self, options: Mapping[str, Any]) -> str | None:
        """``loading NAME on cpu, float32...``: the device and dtype that "auto" resolves to here."""
        fingerprint = self.fingerprint(revision=options.get("revision"), device=options.get("device", "auto"),
                                       dtype=options.get("dtype", "auto"))
        if fingerprint is None:
            return f"loading {self.name}..."
        _, device, dtype = fingerprint.split("|")
        return f"loading {self.name} on {device}, {dtype}..."

    def preflight(self, revision: str | None = None) -> None:
        """Raise the clear offline/not-found error now, before any run starts."""
        if self.info is not None and not self.info.local:
            locate(self.info.model_id, revision, alias=self.info.name)

    def identity(self, options: Mapping[str, Any]) -> dict[str, Any]:
        """Revision, dtype, generation settings, --trust-remote-code, the seed (sampling), the fingerprint
        below (which holds the device type), and the runner's revision. The batch size is left out: predictions
        do not depend on it (tests/models/test_hf.py checks it)."""
        return {
            "runner": RUNNER_REVISION,
            "revision": options.get("revision"),
            "dtype": options.get("dtype") or "auto",
            "generation": dict(options.get("generation") or {}),
            "trust_remote_code": bool(options.get("trust_remote_code")),
            "seed": options.get("seed", 0),
            "fingerprint": self.fingerprint(**options),
        }

    def fingerprint(self, revision: str | None = None, device: str = "auto", dtype: str = "auto",
                    **_: Any) -> str | None:
        """What identifies the predictions for the prediction cache, known before loading: the hub commit
        (or the local files' stats), and the device type and dtype that "auto" resolves to here."""
        if self.info is None:
            return None
        if self.info.local:
            weights, config = local_fingerprint(Path(self.info.model_id)), read_local_config(Path(self.info.model_id))
        else:
            located = locate(self.info.model_id, revision, alias=self.info.name)
            weights, config = located.commit, located.config
        from bench.runtime.devices import require_hf, resolve_device, resolve_dtype

        require_hf()
        resolved = resolve_device(device)
        return f"{weights}|{resolved.type}|{str(resolve_dtype(dtype, resolved, config)).replace('torch.', '')}"


def spec(info: HFModelInfo) -> HFModelSpec:
    """The registry's spec for a Hugging Face model; its factory is `create_model`."""
    return HFModelSpec(info.name, info.kind, info.task_types, partial(create_model, info), info.description,
                       target=info.model_id, info=info)


def alias_specs() -> list[ModelSpec]:
    """A spec per alias, for the model registry (nothing is loaded or fetched)."""
    return [spec(info) for info in ALIASES]


def spec_for(name: str, revision: str | None = None) -> ModelSpec | None:
    """The spec for a hub id or local directory; None when `name` is neither (an unknown name).

    Reads the model's config.json (fetching it alone if needed) to learn its
    kind, so this raises a BenchError when the model is unavailable.
    """
    info = info_for(name, revision)
    return None if info is None else spec(info)


def create_model(
    info: HFModelInfo,
    *,
    device: str = "auto",
    dtype: str = "auto",
    generation: Mapping[str, Any] | None = None,
    revision: str | None = None,
    trust_remote_code: bool = False,
    batch_size: int | str | None = None,
    seed: int = 0,
    **unknown: Any,
) -> Model:
    """Load the model for `info` (imports torch and transformers)."""
    if "base_url" in unknown:
        raise BenchError("--base-url is for openai:NAME models only",
                         hint=f"{info.name} is a Hugging Face model; drop --base-url")
    if unknown:
        raise BenchError(f"unknown option(s) for a Hugging Face model: {', '.join(sorted(unknown))}")
    from bench.models.hf.hf_model import LoadOptions
    from bench.runtime.devices import require_hf

    require_hf()
    options = LoadOptions(device=device, dtype=dtype, generation=dict(generation or {}), revision=revision,
                          trust_remote_code=trust_remote_code, batch_size=batch_size, seed=seed)
    if info.kind == EXTRACTIVE_QA:
        from bench.models.hf.qa import ExtractiveQAModel

        return ExtractiveQAModel(info, options)
    from bench.models.hf.generate import CausalLMModel, Seq2SeqModel

    return (Seq2SeqModel if info.kind == SEQ2SEQ else CausalLMModel)(info, options)
