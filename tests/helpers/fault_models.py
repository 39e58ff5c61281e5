"""Plugin models that misbehave on purpose, for the fault and path tests.

Named on the command line as ``fault_models:ClassName`` (tests/ is on the path).
"""

from __future__ import annotations

import os

from bench.models.baselines import Lead, SlidingWindow

#: torch's message when a CPU allocation fails (torch 2.x, alloc_cpu.cpp).
CPU_ALLOCATOR_MESSAGE = ("[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: can't allocate memory: "
                         "you tried to allocate 85899345920 bytes. Error code 12 (Cannot allocate memory)")


class _FailsAfterFirstBatch(SlidingWindow):
    """The sliding-window baseline that raises `error()` on every batch after the first.

    Setting BENCH_TEST_NO_FAULT=1 turns the fault off (the "fixed" model of a resumed run).
    """

    task_types = ("qa",)
    default_batch_size = 4

    def __init__(self) -> None:
        super().__init__()
        self.batches = 0

    def error(self) -> BaseException:
        raise NotImplementedError

    def predict(self, examples, task):
        self.batches += 1
        if self.batches > 1 and not os.environ.get("BENCH_TEST_NO_FAULT"):
            raise self.error()
        return super().predict(examples, task)


class MemoryHungry(_FailsAfterFirstBatch):
    """Raises Python's MemoryError from the second batch on."""

    name = "memory-hungry"

    def error(self) -> BaseException:
        return MemoryError()


class CpuAllocatorFailure(_FailsAfterFirstBatch):
    """Raises torch's CPU allocation failure (a RuntimeError) from the second batch on."""

    name = "cpu-allocator-failure"

    def error(self) -> BaseException:
        return RuntimeError(CPU_ALLOCATOR_MESSAGE)


class DotDotName(Lead):
    """lead-3 under a name that reads like a path out of the results directory."""

    name = "../../../outside"


class SlashDotDotName(Lead):
    """lead-3 under a hub-id-like name with '..' in it."""

    name = "org/../../outside"
