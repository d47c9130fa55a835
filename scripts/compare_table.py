"""docs/mnist.md's compare table, made by running `landscape compare`, never typed by hand.

Runs `landscape compare --json` for each seed, with the lesson's update rules (the default) and
with torch's, and writes a Markdown table of mean +- spread (the sample standard deviation over
seeds) and the standard error of the mean (spread / sqrt(seeds)) between that page's
`<!-- compare-table -->` markers, with the seeds, machine, versions and date below it. With
--keras FILE... (what scripts/keras_lesson.py prints; several files, e.g. one per seed, are
merged) real Keras' numbers stand beside ours, and a line says, per optimizer, whether
compare's mean lies within one spread of Keras' (the reproduction's goal) and how many standard
errors apart the two means are. Seed s of Keras and seed s of `compare` are different draws
(each its own generator): the rows compare distributions, not runs.

    .venv/bin/python scripts/compare_table.py --seeds 0 1 2 3 4 5 6 7 8 9 \
        --keras keras-0.json keras-1.json ... [--runs runs.json] [--page docs/mnist.md]

--runs FILE keeps compare's per-seed results: written after running them, read instead of
running them again when FILE exists (with the same seeds).
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import math
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
    command = [
        sys.executable,
        "-m",
        "landscape",
        "compare",
        "--json",
        "--rules",
        rules,
        "--seed",
        str(seed),
        "--device",
        "cpu",
    ]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def stats(values: list[float]) -> tuple[float, float, float]:
    """Mean, spread (sample standard deviation; 0 for one value) and standard error."""
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return statistics.fmean(values), spread, spread / math.sqrt(len(values))


def cell(values: list[float], digits: int = 4) -> str:
    mean, spread, error = stats(values)
    return f"{mean:.{digits}f} ± {spread:.{digits}f} (s.e. {error:.{digits}f})"


def row(title: str, per_optimizer: dict[str, list[dict]]) -> str:
    losses = [cell([r["test_loss"] for r in per_optimizer[o]]) for o in NAMES]
    accuracy = " / ".join(
        f"{statistics.fmean(r['test_accuracy'] for r in per_optimizer[o]):.4f}" for o in NAMES
    )
    return f"| {title} | {' | '.join(losses)} | {accuracy} |"


def seed_list(seeds: list[int]) -> str:
    """0, 1, 2, 3 as "0-3"; anything else listed."""
    ordered = sorted(seeds)
    if len(ordered) > 2 and ordered == list(range(ordered[0], ordered[-1] + 1)):
        return f"{ordered[0]}-{ordered[-1]}"
    return ", ".join(map(str, ordered))


def compare_runs(seeds: list[int], saved: Path | None) -> dict[str, list[dict]]:
    """{rules: [compare's result per seed]}, from `saved` when it holds these seeds."""
    if saved is not None and saved.exists():
        runs = json.loads(saved.read_text())
        if runs["seeds"] != seeds:
            sys.exit(f"{saved} holds seeds {runs['seeds']}, not {seeds}; remove it to rerun")
        return runs["rules"]
    runs = {rules: [compare(rules, seed) for seed in seeds] for rules in ("keras", "torch")}
    if saved is not None:
        with atomic_path(saved) as tmp:
            tmp.write_text(json.dumps({"seeds": seeds, "rules": runs}))
    return runs


def merged(files: list[dict]) -> dict:
    """Several outputs of scripts/keras_lesson.py as one: runs of every seed, in seed order."""
    first = files[0]
    for other in files[1:]:
        for key in ("keras", "backend", "torch", "epochs"):
            if other[key] != first[key]:
                sys.exit(f"Keras files differ in {key}: {first[key]} and {other[key]}")
    runs = {
        o: sorted((r for f in files for r in f["results"][o]["runs"]), key=lambda r: r["seed"])
        for o in NAMES
    }
    seeds = [r["seed"] for r in runs["sgd"]]
    if len(set(seeds)) != len(seeds) or any([r["seed"] for r in runs[o]] != seeds for o in NAMES):
        sys.exit(f"Keras files hold seeds {seeds} unevenly or twice")
    return {**first, "seeds": seeds, "results": {o: {"runs": runs[o]} for o in NAMES}}


def goal(ours: dict[str, list[dict]], keras: dict[str, list[dict]]) -> str:
    """Per optimizer: is our mean within one Keras spread of Keras' mean, and how many
    standard errors of the difference apart are the means."""
    parts = []
    for o, name in NAMES.items():
        m1, _, e1 = stats([r["test_loss"] for r in ours[o]])
        m2, s2, e2 = stats([r["test_loss"] for r in keras[o]])
        within = "within" if abs(m1 - m2) <= s2 else "outside"
        apart = abs(m1 - m2) / math.hypot(e1, e2) if e1 or e2 else math.inf
        parts.append(f"{name} {m1 - m2:+.4f}, {within} one spread, {apart:.1f} s.e. apart")
    return "Keras' rules minus real Keras, mean test loss: " + "; ".join(parts) + "."


def table(seeds: list[int], keras: dict | None, saved: Path | None = None) -> str:
    lines = [
        "| test loss, mean ± spread (standard error) | SGD | RMSProp | Adam | accuracy S / R / A |",
        "|---|---|---|---|---|",
    ]
    runs, per_rules = compare_runs(seeds, saved), {}
    for rules, title in (
        ("keras", "`landscape compare` (Keras' rules, the default)"),
        ("torch", "`landscape compare --rules torch`"),
    ):
        per_rules[rules] = {o: [run[under_rules(o, rules)] for run in runs[rules]] for o in NAMES}
        lines.append(row(f"{title}, seeds {seed_list(seeds)}", per_rules[rules]))
    if keras is not None:
        per = {o: keras["results"][o]["runs"] for o in NAMES}
        title = f"real Keras {keras['keras']} ({keras['backend']} backend), the lesson's code"
        lines.append(row(f"{title}, seeds {seed_list(keras['seeds'])}", per))
    lesson = " | ".join(f"{LESSON_TABLE[o][0]:.4f}" for o in NAMES)
    accuracy = " / ".join(f"{LESSON_TABLE[o][1]:.4f}" for o in NAMES)
    lines.append(f"| the lesson's table (one Keras run) | {lesson} | {accuracy} |")
    numpy, landscape = (importlib.metadata.version(p) for p in ("numpy", "landscape"))
    lines += [
        "",
        f"5 epochs, batch 32, CPU; spread = sample standard deviation over seeds, "
        f"standard error = spread / √seeds. Made by `scripts/compare_table.py` on "
        f"{datetime.date.today().isoformat()}: {platform.platform()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, torch "
        f"{torch.__version__}, numpy {numpy}, landscape {landscape}.",
    ]
    if keras is not None:
        lines += ["", goal(per_rules["keras"], per)]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument(
        "--keras",
        type=Path,
        nargs="+",
        default=None,
        help="scripts/keras_lesson.py's JSON output(s), merged",
    )
    parser.add_argument("--runs", type=Path, default=None, help="compare's results, kept")
    parser.add_argument(
        "--page", type=Path, default=Path(__file__).parents[1] / "docs" / "mnist.md"
    )
    args = parser.parse_args()
    keras = None
    if args.keras is not None:
        keras = merged([json.loads(f.read_text().strip().splitlines()[-1]) for f in args.keras])
    text = args.page.read_text()
    if START not in text or END not in text:
        sys.exit(f"{args.page} has no {START} ... {END} markers")
    made = table(args.seeds, keras, args.runs)
    pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.S)
    with atomic_path(args.page) as tmp:
        tmp.write_text(pattern.sub(lambda _: f"{START}\n{made}\n{END}", text))
    print(made)


if __name__ == "__main__":
    main()
