#!/usr/bin/env bash
# Build the documentation site into docs/_build/html (or the folder given), warnings as errors.
# Runs the gallery's examples and the notebook (in its fast setting; IFSKIT_NOTEBOOK_FAST=0 runs
# it as written). Needs the docs extra: bash scripts/setup.sh installs it.
# Usage: bash scripts/docs.sh [OUT_DIR]    then open docs/_build/html/index.html
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$(realpath -m "${1:-$root/docs/_build/html}")"  # a relative OUT_DIR is taken from where you are
cd "$root"
python="${PYTHON:-.venv/bin/python}"  # the interpreter with ifskit and the docs extra
# from scratch: the generated pages (gallery, API, notebook copy) and an old site go first, so a
# renamed or removed page leaves nothing stale behind (a folder of other files is refused)
if [ "$out" != "$root/docs/_build/html" ] && [ -e "$out" ] && [ ! -e "$out/.buildinfo" ] && [ -n "$(ls -A "$out")" ]; then
    echo "docs: $out exists and is not a Sphinx site; give an empty or new folder" >&2
    exit 2
fi
rm -rf docs/auto_examples docs/api docs/notebooks docs/catalog.md docs/sg_execution_times.rst "$out"
exec "$python" -m sphinx -W --keep-going -q -E -b html -d "$out.doctrees" docs "$out"
