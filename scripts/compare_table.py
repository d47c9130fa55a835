"""The README's MNIST table, made by running `landscape compare`, never typed by hand.

Runs `landscape compare --json` for each seed, with the lesson's update rules (the default) and
with torch's, and writes a Markdown table of mean +- spread (the sample standard deviation over
seeds) between the README's `<!-- compare-table -->` markers, with the seeds, machine, versions and
date below it. With --keras FILE (what scripts/keras_lesson.py prints) real Keras' numbers stand
beside ours.

    .venv/bin/python scripts/compare_table.py --seeds 0 1 2 --keras keras.json [--readme README.md]
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import re
import statistics
import subprocess
import sys
from pathlib import Path

import torch

from landscape.mnist.lesson import LESSON_TABLE
from landscape.optimizers import under_rules
from landscape.output import atomic_path

START, END = "<!-- compare-table -->", "<!-- /compare-table -->"
NAMES = {"sgd": "SGD", "rmsprop": "RMSProp", "adam": "Adam"}


def compare(rules: str, seed: int) -> dict:
    """One `landscape compare --json` run: {optimizer: {test_loss, test_accuracy, ...}}."""
    command = [sys.executable, "-m", "landscape", "compare", "--json", "--rules", rules,
               "--seed", str(seed), "--device", "cpu"]  # fmt: skip
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def cell(values: list[float], digits: int = 4) -> str:
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.fmean(values):.{digits}f} ± {spread:.{digits}f}"


def row(title: str, per_optimizer: dict[str, list[dict]]) -> str:
    losses = [cell([r["test_loss"] for r in per_optimizer[o]]) for o in NAMES]
    accuracy = " / ".join(f"{statistics.fmean(r['test_accuracy'] for r in per_optimizer[o]):.4f}"
                          for o in NAMES)  # fmt: skip
    return f"| {title} | {' | '.join(losses)} | {accuracy} |"


def table(seeds: list[int], keras: dict | None) -> str:
    lines = ["| test loss, mean ± spread | SGD | RMSProp | Adam | accuracy S / R / A |",
             "|---|---|---|---|---|"]  # fmt: skip
    for rules, title in (("keras", "`landscape compare` (Keras' rules, the default)"),
                         ("torch", "`landscape compare --rules torch`")):  # fmt: skip
        runs = [compare(rules, seed) for seed in seeds]
        per = {o: [run[under_rules(o, rules)] for run in runs] for o in NAMES}
        lines.append(row(title, per))
    if keras is not None:
        per = {o: keras["results"][o]["runs"] for o in NAMES}
        seeds_k = ", ".join(map(str, keras["seeds"]))
        title = f"real Keras {keras['keras']} ({keras['backend']} backend), the lesson's code"
        lines.append(row(f"{title}, seeds {seeds_k}", per))
    lesson = " | ".join(f"{LESSON_TABLE[o][0]:.4f}" for o in NAMES)
    accuracy = " / ".join(f"{LESSON_TABLE[o][1]:.4f}" for o in NAMES)
    lines.append(f"| the lesson's table (one Keras run) | {lesson} | {accuracy} |")
    numpy, landscape = (importlib.metadata.version(p) for p in ("numpy", "landscape"))
    lines += ["", f"Seeds {', '.join(map(str, seeds))}, 5 epochs, batch 32, CPU; spread = sample "
              f"standard deviation over seeds. Made by `scripts/compare_table.py` on "
              f"{datetime.date.today().isoformat()}: {platform.platform()}, "
              f"{os.cpu_count()} cores, Python {platform.python_version()}, torch "
              f"{torch.__version__}, numpy {numpy}, landscape {landscape}."]  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--keras", type=Path, default=None, help="scripts/keras_lesson.py's JSON")
    parser.add_argument("--readme", type=Path, default=Path(__file__).parents[1] / "README.md")
    args = parser.parse_args()
    keras = None
    if args.keras is not None:
        keras = json.loads(args.keras.read_text().strip().splitlines()[-1])
    text = args.readme.read_text()
    if START not in text or END not in text:
        sys.exit(f"{args.readme} has no {START} ... {END} markers")
    made = table(args.seeds, keras)
    pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.S)
    with atomic_path(args.readme) as tmp:
        tmp.write_text(pattern.sub(lambda _: f"{START}\n{made}\n{END}", text))
    print(made)


if __name__ == "__main__":
    main()
