"""The one out-of-memory detector (bench/runtime/memory.py), shared by batch halving and the runner's message."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import REPO
from fault_models import CPU_ALLOCATOR_MESSAGE

from bench.runtime.memory import is_out_of_memory, is_torch_out_of_memory


def torch_like_error(name: str, module: str) -> BaseException:
    """An exception of a class named `name` defined in `module`, as torch's own classes are."""
    return type(name, (RuntimeError,), {"__module__": module})("allocation failed")


@pytest.mark.parametrize("error, oom", [
    (MemoryError(), True),
    (RuntimeError(CPU_ALLOCATOR_MESSAGE), True),
    (RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 79.10 GiB total capacity)"), True),
    (RuntimeError("MPS backend out of memory (MPS allocated: 17.00 GB)"), True),
    (OSError(12, "Cannot allocate memory"), True),
    (RuntimeError("shape mismatch: [4, 8] vs [4, 9]"), False),
    (ValueError("bad input"), False),
])
def test_what_counts_as_out_of_memory(error, oom):
    assert is_out_of_memory(error) is oom


def test_torch_out_of_memory_is_recognised_by_its_class_whatever_its_message():
    assert is_torch_out_of_memory(torch_like_error("OutOfMemoryError", "torch"))
    assert is_out_of_memory(torch_like_error("OutOfMemoryError", "torch.cuda"))
    assert not is_out_of_memory(torch_like_error("OutOfMemoryError", "someone_else"))
    assert not is_out_of_memory(torch_like_error("AcceleratorError", "torch"))


def test_a_subclass_of_torch_out_of_memory_counts_too():
    base = type("OutOfMemoryError", (RuntimeError,), {"__module__": "torch"})
    assert is_out_of_memory(type("Mine", (base,), {})("allocation failed"))


def test_the_detector_never_imports_torch():
    proc = subprocess.run([sys.executable, "-c", "import sys; from bench.runtime.memory import is_out_of_memory; "
                           "is_out_of_memory(RuntimeError('CUDA out of memory')); print('torch' in sys.modules)"],
                          capture_output=True, text=True, cwd=REPO, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False"]
