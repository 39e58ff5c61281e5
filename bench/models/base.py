"""The model interface: a name, the task types it can do, a batched `predict`.

A model receives a batch of `Example`s and returns one prediction string per
example, in order: a summary (sentences may be separated by newlines), or an
answer span ("" = no answer). Built-in baselines, Hugging Face models and a
user's own class all implement this; a user's class is named on the command
line as ``--model package.module:ClassName`` or registered through a
``bench.models`` entry point.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from bench.tasks.records import Example, Task


class Model:
    """Base class for models. Subclasses set `name` and `task_types` and implement `predict`."""

    name: ClassVar[str] = ""
    task_types: ClassVar[tuple[str, ...]] = ()
    #: Examples per `predict` call the runner uses when none is asked for.
    default_batch_size: ClassVar[int] = 32

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

    def create(self, **options: Any) -> Model:
        return self.factory(**options)
