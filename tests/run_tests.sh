#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The test command: C++ (GoogleTest + package consumers + header checks, CUDA compiled
# where nvcc exists; GPU checks skip without a device), pytest against the in-tree
# module, then the whole C++ suite again under AddressSanitizer + UBSan.
#   bash tests/run_tests.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
JOBS=${JOBS:-2}

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DKAKEYA_BUILD_PYTHON=ON \
  -DPython_EXECUTABLE="$(command -v "$PY")" > /dev/null
cmake --build build -j "$JOBS"
(cd build && ctest --output-on-failure -j "$JOBS")
# The CPU loops again under each lower ISA this machine runs (the default run used the
# best): codec, lattice, golden and ISA tests, forced with KAKEYA_ISA.
ISAS=$(PYTHONPATH=build/python $PY -c 'import kakeyalattice as kl; print(" ".join(kl.build_info()["isa_supported"][:-1]))')
for isa in $ISAS; do
  echo "== ctest under KAKEYA_ISA=$isa"
  (cd build && KAKEYA_ISA=$isa ctest --output-on-failure -j "$JOBS" -R '^(Golden|Isa|Codec|Lattice|Baselines|CApi)\.')
done

PYTHONPATH=build/python $PY -m pytest -q -p no:cacheprovider tests/python

cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKAKEYA_SANITIZE=ON \
  -DKAKEYA_ENABLE_CUDA=OFF -DKAKEYA_BUILD_PYTHON=OFF > /dev/null
cmake --build build-asan -j "$JOBS"
# Package consumers are built without sanitizer flags; they ran in the Release suite.
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j "$JOBS" -E '^package_')
