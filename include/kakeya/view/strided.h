// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file strided.h
/// Non-owning, trivially copyable views of row batches, passable to kernels.

#include <cstdint>

#include "kakeya/config.h"

namespace kakeya {

/// rows × cols elements; row i starts at data + i·row_stride (stride in elements,
/// row_stride >= cols when rows > 1); columns are contiguous.
template <class T>
struct StridedBatch {
  T* data;
  int64_t rows;
  int64_t cols;
  int64_t row_stride;
  [[nodiscard]] KAKEYA_HD T* row(int64_t i) const noexcept { return data + i * row_stride; }
};

/// rows code records of `record_bytes` each; row i at data + i·row_stride bytes.
template <class Byte>
struct CodeView {
  Byte* data;
  int64_t rows;
  int64_t row_stride;  ///< bytes, >= the codec's code_bytes
  [[nodiscard]] KAKEYA_HD Byte* row(int64_t i) const noexcept { return data + i * row_stride; }
};
using CodeBatch = CodeView<uint8_t>;
using ConstCodeBatch = CodeView<const uint8_t>;

/// Contiguous helpers.
template <class T>
[[nodiscard]] StridedBatch<T> contiguous(T* data, int64_t rows, int64_t cols) noexcept {
  return {data, rows, cols, cols};
}

}  // namespace kakeya
