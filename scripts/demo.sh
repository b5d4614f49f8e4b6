#!/usr/bin/env bash
# The main job on a fresh machine: set up, then train -> evaluate -> export -> classify on device,
# all on the embedded synthetic faces (no download), then the faces of a real photo with the
# runtime's bundled detector and real-face model. About 5 minutes on 2 cores after setup.
#
# Demo settings, chosen to fit that budget: the seed CNN at 64x64x3 (2.45M parameters instead of
# 59M at 256x256x3), 15 epochs at lr 1e-3. The full seed recipe is
#   edge-emotion train --name seed-256      # 256x256x3, lr 1e-5, 20 epochs, early stopping
# (see README.md). The run goes to models/demo/, which this script replaces on each run.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
VENV="$VENV" bash scripts/setup.sh
bin="$VENV/bin"
run=models/demo

step() { printf '\n== %s\n' "$*" >&2; }

step "train (synthetic default data, seed CNN, demo settings)"
if [ -d "$run" ]; then echo "demo: replacing the previous demo run in $run" >&2; fi
"$bin/edge-emotion" train --name demo --force --image-size 64 --epochs 15 --lr 1e-3

step "evaluate the Keras model on the run's test split"
"$bin/edge-emotion" evaluate --model "$run"

step "export float32, float16, dynamic-range and int8 TFLite, each validated against Keras"
# The demo test split is 120 images, so one flipped image is 0.83 points: allow two flips.
"$bin/edge-emotion" export --model "$run" --quantize all --force --max-drop 2

step "classify new faces on the device runtime (int8 model, no TensorFlow)"
samples="$run/samples"
"$bin/edge-emotion" synth-data "$samples" --count 3 --seed 2026 >/dev/null
# The synthetic faces are drawn face crops, not photos: classified whole (--detect never), since
# the default `auto` leaves drawings that no face detector takes for a face alone.
"$bin/edge-emotion-run" "$samples" --model "$run/export/int8.tflite" --detect never

step "find and classify the faces in a real photo (bundled BlazeFace + FER-2013 model)"
# A public-domain NASA portrait (tests/fixtures/photos/README.md); the annotated copy (box and
# label drawn) goes to models/demo/annotated/.
"$bin/edge-emotion-run" tests/fixtures/photos/astronaut-256.jpg --annotate "$run/annotated"
