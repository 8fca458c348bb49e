#!/usr/bin/env bash
# Set up ifskit on a fresh machine: system library for open3d, .venv/ at the repo root,
# torch 2.13.0 (a CPU build where the package index serves one, else the default wheel, which also
# runs on the CPU), and ifskit with all extras, the test tools, the benchmarks' data and the docs tools.
# Safe to rerun.
set -euo pipefail
cd "$(dirname "$0")/.."

# open3d needs libusb at import time
if ! ldconfig -p 2>/dev/null | grep -q 'libusb-1.0.so.0'; then
    if [ "$(id -u)" = 0 ]; then
        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libusb-1.0-0) >/dev/null
    else
        echo "setup: libusb-1.0-0 is missing (needed by open3d); run: sudo apt-get install libusb-1.0-0" >&2
    fi
fi

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
export PIP_DISABLE_PIP_VERSION_CHECK=1
# torch first, pinned: this version is a CPU build here; later requirements are then satisfied
pip_install() {
    if ! .venv/bin/pip install -q "$@" > .venv/pip.log 2>&1; then
        tail -n 30 .venv/pip.log >&2
        echo "setup: pip install $* failed (log above, full log in .venv/pip.log)" >&2
        exit 1
    fi
}
.venv/bin/python -c "import torch" 2>/dev/null || pip_install torch==2.13.0
pip_install -e ".[all,test,bench,docs]"
echo "setup: ready (.venv/bin/ifskit, .venv/bin/python -m pytest)"
