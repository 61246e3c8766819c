#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Formatting check of the C++ and CUDA sources against .clang-format (Google, 100
# columns): lists every tracked file clang-format would change and exits non-zero if
# there is one. Fix with: clang-format -i FILE...
#   bash tests/format_check.sh            (CLANG_FORMAT=clang-format-14 to pick a binary)
set -euo pipefail
cd "$(dirname "$0")/.."
CF=${CLANG_FORMAT:-clang-format}
if ! command -v "$CF" > /dev/null; then
  echo "format_check: $CF not found (apt-get install clang-format)" >&2
  exit 2
fi
mapfile -t files < <(git ls-files '*.h' '*.hpp' '*.cpp' '*.cc' '*.cu' '*.cuh')
bad=()
for f in "${files[@]}"; do
  "$CF" --dry-run --Werror "$f" > /dev/null 2>&1 || bad+=("$f")
done
if [ ${#bad[@]} -gt 0 ]; then
  printf '%s\n' "${bad[@]}"
  echo "format_check: ${#bad[@]} of ${#files[@]} files are not formatted ($($CF --version))"
  exit 1
fi
echo "format_check: ${#files[@]} files formatted"
