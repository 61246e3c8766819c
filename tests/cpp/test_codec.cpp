// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>
#include <limits>
#include <random>

#include "test_util.h"

using namespace kakeya;

TEST(Spec, BitTableMatchesDesign) {
  struct Row {
    int q, b128, b512;
  };
  for (const Row r : {Row{1, 208, 784}, Row{2, 304, 1168}, Row{4, 416, 1616}, Row{10, 576, 2256},
                      Row{38, 832, 3280}, Row{44, 848, 3344}, Row{76, 960, 3792}}) {
    EXPECT_EQ(CodecSpec::make_lattice(LatticeKind::kE8, 128, r.q).bits_per_vector(), r.b128) << r.q;
    EXPECT_EQ(CodecSpec::make_lattice(LatticeKind::kE8, 512, r.q).bits_per_vector(), r.b512) << r.q;
  }
  EXPECT_EQ(CodecSpec::make_fp8_per64(512).bits_per_vector(), 4224);
  // FlashMLA "MODEL1": 448 E4M3 + 7 UE8M0 scale bytes + 1 pad byte + 64 bf16 = 584 B.
  EXPECT_EQ(CodecSpec::make_v4_native(512).bits_per_vector(), 448 * 8 + 7 * 8 + 8 + 64 * 16);
  EXPECT_EQ(CodecSpec::make_v4_native(512).code_bytes(), 584);
  EXPECT_EQ(CodecSpec::make_v41_mxfp8(512).code_bytes(), 528);
  EXPECT_EQ(CodecSpec::make_bf16(512).bits_per_vector(), 8192);
  EXPECT_EQ(CodecSpec::make_lattice(LatticeKind::kE8, 128, 38, ScaleFormat::kNormQmax).bits_per_vector(), 848);
  EXPECT_EQ(CodecSpec::make_lattice(LatticeKind::kE8, 128, 1).code_bytes(), 26);
}

