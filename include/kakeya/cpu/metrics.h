// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file metrics.h
/// Reconstruction error of x̂ against x, both rows × dim, accumulated in float64.
///   rel_mse      = Σ‖x − x̂‖² / Σ‖x − mean(x)‖²  (mean over rows, per coordinate;
///                  DESIGN.md §3). Needs >= 2 rows with some spread.
///   mean_cosine  = mean over rows of ⟨x, x̂⟩ / (‖x‖ ‖x̂‖); a row with both vectors zero
///                  counts 1, with exactly one zero counts 0.
///   max_abs_error = max |x − x̂| over all entries.
/// Per-vector variants: ‖x − x̂‖² / ‖x‖² (0 when both are zero, inf never: a zero x with
/// nonzero x̂ is reported through `abs_sq_error`) and the row cosine.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "kakeya/error.h"
#include "kakeya/numeric/formats.h"
#include "kakeya/view/strided.h"

namespace kakeya::cpu {

struct ErrorStats {
  int64_t rows = 0;
  int64_t dim = 0;
  double sq_error = 0;         ///< Σ‖x − x̂‖²
  double centered_energy = 0;  ///< Σ‖x − mean(x)‖²
  double energy = 0;           ///< Σ‖x‖²
  double rel_mse = 0;          ///< sq_error / centered_energy
  double mean_cosine = 0;
  double max_abs_error = 0;
};

namespace detail {
template <class A, class B>
void check_pair(const StridedBatch<const A>& x, const StridedBatch<const B>& xh) {
  KAKEYA_CHECK(x.rows >= 0 && x.cols > 0, "x shape (", x.rows, ", ", x.cols, ") is not valid");
  KAKEYA_CHECK(xh.rows == x.rows && xh.cols == x.cols, "x_hat shape (", xh.rows, ", ", xh.cols,
               ") does not match x shape (", x.rows, ", ", x.cols, ")");
  KAKEYA_CHECK(x.rows <= 1 || (x.row_stride >= x.cols && xh.row_stride >= xh.cols),
               "row strides (", x.row_stride, ", ", xh.row_stride, ") must be >= dim = ", x.cols);
}

/// Row cosine with the library's conventions: both zero -> 1, exactly one zero -> 0.
[[nodiscard]] inline double row_cosine(double dot, double nx, double nh) noexcept {
  return (nx == 0 && nh == 0) ? 1.0 : (nx == 0 || nh == 0) ? 0.0 : dot / std::sqrt(nx * nh);
}

template <class T>
[[nodiscard]] inline double at(const StridedBatch<const T>& b, int64_t r, int64_t c) noexcept {
  return static_cast<double>(element<T>::to_float(b.row(r)[c]));
}
}  // namespace detail

/// Every aggregate metric in one pass over the data (plus one for the mean).
template <class A, class B>
[[nodiscard]] ErrorStats compare(StridedBatch<const A> x, StridedBatch<const B> xh) {
  detail::check_pair(x, xh);
  ErrorStats s;
  s.rows = x.rows;
  s.dim = x.cols;
  if (x.rows == 0) return s;
  std::vector<double> mean(static_cast<size_t>(x.cols), 0.0);
  for (int64_t r = 0; r < x.rows; ++r)
    for (int64_t c = 0; c < x.cols; ++c) mean[static_cast<size_t>(c)] += detail::at(x, r, c);
  for (double& m : mean) m /= static_cast<double>(x.rows);
  double cos_sum = 0;
  for (int64_t r = 0; r < x.rows; ++r) {
    double dot = 0, nx = 0, nh = 0;
    for (int64_t c = 0; c < x.cols; ++c) {
      const double a = detail::at(x, r, c), b = detail::at(xh, r, c);
      KAKEYA_CHECK(std::isfinite(a), "x[", r, ", ", c, "] = ", a, " is not finite");
      KAKEYA_CHECK(std::isfinite(b), "x_hat[", r, ", ", c, "] = ", b, " is not finite");
      const double d = a - b, m = a - mean[static_cast<size_t>(c)];
      s.sq_error += d * d;
      s.centered_energy += m * m;
      s.energy += a * a;
      s.max_abs_error = std::max(s.max_abs_error, std::abs(d));
      dot += a * b;
      nx += a * a;
      nh += b * b;
    }
    cos_sum += detail::row_cosine(dot, nx, nh);
  }
  s.mean_cosine = cos_sum / static_cast<double>(x.rows);
  s.rel_mse = s.centered_energy > 0 ? s.sq_error / s.centered_energy : 0.0;
  return s;
}

/// rel-MSE as DESIGN.md §3 defines it. Throws when Σ‖x − mean‖² is zero (one row, or
/// identical rows): the ratio is undefined there.
template <class A, class B>
[[nodiscard]] double rel_mse(StridedBatch<const A> x, StridedBatch<const B> xh) {
  const ErrorStats s = compare(x, xh);
  KAKEYA_CHECK(s.centered_energy > 0, "rel_mse: x (rows = ", x.rows,
               ") has zero spread around its mean, so rel-MSE is undefined; "
               "use per_vector_error or more rows");
  return s.rel_mse;
}

/// Per row: rel_err[r] = ‖x_r − x̂_r‖² / ‖x_r‖² (0 when x_r = 0 and x̂_r = 0; +inf is
/// never returned: a zero x_r with nonzero x̂_r gives abs_sq_err only), cosine[r].
/// Any output pointer may be null.
template <class A, class B>
void per_vector_error(StridedBatch<const A> x, StridedBatch<const B> xh, double* rel_err,
                      double* cosine, double* abs_sq_err) {
  detail::check_pair(x, xh);
  for (int64_t r = 0; r < x.rows; ++r) {
    double dot = 0, nx = 0, nh = 0, se = 0;
    for (int64_t c = 0; c < x.cols; ++c) {
      const double a = detail::at(x, r, c), b = detail::at(xh, r, c);
      se += (a - b) * (a - b);
      dot += a * b;
      nx += a * a;
      nh += b * b;
    }
    if (rel_err) rel_err[r] = nx > 0 ? se / nx : 0.0;
    if (cosine) cosine[r] = detail::row_cosine(dot, nx, nh);
    if (abs_sq_err) abs_sq_err[r] = se;
  }
}

}  // namespace kakeya::cpu
