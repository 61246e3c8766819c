// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file affine.h
/// Host side of the per-channel affine pre-transform (maths: transform/affine.h):
/// `ChannelAffine` owns and validates μ, σ and the RoPE pairs and fits them on
/// calibration rows; `cpu::encode_affine` / `cpu::decode_affine` run any codec of the
/// factory over z = (x − μ_p) ⊘ σ. cos/sin: rows × nfreq float32 views, the row's RoPE
/// cos/sin per frequency (needed only when the affine has pairs; pass {} otherwise).

#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include "kakeya/codec/registry.h"
#include "kakeya/cpu/codec.h"
#include "kakeya/error.h"
#include "kakeya/transform/affine.h"
#include "kakeya/view/checks.h"
#include "kakeya/view/strided.h"

namespace kakeya {

class ChannelAffine {
 public:
  /// mean: dim finite values. scale: empty (σ = 1) or dim finite values > 0, equal within
  /// every pair. pairs: distinct channels in [0, dim), each in at most one pair, freq ≥ 0.
  explicit ChannelAffine(std::vector<float> mean, std::vector<float> scale = {},
                         std::vector<RopePair> pairs = {})
      : mean_(std::move(mean)), scale_(std::move(scale)), pairs_(std::move(pairs)) {
    const auto dim = static_cast<int64_t>(mean_.size());
    KAKEYA_CHECK(dim >= 1 && dim <= (int64_t{1} << 20), "mean has ", dim,
                 " values; expected 1..2^20 (the dim)");
    for (int64_t i = 0; i < dim; ++i)
      KAKEYA_CHECK(std::isfinite(mean_[i]), "mean[", i, "] = ", mean_[i], " is not finite");
    KAKEYA_CHECK(scale_.empty() || static_cast<int64_t>(scale_.size()) == dim, "scale has ",
                 scale_.size(), " values; expected 0 (no scale) or dim = ", dim);
    for (size_t i = 0; i < scale_.size(); ++i)
      KAKEYA_CHECK(std::isfinite(scale_[i]) && scale_[i] > 0.0f, "scale[", i, "] = ", scale_[i],
                   " must be finite and > 0");
    std::vector<uint8_t> used(static_cast<size_t>(dim), 0);
    for (size_t j = 0; j < pairs_.size(); ++j) {
      const RopePair p = pairs_[j];
      KAKEYA_CHECK(p.a >= 0 && p.a < dim && p.b >= 0 && p.b < dim && p.a != p.b, "pairs[", j,
                   "] = (", p.a, ", ", p.b, ") must be two different channels in [0, ", dim, ")");
      KAKEYA_CHECK(p.freq >= 0 && p.freq < (1 << 20), "pairs[", j, "].freq = ", p.freq,
                   " must be in [0, 2^20)");
      KAKEYA_CHECK(!used[p.a] && !used[p.b], "pairs[", j, "] = (", p.a, ", ", p.b,
                   ") reuses a channel of an earlier pair");
      used[p.a] = used[p.b] = 1;
      KAKEYA_CHECK(scale_.empty() || scale_[p.a] == scale_[p.b], "scale[", p.a, "] = ", scale_[p.a],
                   " and scale[", p.b, "] = ", scale_[p.b], " differ, but pairs[", j,
                   "] rotates them together");
      nfreq_ = p.freq + 1 > nfreq_ ? p.freq + 1 : nfreq_;
    }
  }

