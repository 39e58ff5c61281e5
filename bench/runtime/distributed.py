"""Several processes (GPUs, nodes) sharing one run.

Started under `torchrun` or `accelerate launch` (which set RANK, WORLD_SIZE,
LOCAL_RANK and the rendezvous address), each process predicts every
WORLD_SIZE-th example still to do; the predictions are gathered to every
process, and the main process (rank 0) scores them and writes one run, the
same as a single-process run would. Gathering uses a gloo process group, so it
works on CPU as well as next to NCCL.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from bench.errors import BenchError


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1


def current() -> World:
    def env_int(name: str, default: int) -> int:
        value = os.environ.get(name)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except ValueError:
            raise BenchError(f"environment variable {name}={value!r} is not an integer") from None

    size = env_int("WORLD_SIZE", 1)
    rank = env_int("RANK", 0)
    if size < 1 or not 0 <= rank < size:
        raise BenchError(f"RANK={rank} and WORLD_SIZE={size} do not describe a process group")
    return World(rank=rank, size=size, local_rank=env_int("LOCAL_RANK", rank))


_GROUP: Any = None


def _group():
    global _GROUP
    if _GROUP is None:
        try:
            import torch.distributed as dist
        except ImportError:
            raise BenchError("running under several processes needs torch", hint="pip install 'bench[hf]'",
                             exit_code=3) from None
        if not dist.is_initialized():
            dist.init_process_group(backend="gloo")
            _GROUP = dist.group.WORLD
        else:
            _GROUP = dist.new_group(backend="gloo")
    return _GROUP


def gather(obj: Any, world: World) -> list[Any]:
    """`obj` from every process, in rank order (on every process)."""
    if not world.distributed:
        return [obj]
    import torch.distributed as dist

    out: list[Any] = [None] * world.size
    dist.all_gather_object(out, obj, group=_group())
    return out


def barrier(world: World) -> None:
    if world.distributed:
        import torch.distributed as dist

        dist.barrier(group=_group())
