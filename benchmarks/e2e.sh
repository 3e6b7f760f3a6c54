#!/usr/bin/env bash
# Reproduces BENCHMARKS.md, "End to end (issue 6)": the whole pipeline on the test split of
# a 1,000-band synthetic dataset and on the real sets of ../shared, then `kyb serve` under
# load (wrk, 8 connections, 60 s, cycling through the test photos) and under the API
# fuzzer, with the real pipeline.
# Datasets, bundles and databases go under /tmp, never into the repository.
# Usage: benchmarks/e2e.sh [eval|serve]   (default: both)
# MODEL (default: the shipped detector) and LIMIT (photos per set, default all) may be set.
set -euo pipefail
cd "$(dirname "$0")/.."
KYB=".venv/bin/kyb"
DS=/tmp/ds1000
OUT=/tmp/e2e
MODEL_ARGS=()
[[ -n "${MODEL:-}" ]] && MODEL_ARGS=(--model "$MODEL")
LIMIT_ARGS=()
[[ -n "${LIMIT:-}" ]] && LIMIT_ARGS=(--limit "$LIMIT")
mkdir -p "$OUT"

[[ -d $DS ]] || $KYB synth --out $DS --bands 1000 --photos 1500 --seed 0
[[ -d $OUT/idx1000-default ]] || $KYB index build --dataset $DS --out $OUT/idx1000-default --preset default

if [[ "${1:-all}" != serve ]]; then
    $KYB eval e2e --dataset $DS --index $OUT/idx1000-default "${MODEL_ARGS[@]}" "${LIMIT_ARGS[@]}" \
        --json $OUT/e2e-ds1000-default.json
    for real in smvs-dvd-canon flickrlogos27-half; do
        # The real sets have no photos of unknown bands to calibrate on: borrow the
        # synthetic bundle's calibration (as `kyb eval retrieval` does for them).
        [[ -d $OUT/idx-$real ]] || $KYB index build --dataset ../shared/real/$real --out $OUT/idx-$real \
            --preset default --calibration-from $OUT/idx1000-default
        $KYB eval e2e --dataset ../shared/real/$real --index $OUT/idx-$real "${MODEL_ARGS[@]}" \
            "${LIMIT_ARGS[@]}" --json $OUT/e2e-$real.json
    done
fi

if [[ "${1:-all}" != eval ]]; then
    export KYB_DATABASE_URL=sqlite:///$OUT/ds1000.sqlite
    [[ -f $OUT/ds1000.sqlite ]] || { $KYB db init && $KYB db import $DS; }
    [[ -n "${MODEL:-}" ]] && export KYB_DETECTOR_MODEL=$MODEL
    $KYB serve --index $OUT/idx1000-default --workers 2 --port 8765 > $OUT/serve.log 2>&1 &
    SERVER=$!
    trap 'kill $SERVER' EXIT
    until curl -sf http://127.0.0.1:8765/healthz > /dev/null; do sleep 2; done
    sed "s|.*|$DS/photos/&.jpg|" $DS/splits/test.txt > $OUT/test-photos.txt
    for _ in 1 2; do   # the first request of each worker compiles the detector's graph
        curl -sf -H 'Content-Type: image/jpeg' --data-binary @"$(head -1 $OUT/test-photos.txt)" \
            http://127.0.0.1:8765/api/v1/identify > /dev/null
    done
    PHOTOS=$OUT/test-photos.txt wrk -t2 -c8 -d60s --timeout 30s --latency -s benchmarks/identify_post.lua \
        http://127.0.0.1:8765
    echo "5xx in the access log: $(grep -cE '" 5[0-9]{2} ' $OUT/serve.log || true)"
    .venv/bin/python benchmarks/fuzz_api.py --url http://127.0.0.1:8765
fi
