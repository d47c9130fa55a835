"""How many CPU threads training uses, and denormal numbers flushed to zero meanwhile."""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator

import torch

from landscape.mnist.run import check_int

MAX_THREADS = 4  # more gains nothing on steps this small


def available_cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def default_threads() -> int:
    """CPU threads for training: the cores not busy now, less one kept spare, 1 to MAX_THREADS.

    A step is a few small matrix products: more threads help little, and when any of them has
    to wait for a core, OpenMP's threads spin on each other and a step takes 10-15x longer
    (measured here: 2 threads on a 2-core machine with other work running).
    """
    cores = available_cores()
    try:
        busy = os.getloadavg()[0]
    except (AttributeError, OSError):
        busy = 0.0
    return max(1, min(MAX_THREADS, torch.get_num_threads(), math.floor(cores - busy) - 1))


@contextlib.contextmanager
def cpu_threads(threads: int | None, *, flush_denormal: bool = False) -> Iterator[None]:
    """Run torch's CPU ops on `threads` threads (None: leave as is), then restore.

    flush_denormal treats numbers below 1.2e-38 as zero meanwhile: moment estimates of pixels
    that are rarely lit decay into that range, where the CPU is ~7x slower (measured on an
    Adam step), and such values change no weight by anything a float32 can hold.
    """
    before = torch.get_num_threads()
    if threads is not None:
        check_int("threads", threads, 1)
        torch.set_num_threads(threads)
    flushed = flush_denormal and torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_num_threads(before)
        if flushed:
            torch.set_flush_denormal(False)
