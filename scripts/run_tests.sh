#!/usr/bin/env bash
# Set up (Python + Debian packages for headless napari), then lint, type-check
# and run the whole test suite under a virtual X server.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --gui
.venv/bin/ruff check .
.venv/bin/mypy
export QT_QPA_PLATFORM=xcb
exec xvfb-run -a -s "-screen 0 1600x1200x24" .venv/bin/python -m pytest "$@"