TEST(Spec, InvalidParametersNameTheArgument) {
  auto expect_msg = [](const CodecSpec& s, const char* needle) {
    try {
      s.validate();
      FAIL() << "no exception for " << needle;
    } catch (const InvalidArgument& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_msg(CodecSpec::make_lattice(LatticeKind::kE8, 100, 4), "dim = 100");
  expect_msg(CodecSpec::make_lattice(LatticeKind::kE8, 128, 0), "q = 0");
  expect_msg(CodecSpec::make_lattice(LatticeKind::kE8, 128, 128), "q = 128");
  expect_msg(CodecSpec::make_lattice(LatticeKind::kE8, 0, 4), "dim = 0");
  expect_msg(CodecSpec::make_fp8_per64(96), "dim = 96");
  expect_msg(CodecSpec::make_v4_native(512, 65), "dim - rope_dims = 447");
  CodecSpec bad = CodecSpec::make_lattice(LatticeKind::kE8, 128, 4);
  bad.scale = static_cast<ScaleFormat>(9);
  expect_msg(bad, "scale = 9");
  EXPECT_THROW((void)parse_codec("e9", 128, 4, "bf16"), InvalidArgument);
  EXPECT_THROW((void)parse_codec("e8", 128, 4, "fp32"), InvalidArgument);
}

class QualityTable : public ::testing::TestWithParam<std::tuple<int, int, double>> {};

// DESIGN.md §3: 20 000 iid N(0,1) vectors, E8, bf16 scale, rel-MSE within ±2%.
TEST_P(QualityTable, GaussianRelMseMatchesDesign) {
  const auto [dim, q, expected] = GetParam();
  const int64_t rows = 20000;
  const auto x = kt::gaussian(rows, dim, 1234 + dim + q);
  const auto spec = CodecSpec::make_lattice(LatticeKind::kE8, dim, q);
  const auto r = kt::roundtrip(spec, x, rows);
  const double rel = kt::rel_mse(x, r.xhat, rows, dim);
  EXPECT_NEAR(rel / expected, 1.0, 0.02) << "dim " << dim << " q " << q << " rel-MSE " << rel;
}
INSTANTIATE_TEST_SUITE_P(Design, QualityTable,
                         ::testing::Values(std::make_tuple(512, 4, 0.0479), std::make_tuple(512, 10, 0.00767),
                                           std::make_tuple(512, 38, 0.000531), std::make_tuple(512, 76, 0.000133),
                                           std::make_tuple(128, 4, 0.0366), std::make_tuple(128, 10, 0.00586),
                                           std::make_tuple(128, 38, 0.000406)));

class Dims : public ::testing::TestWithParam<int> {};

TEST_P(Dims, RoundTripAllLatticesAndScales) {
  const int dim = GetParam();
  const int64_t rows = 64;
  const auto x = kt::gaussian(rows, dim, 77 + dim);
  for (auto lat : {LatticeKind::kE8, LatticeKind::kD4, LatticeKind::kZ8}) {
    for (auto sc : {ScaleFormat::kBF16, ScaleFormat::kFP16, ScaleFormat::kNormQmax}) {
      for (int q : {1, 4, 38, 127}) {
        const auto spec = CodecSpec::make_lattice(lat, dim, q, sc);
        const auto r = kt::roundtrip(spec, x, rows);
        const double rel = kt::rel_mse(x, r.xhat, rows, dim);
        // Coarse sanity bound: the step is ~ max|y|/q and max|y| < 5 sigma here.
        const double bound = 4.0 / (q * q) + 1e-6;
        EXPECT_LT(rel, bound) << spec.name();
        // Decoding is deterministic and re-encoding the input gives the same bytes.
        const auto r2 = kt::roundtrip(spec, x, rows);
        EXPECT_EQ(r.codes, r2.codes);
      }
    }
  }
}
INSTANTIATE_TEST_SUITE_P(All, Dims, ::testing::Values(8, 16, 64, 96, 128, 192, 256, 512, 576));

TEST(Codec, ErrorShrinksWithQ) {
  const int64_t rows = 500;
  const auto x = kt::gaussian(rows, 128, 5);
  double prev = 1e9;
  for (int q = 1; q <= 127; q += 7) {
    const auto r = kt::roundtrip(CodecSpec::make_lattice(LatticeKind::kE8, 128, q), x, rows);
    const double rel = kt::rel_mse(x, r.xhat, rows, 128);
    EXPECT_LT(rel, prev) << q;
    prev = rel;
  }
}

TEST(Codec, E8BeatsD4BeatsZAtSimilarRate) {
  const int64_t rows = 4000;
  const auto x = kt::gaussian(rows, 128, 9);
  const auto e8 = kt::roundtrip(CodecSpec::make_lattice(LatticeKind::kE8, 128, 10), x, rows);
  const auto z = kt::roundtrip(CodecSpec::make_lattice(LatticeKind::kZ8, 128, 10), x, rows);
  // Z8 at the same Q spends more bits (ranked (2Q+1)^8 vs ~half) and still loses.
  EXPECT_LT(kt::rel_mse(x, e8.xhat, rows, 128), kt::rel_mse(x, z.xhat, rows, 128));
}

TEST(Codec, AdversarialVectors) {
  const int dim = 128;
  for (auto sc : {ScaleFormat::kBF16, ScaleFormat::kFP16, ScaleFormat::kNormQmax}) {
    const auto spec = CodecSpec::make_lattice(LatticeKind::kE8, dim, 38, sc);
    std::vector<float> x(8 * dim, 0.f);
    for (int i = 0; i < dim; ++i) {
      x[dim + i] = -0.f;                               // -0
      x[2 * dim + i] = (i == 17) ? 100.f : 0.f;        // one spike
      x[3 * dim + i] = 0.5f;                           // all equal: ties after rotation
      x[4 * dim + i] = (i % 2) ? -1.f : 1.f;
      x[5 * dim + i] = 1e-20f * ((i * 7) % 13 - 6);    // tiny
      x[6 * dim + i] = sc == ScaleFormat::kBF16 ? 1e30f * ((i % 3) - 1) : 100.f * ((i % 3) - 1);
      x[7 * dim + i] = std::ldexp(1.f, -140) * (i % 2);  // float32 subnormal
    }
    const auto r = kt::roundtrip(spec, x, 8);
    for (int i = 0; i < dim; ++i) {
      EXPECT_EQ(r.xhat[i], 0.f);
      EXPECT_FALSE(std::signbit(r.xhat[i]));
      EXPECT_EQ(r.xhat[dim + i], 0.f);
    }
    for (int row = 0; row < 8; ++row) {
      double e = 0, n = 0;
      for (int i = 0; i < dim; ++i) {
        const double a = x[row * dim + i], b = r.xhat[row * dim + i];
        ASSERT_TRUE(std::isfinite(b));
        e += (a - b) * (a - b);
        n += a * a;
      }
      // Structured rows concentrate after rotation, so the bound is looser than the
      // Gaussian figures. Rows 5 (1e-20) and 7 (float32 subnormals) have scales below
      // the 16-bit formats' normal range: only an absolute bound holds there (README).
      if (n > 0 && row < 5) { EXPECT_LT(e / n, 1e-2) << "row " << row << " scale " << to_string(sc); }
      if (row == 6) { EXPECT_LT(e / n, 1e-2) << "row 6 scale " << to_string(sc); }
      if (row == 5 && sc == ScaleFormat::kBF16) { EXPECT_LT(e / n, 1e-2); }
      if (row == 7 && sc == ScaleFormat::kBF16) { EXPECT_LE(std::sqrt(e / dim), 38 * std::ldexp(1.0, -133)); }
    }
    // All-zero record for the zero vector.
    for (int64_t b = 0; b < spec.code_bytes(); ++b) EXPECT_EQ(r.codes[b], 0);
  }
}

TEST(Codec, Fp16ScalePrecisionForTinyVectorsIsDocumented) {
  // fp16 scales go subnormal below 2^-14·Q: the step is then at least 2^-24, so the
  // absolute error per coordinate stays below 2^-24 · q (the box half-width in steps).
  const auto spec = CodecSpec::make_lattice(LatticeKind::kE8, 64, 10, ScaleFormat::kFP16);
  const auto x = kt::gaussian(16, 64, 3, 1e-6f);
  const auto r = kt::roundtrip(spec, x, 16);
  for (size_t i = 0; i < x.size(); ++i) EXPECT_LE(std::fabs(x[i] - r.xhat[i]), 10 * std::ldexp(1.f, -24));
}

TEST(Codec, NonFiniteInputThrowsNamingRowAndColumn) {
  const auto spec = CodecSpec::make_lattice(LatticeKind::kE8, 64, 4);
  for (float bad : {std::nanf(""), std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity()}) {
    auto x = kt::gaussian(600, 64, 1);
    x[517 * 64 + 9] = bad;
    std::vector<uint8_t> codes(600 * spec.code_bytes());
    try {
      cpu::encode<float>(spec, contiguous<const float>(x.data(), 600, 64), {codes.data(), 600, spec.code_bytes()});
      FAIL();
    } catch (const InvalidArgument& e) {
      EXPECT_EQ(e.status(), Status::kInvalidInput);
      EXPECT_NE(std::string(e.what()).find("x[517, 9]"), std::string::npos) << e.what();
    }
  }
  for (auto kind : {CodecSpec::make_fp8_per64(64), CodecSpec::make_bf16(64), CodecSpec::make_v4_native(128)}) {
    auto x = kt::gaussian(4, kind.dim, 1);
    x[kind.dim + 3] = std::nanf("");
    std::vector<uint8_t> codes(4 * kind.code_bytes());
    EXPECT_THROW(cpu::encode<float>(kind, contiguous<const float>(x.data(), 4, kind.dim), {codes.data(), 4, kind.code_bytes()}),
                 InvalidArgument);
  }
}

TEST(Codec, ScaleOutOfRangeThrows) {
  const auto spec = CodecSpec::make_lattice(LatticeKind::kE8, 64, 1, ScaleFormat::kFP16);
  std::vector<float> x(64, 1e6f);
  std::vector<uint8_t> codes(spec.code_bytes());
  try {
    cpu::encode<float>(spec, contiguous<const float>(x.data(), 1, 64), {codes.data(), 1, spec.code_bytes()});
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("fp16"), std::string::npos) << e.what();
  }
  // bf16 holds it; the largest floats overflow the rotation and are reported.
  const auto sb = CodecSpec::make_lattice(LatticeKind::kE8, 64, 1);
  EXPECT_NO_THROW(cpu::encode<float>(sb, contiguous<const float>(x.data(), 1, 64), {codes.data(), 1, sb.code_bytes()}));
  std::vector<float> big(64, 3e38f);
  EXPECT_THROW(cpu::encode<float>(sb, contiguous<const float>(big.data(), 1, 64), {codes.data(), 1, sb.code_bytes()}),
               InvalidArgument);
}

TEST(Codec, ShapeAndStrideErrors) {
  const auto spec = CodecSpec::make_lattice(LatticeKind::kE8, 64, 4);
  std::vector<float> x(64 * 4);
  std::vector<uint8_t> codes(4 * spec.code_bytes());
  EXPECT_THROW(cpu::encode<float>(spec, {x.data(), 4, 32, 32}, {codes.data(), 4, spec.code_bytes()}), InvalidArgument);
  EXPECT_THROW(cpu::encode<float>(spec, {x.data(), 4, 64, 60}, {codes.data(), 4, spec.code_bytes()}), InvalidArgument);
  EXPECT_THROW(cpu::encode<float>(spec, {x.data(), 4, 64, 64}, {codes.data(), 3, spec.code_bytes()}), InvalidArgument);
  EXPECT_THROW(cpu::encode<float>(spec, {x.data(), 4, 64, 64}, {codes.data(), 4, spec.code_bytes() - 1}), InvalidArgument);
  EXPECT_THROW(cpu::encode<float>(spec, {nullptr, 4, 64, 64}, {codes.data(), 4, spec.code_bytes()}), InvalidArgument);
  // zero rows is fine
  EXPECT_NO_THROW(cpu::encode<float>(spec, {nullptr, 0, 64, 64}, {nullptr, 0, spec.code_bytes()}));
}

// Block j's index re-derived from the decoded vector xhat with the record's stored scale
// (the encoder's steps: rotate, divide by s, nearest point, rank); -1 when every block
// reproduces the record, else the first block that does not.
template <class L>
int32_t first_requantize_mismatch(const LatticeLayout& lay, const uint8_t* rec, const float* xhat) {
  constexpr int n = lattice_traits<L>::kDim;
  float s = 0.f;
  if (scale_from_header(lay.scale, format::read_header(lay, rec), lay.q, &s) != Status::kOk) return 0;
  std::vector<float> y(xhat, xhat + lay.dim);
  hadamard_rotate(y.data(), lay.dim);
  for (int32_t j = 0; j < lay.nblocks; ++j) {
    const uint64_t idx = format::read_bits(rec, format::block_bit_offset(lay, j), lay.bits_per_block);
    if (quantize_block<L>(y.data() + j * n, s, lay.q) != idx) return j;
  }
  return -1;
}

int32_t first_requantize_mismatch(const CodecSpec& spec, const uint8_t* rec, const float* xhat) {
  const LatticeLayout lay = spec.layout();
  switch (spec.lattice) {
    case LatticeKind::kE8: return first_requantize_mismatch<E8>(lay, rec, xhat);
    case LatticeKind::kD4: return first_requantize_mismatch<D4>(lay, rec, xhat);
    case LatticeKind::kZ8: return first_requantize_mismatch<Z8>(lay, rec, xhat);
  }
  return 0;
}

// Random bytes (include/kakeya/cpu/codec.h): each record either decodes to finite values
// or is reported as corrupt (InvalidArgument, status kCorruptCode, naming the row); a
// batch fails exactly when one of its rows does and names the first. A random record
// that decodes is a valid record and re-encodes to itself: the bf16 codec byte for byte,
// lattice codecs with the stored scale (scales in [2^-60, 2^60], where the decoded
// vector neither underflows nor overflows). Small dims and fitting Q make valid lattice
// records common (a record is valid only if every block index is in range).
void check_random_records(const CodecSpec& spec, std::mt19937& g) {
  SCOPED_TRACE(spec.name());
  const int64_t rows = 64, cb = spec.code_bytes();
  int64_t valid = 0, corrupt = 0, requantized = 0;
  for (int trial = 0; trial < 40; ++trial) {
    std::vector<uint8_t> codes(static_cast<size_t>(rows * cb));
    for (auto& b : codes) b = static_cast<uint8_t>(g());
    std::vector<float> out(static_cast<size_t>(spec.dim));
    int64_t first_bad = -1;
    for (int64_t r = 0; r < rows; ++r) {
      const uint8_t* rec = &codes[static_cast<size_t>(r * cb)];
      try {
        cpu::decode<float>(spec, {rec, 1, cb}, contiguous(out.data(), 1, spec.dim));
      } catch (const InvalidArgument& e) {
        ASSERT_EQ(e.status(), Status::kCorruptCode) << e.what();
        ASSERT_NE(std::string(e.what()).find("codes row 0"), std::string::npos) << e.what();
        if (first_bad < 0) first_bad = r;
        ++corrupt;
        continue;
      }
      ++valid;
      for (int32_t c = 0; c < spec.dim; ++c)
        ASSERT_TRUE(std::isfinite(out[static_cast<size_t>(c)])) << "row " << r << " value " << c << " = " << out[c];
      if (spec.kind == CodecKind::kBF16) {
        std::vector<uint8_t> again(static_cast<size_t>(cb));
        cpu::encode<float>(spec, contiguous<const float>(out.data(), 1, spec.dim), {again.data(), 1, cb});
        ASSERT_EQ(std::memcmp(again.data(), rec, static_cast<size_t>(cb)), 0) << "row " << r;
      } else if (spec.kind == CodecKind::kLattice) {
        const LatticeLayout lay = spec.layout();
        float s = 0.f;
        ASSERT_EQ(scale_from_header(lay.scale, format::read_header(lay, rec), lay.q, &s), Status::kOk);
        if (s >= std::ldexp(1.f, -60) && s <= std::ldexp(1.f, 60)) {
          ASSERT_EQ(first_requantize_mismatch(spec, rec, out.data()), -1) << "row " << r;
          ++requantized;
        }
      }
    }
    std::vector<float> batch(static_cast<size_t>(rows * spec.dim));
    try {
      cpu::decode<float>(spec, {codes.data(), rows, cb}, contiguous(batch.data(), rows, spec.dim));
      ASSERT_EQ(first_bad, -1) << "the batch decoded although row " << first_bad << " is corrupt";
    } catch (const InvalidArgument& e) {
      ASSERT_GE(first_bad, 0) << "the batch failed although every row decodes: " << e.what();
      const std::string want = "codes row " + std::to_string(first_bad) + " ";
      ASSERT_NE(std::string(e.what()).find(want), std::string::npos) << e.what();
    }
  }
  // Both outcomes occur, so both branches above were exercised.
  EXPECT_GT(valid, 0);
  // bf16 and e8v2 have no invalid records: every bit pattern is a value / a codeword
  // (e8v2's Voronoi indices fill their fields; scale byte 0 is the zero vector).
  if (spec.kind != CodecKind::kBF16 && spec.kind != CodecKind::kE8V2) {
    EXPECT_GT(corrupt, 0);
  }
  if (spec.kind == CodecKind::kLattice) {
    EXPECT_GT(requantized, 0);
  }
}

// Every family of the factory at its default parameters (dims where valid records are
// common), plus lattice scale formats and extreme Q.
std::vector<CodecSpec> random_record_specs() {
  std::vector<CodecSpec> specs = {CodecSpec::make_lattice(LatticeKind::kE8, 8, 1),
                                  CodecSpec::make_lattice(LatticeKind::kE8, 16, 38),
                                  CodecSpec::make_lattice(LatticeKind::kE8, 16, 127, ScaleFormat::kFP16),
                                  CodecSpec::make_lattice(LatticeKind::kD4, 16, 3, ScaleFormat::kNormQmax),
                                  CodecSpec::make_lattice(LatticeKind::kZ8, 64, 5, ScaleFormat::kFP16),
                                  CodecSpec::make_lattice(LatticeKind::kZ8, 8, 127)};
  for (const auto& fam : codec_families()) {
    if (fam.kind == CodecKind::kLattice) continue;
    CodecParams p;
    if (fam.kind == CodecKind::kNVFP4) p = {{"tensor_scale", "0.01"}};
    specs.push_back(make_codec(fam.name, fam.kind == CodecKind::kV4Native ? 128 : 64, p));
  }
  return specs;
}

TEST(Codec, RandomBytesDecodeToFiniteValuesOrTheDocumentedError) {
  std::mt19937 g(99);
  for (const auto& spec : random_record_specs()) check_random_records(spec, g);
}

TEST(Codec, OutOfRangeBlockIndexIsNamed) {
  const auto spec = CodecSpec::make_lattice(LatticeKind::kE8, 64, 1);
  std::vector<uint8_t> rec(spec.code_bytes(), 0);
  rec[0] = 0x80;  // bf16 scale 1.0 = 0x3f80
  rec[1] = 0x3f;
  rec[2] = 0xff;  // block 0 index = 0xfff = 4095 >= 3409
  rec[3] = 0x0f;
  std::vector<float> out(64);
  try {
    cpu::decode<float>(spec, {rec.data(), 1, spec.code_bytes()}, contiguous(out.data(), 1, 64));
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("block 0 index 4095"), std::string::npos) << e.what();
  }
}

