"""Sharding grid work across processes with torch.distributed (`torchrun`).

Each rank computes the chunks whose index is its rank modulo the world size; the chunks are
then summed across ranks, each entry coming from exactly one rank (x + 0 = x exactly), so the
gathered grid is bit-for-bit what one process computes with the same chunks. gloo on the CPU,
nccl on CUDA.
"""

from __future__ import annotations

import atexit
import os

import numpy as np
import torch
import torch.distributed as dist


def world() -> tuple[int, int]:
    """(rank, world size) of the running process group; (0, 1) when there is none."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def launched() -> bool:
    """Whether this process was started by torchrun (or another launcher) with several ranks."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def init_from_env(device: torch.device) -> bool:
    """Join the process group torchrun describes in the environment; False when not launched.

    nccl for CUDA devices, gloo otherwise. Each CUDA rank uses the GPU of its LOCAL_RANK.
    """
    if not launched() or not dist.is_available():
        return False
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        if device.type == "cuda":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group(backend)
        # A process group still alive at interpreter exit can abort the process from gloo's
        # threads ("terminate called without an active exception", seen here): close it first.
        atexit.register(_close)
    return True


def _close() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def local_device(device: torch.device) -> torch.device:
    """A CUDA device becomes the GPU of this rank (LOCAL_RANK); others stay as they are."""
    if device.type == "cuda" and launched():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return device


def owns(chunk: int) -> bool:
    """Whether this rank computes `chunk`."""
    rank, size = world()
    return chunk % size == rank


def combine(values: np.ndarray) -> np.ndarray:
    """Sum float64 arrays over ranks (each entry filled by one rank, zero elsewhere)."""
    rank, size = world()
    if size == 1:
        return values
    device = (
        torch.device("cuda", torch.cuda.current_device())
        if (dist.get_backend() == "nccl")
        else torch.device("cpu")
    )
    tensor = torch.as_tensor(values, dtype=torch.float64).to(device)
    dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor.cpu().numpy()


def broadcast(tensor: torch.Tensor) -> torch.Tensor:
    """Rank 0's copy of a CPU tensor, on every rank (the same plane everywhere, whatever
    rounding each rank's own PCA would have had)."""
    if world()[1] == 1:
        return tensor
    nccl = dist.get_backend() == "nccl"
    moved = tensor.contiguous().to(
        torch.device("cuda", torch.cuda.current_device()) if nccl else "cpu"
    )
    dist.broadcast(moved, src=0)
    return moved.to(tensor.device)


def barrier() -> None:
    if world()[1] > 1:
        dist.barrier()


def is_main() -> bool:
    return world()[0] == 0


def reports() -> bool:
    """Whether this process prints and writes a command's results: rank 0 of the process
    group, else of torchrun's environment (RANK) where no group was joined (work that is not
    shared: one rank does it all)."""
    if dist.is_available() and dist.is_initialized():
        return is_main()
    return int(os.environ.get("RANK", "0")) == 0