  /// Fits μ (and σ when with_scale) per channel on calibration rows x, in float64:
  /// μ = mean of the (un-rotated) rows, σ = their standard deviation, averaged over each
  /// rotated pair and floored at 2^-20 of the largest σ (σ = 1 for all-constant data).
  static ChannelAffine fit(StridedBatch<const float> x, bool with_scale,
                           std::vector<RopePair> pairs = {}, StridedBatch<const float> cos = {},
                           StridedBatch<const float> sin = {}) {
    KAKEYA_CHECK(x.cols >= 1, "x.cols = ", x.cols, " must be >= 1");
    KAKEYA_CHECK(x.rows >= 1, "x.rows = ", x.rows, " must be >= 1 to fit an affine transform");
    detail::check_rows("x", x, static_cast<int32_t>(x.cols));
    const auto dim = static_cast<int32_t>(x.cols);
    // validates the pairs (zero mean) and gives nfreq
    const ChannelAffine shape(std::vector<float>(static_cast<size_t>(dim), 0.0f), {}, pairs);
    shape.check_rope("cos", cos, x.rows);
    shape.check_rope("sin", sin, x.rows);
    const AffineView v = shape.view();
    std::vector<double> s1(static_cast<size_t>(dim), 0.0), s2(static_cast<size_t>(dim), 0.0);
    std::vector<float> row(static_cast<size_t>(dim));
    for (int64_t r = 0; r < x.rows; ++r) {
      const float* xr = x.row(r);
      for (int32_t i = 0; i < dim; ++i) {
        KAKEYA_CHECK(std::isfinite(xr[i]), "x[", r, ", ", i, "] = ", xr[i], " is not finite");
        row[i] = xr[i];
      }
      if (v.npairs) affine::unrotate(v, cos.row(r), sin.row(r), row.data());
      for (int32_t i = 0; i < dim; ++i) s1[i] += row[i];
    }
    std::vector<float> mean(static_cast<size_t>(dim));
    for (int32_t i = 0; i < dim; ++i)
      mean[i] = static_cast<float>(s1[i] / static_cast<double>(x.rows));
    if (!with_scale) return ChannelAffine(std::move(mean), {}, std::move(pairs));
    for (int64_t r = 0; r < x.rows; ++r) {  // second pass: spreads around the float mean
      for (int32_t i = 0; i < dim; ++i) row[i] = x.row(r)[i];
      if (v.npairs) affine::unrotate(v, cos.row(r), sin.row(r), row.data());
      for (int32_t i = 0; i < dim; ++i) {
        const double d = static_cast<double>(row[i]) - mean[i];
        s2[i] += d * d;
      }
    }
    for (const RopePair& p : pairs) s2[p.a] = s2[p.b] = 0.5 * (s2[p.a] + s2[p.b]);
    double top = 0.0;
    for (double& s : s2) {
      s = std::sqrt(s / static_cast<double>(x.rows));
      top = s > top ? s : top;
    }
    std::vector<float> scale(static_cast<size_t>(dim), 1.0f);
    if (top > 0.0)
      for (int32_t i = 0; i < dim; ++i) {
        const double s = s2[i] > top * 0x1p-20 ? s2[i] : top * 0x1p-20;
        scale[i] = static_cast<float>(s);
      }
    for (const RopePair& p : pairs) scale[p.b] = scale[p.a];  // equal after rounding too
    return ChannelAffine(std::move(mean), std::move(scale), std::move(pairs));
  }

  [[nodiscard]] int32_t dim() const noexcept { return static_cast<int32_t>(mean_.size()); }
  [[nodiscard]] int32_t nfreq() const noexcept { return nfreq_; }
  [[nodiscard]] bool has_scale() const noexcept { return !scale_.empty(); }
  [[nodiscard]] const std::vector<float>& mean() const noexcept { return mean_; }
  [[nodiscard]] const std::vector<float>& scale() const noexcept { return scale_; }
  [[nodiscard]] const std::vector<RopePair>& pairs() const noexcept { return pairs_; }
  [[nodiscard]] AffineView view() const noexcept {
    return {mean_.data(),
            scale_.empty() ? nullptr : scale_.data(),
            pairs_.empty() ? nullptr : pairs_.data(),
            dim(),
            static_cast<int32_t>(pairs_.size()),
            nfreq_};
  }

