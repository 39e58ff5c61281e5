"""Models that metrics run (BERTScore's encoder, SummaC's NLI classifier): aliases, loading, batches.

A metric model is named like a model to evaluate: an alias (resolved to a hub
id), a hub id ``org/name`` (loaded from the Hugging Face cache, or fetched when
the hub is reachable and HF_HUB_OFFLINE is not set) or a directory written by
``save_pretrained``. Finding the files, the offline error (exit code 3), the
device, the dtype and the batches are the ones models to evaluate have (`bench.models.hf.config`,
`bench.runtime.devices`, `bench.runtime.batching`), so ``device``, ``dtype`` and ``batch_size`` mean
what they mean for ``bench run``. Batches that run out of memory are halved.

Nothing here imports torch or transformers at import time; `load_metric_model`
does, when a metric that needs a model computes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from bench.errors import EXIT_ENVIRONMENT, BenchError, clip
from bench.io import IS_A_DIRECTORY, not_a_regular_file

T = TypeVar("T")
R = TypeVar("R")

ENCODER, NLI = "encoder", "nli"

#: The longest model name taken: a path or a hub id is far shorter (PATH_MAX is 4096 on Linux).
MAX_NAME = 4096

#: Batch size on CPU when ``batch_size`` is "auto" (sorted by length, bigger batches only add padding there).
CPU_METRIC_BATCH_SIZE = 32


@dataclass(frozen=True)
class MetricModelAlias:
    """A short name for a metric model on the hub."""

    name: str
    model_id: str
    kind: str
    """``encoder`` (BERTScore) or ``nli`` (SummaC)."""
    description: str
    layer: int | None = None
    """BERTScore: the layer whose embeddings are matched (the bert-score package's default for the model)."""
    entailment_index: int | None = None
    """NLI: the entailment class, used when the config's id2label does not name it (SummaC's own table)."""
    contradiction_index: int | None = None


#: Metric model aliases. BERTScore layers are the bert-score package's `model2layers` table (0.3.13,
#: bert_score/utils.py), tuned there on WMT16 to-English correlation with human judgements.
METRIC_MODEL_ALIASES: tuple[MetricModelAlias, ...] = (
    MetricModelAlias("roberta-large", "FacebookAI/roberta-large", ENCODER,
                     "RoBERTa large (355M), layer 17: bert-score's default for English", layer=17),
    MetricModelAlias("deberta-xlarge-mnli", "microsoft/deberta-xlarge-mnli", ENCODER,
                     "DeBERTa xlarge fine-tuned on MNLI (750M), layer 40: the best correlation in bert-score's "
                     "own table", layer=40),
    MetricModelAlias("deberta-large-mnli", "microsoft/deberta-large-mnli", ENCODER,
                     "DeBERTa large fine-tuned on MNLI (406M), layer 18", layer=18),
    MetricModelAlias("distilbert-base-uncased", "distilbert/distilbert-base-uncased", ENCODER,
                     "DistilBERT base uncased (66M), layer 5: small and fast", layer=5),
    # NLI: SummaC's model table (summac/model_summac.py, `model_map`) names these two, with entailment at
    # index 0 and contradiction at index 1.
    MetricModelAlias("vitc", "tals/albert-xlarge-vitaminc-mnli", NLI,
                     "ALBERT xlarge trained on VitaminC and MNLI (58M, 24 shared layers of width 2048): "
                     "SummaC's default NLI model", entailment_index=0, contradiction_index=1),
    MetricModelAlias("vitc-base", "tals/albert-base-vitaminc-mnli", NLI,
                     "ALBERT base trained on the same data (12M, 12 shared layers of width 768): about a tenth "
                     "of the compute per pair, SummaC's own smaller choice", entailment_index=0,
                     contradiction_index=1),
)


def find_alias(name: str, kind: str) -> MetricModelAlias | None:
    """The alias `name` names among `kind`'s aliases, matched by its short name or its hub id."""
    for alias in METRIC_MODEL_ALIASES:
        if alias.kind == kind and name in (alias.name, alias.model_id):
            return alias
    return None


@dataclass(frozen=True)
class MetricModelSource:
    """Where a metric model's files are, found before anything loads."""

    name: str
    """As given (an alias, a hub id) or a local directory's resolved path."""
    model_id: str
    local: bool
    config: dict[str, Any]
    commit: str | None
    """The hub commit of a cached model; None for a local directory."""
    offline: bool
    fingerprint: str
    """The hub commit, or a hash of a local directory's files: what identifies the weights."""
    alias: MetricModelAlias | None = None


def locate_metric_model(name: str, kind: str, revision: str | None = None,
                        option: str | None = None) -> MetricModelSource:
    """Find a metric model's files; the offline / not-found errors are the model runtime's (exit code 3).

    `option` is the metric option that names the model (``bertscore.model``), for the hint.
    """
    from bench.models.hf.config import local_fingerprint, locate, read_local_config

    if not isinstance(name, str) or not name.strip():
        raise BenchError(f"no {kind} model given", hint="pass a hub id org/name, an alias or a directory")
    if len(name) > MAX_NAME:
        raise BenchError(f"{kind} model name of {len(name)} characters ({clip(name, 60)!r}): too long for an alias, "
                         f"a hub id or a directory", hint="pass a hub id org/name, an alias or a directory")
    path = Path(name).expanduser()
    if not_a_regular_file(path) == IS_A_DIRECTORY:
        config = read_local_config(path)
        return MetricModelSource(str(path.resolve()), str(path.resolve()), True, config, None, True,
                                 local_fingerprint(path))
    alias = find_alias(name, kind)
    model_id = alias.model_id if alias else name
    if name.startswith(("/", "./", "../", "~")) or "/" not in model_id:
        known = ", ".join(a.name for a in METRIC_MODEL_ALIASES if a.kind == kind)
        raise BenchError(f"{kind} model not found: {name!r} is neither a directory, a hub id (org/name) nor an alias",
                         hint=f"aliases: {known}; or a directory written by save_pretrained"
                              + (f" (--metric-opt {option}=DIR)" if option else ""))
    try:
        located = locate(model_id, revision, alias=alias.name if alias else None)
    except BenchError as e:
        if e.exit_code != EXIT_ENVIRONMENT or option is None or not e.hint:
            raise
        hint = e.hint.replace("--model /path/to/model", f"--metric-opt {option}=/path/to/model")
        raise BenchError(e.message, where=e.where, hint=hint, exit_code=e.exit_code) from None
    return MetricModelSource(alias.name if alias else name, model_id, False, located.config, located.commit,
                             located.offline, located.commit or "unknown", alias)


class MetricModel:
    """A loaded tokenizer and model on a device, with bench's batching (sorted input, halving on out-of-memory)."""

    def __init__(self, source: MetricModelSource, kind: str, device: str = "auto", dtype: str = "auto",
                 batch_size: int | str = "auto", revision: str | None = None) -> None:
        from bench.runtime.batching import AUTO_START_ENCODE, Batcher
        from bench.runtime.devices import quiet_transformers, require_hf, resolve_device, resolve_dtype

        require_hf()
        import transformers

        t0 = time.perf_counter()
        self.source = source
        self.kind = kind
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype, self.device, source.config)
        self.warnings: list[str] = []
        if isinstance(batch_size, bool) or not (batch_size == "auto" or (isinstance(batch_size, int) and batch_size > 0)):
            raise BenchError(f"batch_size must be a positive integer or 'auto', not {batch_size!r}")
        common = dict(revision=None if source.local else revision, local_files_only=source.offline)
        auto = transformers.AutoModelForSequenceClassification if kind == NLI else transformers.AutoModel
        with quiet_transformers():
            self.tokenizer = self._load(lambda: transformers.AutoTokenizer.from_pretrained(source.model_id, **common),
                                        "tokenizer", revision)
            self.model = self._load(lambda: auto.from_pretrained(source.model_id, dtype=self.dtype, **common),
                                    "weights", revision)
        self.model.to(self.device).eval()
        if isinstance(batch_size, int):
            size = batch_size
        else:
            size = CPU_METRIC_BATCH_SIZE if self.device.type == "cpu" else AUTO_START_ENCODE
        self.batcher = Batcher(self.device, size, "auto" if batch_size == "auto" else "fixed", self.warnings,
                               name=f"metric model {source.name}", label=f"{source.name}: ", unit="input",
                               hint="try dtype=bfloat16 (or float16), or device=cpu")
        self.load_s = time.perf_counter() - t0

    @property
    def identity(self) -> str:
        """What the numbers depend on: the weights, the device type and the dtype."""
        return f"{self.source.fingerprint}|{self.device.type}|{self.dtype_name}"

    @property
    def dtype_name(self) -> str:
        return str(self.dtype).replace("torch.", "")

    def _load(self, load: Callable[[], Any], what: str, revision: str | None) -> Any:
        from bench.models.hf.config import hub_error, hub_offline

        try:
            return load()
        except BenchError:
            raise
        except OSError as e:
            if not self.source.local:
                raise hub_error(self.source.model_id, revision, e, hub_offline(), self.source.name) from None
            raise BenchError(f"cannot load the {what} of {self.source.model_id!r}: {_first_line(e)}",
                             exit_code=EXIT_ENVIRONMENT) from None
        except (ValueError, KeyError) as e:
            raise BenchError(f"cannot load the {what} of {self.source.model_id!r}: {_first_line(e)}",
                             exit_code=EXIT_ENVIRONMENT) from None

    def max_length(self) -> int:
        """The longest input: the tokenizer's limit, else the position embeddings', else 512."""
        limit = getattr(self.tokenizer, "model_max_length", None)
        if isinstance(limit, int) and 0 < limit < 1_000_000:
            return limit
        for key in ("max_position_embeddings", "n_positions"):
            value = getattr(self.model.config, key, None)
            if isinstance(value, int) and value > 0:
                return value
        return 512

    @property
    def batch_size(self) -> int:
        return self.batcher.size

    def map_batches(self, items: Sequence[T], run: Callable[[Sequence[T]], list[R]]) -> list[R]:
        """`run` over batches of the current size; a batch that runs out of memory is retried at half the size."""
        return self.batcher.map(items, run)

    def describe(self) -> Mapping[str, Any]:
        return {"name": self.source.name, "id": self.source.model_id, "commit": self.source.commit,
                "device": str(self.device), "dtype": self.dtype_name, "batch_size": self.batch_size}

    def close(self) -> None:
        from bench.runtime.devices import free_memory

        self.model = None
        free_memory(self.device)


def load_metric_model(name: str, kind: str, *, device: str = "auto", dtype: str = "auto",
                      batch_size: int | str = "auto", revision: str | None = None) -> MetricModel:
    """Find and load a metric model (imports torch and transformers)."""
    return MetricModel(locate_metric_model(name, kind, revision), kind, device, dtype, batch_size, revision)


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__
