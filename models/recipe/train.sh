#!/usr/bin/env bash
# Reproduces Longread's bundled default model (models/default) from public-domain text.
#   bash models/recipe/train.sh            (from the repository root; ~70 min on 2 CPU cores)
# Needs: node_modules (npm ci), Debian's python3-torch and libopenblas0-pthread
#   (apt-get install python3-torch libopenblas0-pthread — without OpenBLAS, torch falls back to the
#    reference BLAS and training is ~25x slower). Python is used for training only, never at run time.
# Env: LONGREAD_TRAIN_WORK (default /tmp/longread-train) for data and checkpoints,
#      LONGREAD_BOOKS (default: ../shared/corpus/books), OUT (default models/default).
set -euo pipefail
cd "$(dirname "$0")/../.."
WORK="${LONGREAD_TRAIN_WORK:-/tmp/longread-train}"
OUT="${OUT:-models/default}"
PY=/usr/bin/python3
mkdir -p "$WORK"
export OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=2

echo "== tokenizer (training text only)"
node bin/run-ts.mjs models/recipe/build-tokenizer.ts --out "$WORK/tokenizer" --pieces 8000

echo "== training data (seed 7)"
node bin/run-ts.mjs models/recipe/make-data.ts --tokenizer "$WORK/tokenizer" --out "$WORK/data" \
  --short 14000 --medium 6000 --long 2000 --valid 300 --seed 7

echo "== training (seed 1234)"
( cd models/recipe && $PY train.py --data "$WORK/data" --tokenizer "$WORK/tokenizer" --work "$WORK/run" --out "$WORK/final" \
    --steps 1100 --tokens-per-batch 3072 --lr 2e-3 --warmup 100 --seed 1234 --max-minutes 64 )

echo "== install into $OUT and check the engine against torch"
mkdir -p "$OUT"
cp "$WORK/final/"{config.json,generation_config.json,model.safetensors,tokenizer.json,tokenizer_config.json,special_tokens_map.json} "$OUT/"
$PY models/recipe/check_engine.py "$OUT"
