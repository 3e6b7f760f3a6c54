#!/usr/bin/env bash
# Reproduces the shipped detector and its figures (BENCHMARKS.md, "Detector (issue 5)";
# detector/models/MODEL_CARD.md). Datasets and run folders go under /tmp, never into the repo.
# Usage: benchmarks/detector.sh [train|eval]   (default: both)
set -euo pipefail
cd "$(dirname "$0")/.."
KYB=".venv/bin/kyb"
MODEL=detector/models/kyb-detector-lite0.npz
RUN=/tmp/det-run1

if [[ "${1:-all}" != eval ]]; then
    # Training data: 300 bands, 1500 photos, seed 1 (splits 1050 / 225 / 225).
    [[ -d /tmp/det-ds300 ]] || $KYB synth --out /tmp/det-ds300 --bands 300 --photos 1500 --seed 1
    $KYB detector train --dataset /tmp/det-ds300 --out "$RUN" --steps 3000 --lr 2e-4 --warmup 200 \
        --val-every 750 --val-images 60 --checkpoint-minutes 5 --seed 21
    $KYB detector export "$RUN/best.npz" "$MODEL"
fi

if [[ "${1:-all}" != train ]]; then
    # Held-out synthetic test data: other seeds, never trained on. (The generator changed while
    # the shipped model was made; see MODEL_CARD.md for which commit made which set.)
    [[ -d /tmp/det-test11 ]] || $KYB synth --out /tmp/det-test11 --bands 1000 --photos 1500 --seed 11
    mkdir -p /tmp/det-eval
    $KYB eval detector --dataset /tmp/det-test11 --split test --model "$MODEL" \
        --json /tmp/det-eval/synth-test.json --pr-plot /tmp/det-eval/synth-test-pr.png
    [[ -d /tmp/det-test12 ]] || $KYB synth --out /tmp/det-test12 --bands 200 --photos 400 --seed 12
    $KYB eval detector --dataset /tmp/det-test12 --split test --model "$MODEL" \
        --json /tmp/det-eval/synth-test12.json --pr-plot /tmp/det-eval/synth-test12-pr.png
    $KYB eval detector --dataset ../shared/real/smvs-dvd-canon --split test --model "$MODEL" \
        --json /tmp/det-eval/smvs.json --pr-plot /tmp/det-eval/smvs-pr.png
    $KYB eval detector --dataset ../shared/real/flickrlogos27-half --split test --model "$MODEL" \
        --json /tmp/det-eval/flickrlogos.json --pr-plot /tmp/det-eval/flickrlogos-pr.png
fi
