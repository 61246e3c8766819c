#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# One-shot GPU check for a fresh, offline GPU machine (nvcc, CMake, ninja, Python with
# torch, numpy, pybind11, pytest): builds the CUDA library, the standalone GPU check,
# the GPU benchmark and the Python extension; runs them; writes logs and JSON to $OUT.
#
#   OUT=/tmp/out bash tests/gpu/device_check.sh [vectors_per_main_config]
# Prints a summary table last. Exit status: 0 when the bit-identity and attention checks
# passed. FULL_PYTEST=1 also runs the CPU pytest suite there. Files under $OUT: the four
# JSON results and logs.txt (every log appended, environment first), so that a device
# tool that returns only a few files gets all of them.
set -uo pipefail
OUT=${OUT:-/tmp/kakeya_gpu_out}
VECTORS=${1:-10000000}
mkdir -p "$OUT"
LOGDIR=$(mktemp -d)
collect() { for f in env.txt build.log attention_check.log gpu_check.log pytest.log gpu_bench.log attention_bench.log; do
  [ -f "$LOGDIR/$f" ] && { echo "===== $f"; cat "$LOGDIR/$f"; }; done > "$OUT/logs.txt"; }
trap collect EXIT
BUILD=${KAKEYA_GPU_BUILD:-/tmp/kakeya_gpu_build}
PY=$(command -v python3)
log() { echo "[device_check $(date +%H:%M:%S)] $*"; }

{
  date -u; uname -a; nvidia-smi; nvcc --version; cmake --version | head -1
  "$PY" -c "import torch, numpy; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'numpy', numpy.__version__)"
} > "$LOGDIR/env.txt" 2>&1
log "environment in $OUT/logs.txt"

log "configure + build"
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DKAKEYA_BUILD_TESTS=OFF \
  -DKAKEYA_BUILD_GPU_CHECKS=ON -DKAKEYA_BUILD_PYTHON=ON -DKAKEYA_CUDA_ARCHITECTURES=90 \
  -DPython_EXECUTABLE="$PY" > "$LOGDIR/build.log" 2>&1 \
  && cmake --build "$BUILD" -j "$(nproc)" >> "$LOGDIR/build.log" 2>&1
build_rc=$?
tail -5 "$LOGDIR/build.log"
if [ $build_rc -ne 0 ]; then
  log "python extension may have failed; retrying without it"
  cmake -S . -B "$BUILD" -DKAKEYA_BUILD_PYTHON=OFF >> "$LOGDIR/build.log" 2>&1 \
    && cmake --build "$BUILD" -j "$(nproc)" >> "$LOGDIR/build.log" 2>&1 || { log "build failed"; exit 2; }
fi

log "decode attention: GPU kernel vs CPU float64 reference, GPU append vs CPU append"
"$BUILD/tests/cuda/kakeya_attention_check" --json "$OUT/attention_check.json" 2>&1 | tee "$LOGDIR/attention_check.log"
attn_rc=${PIPESTATUS[0]}

log "bit-identity check: $VECTORS vectors per main configuration"
"$BUILD/tests/cuda/kakeya_gpu_check" --vectors "$VECTORS" --json "$OUT/gpu_check.json" 2>&1 | tee "$LOGDIR/gpu_check.log"
check_rc=${PIPESTATUS[0]}

log "benchmark"
"$BUILD/kakeya_bench_gpu" --json "$OUT/gpu_bench.json" --reps 20 2>&1 | tee "$LOGDIR/gpu_bench.log"

log "decode-attention benchmark (E8 codes vs bf16 and FP8 caches)"
"$BUILD/kakeya_bench_attention" --json "$OUT/attention_bench.json" 2>&1 | tee "$LOGDIR/attention_bench.log"

if [ -d "$BUILD/python/kakeyalattice" ]; then
  log "pytest (torch CUDA interop${FULL_PYTEST:+ + CPU suite})"
  : > "$LOGDIR/pytest.log"
  if [ -n "${FULL_PYTEST:-}" ]; then
    PYTHONPATH="$BUILD/python" timeout 200 "$PY" -X faulthandler -m pytest -q -p no:cacheprovider tests/python/test_codec.py >> "$LOGDIR/pytest.log" 2>&1
    echo "pytest test_codec.py exit $?" >> "$LOGDIR/pytest.log"
  fi
  PYTHONPATH="$BUILD/python" timeout 120 "$PY" -X faulthandler -m pytest -q -p no:cacheprovider tests/python/test_torch.py >> "$LOGDIR/pytest.log" 2>&1
  echo "pytest test_torch.py exit $?" >> "$LOGDIR/pytest.log"
  grep -E "passed|failed|exit|Fatal|Error" "$LOGDIR/pytest.log" | tail -8
fi

log "summary"
grep -E "passed|failed" "$LOGDIR/attention_check.log" | tail -1
grep -E "passed|failed" "$LOGDIR/gpu_check.log" | tail -1
sed -n '/^op /,$p' "$LOGDIR/gpu_bench.log"
sed -n '/^shape /,$p' "$LOGDIR/attention_bench.log"
[ "$check_rc" -eq 0 ] && [ "$attn_rc" -eq 0 ]