// encode(decode(c)) == c for every row (DESIGN.md §5): re-quantizing the decoded vector
// with the record's stored scale reproduces every block index, for every lattice, scale
// format and Q. The batch encoder re-derives the scale from the decoded vector, and that
// can differ from the stored one (the largest coordinate of the decoded point may sit
// below the box edge Q, or the rotation's rounding may lift max|y| by an ulp); every row
// whose re-derived scale header equals the stored one must re-encode byte for byte.
template <class L>
void check_reencode_reproduces_records(const CodecSpec& spec, uint32_t seed) {
  SCOPED_TRACE(spec.name());
  const int64_t rows = 600, cb = spec.code_bytes();
  const auto lay = spec.layout();
  const auto x = kt::gaussian(rows, spec.dim, seed);
  const auto r1 = kt::roundtrip(spec, x, rows);
  const auto r2 = kt::roundtrip(spec, r1.xhat, rows);  // r2.codes = encode(decode(c))
  int64_t same_header = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const uint8_t* rec = &r1.codes[static_cast<size_t>(r * cb)];
    float s = 0.f;
    ASSERT_EQ(scale_from_header(lay.scale, format::read_header(lay, rec), lay.q, &s), Status::kOk);
    ASSERT_GT(s, 0.f) << "row " << r;
    ASSERT_EQ(first_requantize_mismatch<L>(lay, rec, &r1.xhat[static_cast<size_t>(r * spec.dim)]), -1)
        << "row " << r;
    const uint8_t* again = &r2.codes[static_cast<size_t>(r * cb)];
    if (format::read_header(lay, again) == format::read_header(lay, rec)) {
      ++same_header;
      ASSERT_EQ(std::memcmp(rec, again, static_cast<size_t>(cb)), 0) << "row " << r;
    }
  }
  // The byte-for-byte clause is not vacuous for the 16-bit scale formats (norm_qmax
  // re-derives ||x̂|| and rarely lands on the same header).
  if (spec.scale != ScaleFormat::kNormQmax) {
    EXPECT_GT(same_header, rows / 3);
  }
}

