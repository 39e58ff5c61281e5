"""Prediction cache: what a model has predicted once is never predicted again.

Predictions are kept in the results directory's cache store
(``<results>/.cache/cache.sqlite``, `bench.cache`), as each batch finishes
(each answer, for a model behind a server), under a key of everything that
determines them: the model's one identity (name, kind, hub id or resolved
path) and what its spec says determines its predictions (`ModelSpec.identity`:
the seed, revision, dtype, generation settings and a fingerprint of the
weights for a Hugging Face model; the code, settings and declared version of a
user's model class; ...), the task's content hash and bench's version.
Rerunning the same command skips the examples already done and predicts the
rest; processes predicting the same key at once share the work
(`PredictionCache.share`). What the store does with damage, a lock or a full
disk is in `bench.cache.database`: it costs time, never a prediction.

The cache of bench 0.1.0 (``<results>/.cache/<task>/<model>/<key>.jsonl``) is
read into the store the first time its key is used.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bench.cache.keys import identity_key
from bench.cache.tables import Predictions
from bench.models.model import Answer, no_answer_score
from bench.results.store import slug
from bench.version import __version__

#: The cache directory of a results directory.
CACHE_DIR = ".cache"


def metrics_cache_dir(results_dir: Path) -> Path:
    """Where the metrics of a results directory's runs keep what they cache (model pairs, replies, tokens)."""
    return results_dir / CACHE_DIR / "metrics"


def cache_key(identity: Mapping[str, Any]) -> str:
    return identity_key(identity)


def model_identity(spec, task, options: Mapping[str, Any]) -> dict[str, Any]:
    """Everything that determines a model's predictions on a task, known before it loads.

    `options` are what the model is created with (model options, batch size, seed); the spec says which of
    them count, and adds what else identifies it (`ModelSpec.identity`: a weights fingerprint, a plug-in's
    code and settings, ...). The model is known by its own name (a local directory's resolved path), never by a
    name the user gave it (``--name``), so renaming a model reuses its predictions.
    """
    return {
        "model": spec.source,
        "kind": spec.kind,
        "target": spec.target,
        "task_hash": task.hash,
        "bench": __version__,
        **spec.identity(options),
    }


class PredictionCache(Predictions):
    """(example id -> prediction) for one model's identity on one task, in the store of `root`/.cache."""

    def __init__(self, root: Path, task_name: str, model_name: str, identity: Mapping[str, Any]) -> None:
        cache = Path(root) / CACHE_DIR
        super().__init__(cache, identity, legacy_dir=cache / slug(task_name) / slug(model_name))

    def load(self) -> dict[str, str]:  # type: ignore[override]
        """Predictions stored so far (by any process); an extractive answer keeps its no-answer score."""
        return {i: p if na is None else Answer(p, na) for i, (p, na) in super().load().items()}

    def get(self, ids: Sequence[str]) -> dict[str, str]:  # type: ignore[override]
        return {i: p if na is None else Answer(p, na) for i, (p, na) in super().get(ids).items()}

    def append(self, rows: Sequence[tuple[str, str]]) -> None:  # type: ignore[override]
        super().append([(i, str(p), no_answer_score(p)) for i, p in rows])  # non-finite: None, in the store
