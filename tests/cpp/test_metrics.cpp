// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include <cmath>

#include "test_util.h"

using namespace kakeya;

TEST(Metrics, KnownValues) {
  // x rows (1,0), (-1,0): mean 0, centered energy 2. x̂ = (1,1), (-1,0): sq error 1.
  const float x[4] = {1, 0, -1, 0}, xh[4] = {1, 1, -1, 0};
  const auto s = cpu::compare<float, float>(contiguous<const float>(x, 2, 2), contiguous<const float>(xh, 2, 2));
  EXPECT_DOUBLE_EQ(s.sq_error, 1.0);
  EXPECT_DOUBLE_EQ(s.centered_energy, 2.0);
  EXPECT_DOUBLE_EQ(s.rel_mse, 0.5);
  EXPECT_DOUBLE_EQ(s.max_abs_error, 1.0);
  EXPECT_NEAR(s.mean_cosine, (1 / std::sqrt(2.0) + 1) / 2, 1e-12);
  double rel[2], cosv[2], se[2];
  cpu::per_vector_error<float, float>(contiguous<const float>(x, 2, 2), contiguous<const float>(xh, 2, 2), rel, cosv, se);
  EXPECT_DOUBLE_EQ(rel[0], 1.0);
  EXPECT_DOUBLE_EQ(rel[1], 0.0);
  EXPECT_DOUBLE_EQ(se[0], 1.0);
}

TEST(Metrics, MeanIsSubtracted) {
  // A shared offset does not count as signal energy.
  auto x = kt::gaussian(1000, 16, 2);
  auto y = x;
  for (size_t i = 0; i < x.size(); ++i) x[i] += 100.f, y[i] = x[i] + 0.1f;
  const double r = kt::rel_mse(x, y, 1000, 16);
  EXPECT_NEAR(r, 0.01, 0.001);
}

TEST(Metrics, Errors) {
  const float x[2] = {1, 2};
  EXPECT_THROW(((void)cpu::rel_mse<float, float>(contiguous<const float>(x, 1, 2), contiguous<const float>(x, 1, 2))),
               InvalidArgument);
  EXPECT_THROW(((void)cpu::compare<float, float>(contiguous<const float>(x, 1, 2), contiguous<const float>(x, 2, 1))),
               InvalidArgument);
  const float n[2] = {1, NAN};
  EXPECT_THROW(((void)cpu::compare<float, float>(contiguous<const float>(x, 1, 2), contiguous<const float>(n, 1, 2))),
               InvalidArgument);
}
