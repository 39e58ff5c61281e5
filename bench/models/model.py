"""The model interface: a name, the task types it can do, a batched `predict`.

A model receives a batch of `Example`s and returns one prediction string per
example, in order: a summary (sentences may be separated by newlines), or an
answer span ("" = no answer). Built-in baselines, Hugging Face models and a
user's own class all implement this; a user's class is named on the command
line as ``--model package.module:ClassName`` or registered through a
``bench.models`` entry point.

A model whose predictions arrive one by one (requests to a server) may also
implement `predict_as_completed`, so that each is cached as it arrives.

Each model spec says what determines its predictions before the model loads
(`ModelSpec.identity`): the prediction cache's key is made of it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from bench.tasks.records import Example, Task


class Answer(str):
    """An extractive answer ("" = no answer) with the model's no-answer score beside it.

    A plain `str` everywhere a prediction is used; the runner keeps
    `no_answer_score` in the prediction cache and in predictions.jsonl, where
    the SQuAD metric reads it for the official v2.0 script's best-threshold
    scores. The score is a margin, not a probability: the higher it is, the
    more the model believes the question has no answer (for span models, the
    null score minus the best span's score, as transformers' run_qa.py writes
    its null odds). Any monotone score works: only the order matters.
    """

    no_answer_score: float | None

    def __new__(cls, text: str, no_answer_score: float | None = None) -> "Answer":
        obj = super().__new__(cls, text)
        obj.no_answer_score = None if no_answer_score is None else float(no_answer_score)
        return obj

    def __reduce__(self) -> Any:
        return (Answer, (str(self), self.no_answer_score))


def no_answer_score(prediction: str) -> float | None:
    """The no-answer score a prediction carries (an `Answer`), or None."""
    return getattr(prediction, "no_answer_score", None)


class Model:
    """Base class for models. Subclasses set `name` and `task_types` and implement `predict`.

    A model whose predictions arrive one at a time may also define
    ``predict_as_completed(examples, task)``, yielding ``(position in examples,
    prediction)`` as each finishes; the runner then calls it instead of
    `predict` and caches each prediction as it arrives.
    """

    name: ClassVar[str] = ""
    task_types: ClassVar[tuple[str, ...]] = ()
    #: Examples per `predict` call the runner uses when none is asked for.
    default_batch_size: ClassVar[int] = 32
    #: A user's model: a version of its own (weights, code it imports from elsewhere), part of the cache key.
    version: ClassVar[str | None] = None

    @classmethod
    def fingerprint(cls, **options: Any) -> Any:
        """A user's model: what else identifies its predictions, known before it loads (e.g. a hash of the
        weights it reads), part of the prediction cache's key; called with the run options it names, as
        `__init__` is. None: nothing more than its code, settings and `version`."""
        return None

    def predict(self, examples: Sequence[Example], task: Task) -> list[str]:
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """What to record in results.json's `config.model` (id, revision, settings...)."""
        return {"name": self.name}

    def close(self) -> None:
        """Release resources (GPU memory, connections)."""


@dataclass(frozen=True)
class ModelSpec:
    """What `bench list` shows and what the runner checks before anything loads."""

    name: str
    kind: str
    """'baseline', 'seq2seq', 'causal-lm', 'extractive-qa', 'plugin', ..."""
    task_types: tuple[str, ...]
    factory: Callable[..., Model] = field(repr=False, compare=False)
    description: str = ""
    target: str | None = None
    """Hub id or path a model alias points to."""
    own_name: str | None = None
    """The model's own name (a local directory's absolute path, a hub id or alias, ``module:Class``, ...) when
    `name` is one the user gave it (``--name``); None when `name` is its own."""

    @property
    def source(self) -> str:
        """The model's own name, whatever it is called in results: what the prediction cache's key and the run's
        provenance (``model_source``) hold, so that renaming a model reuses its predictions."""
        return self.own_name or self.name

    def create(self, **options: Any) -> Model:
        return self.factory(**options)

    def loading_note(self, options: Mapping[str, Any]) -> str | None:
        """The line to show while the model loads (from the `create` options), for one that takes a while to;
        None for a model that is ready at once."""
        return None

    def identity(self, options: Mapping[str, Any]) -> dict[str, Any]:
        """What determines this model's predictions besides its name, kind, target and the task, known before
        it loads: the prediction cache's key is made of it. `options` are what `create` receives (device,
        dtype, generation, revision, seed, batch_size, ...); by default every one of them counts."""
        return {"options": dict(options)}