  /// cos or sin for `rows` rows: rows × nfreq when the affine rotates pairs (else ignored).
  void check_rope(const char* name, const StridedBatch<const float>& t, int64_t rows) const {
    if (pairs_.empty()) return;
    KAKEYA_CHECK(t.rows == rows, name, ".rows = ", t.rows, " does not match the rows = ", rows,
                 " (the affine rotates ", pairs_.size(),
                 " channel pairs, so every row needs its cos/sin)");
    KAKEYA_CHECK(t.cols == nfreq_, name, ".cols = ", t.cols, " does not match nfreq = ", nfreq_);
    KAKEYA_CHECK(t.rows <= 1 || t.row_stride >= t.cols, name, ".row_stride = ", t.row_stride,
                 " must be >= cols");
    KAKEYA_CHECK(t.data != nullptr, name, ".data is null");
  }

  /// z = (x − μ_p) ⊘ σ over a batch (rows of x and z: dim elements).
  template <class In>
  void forward(StridedBatch<const In> x, StridedBatch<const float> cos,
               StridedBatch<const float> sin, StridedBatch<float> z) const {
    detail::check_rows("x", x, dim());
    detail::check_rows("z", z, dim());
    KAKEYA_CHECK(z.rows == x.rows, "z.rows = ", z.rows, " does not match x.rows = ", x.rows);
    each_row(x.rows, cos, sin, [&](int64_t r, const AffineView& v, const float* mu) {
      affine::forward(v, mu, x.row(r), z.row(r));
    });
  }

  /// x̂ = ẑ ⊙ σ + μ_p over a batch.
  template <class Out>
  void inverse(StridedBatch<const float> z, StridedBatch<const float> cos,
               StridedBatch<const float> sin, StridedBatch<Out> x) const {
    detail::check_rows("z", z, dim());
    detail::check_rows("out", x, dim());
    KAKEYA_CHECK(z.rows == x.rows, "out.rows = ", x.rows, " does not match z.rows = ", z.rows);
    each_row(z.rows, cos, sin, [&](int64_t r, const AffineView& v, const float* mu) {
      const int32_t i = affine::inverse(v, mu, z.row(r), x.row(r));
      KAKEYA_CHECK(i < 0, "out[", r, ", ", i,
                   "]: z * scale + mean overflows float32 (z = ", z.row(r)[i],
                   ", scale = ", has_scale() ? scale_[i] : 1.0f, ", mean = ", mu[i], ")");
    });
  }

 private:
  /// fn(r, view, μ_r) for r < rows, μ_r the mean rotated to row r (after checking cos/sin).
  template <class Fn>
  void each_row(int64_t rows, StridedBatch<const float> cos, StridedBatch<const float> sin,
                Fn&& fn) const {
    check_rope("cos", cos, rows);
    check_rope("sin", sin, rows);
    const AffineView v = view();
    std::vector<float> mu(mean_);
    for (int64_t r = 0; r < rows; ++r) {
      if (v.npairs) {
        affine::rotated_mean(v, cos.row(r), sin.row(r), mu.data());
        for (const RopePair& p : pairs_)
          KAKEYA_CHECK(std::isfinite(mu[p.a]) && std::isfinite(mu[p.b]), "cos[", r, ", ", p.freq,
                       "] = ", cos.row(r)[p.freq], " and sin[", r, ", ", p.freq,
                       "] = ", sin.row(r)[p.freq], " rotate the mean of channels ", p.a, ", ", p.b,
                       " to a non-finite value");
      }
      fn(r, v, mu.data());
    }
  }

