#!/usr/bin/env bash
# Installs Debian packages, as root or through sudo; without either, prints the exact command.
#   bash scripts/debian.sh "what they are for" PACKAGE...
set -euo pipefail
why=$1
shift
install="apt-get install -y $*"
if [ "$(id -u)" = 0 ]; then sudo=""
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo="sudo"
else
    echo "landscape needs $why. Run this, then the same make command again:" >&2
    echo "    sudo apt-get update && sudo $install" >&2
    exit 1
fi
echo "Installing $why: $*"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo $install -qq >/dev/null
