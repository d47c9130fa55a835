#!/usr/bin/env bash
# Creates the virtual environment and installs landscape with its test extras.
# On a fresh Debian machine it also installs the system libraries Manim builds against, and it
# installs the CPU build of torch when there is no NVIDIA GPU (an unpinned torch pulls a
# multi-GB CUDA build).
set -euo pipefail
PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
SYSTEM_PACKAGES="libcairo2-dev libpango1.0-dev pkg-config"

# System libraries: pycairo and manimpango compile against cairo and pango.
if ! pkg-config --exists cairo pangocairo 2>/dev/null; then
    install="apt-get install -y $SYSTEM_PACKAGES"
    if [ "$(id -u)" = 0 ]; then sudo=""
    elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo="sudo"
    else
        echo "landscape needs system libraries to build Manim. Run this, then 'make setup' again:" >&2
        echo "    sudo apt-get update && sudo $install" >&2
        exit 1
    fi
    echo "Installing system libraries: $SYSTEM_PACKAGES"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo $install -qq
fi

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
pip="$VENV/bin/python -m pip install --quiet"

# torch first, so that the project's "torch>=2.2" is already satisfied. 2.13.0 without an
# NVIDIA GPU is the CPU build where a local wheel is provided; with one, the default build.
if command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; then
    TORCH_SPEC=${TORCH_SPEC:-torch}
else
    TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}
fi
$pip --upgrade pip
$pip "$TORCH_SPEC"
$pip -e ".[test]"
echo "landscape is installed in $VENV (torch: $("$VENV/bin/python" -c 'import torch; print(torch.__version__)'))"
