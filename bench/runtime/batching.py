"""Batches on a device: the batch size asked for (or "auto"), halved when a batch runs out of memory.

With ``--batch-size auto`` (or a metric's ``batch_size=auto``) the first batch
(the longest, since callers sort by length) starts large on a GPU and is
halved on out-of-memory until it fits; the size found is kept for the rest of
the run. A fixed size that runs out of memory is halved the same way, with a
warning. At size 1 an out-of-memory error becomes bench's error (exit code 3).
Models to evaluate and metric models share this one loop.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from bench.errors import EXIT_ENVIRONMENT, BenchError
from bench.runtime.devices import free_memory
from bench.runtime.memory import is_out_of_memory

T = TypeVar("T")
R = TypeVar("R")

#: First batch size tried by "auto" on a GPU (generation / encoder-only).
AUTO_START_GENERATE = 64
AUTO_START_ENCODE = 256


def map_batches(
    items: Sequence[T],
    size: int,
    run: Callable[[Sequence[T]], list[R]],
    oom: Callable[[BaseException], bool],
    on_oom: Callable[[int], None],
) -> tuple[list[R], int]:
    """`run` over consecutive batches of `items`; a batch that runs out of memory is retried at half the size.

    Returns the results in order and the batch size that worked last.
    `on_oom(new_size)` is called before each retry (to free memory and note
    it); at size 1 the out-of-memory error propagates.
    """
    out: list[R] = []
    i = 0
    while i < len(items):
        batch = items[i:i + size]
        failed = False
        try:
            out.extend(run(batch))
        except Exception as e:  # noqa: BLE001 - only out-of-memory is retried
            if not oom(e) or size == 1:
                raise
            failed = True
        if failed:  # outside the except block, so the failed batch's tensors can be freed
            size = max(1, min(size, len(batch)) // 2)
            on_oom(size)
            continue
        i += len(batch)
    return out, size


class Batcher:
    """The batch size of one model on one device, and the loop that runs batches of it.

    `mode` is "fixed" (asked for), "auto" (found by halving) or "default" (the
    CPU's default); the one warning of a fixed size that ran out of memory goes
    to `warnings` (the owner's list), prefixed by `label` (a metric model's
    name, or "" for the model under evaluation); `name`, `unit` (what one item
    is: "example", "input") and `hint` (how to get by with less memory) make
    the error at size 1.
    """

    def __init__(self, device: Any, size: int, mode: str, warnings: list[str], *, name: str, label: str = "",
                 unit: str = "example", hint: str = "") -> None:
        self.device = device
        self.size = size
        self.mode = mode
        self.warnings = warnings
        self.name = name
        self.label = label
        self.unit = unit
        self.hint = hint

    def map(self, items: Sequence[T], run: Callable[[Sequence[T]], list[R]]) -> list[R]:
        """`run` over batches of the current size, halving it on out-of-memory."""
        def shrink(new_size: int) -> None:
            free_memory(self.device)
            if self.mode == "fixed" and not any("out of memory" in w for w in self.warnings):
                self.warnings.append(f"{self.label}batch size {self.size} ran out of memory on {self.device}; "
                                     f"continued with smaller batches")

        try:
            out, self.size = map_batches(items, self.size, run, is_out_of_memory, shrink)
        except Exception as e:
            if is_out_of_memory(e):
                free_memory(self.device)
                raise BenchError(f"{self.name} runs out of memory on {self.device} even one {self.unit} at a time",
                                 hint=self.hint or None, exit_code=EXIT_ENVIRONMENT) from None
            raise
        return out