  std::vector<float> mean_, scale_;
  std::vector<RopePair> pairs_;
  int32_t nfreq_ = 0;
};

namespace cpu {

namespace detail {
inline constexpr int64_t kAffineChunkRows = 2048;  ///< rows per temporary z buffer
template <class T>
[[nodiscard]] StridedBatch<const T> slice(StridedBatch<const T> b, int64_t r0, int64_t n) noexcept {
  return {b.rows ? b.data + r0 * b.row_stride : b.data, n, b.cols, b.row_stride};
}

/// The RoPE checks encode_affine and decode_affine share, then fn(r0, n, cos, sin, z) per chunk
/// of at most kAffineChunkRows rows (z: n × dim floats of scratch; cos/sin: the chunk's
/// rows, or the caller's views without RoPE). A chunk's error names its rows from r0.
template <class Fn>
void affine_chunks(const CodecSpec& spec, const ChannelAffine& aff, int64_t rows,
                   StridedBatch<const float> cos, StridedBatch<const float> sin, Fn&& fn) {
  aff.check_rope("cos", cos, rows);
  aff.check_rope("sin", sin, rows);
  const bool rope = !aff.pairs().empty();
  std::vector<float> z;
  for (int64_t r0 = 0; r0 < rows; r0 += kAffineChunkRows) {
    const int64_t n = rows - r0 < kAffineChunkRows ? rows - r0 : kAffineChunkRows;
    z.resize(static_cast<size_t>(n * spec.dim));
    const auto where = [&](const char* what) {
      return ::kakeya::detail::concat("in the rows from ", r0, " on (rows below count from ", r0,
                                      "): ", what);
    };
    try {
      fn(r0, n, rope ? slice(cos, r0, n) : cos, rope ? slice(sin, r0, n) : sin, z.data());
    } catch (const CorruptCode& e) {
      if (r0 == 0) throw;
      throw CorruptCode(where(e.what()));
    } catch (const InvalidArgument& e) {
      if (r0 == 0) throw;
      throw InvalidArgument(where(e.what()), e.status());
    }
  }
}
}  // namespace detail

/// Encodes z = (x − μ_p) ⊘ σ with the codec `spec` (dims must match).
template <class In>
void encode_affine(const CodecSpec& spec, const ChannelAffine& aff, StridedBatch<const In> x,
                   StridedBatch<const float> cos, StridedBatch<const float> sin, CodeBatch codes) {
  spec.validate();
  KAKEYA_CHECK(aff.dim() == spec.dim, "affine dim = ", aff.dim(),
               " does not match the codec dim = ", spec.dim);
  ::kakeya::detail::check_rows("x", x, spec.dim);
  ::kakeya::detail::check_codes("codes", codes, x.rows, spec.code_bytes());
  detail::affine_chunks(
      spec, aff, x.rows, cos, sin,
      [&](int64_t r0, int64_t n, StridedBatch<const float> c, StridedBatch<const float> s,
          float* z) {
        aff.forward<In>(detail::slice(x, r0, n), c, s, {z, n, spec.dim, spec.dim});
        encode<float>(spec, {z, n, spec.dim, spec.dim},
                      {codes.data + r0 * codes.row_stride, n, codes.row_stride});
      });
}

/// Decodes ẑ and writes x̂ = ẑ ⊙ σ + μ_p. bad_rows: as cpu::decode.
template <class Out>
void decode_affine(const CodecSpec& spec, const ChannelAffine& aff, ConstCodeBatch codes,
                   StridedBatch<const float> cos, StridedBatch<const float> sin,
                   StridedBatch<Out> out, uint8_t* bad_rows = nullptr) {
  spec.validate();
  KAKEYA_CHECK(aff.dim() == spec.dim, "affine dim = ", aff.dim(),
               " does not match the codec dim = ", spec.dim);
  ::kakeya::detail::check_rows("out", out, spec.dim);
  ::kakeya::detail::check_codes("codes", codes, out.rows, spec.code_bytes());
  detail::affine_chunks(
      spec, aff, out.rows, cos, sin,
      [&](int64_t r0, int64_t n, StridedBatch<const float> c, StridedBatch<const float> s,
          float* z) {
        decode<float>(spec, {codes.data + r0 * codes.row_stride, n, codes.row_stride},
                      {z, n, spec.dim, spec.dim}, bad_rows ? bad_rows + r0 : nullptr);
        aff.inverse<Out>({z, n, spec.dim, spec.dim}, c, s,
                         {out.data + r0 * out.row_stride, n, out.cols, out.row_stride});
      });
}

}  // namespace cpu
}  // namespace kakeya
