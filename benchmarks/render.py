"""Render speed: the default `landscape render adam --quality low` (target <= 30 s wall) and a
10-second clip at 1080p60 (target <= 180 s), each run as a user runs it, in a fresh process.

Prints a JSON summary as the last line: wall seconds, frames, seconds per frame, target met.
Usage: python benchmarks/render.py [--skip-hd]
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av

CASES = [
    ("default_low", ["adam", "--quality", "low"], 30.0),
    ("clip_1080p60_10s", ["adam", "--quality", "high", "--duration", "10"], 180.0),
]


def frames(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def run(args: list[str], folder: Path) -> tuple[float, Path]:
    out = folder / "clip.mp4"
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "landscape", "render", *args, "--out", str(out)],
                   check=True, cwd=folder)  # fmt: skip
    return time.perf_counter() - started, out


def main() -> None:
    summary = {}
    cases = CASES[:1] if "--skip-hd" in sys.argv else CASES
    with tempfile.TemporaryDirectory() as folder:
        for name, args, target in cases:
            seconds, out = run(args, Path(folder))
            count = frames(out)
            summary[name] = {
                "command": "landscape render " + " ".join(args),
                "seconds": round(seconds, 2),
                "frames": count,
                "seconds_per_frame": round(seconds / count, 4),
                "target_seconds": target,
                "within_target": seconds <= target,
            }
            print(f"{name}: {seconds:.1f} s for {count} frames", file=sys.stderr)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
