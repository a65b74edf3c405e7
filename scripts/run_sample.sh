#!/usr/bin/env bash
# Set up, then run the main job on the embedded sample data: generate the
# synthetic cardiac CT phantom (baseline + follow-up) as DICOM, measure it with
# `wallthick batch`, compare the visits and write the HTML report.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
OUT=${1:-sample_output}
exec .venv/bin/wallthick demo --out "$OUT"
