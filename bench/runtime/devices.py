"""Running torch models, the parts every stage shares: torch present, device, dtype, memory, quiet loading.

Models to evaluate (`bench.models.hf`) and the models metrics run (BERTScore's
encoder, SummaC's NLI classifier, a local judge) go through these, so
``device``, ``dtype`` and ``batch_size`` mean the same everywhere. Nothing here
imports torch at import time.
"""

from __future__ import annotations

import contextlib
import gc
import resource
import sys
from collections.abc import Iterator, Mapping
from typing import Any

from bench.errors import EXIT_ENVIRONMENT, BenchError

DTYPES = ("float32", "float16", "bfloat16")


def require_hf() -> None:
    """Raise a clear error when torch or transformers is missing."""
    missing = []
    for module in ("torch", "transformers"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise BenchError(f"Hugging Face models need {' and '.join(missing)}, which {'is' if len(missing) == 1 else 'are'} "
                         "not installed", hint="pip install 'bench[hf]'", exit_code=EXIT_ENVIRONMENT)


def resolve_device(name: str):
    """A torch.device for auto|cpu|cuda|cuda:N|mps, checked to exist."""
    import torch

    name = (name or "auto").strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", _process_gpu())
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "mps":
        if not _mps_available():
            raise BenchError("--device mps: the MPS backend is not available here", exit_code=EXIT_ENVIRONMENT,
                             hint="use --device cpu (or auto)")
        return torch.device("mps")
    if name == "cuda" or name.startswith("cuda:"):
        index = _process_gpu() if name == "cuda" and torch.cuda.is_available() else 0
        if name != "cuda":
            suffix = name.partition(":")[2]
            if not suffix.isdigit():
                raise BenchError(f"--device {name}: expected cuda:N with N a GPU number")
            index = int(suffix)
        if not torch.cuda.is_available():
            build = "without CUDA" if torch.version.cuda is None else f"with CUDA {torch.version.cuda}, but no GPU is visible"
            raise BenchError(f"--device {name}: CUDA is not available (torch {torch.__version__} is built {build})",
                             exit_code=EXIT_ENVIRONMENT, hint="use --device cpu, or check CUDA_VISIBLE_DEVICES")
        count = torch.cuda.device_count()
        if index >= count:
            raise BenchError(f"--device {name}: there {'is' if count == 1 else 'are'} only {count} GPU(s) "
                             f"(cuda:0..cuda:{count - 1})", exit_code=EXIT_ENVIRONMENT)
        return torch.device("cuda", index)
    raise BenchError(f"unknown --device {name!r}", hint="auto, cpu, cuda, cuda:N or mps")


def _process_gpu() -> int:
    """This process's GPU: under torchrun / accelerate launch, one per local rank; else the current one."""
    import torch

    from bench.runtime import distributed

    world = distributed.current()
    if world.distributed:
        return world.local_rank % torch.cuda.device_count()
    return torch.cuda.current_device()


def _mps_available() -> bool:
    import torch

    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())


def resolve_dtype(name: str, device, config: Mapping[str, Any]):
    """The torch dtype to run in.

    ``auto`` is float32 on CPU and MPS (exact numbers); on CUDA it is the
    dtype the checkpoint was saved in when that is float16 or bfloat16, else
    float32.
    """
    import torch

    name = (name or "auto").strip().lower()
    if name == "auto":
        saved = str(config.get("dtype") or config.get("torch_dtype") or "float32").replace("torch.", "")
        name = saved if device.type == "cuda" and saved in ("float16", "bfloat16") else "float32"
    if name not in DTYPES:
        raise BenchError(f"unknown --dtype {name!r}", hint="auto, float32, float16 or bfloat16")
    if name == "bfloat16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise BenchError(f"--dtype bfloat16: {torch.cuda.get_device_name(device)} does not support bfloat16",
                         exit_code=EXIT_ENVIRONMENT, hint="use --dtype float16")
    return getattr(torch, name)


def gpu_name(device) -> str | None:
    import torch

    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return "Apple MPS"
    return None


def free_memory(device) -> None:
    import torch

    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
    elif device.type == "mps":
        torch.mps.empty_cache()


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024



@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """Silence transformers' info/warning logs and progress bars while loading (bench reports what matters)."""
    from transformers.utils import logging

    level = logging.get_verbosity()
    bars = logging.is_progress_bar_enabled()
    logging.set_verbosity_error()
    logging.disable_progress_bar()
    try:
        yield
    finally:
        logging.set_verbosity(level)
        if bars:
            logging.enable_progress_bar()