TEST(Codec, DecodeThenEncodeReproducesEveryRecord) {
  for (auto sc : {ScaleFormat::kBF16, ScaleFormat::kFP16, ScaleFormat::kNormQmax})
    for (int q : {1, 4, 38, 127})
      for (int dim : {64, 128, 512}) {
        const uint32_t seed = 8 + static_cast<uint32_t>(q + dim);
        check_reencode_reproduces_records<E8>(CodecSpec::make_lattice(LatticeKind::kE8, dim, q, sc), seed);
        check_reencode_reproduces_records<D4>(CodecSpec::make_lattice(LatticeKind::kD4, dim, q, sc), seed);
        check_reencode_reproduces_records<Z8>(CodecSpec::make_lattice(LatticeKind::kZ8, dim, q, sc), seed);
      }
}

TEST(Codec, StridedAndTypedInputsAgree) {
  const int dim = 128;
  const int64_t rows = 40, stride = 150;
  const auto spec = CodecSpec::make_lattice(LatticeKind::kE8, dim, 10);
  const auto x = kt::gaussian(rows, dim, 31);
  std::vector<float> xs(rows * stride, 1e9f);
  std::vector<bf16> xb(rows * dim);
  std::vector<f16> xf(rows * dim);
  for (int64_t r = 0; r < rows; ++r)
    for (int c = 0; c < dim; ++c) {
      xs[r * stride + c] = x[r * dim + c];
      xb[r * dim + c] = bf16{float_to_bf16(x[r * dim + c])};
      xf[r * dim + c] = f16{float_to_f16(x[r * dim + c])};
    }
  const int64_t cb = spec.code_bytes();
  std::vector<uint8_t> c1(rows * cb), c2(rows * (cb + 3)), c3(rows * cb), c4(rows * cb);
  cpu::encode<float>(spec, contiguous<const float>(x.data(), rows, dim), {c1.data(), rows, cb});
  cpu::encode<float>(spec, {xs.data(), rows, dim, stride}, {c2.data(), rows, cb + 3});
  for (int64_t r = 0; r < rows; ++r) {
    EXPECT_EQ(std::memcmp(&c1[r * cb], &c2[r * (cb + 3)], cb), 0);
  }
  // bf16 input equals float input after the same bf16 rounding
  std::vector<float> xb_f(rows * dim);
  for (size_t i = 0; i < xb.size(); ++i) xb_f[i] = bf16_to_float(xb[i].bits);
  cpu::encode<bf16>(spec, contiguous<const bf16>(xb.data(), rows, dim), {c3.data(), rows, cb});
  cpu::encode<float>(spec, contiguous<const float>(xb_f.data(), rows, dim), {c4.data(), rows, cb});
  EXPECT_EQ(c3, c4);
  cpu::encode<f16>(spec, contiguous<const f16>(xf.data(), rows, dim), {c3.data(), rows, cb});
  // typed outputs are the float output rounded once more
  std::vector<float> of(rows * dim);
  std::vector<bf16> ob(rows * dim);
  std::vector<f16> oh(rows * dim);
  cpu::decode<float>(spec, {c1.data(), rows, cb}, contiguous(of.data(), rows, dim));
  cpu::decode<bf16>(spec, {c1.data(), rows, cb}, contiguous(ob.data(), rows, dim));
  cpu::decode<f16>(spec, {c1.data(), rows, cb}, contiguous(oh.data(), rows, dim));
  for (size_t i = 0; i < of.size(); ++i) {
    EXPECT_EQ(ob[i].bits, float_to_bf16(of[i]));
    EXPECT_EQ(oh[i].bits, float_to_f16(of[i]));
  }
}

