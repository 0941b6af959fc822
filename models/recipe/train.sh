#!/usr/bin/env bash
# Reproduces Longread's bundled default model (models/default) from public-domain text.
#   bash models/recipe/train.sh            (from the repository root; about 3 h on 2 CPU cores)
# Needs: node_modules (npm ci), Debian's python3-torch and libopenblas0-pthread
#   (apt-get install python3-torch libopenblas0-pthread — without OpenBLAS, torch falls back to the
#    reference BLAS and training is ~25x slower). Python is used for training only, never at run time.
# Env: LONGREAD_TRAIN_WORK (default /tmp/longread-train) for data and checkpoints,
#      LONGREAD_BOOKS (default: ../shared/corpus/books), OUT (default models/default).
# Training runs as two data-parallel processes of one thread each; a run that is stopped resumes from
# its last checkpoint (every 6 min) when the same command is run again.
set -euo pipefail
cd "$(dirname "$0")/../.."
WORK="${LONGREAD_TRAIN_WORK:-/tmp/longread-train}"
OUT="${OUT:-models/default}"
PY=/usr/bin/python3
mkdir -p "$WORK"
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
# glibc would mmap (and page-fault afresh) every attention matrix above 32 MB; keeping freed memory in
# the heap makes 2K-token steps three times faster (12 s -> 4 s). It changes no result.
export MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=68719476736 MALLOC_TOP_PAD_=1073741824

echo "== tokenizer (training text only)"
node bin/run-ts.mjs models/recipe/build-tokenizer.ts --out "$WORK/tokenizer" --pieces 8000

# Curriculum, easiest first: one made-up fact alone; up to three facts of the same template (only the
# role tells them apart); facts among a sentence of noise; then real text of growing length with cloze
# questions from its own sentences. Document lengths are tokens of real text (the facts come on top).
# The learning-rate schedule (warm-up, cosine to 1/10) is laid out over 2800 steps and the run stops at
# step 2400, 300 steps into the 256-1024-token phase.
echo "== stage 1 training data (seed 7)"
node bin/run-ts.mjs models/recipe/make-data.ts --tokenizer "$WORK/tokenizer" --out "$WORK/data" \
  --phases one:0-0:30000:0:1,two:0-0:40000:0:3,kv:0-32:60000:0:5,tiny:16-96:60000:0.3:4,short:64-320:30000:0.4:3,medium:256-1024:10000:0.4:3 \
  --cloze 0.4 --max-facts 3 --same-kind 0.5 --valid 300 --valid-range 256-1024 --seed 7

echo "== stage 1 training (seed 1234)"
( cd models/recipe && $PY train.py --data "$WORK/data" --tokenizer "$WORK/tokenizer" --work "$WORK/run" --out "$WORK/final" \
    --heads 8 --steps 2800 --stop-at 2400 --tokens-per-batch 2048 --procs 2 --threads 1 --lr 1e-3 --warmup 100 --seed 1234 \
    --phases one:0,two:0.06,kv:0.15,tiny:0.3,short:0.54,medium:0.75 --eval-every 1400 --max-minutes 170 )

# Stage 2 starts from stage 1's weights with a fresh optimiser and schedule, on the longest documents
# the recipe trains at: 768-1800 tokens of real text with up to 8 inserted facts (about 2K tokens in all).
# It stops at step 789 of its 1400-step schedule.
echo "== stage 2 training data (seed 8)"
node bin/run-ts.mjs models/recipe/make-data.ts --tokenizer "$WORK/tokenizer" --out "$WORK/data2" \
  --phases long:768-1800:8000:0.35:8 --cloze 0.35 --max-facts 8 --same-kind 0.5 --valid 48 --valid-range 1024-1800 --seed 8

echo "== stage 2 training (seed 4321)"
( cd models/recipe && $PY train.py --data "$WORK/data2" --tokenizer "$WORK/tokenizer" --work "$WORK/run2" --out "$WORK/final2" \
    --init-from "$WORK/final" --heads 8 --steps 1400 --tokens-per-batch 2048 --procs 2 --threads 1 --lr 6e-4 --warmup 50 \
    --seed 4321 --phases long:0 --stop-at 789 --eval-every 700 --eval-rows 32 --max-minutes 110 )

# Stage 3: most roles are made from a random word ("lantern keeper") so they cannot be learned by heart,
# and 70% of documents hold several facts of the same form; short documents first, then ~2K tokens.
echo "== stage 3 training data (seed 9)"
node bin/run-ts.mjs models/recipe/make-data.ts --tokenizer "$WORK/tokenizer" --out "$WORK/data3" \
  --phases short:32-512:20000:0.2:8,long:768-1800:6000:0.25:8 --cloze 0.2 --max-facts 8 --same-kind 0.7 --word-roles 0.7 \
  --valid 48 --valid-range 256-1024 --seed 9

echo "== stage 3 training (seed 5678)"
( cd models/recipe && $PY train.py --data "$WORK/data3" --tokenizer "$WORK/tokenizer" --work "$WORK/run3" --out "$WORK/final3" \
    --init-from "$WORK/final2" --heads 8 --steps 1500 --tokens-per-batch 2048 --procs 2 --threads 1 --lr 6e-4 --warmup 50 \
    --seed 5678 --phases short:0,long:0.6 --eval-every 100000 --max-minutes 60 )

echo "== install into $OUT and check the engine against torch"
mkdir -p "$OUT"
cp "$WORK/final3/"{config.json,generation_config.json,model.safetensors,tokenizer.json,tokenizer_config.json,special_tokens_map.json} "$OUT/"
$PY models/recipe/check_engine.py "$OUT"
