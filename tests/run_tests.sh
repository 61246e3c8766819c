#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The test command: C++ (GoogleTest + package consumers + header checks, CUDA compiled
# where nvcc exists; GPU checks skip without a device), pytest against the in-tree
# module, the whole C++ suite again under AddressSanitizer + UBSan, ruff on python/ and
# tests/, an aarch64 cross-compile of the library sources, and a short fuzzing run of
# every harness in tests/fuzz (FUZZ_SECONDS each, default 10; a harness or stage without
# its toolchain prints SKIP). Every stage runs; the
# command fails if any stage failed and names them at the end.
#   bash tests/run_tests.sh
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
JOBS=${JOBS:-2}
FUZZ_SECONDS=${FUZZ_SECONDS:-10}

failed=()
stage() {  # name, command...: runs the command, records a failure, never exits
  local name=$1
  shift
  echo "=== $name"
  "$@" || failed+=("$name")
}

release() {
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DKAKEYA_BUILD_PYTHON=ON \
    -DPython_EXECUTABLE="$(command -v "$PY")" > /dev/null &&
    cmake --build build -j "$JOBS" &&
    (cd build && ctest --output-on-failure -j "$JOBS")
}
# The CPU loops again under each lower ISA this machine runs (the default run used the
# best): codec, lattice, golden and ISA tests, forced with KAKEYA_ISA.
lower_isas() {
  local isas
  isas=$(PYTHONPATH=build/python $PY -c 'import kakeyalattice as kl; print(" ".join(kl.build_info()["isa_supported"][:-1]))') || return 1
  for isa in $isas; do
    echo "== ctest under KAKEYA_ISA=$isa"
    (cd build && KAKEYA_ISA=$isa ctest --output-on-failure -j "$JOBS" -R '^(Golden|Isa|Codec|Lattice|Baselines|CApi|Peers|E8V2Golden|E8V2Codec|E8V2Lanes)\.') || return 1
  done
}
pytests() { PYTHONPATH=build/python $PY -m pytest -q -p no:cacheprovider tests/python; }
asan() {
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKAKEYA_SANITIZE=ON \
    -DKAKEYA_ENABLE_CUDA=OFF -DKAKEYA_BUILD_PYTHON=OFF > /dev/null &&
    cmake --build build-asan -j "$JOBS" &&
    # Package consumers are built without sanitizer flags; they ran in the Release suite.
    (cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j "$JOBS" -E '^package_')
}
lint() {
  if ! $PY -m ruff --version > /dev/null 2>&1; then
    echo "ruff is not installed (pip install ruff; tests/setup.sh installs it)"
    return 1
  fi
  $PY -m ruff check python tests
}
fuzz() { KAKEYA_FUZZ_PYTHONPATH=build/python bash tests/fuzz/run.sh "$FUZZ_SECONDS"; }
# The library's sources compiled for aarch64 (the portable lane code lowers to NEON there):
# a compile check only, nothing runs. SKIP without the cross compiler (tests/setup.sh
# installs g++-aarch64-linux-gnu).
aarch64() {
  local cxx=${AARCH64_CXX:-aarch64-linux-gnu-g++}
  if ! command -v "$cxx" > /dev/null 2>&1; then
    echo "SKIP: $cxx not found"
    return 0
  fi
  local f
  for f in src/codec_cpu.cpp src/c_api.cpp; do
    "$cxx" -std=c++17 -O2 -Wall -Iinclude -c "$f" -o /dev/null || return 1
  done
  echo "aarch64: src/codec_cpu.cpp, src/c_api.cpp compiled"
}

stage "C++ (Release)" release
stage "C++ under lower ISAs" lower_isas
stage "pytest" pytests
stage "C++ (ASan + UBSan)" asan
stage "ruff" lint
stage "aarch64 compile" aarch64
stage "fuzz (${FUZZ_SECONDS} s per harness)" fuzz

if [ ${#failed[@]} -gt 0 ]; then
  printf 'FAILED stages: %s\n' "$(IFS=,; echo "${failed[*]}" | sed 's/,/, /g')"
  exit 1
fi
echo "all stages passed"