TEST(Codec, ThreadCountDoesNotChangeBytes) {
  const auto spec = CodecSpec::make_lattice(LatticeKind::kE8, 256, 38);
  const int64_t rows = 5000;
  const auto x = kt::gaussian(rows, 256, 17);
  cpu::set_num_threads(1);
  const auto a = kt::roundtrip(spec, x, rows);
  cpu::set_num_threads(2);
  const auto b = kt::roundtrip(spec, x, rows);
  cpu::set_num_threads(7);
  const auto c = kt::roundtrip(spec, x, rows);
  cpu::set_num_threads(0);
  EXPECT_EQ(a.codes, b.codes);
  EXPECT_EQ(a.codes, c.codes);
  EXPECT_EQ(a.xhat, c.xhat);
  EXPECT_THROW(cpu::set_num_threads(-1), InvalidArgument);
}

// Re-encoding what decode returns, for every family except the lattice codecs (whose
// property, with the stored scale, is DecodeThenEncodeReproducesEveryRecord above):
// encode(decode(c)) == c byte for byte. For fp8_per64 the group maximum decodes to
// exactly 448·s, so the same scale and codes come back; bf16 values round-trip. The
// families with a power-of-two ceil scale (v4_native, v41_mxfp8) may store a group one
// scale step finer when its maximum decodes to exactly half the range, so for them the
// property is decode(encode(decode(c))) == decode(c). lloydmax re-derives the fp16 norm
// from the decoded vector, so neither holds for it (not asserted). A new family is held
// to the byte-for-byte property until it is listed here. Magnitudes span the amax
// floors (1e-7), ordinary values and large ones; `int` is left out at 1e-7, where its
// fp16 scale and zero are subnormal and re-encoding moves them (a known limit).
TEST(Families, DecodeThenEncodeIsStable) {
  for (const auto& fam : codec_families()) {
    const std::string name = fam.name;
    // lloydmax re-derives its norm and e8v2 re-searches its scale: neither is idempotent
    // by design (test_e8v2.cpp checks e8v2 with the scale held).
    if (fam.kind == CodecKind::kLattice || name == "lloydmax" || name == "e8v2") continue;
    const bool values_only = name == "v4_native" || name == "v41_mxfp8";
    CodecParams p;
    if (fam.kind == CodecKind::kNVFP4) p = {{"tensor_scale", "0.01"}};
    for (int dim : {128, 576}) {
      const CodecSpec spec = make_codec(name, dim, p);
      for (float sigma : {1e-7f, 1.f, 1e4f}) {
        if (fam.kind == CodecKind::kInt && sigma < 1e-3f) continue;
        SCOPED_TRACE(spec.name() + " sigma " + std::to_string(sigma));
        const int64_t rows = 300, cb = spec.code_bytes();
        const auto x = kt::gaussian(rows, spec.dim, 5 + spec.dim, sigma);
        const auto r1 = kt::roundtrip(spec, x, rows);
        const auto r2 = kt::roundtrip(spec, r1.xhat, rows);
        for (int64_t r = 0; r < rows; ++r) {
          if (values_only)
            ASSERT_EQ(std::memcmp(&r1.xhat[static_cast<size_t>(r * dim)], &r2.xhat[static_cast<size_t>(r * dim)],
                                  sizeof(float) * static_cast<size_t>(dim)),
                      0)
                << "row " << r;
          else
            ASSERT_EQ(std::memcmp(&r1.codes[static_cast<size_t>(r * cb)], &r2.codes[static_cast<size_t>(r * cb)],
                                  static_cast<size_t>(cb)),
                      0)
                << "row " << r;
        }
      }
    }
  }
}

