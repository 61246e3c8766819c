#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Fuzzing: builds the libFuzzer harnesses of tests/fuzz (clang, ASan + UBSan) in
# build-fuzz/ and runs each for SECONDS (default 10), starting from its committed corpus
# tests/fuzz/corpus/<harness>/; new inputs go to build-fuzz/corpus/<harness>/. Exits
# non-zero when any harness reports a finding (its log and crash input are under
# build-fuzz/logs/ and build-fuzz/artifacts/<harness>/). A harness whose toolchain is
# missing (clang with libFuzzer; atheris for the Python one) is skipped with a SKIP line.
#
#   bash tests/fuzz/run.sh [SECONDS]
#
# Environment: CLANGXX (clang++ to use), JOBS (build parallelism, default 2),
# FUZZ_HARNESSES (subset, e.g. "fuzz_decode fuzz_c_api"), FUZZ_ARGS (extra libFuzzer
# flags), KAKEYA_FUZZ_PYTHONPATH (a directory with an importable kakeyalattice and its
# _core module, e.g. build/python; by default the module is built in build-fuzz/pymodule).
set -euo pipefail
cd "$(dirname "$0")/../.."
SECS=${1:-10}
JOBS=${JOBS:-2}
PY=${PYTHON:-python3}
OUT=build-fuzz
HARNESSES=${FUZZ_HARNESSES:-"fuzz_decode fuzz_c_api fuzz_spec fuzz_safetensors"}
read -r -a EXTRA <<< "${FUZZ_ARGS:-}"
mkdir -p "$OUT/logs"

# --- toolchains
cxx=${CLANGXX:-}
[ -n "$cxx" ] && cxx=$(command -v "$cxx" || echo "$cxx")
if [ -z "$cxx" ]; then
  for c in clang++ clang++-18 clang++-17 clang++-16 clang++-15 clang++-14; do
    if command -v "$c" > /dev/null; then cxx=$(command -v "$c"); break; fi
  done
fi
have_libfuzzer=0
if [ -n "$cxx" ]; then
  probe="$OUT/probe"
  mkdir -p "$probe"
  printf '#include <stddef.h>\n#include <stdint.h>\nextern "C" int LLVMFuzzerTestOneInput(const uint8_t*, size_t) { return 0; }\n' \
    > "$probe/probe.cpp"
  if "$cxx" -fsanitize=fuzzer,address,undefined "$probe/probe.cpp" -o "$probe/probe" 2> "$probe/log"; then
    have_libfuzzer=1
  fi
fi
have_atheris=0
$PY -c "import atheris" 2> /dev/null && have_atheris=1

wants() { [[ " $HARNESSES " == *" $1 "* ]]; }

cxx_needed=0
for h in fuzz_decode fuzz_c_api fuzz_spec; do wants "$h" && cxx_needed=1; done
if [ "$cxx_needed" = 1 ] && [ "$have_libfuzzer" = 1 ]; then
  cmake -S tests/fuzz -B "$OUT" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_COMPILER="$cxx" > "$OUT/logs/configure.log"
  cmake --build "$OUT" -j "$JOBS" > "$OUT/logs/build.log" || { cat "$OUT/logs/build.log"; exit 1; }
fi
pypath=${KAKEYA_FUZZ_PYTHONPATH:-}
if wants fuzz_safetensors && [ "$have_atheris" = 1 ] && [ -z "$pypath" ]; then
  cmake -S . -B "$OUT/pymodule" -G Ninja -DCMAKE_BUILD_TYPE=Release -DKAKEYA_BUILD_PYTHON=ON \
    -DKAKEYA_BUILD_TESTS=OFF -DKAKEYA_INSTALL=OFF -DKAKEYA_ENABLE_CUDA=OFF \
    -DPython_EXECUTABLE="$(command -v "$PY")" > "$OUT/logs/configure-pymodule.log"
  cmake --build "$OUT/pymodule" -j "$JOBS" --target _core > "$OUT/logs/build-pymodule.log" ||
    { cat "$OUT/logs/build-pymodule.log"; exit 1; }
  pypath=$OUT/pymodule/python
fi

# --- runs
failed=()
run_one() {  # name, command...
  local h=$1
  shift
  mkdir -p "$OUT/corpus/$h" "$OUT/artifacts/$h"
  local log="$OUT/logs/$h.log"
  local rc=0
  "$@" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$OUT/artifacts/$h/" ${EXTRA[@]+"${EXTRA[@]}"} \
    "$OUT/corpus/$h" "tests/fuzz/corpus/$h" > "$log" 2>&1 || rc=$?
  local execs
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  if [ "$rc" = 0 ]; then
    echo "$h: ${execs:-?} executions in ${SECS} s, no finding"
  else
    echo "$h: FINDING (exit $rc) after ${execs:-?} executions; log $log"
    grep -E "finding:|ERROR:|runtime error|Uncaught Python exception|Error:|Exception|Test unit written" \
      "$log" | head -12 | sed 's/^/    /'
    failed+=("$h")
  fi
}

for h in fuzz_decode fuzz_c_api fuzz_spec; do
  wants "$h" || continue
  if [ "$have_libfuzzer" = 1 ]; then
    max_len=()
    [ "$h" = fuzz_decode ] && max_len=(-max_len=4800)  # 4 rows of the largest record
    run_one "$h" "$OUT/$h" ${max_len[@]+"${max_len[@]}"}
  else
    echo "SKIP: $h: no clang++ with libFuzzer (-fsanitize=fuzzer) found; install clang"
  fi
done
if wants fuzz_safetensors; then
  if [ "$have_atheris" = 1 ]; then
    PYTHONPATH="$pypath${PYTHONPATH:+:$PYTHONPATH}" run_one fuzz_safetensors \
      "$PY" tests/fuzz/fuzz_safetensors.py
  else
    echo "SKIP: fuzz_safetensors: the Python package atheris is not installed (pip install atheris)"
  fi
fi

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzzing: findings in ${failed[*]}"
  exit 1
fi
