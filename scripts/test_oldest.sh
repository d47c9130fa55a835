#!/usr/bin/env bash
# `make test-oldest`: the whole test suite in a second venv holding the lowest version of every
# dependency that pyproject.toml allows (its ">=" floors and "==" pins, pinned with "==").
# torch: its floor from PyTorch's CPU wheel index where that can be reached; else the oldest CPU
# build pip can find, said so (PyPI's Linux torch is a multi-GB CUDA build).
# The docs extra (mkdocs and its plugins, which setup.sh installs with the test extras) is left
# unpinned: build tools, not what the code needs; pip resolves them beside the floors.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv-oldest}

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
floors="$VENV/floors.txt"
"$VENV/bin/python" - > "$floors" <<'PY'
import re
import tomllib

with open("pyproject.toml", "rb") as f:
    project = tomllib.load(f)["project"]
for requirement in project["dependencies"] + project["optional-dependencies"]["test"]:
    found = re.match(r"([A-Za-z0-9_.-]+).*?(?:>=|==)\s*([0-9][^,;\s]*)", requirement)
    if not found:  # an exact pin ("==") is its own floor
        raise SystemExit(f"{requirement!r} in pyproject.toml has no '>=' floor to test")
    print(f"{found[1]}=={found[2]}")
PY

floor=$(sed -n 's/^torch==//p' "$floors")
if SETUP_PRINT_TORCH=1 TORCH_SPEC="torch==$floor" bash scripts/setup.sh 2>/dev/null \
        | grep -q -- --index-url; then
    torch=$floor
else
    torch=$("$VENV/bin/python" -m pip index versions torch 2>/dev/null | "$VENV/bin/python" -c '
import sys
floor = tuple(int(p) for p in sys.argv[1].split("."))
line = next(l for l in sys.stdin if l.startswith("Available versions:"))
cpu = [v.strip() for v in line.split(":", 1)[1].split(",") if v.strip().endswith("+cpu")]
key = lambda v: tuple(int(p) for p in v.split("+")[0].split("."))
print(min((v for v in cpu if key(v) >= floor), key=key, default=""))' "$floor")
    if [ -z "$torch" ]; then
        echo "No CPU build of torch >= $floor can be found; set TORCH_CPU_INDEX to a reachable one." >&2
        exit 1
    fi
    echo "torch $floor has no CPU build that can be reached here: testing with torch $torch," \
        "the oldest CPU build pip finds." >&2
fi
sed -i "s/^torch==.*/torch==${torch%+cpu}/" "$floors"

PIP_CONSTRAINT="$floors" TORCH_SPEC="torch==$torch" VENV="$VENV" PYTHON="$PYTHON" \
    bash scripts/setup.sh
echo "Testing with:" $("$VENV/bin/python" -m pip freeze 2>/dev/null \
    | grep -iE '^(numpy|torch|matplotlib|manim|av|pillow|typer|rich|pytest|hypothesis)==' )
"$VENV/bin/python" -m pytest -q -p no:cacheprovider
