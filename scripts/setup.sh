#!/usr/bin/env bash
# Creates the virtual environment and installs landscape with its test and docs extras.
# On a fresh Debian machine it also installs the system libraries Manim builds against, and on a
# machine without an NVIDIA GPU it installs torch's CPU build from PyTorch's own CPU wheel index
# (PyPI's Linux torch is the multi-GB CUDA build).
#
#   TORCH_SPEC        what to install of torch (default: torch with a GPU, else torch==2.13.0)
#   TORCH_CPU_INDEX   PyTorch's CPU wheel index (default https://download.pytorch.org/whl/cpu)
#   SETUP_PRINT_TORCH=1  print the torch install arguments chosen, then stop (installs nothing)
set -euo pipefail
PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
SYSTEM_PACKAGES="libcairo2-dev libpango1.0-dev pkg-config"
TORCH_CPU_INDEX=${TORCH_CPU_INDEX:-https://download.pytorch.org/whl/cpu}

# The arguments to `pip install` for torch, one per line, with the reason on stderr.
torch_arguments() {
    if command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; then
        echo "${TORCH_SPEC:-torch}"  # PyPI's default build carries CUDA
        return
    fi
    # 2.13.0 is the version tested here, and the CPU wheel this project's machines provide.
    local spec=${TORCH_SPEC:-torch==2.13.0}
    # A few seconds at most: where the index is blocked, the default index is the way on.
    if "$PYTHON" -c 'import sys, urllib.request
urllib.request.urlopen(sys.argv[1].rstrip("/") + "/torch/", timeout=5)' "$TORCH_CPU_INDEX" \
        >/dev/null 2>&1; then
        printf '%s\n' --index-url "$TORCH_CPU_INDEX" "$spec"
    else
        echo "No NVIDIA GPU, but PyTorch's CPU wheel index $TORCH_CPU_INDEX cannot be reached:" \
            "installing $spec from the default index instead." >&2
        echo "$spec"
    fi
}

if [ "${SETUP_PRINT_TORCH:-}" = 1 ]; then
    torch_arguments
    exit 0
fi

# System libraries: pycairo and manimpango compile against cairo and pango.
pkg-config --exists cairo pangocairo 2>/dev/null ||
    bash "$(dirname "$0")/debian.sh" "system libraries to build Manim" $SYSTEM_PACKAGES

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
pip="$VENV/bin/python -m pip install --quiet"

# torch first, so that the project's torch requirement is already met by the build chosen here.
mapfile -t torch < <(torch_arguments)
$pip --upgrade pip
$pip "${torch[@]}"
$pip -e ".[test,docs]"
echo "landscape is installed in $VENV (torch: $("$VENV/bin/python" -c 'import torch; print(torch.__version__)'))"