TEST(Baselines, Fp8Per64MatchesDefinition) {
  const auto spec = CodecSpec::make_fp8_per64(128);
  auto x = kt::gaussian(50, 128, 4);
  for (int i = 0; i < 64; ++i) x[i] = 0.f;  // group with amax 0: floored to 1e-4
  const auto r = kt::roundtrip(spec, x, 50);
  for (int64_t row = 0; row < 50; ++row)
    for (int g = 0; g < 2; ++g) {
      float amax = 0;
      for (int k = 0; k < 64; ++k) amax = std::max(amax, std::fabs(x[row * 128 + g * 64 + k]));
      const float s = bf16_to_float(float_to_bf16_up(std::max(amax, 1e-4f) / 448.f));
      for (int k = 0; k < 64; ++k) {
        const float v = x[row * 128 + g * 64 + k];
        ASSERT_EQ(r.xhat[row * 128 + g * 64 + k], e4m3_to_float(float_to_e4m3(v / s)) * s);
      }
    }
  // relative error of E4M3 with 3 mantissa bits: rel-MSE about 2^-8/3 ... well below 1e-2
  EXPECT_LT(kt::rel_mse(x, r.xhat, 50, 128), 1e-2);
}

TEST(Baselines, V4NativeKeepsRopeDimsInBf16) {
  // Record (format.h): [448 E4M3][64 bf16][7 UE8M0 scales][1 zero pad byte]. Each group
  // of 64 has scale 2^ceil(log2(max(amax, 1e-4)/448)) (computed here with frexp), values
  // E4M3(x / scale); the RoPE dims are bf16 round to nearest even.
  const auto spec = CodecSpec::make_v4_native(512, 64);
  ASSERT_EQ(spec.code_bytes(), 584);
  auto x = kt::gaussian(10, 512, 6);
  for (int i = 0; i < 64; ++i) x[i] = 0.f;                    // row 0 group 0: amax floored at 1e-4
  for (int i = 64; i < 128; ++i) x[512 + i] *= 1e4f;          // row 1 group 1: large
  for (int i = 128; i < 192; ++i) x[1024 + i] = 448.f * 0.25f * ((i % 2) ? -1.f : 1.f);  // exact pow2 / 448
  const auto r = kt::roundtrip(spec, x, 10);
  for (int row = 0; row < 10; ++row) {
    const uint8_t* rec = &r.codes[row * 584];
    for (int g = 0; g < 7; ++g) {
      float amax = 0.f;
      for (int k = 0; k < 64; ++k) amax = std::max(amax, std::fabs(x[row * 512 + g * 64 + k]));
      int e = 0;
      const float m = std::frexp(std::max(amax, 1e-4f) / 448.f, &e);  // y = m·2^e, m in [0.5, 1)
      const int ceil_log2 = m == 0.5f ? e - 1 : e;
      ASSERT_EQ(rec[576 + g], ceil_log2 + 127) << "row " << row << " group " << g;
      const float sf = std::ldexp(1.f, ceil_log2);
      for (int k = 0; k < 64; ++k) {
        const int c = g * 64 + k;
        ASSERT_EQ(rec[c], float_to_e4m3(x[row * 512 + c] / sf)) << "row " << row << " col " << c;
        ASSERT_EQ(r.xhat[row * 512 + c], e4m3_to_float(float_to_e4m3(x[row * 512 + c] / sf)) * sf);
        ASSERT_LE(std::fabs(x[row * 512 + c] / sf), 448.f);  // the ceil rule never saturates
      }
    }
    EXPECT_EQ(rec[583], 0) << "pad byte, row " << row;
    for (int c = 448; c < 512; ++c) {
      const uint16_t h = float_to_bf16(x[row * 512 + c]);
      ASSERT_EQ(rec[448 + 2 * (c - 448)], h & 0xff);
      ASSERT_EQ(rec[448 + 2 * (c - 448) + 1], h >> 8);
      ASSERT_EQ(r.xhat[row * 512 + c], bf16_to_float(h));
    }
  }
  EXPECT_EQ(r.codes[576], 127 - 22);  // row 0 group 0: ceil(log2(1e-4/448)) = -22
  EXPECT_EQ(r.codes[1168 + 576 + 2], 127 - 2);  // row 2 group 2: 112/448 = 2^-2 exactly
}
