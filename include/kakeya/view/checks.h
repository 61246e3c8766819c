// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file checks.h
/// Host-side validation of batch views, shared by the CPU and GPU entry points. Each
/// check throws kakeya::InvalidArgument naming the argument and the value seen.

#include <cstdint>

#include "kakeya/error.h"
#include "kakeya/view/strided.h"

namespace kakeya::detail {

/// rows × dim elements, row_stride >= dim when rows > 1, data non-null when rows > 0.
template <class T>
void check_rows(const char* name, const StridedBatch<T>& b, int32_t dim) {
  KAKEYA_CHECK(b.rows >= 0, name, ".rows = ", b.rows, " must be >= 0");
  KAKEYA_CHECK(b.cols == dim, name, ".cols = ", b.cols, " does not match the codec dim = ", dim);
  KAKEYA_CHECK(b.rows <= 1 || b.row_stride >= b.cols, name, ".row_stride = ", b.row_stride,
               " must be >= cols = ", b.cols);
  KAKEYA_CHECK(b.rows == 0 || b.data != nullptr, name, ".data is null with rows = ", b.rows);
}

/// `rows` records of code_bytes each, row_stride >= code_bytes when rows > 1.
template <class B>
void check_codes(const char* name, const CodeView<B>& c, int64_t rows, int64_t code_bytes) {
  KAKEYA_CHECK(c.rows == rows, name, ".rows = ", c.rows, " does not match x rows = ", rows);
  KAKEYA_CHECK(c.rows <= 1 || c.row_stride >= code_bytes, name, ".row_stride = ", c.row_stride,
               " bytes must be >= code_bytes = ", code_bytes);
  KAKEYA_CHECK(c.rows == 0 || c.data != nullptr, name, ".data is null with rows = ", c.rows);
}

}  // namespace kakeya::detail
