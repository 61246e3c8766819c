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

PYTHONPATH=build/python $PY -m pytest -q -p no:cacheprovider tests/python

cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKAKEYA_SANITIZE=ON \
  -DKAKEYA_ENABLE_CUDA=OFF -DKAKEYA_BUILD_PYTHON=OFF > /dev/null
cmake --build build-asan -j "$JOBS"
# Package consumers are built without sanitizer flags; they ran in the Release suite.
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j "$JOBS" -E '^package_')
