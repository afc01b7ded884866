#!/usr/bin/env bash
# Rebuild the README's images from the built-in scenarios (needs graphviz and chromium: bash tests/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
iimsim run baseline --out runs/baseline --force
iimsim patient baseline --seed 3 --subtype DM --severity severe --weight-kg 70 --out runs/patient-dm > /dev/null
iimsim diagram --format png --run runs/baseline --output docs/images/pathway.png
cp runs/patient-dm/timeline.png docs/images/timeline.png
cp runs/baseline/figures/occupancy.png docs/images/occupancy.png
cp runs/baseline/figures/dose_over_time.png docs/images/dose_over_time.png
cp runs/baseline/figures/disease_course.png docs/images/disease_course.png
iimsim run infusion_unit --out runs/infusion_unit --force --no-report
iimsim report runs/infusion_unit > /dev/null
cp runs/infusion_unit/figures/infusion_unit.png docs/images/infusion_unit.png
iimsim psa baseline severe_ivig --draws 40 --patients 500 --out runs/psa-baseline-vs-severe_ivig --force > /dev/null
cp runs/psa-baseline-vs-severe_ivig/ce_plane.png docs/images/ce_plane.png
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
  --disable-component-update --disable-sync --user-data-dir="$(mktemp -d)" --window-size=1100,1500 \
  --screenshot="$PWD/docs/images/report.png" "file://$PWD/runs/baseline/report.html" 2>/dev/null
echo "images in docs/images"
