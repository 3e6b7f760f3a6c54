#!/usr/bin/env bash
# Reproduces the shipped detector and its figures (BENCHMARKS.md, "Detector (issue 5)";
# detector/models/MODEL_CARD.md). Datasets and run folders go under /tmp, never into the repo.
# Usage: benchmarks/detector.sh [train|eval]   (default: both)
set -euo pipefail
cd "$(dirname "$0")/.."
KYB=".venv/bin/kyb"
MODEL=detector/models/kyb-detector-lite0.npz
RUN=/tmp/det-run-real
# The model is a fine-tune of the first shipped one (trained on the synthetic 300-band set,
# seed 1, by the generator of 2026-11-22; MODEL_CARD.md), whose weights git keeps.
FIRST=/tmp/kyb-detector-first.npz

if [[ "${1:-all}" != eval ]]; then
    git show 713bde4:detector/models/kyb-detector-lite0.npz > "$FIRST"
    # Marks and covers in the wild on real photographs (two seeds), the classic scenes without
    # real material (they keep covers and prints as the first model knew them), and the
    # vest, shirt-back, flyer and merch scenes; each set's train split.
    for seed in 32 35; do
        [[ -d /tmp/det-real/wild$seed ]] || $KYB synth --out /tmp/det-real/wild$seed --bands 300 --photos 500 --seed $seed \
            --scenes wild --workers 2
    done
    [[ -d /tmp/det-real/classic33 ]] || $KYB synth --out /tmp/det-real/classic33 --bands 300 --photos 500 --seed 33 \
        --scenes shirt,jacket,posters,in_hand,shelf --no-real-photos --real-logos 0 --workers 2
    [[ -d /tmp/det-real/new34 ]] || $KYB synth --out /tmp/det-real/new34 --bands 300 --photos 400 --seed 34 \
        --scenes vest,tee,flyer,merch --no-real-photos --workers 2
    $KYB detector train --dataset /tmp/det-real/wild32 --dataset /tmp/det-real/wild35 --dataset /tmp/det-real/classic33 \
        --dataset /tmp/det-real/new34 --out "$RUN" --init "$FIRST" --steps 5000 --lr 1e-4 --warmup 100 \
        --val-every 1250 --val-images 60 --seed 23
    $KYB detector export "$RUN/best.npz" "$MODEL"
fi

if [[ "${1:-all}" != train ]]; then
    # Held-out synthetic test data, seeds never trained on: the classic scenes, every
    # scene by its weight (vests, shirt backs, flyers, merch tables, marks in the wild),
    # and patch jackets.
    [[ -d /tmp/det-test43 ]] || $KYB synth --out /tmp/det-test43 --bands 150 --photos 300 --seed 43 \
        --scenes shirt,jacket,posters,in_hand,shelf --workers 2
    [[ -d /tmp/det-test42 ]] || $KYB synth --out /tmp/det-test42 --bands 200 --photos 400 --seed 42 --workers 2
    [[ -d /tmp/vest41 ]] || $KYB synth --out /tmp/vest41 --bands 80 --photos 120 --seed 41 --scenes vest --workers 2
    mkdir -p /tmp/det-eval
    for set in /tmp/det-test43 /tmp/det-test42 /tmp/vest41 ../shared/real/smvs-dvd-canon ../shared/real/flickrlogos27-half; do
        name=$(basename "$set")
        $KYB eval detector --dataset "$set" --split test --model "$MODEL" \
            --json "/tmp/det-eval/$name.json" --pr-plot "/tmp/det-eval/$name-pr.png"
    done
fi
