"""Where tensors live: `auto` is CUDA when present, else the CPU."""

from __future__ import annotations

import torch

from landscape.errors import LandscapeError

DTYPES = {"float32": torch.float32, "float64": torch.float64}


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """'auto' -> cuda if available else cpu; 'cpu', 'cuda', 'cuda:1', 'mps' as given."""
    if isinstance(device, torch.device):
        return device
    text = str(device).strip().lower()
    if text == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(text)
    except RuntimeError:
        raise LandscapeError(
            f"unknown device {device!r} (valid: auto, cpu, cuda, cuda:N, mps)"
        ) from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise LandscapeError(f"device {device!r} asked for, but CUDA is not available here")
    if resolved.type == "cuda" and (resolved.index or 0) >= torch.cuda.device_count():
        raise LandscapeError(
            f"device {device!r} does not exist: {torch.cuda.device_count()} CUDA device(s)"
        )
    if resolved.type == "mps" and not torch.backends.mps.is_available():
        raise LandscapeError(f"device {device!r} asked for, but MPS is not available here")
    if resolved.type not in ("cpu", "cuda", "mps"):
        raise LandscapeError(f"unsupported device {device!r} (valid: auto, cpu, cuda, mps)")
    return resolved


def resolve_dtype(dtype: str | torch.dtype = "float32") -> torch.dtype:
    if isinstance(dtype, torch.dtype):
        if dtype not in DTYPES.values():
            raise LandscapeError(f"unsupported dtype {dtype} (valid: float32, float64)")
        return dtype
    if dtype not in DTYPES:
        raise LandscapeError(f"unknown dtype {dtype!r} (valid: {', '.join(DTYPES)})")
    return DTYPES[dtype]
