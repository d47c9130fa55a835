"""Render speed, each case run as a user runs it, in a fresh process, with its target:

- the default `landscape render adam` at low quality (<= 15 s);
- a 10-second four-optimizer race at 1080p60 (<= 60 s);
- the 10-second descent at 1080p60 (<= 40 s);
- `render adam sgd rmsprop --surface mnist` with the runs and the slice cached (<= 15 s): run
  once untimed to fill the caches (LANDSCAPE_DATA_DIR, else the user cache), then timed.

Prints wall and CPU seconds (user + sys of the render's process) with the load average beside
them (the machine may be shared; CPU seconds vary less with load than wall seconds), and a JSON
summary as the last line: wall and CPU seconds, frames, seconds per frame, target met.
Usage: python benchmarks/render.py [--skip-hd] [--skip-mnist]
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av

LESSON = ["sgd", "momentum", "rmsprop", "adam"]
CASES = [
    ("default_low", ["adam", "--quality", "low"], 15.0),
    ("race_1080p60_10s", [*LESSON, "--quality", "high", "--duration", "10"], 60.0),
    ("descent_1080p60_10s", ["adam", "--quality", "high", "--duration", "10"], 40.0),
    ("mnist_cached_low", ["adam", "sgd", "rmsprop", "--surface", "mnist"], 15.0),
]


def frames(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for packet in container.demux(video=0) if packet.size)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(args: list[str], folder: Path) -> tuple[float, float, Path]:
    """Wall and CPU seconds of one render in a fresh process, and the file it wrote."""
    out = folder / "clip.mp4"
    started, cpu = time.perf_counter(), children_cpu()
    subprocess.run(
        [sys.executable, "-m", "landscape", "render", *args, "--out", str(out)],
        check=True,
        cwd=folder,
    )
    return time.perf_counter() - started, children_cpu() - cpu, out


def main() -> None:
    summary = {"load_average_before": [round(v, 2) for v in os.getloadavg()]}
    skip = {
        "--skip-hd": ("race_1080p60_10s", "descent_1080p60_10s"),
        "--skip-mnist": ("mnist_cached_low",),
    }
    skipped = {name for flag, names in skip.items() if flag in sys.argv for name in names}
    with tempfile.TemporaryDirectory() as folder:
        for name, args, target in CASES:
            if name in skipped:
                continue
            if name.startswith("mnist"):
                run(args, Path(folder))  # fills the caches
            seconds, cpu, out = run(args, Path(folder))
            count = frames(out)
            summary[name] = {
                "command": "landscape render " + " ".join(args),
                "seconds": round(seconds, 2),
                "cpu_seconds": round(cpu, 2),
                "frames": count,
                "seconds_per_frame": round(seconds / count, 4),
                "target_seconds": target,
                "within_target": seconds <= target,
                "load_average": [round(v, 2) for v in os.getloadavg()],
            }
            print(
                f"{name}: {seconds:.1f} s wall, {cpu:.1f} s CPU for {count} frames, target "
                f"{target:g} s (load {os.getloadavg()[0]:.1f})",
                file=sys.stderr,
            )
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
