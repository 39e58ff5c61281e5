"""Loading a Hugging Face model and running it in batches: device, dtype, memory, timing.

`HFModel` is the base of the seq2seq, causal and extractive-QA runners. It
finds the files (local directory, or the hub cache honouring HF_HUB_OFFLINE),
loads tokenizer and weights with `trust_remote_code` off unless asked, puts
the model on the device in the dtype asked for, and records what results.json
needs: model id and commit, parameter count, dtype, device and GPU name,
batch size, truncated inputs, load time, generated tokens/s, peak memory.

Batches are `bench.runtime.batching.Batcher`'s: ``--batch-size auto`` finds the
largest that fits, and a fixed size that runs out of memory is halved with a
warning in results.json.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from bench.errors import EXIT_ENVIRONMENT, BenchError
from bench.models.model import Model
from bench.models.hf.config import HFModelInfo, hub_error, hub_offline, locate, read_local_config
from bench.runtime.batching import AUTO_START_GENERATE, Batcher
from bench.runtime.devices import free_memory, gpu_name, peak_rss_mb, quiet_transformers, resolve_device, resolve_dtype
from bench.tasks.records import Example, Task

T = TypeVar("T")
R = TypeVar("R")

#: Batch size on CPU when none (or auto) is asked for: bigger batches only add padding there.
CPU_BATCH_SIZE = 8


@dataclass(frozen=True)
class LoadOptions:
    """The run options a Hugging Face model takes (from `bench run`'s flags)."""

    device: str = "auto"
    dtype: str = "auto"
    generation: Mapping[str, Any] = field(default_factory=dict)
    """--gen key=value overrides (they win over the task's `generation` and the model's own config)."""
    revision: str | None = None
    trust_remote_code: bool = False
    batch_size: int | str | None = None
    seed: int = 0


class HFModel(Model):
    """Base of the Hugging Face runners: load, batch, measure, describe."""

    #: The transformers auto class that loads the weights (set by subclasses).
    auto_class_name = ""
    #: First size --batch-size auto tries on a GPU.
    auto_start = AUTO_START_GENERATE

    def __init__(self, info: HFModelInfo, options: LoadOptions) -> None:
        import torch
        import transformers

        self.info = info
        self.options = options
        self.name = info.name
        self.task_types = info.task_types
        self.warnings: list[str] = []
        self.truncated = 0
        self.truncated_to: int | None = None
        self.timing: dict[str, Any] = {}
        self._generated_tokens = 0
        self._generate_s = 0.0
        if info.local and options.revision:
            raise BenchError(f"--revision {options.revision} applies to hub models, but {info.name} is a local directory")

        t0 = time.perf_counter()
        transformers.set_seed(options.seed)
        self.commit: str | None = None
        self.path = info.model_id
        offline = False
        if info.local:
            config = read_local_config(Path(info.model_id))
        else:
            located = locate(info.model_id, options.revision, alias=info.name)
            self.commit, offline, config = located.commit, located.offline, located.config
        if config.get("auto_map") and not options.trust_remote_code and not _built_in(config):
            raise BenchError(f"model {info.model_id!r} needs its own code to run (its config has an auto_map "
                             f"for model type {config.get('model_type')!r}, which transformers does not have)",
                             hint="pass --trust-remote-code if you trust its authors (the code runs on this machine)",
                             exit_code=EXIT_ENVIRONMENT)
        self.device = resolve_device(options.device)
        self.dtype = resolve_dtype(options.dtype, self.device, config)
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
        common = dict(revision=options.revision, trust_remote_code=options.trust_remote_code,
                      local_files_only=offline)
        with quiet_transformers():
            self.tokenizer = self._load(lambda: transformers.AutoTokenizer.from_pretrained(self.path, **common),
                                        "tokenizer", offline)
            auto = getattr(transformers, self.auto_class_name)
            placement = {"device_map": {"": self.device}} if self.device.type == "cuda" else {}
            self.model, loading_info = self._load(
                lambda: auto.from_pretrained(self.path, dtype=self.dtype, output_loading_info=True,
                                             **placement, **common), "weights", offline)
        self.model.to(self.device).eval()
        self.class_name = type(self.model).__name__
        missing = [k for k in loading_info.get("missing_keys", ()) if "position_ids" not in k]
        if missing:
            shown = ", ".join(sorted(missing)[:5]) + (" ..." if len(missing) > 5 else "")
            self.warnings.append(f"{len(missing)} weight(s) not in the checkpoint were randomly initialised: {shown}")
        self.parameters = sum(p.numel() for p in self.model.parameters())
        self.max_input = self.max_input_tokens()
        self.timing["load_s"] = time.perf_counter() - t0
        self._init_batching(options.batch_size)

    def predict(self, examples: Sequence[Example], task: Task) -> list[str]:
        with quiet_transformers():
            return self._predict(examples, task)

    def _predict(self, examples: Sequence[Example], task: Task) -> list[str]:
        raise NotImplementedError

    # --------------------------------------------------------------- loading

    def _load(self, load: Callable[[], Any], what: str, offline: bool) -> Any:
        try:
            return load()
        except BenchError:
            raise
        except ValueError as e:
            if "trust_remote_code" in str(e):
                raise BenchError(f"model {self.info.model_id!r} needs its own code to run",
                                 hint="pass --trust-remote-code if you trust its authors (the code runs on this "
                                      "machine)", exit_code=EXIT_ENVIRONMENT) from None
            raise BenchError(f"cannot load the {what} of {self.info.model_id!r}: {_first_line(e)}",
                             exit_code=EXIT_ENVIRONMENT) from None
        except OSError as e:
            if not self.info.local:
                raise hub_error(self.info.model_id, self.options.revision, e, hub_offline(), self.info.name) from None
            raise BenchError(f"cannot load the {what} of {self.info.model_id!r}: {_first_line(e)}",
                             exit_code=EXIT_ENVIRONMENT) from None

    # -------------------------------------------------------------- batching

    def _init_batching(self, requested: int | str | None) -> None:
        if isinstance(requested, int):
            mode, size = "fixed", requested
        elif self.device.type == "cpu":
            mode, size = ("auto" if requested == "auto" else "default"), CPU_BATCH_SIZE
        else:
            mode, size = "auto", self.auto_start
        self.batcher = Batcher(self.device, size, mode, self.warnings, name=self.info.name,
                               hint="try --dtype bfloat16 (or float16), a smaller --gen max_new_tokens, or --device cpu")
        self.default_batch_size = size

    @property
    def batch_size(self) -> int:
        """The batch size now (the one found, after --batch-size auto)."""
        return self.batcher.size

    @property
    def batch_size_mode(self) -> str:
        return self.batcher.mode

    def map_batches(self, items: Sequence[T], run: Callable[[Sequence[T]], list[R]]) -> list[R]:
        """`run` over batches of the current size, halving it on out-of-memory."""
        return self.batcher.map(items, run)

    def note_truncated(self, n: int, limit: int, note: str | None = None) -> None:
        """Count `n` more inputs cut to `limit` tokens; `note` says how, for the warning."""
        self.truncated += n
        self.truncated_to = limit
        self.truncation_note = note or f"input(s) truncated to {limit} tokens (the model's maximum input length)"

    def note_generated(self, tokens: int, seconds: float) -> None:
        self._generated_tokens += tokens
        self._generate_s += seconds

    # -------------------------------------------------------------- describe

    def describe(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "name": self.info.name,
            "id": self.info.model_id,
            "source": "local" if self.info.local else "hub",
            "revision": self.options.revision,
            "commit": self.commit,
            "class": self.class_name,
            "parameters": self.parameters,
            "dtype": str(self.dtype).replace("torch.", ""),
            "device": str(self.device),
            "gpu": gpu_name(self.device),
            "batch_size": self.batch_size,
            "batch_size_mode": self.batch_size_mode,
            "trust_remote_code": self.options.trust_remote_code,
            "seed": self.options.seed,
            "truncated_inputs": self.truncated,
            "max_input_tokens": self.max_input,
        }
        return d

    def max_input_tokens(self) -> int:
        """The longest input the model takes: the tokenizer's limit, else the position embeddings'."""
        limit = getattr(self.tokenizer, "model_max_length", None)
        if isinstance(limit, int) and 0 < limit < 1_000_000:
            return limit
        config = self.model.config
        for key in ("max_position_embeddings", "n_positions", "max_sequence_length"):
            value = getattr(config, key, None)
            if isinstance(value, int) and value > 0:
                return value
        return 512

    def truncation_warning(self) -> None:
        if self.truncated:
            self.warnings.append(f"{self.truncated} {self.truncation_note}")

    def close(self) -> None:
        import torch

        self.truncation_warning()
        self.timing["peak_rss_mb"] = round(peak_rss_mb(), 1)
        if self.device.type == "cuda":
            self.timing["cuda_max_allocated_mb"] = round(torch.cuda.max_memory_allocated(self.device) / 2**20, 1)
        if self._generated_tokens:
            self.timing["generated_tokens"] = self._generated_tokens
            self.timing["generate_s"] = round(self._generate_s, 4)
            self.timing["generated_tokens_per_s"] = (self._generated_tokens / self._generate_s
                                                     if self._generate_s > 0 else None)
        self.model = None
        free_memory(self.device)


def _built_in(config: Mapping[str, Any]) -> bool:
    """Whether transformers itself has the config's model type."""
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING_NAMES

    return config.get("model_type") in CONFIG_MAPPING_NAMES


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__
