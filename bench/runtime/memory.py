"""Recognising an out-of-memory error, whichever device raised it, without importing torch.

One answer for both uses: a Hugging Face model halves its batch and tries
again, and the runner tells the user that a model ran out of memory. torch's
errors are recognised by their class and message, so this module is safe on
the command line's path.
"""

from __future__ import annotations

#: How an allocation failure reads: CUDA and MPS ("CUDA out of memory", "MPS backend out of memory"), torch on
#: CPU ("DefaultCPUAllocator: can't allocate memory"), and the OS's ENOMEM text ("Cannot allocate memory").
OUT_OF_MEMORY_TEXTS = ("out of memory", "can't allocate memory", "cannot allocate memory")


def is_torch_out_of_memory(e: BaseException) -> bool:
    """Whether `e` is torch's OutOfMemoryError (``torch.cuda.OutOfMemoryError`` is the same class)."""
    return any(cls.__name__ == "OutOfMemoryError" and cls.__module__.partition(".")[0] == "torch"
               for cls in type(e).__mro__)


def is_out_of_memory(e: BaseException) -> bool:
    """Whether `e` is an out-of-memory error: Python's MemoryError, or an allocation failure on any device."""
    if isinstance(e, MemoryError) or is_torch_out_of_memory(e):
        return True
    text = str(e).lower()
    return any(t in text for t in OUT_OF_MEMORY_TEXTS)
