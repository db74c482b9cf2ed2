// The separable resampling engine's CPU backend (src/cpu/resample_cpu.cpp) against the flat
// per-element reference of tests/support/resample_support.hpp on random plans: ranks 1..5,
// identity and resampled dims, random tables (padding taps, negative weights, windows up to 24
// taps, outside flags), random strides on both sides (contiguous, channels-last, permuted,
// gapped), every dtype, one and two threads, and long rows for the vector paths.
#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "error_of.hpp"
#include "resample_plan.hpp"
#include "resample_support.hpp"
#include "simd_targets.hpp"
#include "ups/error.hpp"

namespace {

using ups::DType;
using ups::detail::ResampleAxis;
using ups::detail::ResamplePlan;
using ups_test::ResampleCase;
using ups_test::StridedTensor;

// Runs the case on `threads` threads and checks it; also checks that nothing outside the
// destination's elements (the gaps of a gapped layout) was written.
void run_and_check(const ResampleCase& c, int threads) {
  StridedTensor dst = c.dst;
  ups::detail::resample_cpu(c.plan, c.src.view(), dst.view(), threads);
  const auto ref = ups_test::resample_reference(c.plan, c.src);
  INFO(c.what << ", threads " << threads);
  CHECK(ups_test::check_resample(c, dst, ref) == "");
  // Gaps keep their bytes.
  std::vector<unsigned char> touched(c.dst.bytes.size(), 0);
  const std::size_t es = ups::dtype_size(c.plan.dtype);
  for (std::int64_t i = 0; i < c.dst.numel; ++i)
    for (std::size_t b = 0; b < es; ++b)
      touched[static_cast<std::size_t>(c.dst.offset(i)) * es + b] = 1;
  std::size_t changed = 0;
  for (std::size_t b = 0; b < touched.size(); ++b)
    changed += !touched[b] && dst.bytes[b] != c.dst.bytes[b];
  CHECK(changed == 0);
}

}  // namespace

TEST_CASE("resample_cpu matches the reference on random plans", "[resample]") {
  const DType dtype = GENERATE(DType::kF32, DType::kF64, DType::kF16, DType::kBF16);
  std::mt19937_64 rng(0x5e5a3b1e + static_cast<unsigned>(dtype));
  for (int i = 0; i < 120; ++i) {
    const ResampleCase c = ups_test::random_case(rng, dtype, true, i % 6 == 5);
    run_and_check(c, 1 + i % 2);
  }
}

TEST_CASE("resample_cpu matches the reference on every SIMD target", "[resample][simd]") {
  // The narrower targets' vector widths and tails (AVX2, SSE4, the emulated and scalar ones).
  ups_test::for_each_simd_target([&](const std::string& target) {
    INFO("SIMD target " << target);
    for (DType dtype : {DType::kF32, DType::kF64, DType::kBF16}) {
      std::mt19937_64 rng(0x7a11 + static_cast<unsigned>(dtype));
      for (int i = 0; i < 24; ++i) {
        const ResampleCase c = ups_test::random_case(rng, dtype, i % 4 != 3, i % 6 == 5);
        run_and_check(c, 1 + i % 2);
      }
    }
  });
}

TEST_CASE("resample_cpu copies exactly for unweighted plans", "[resample]") {
  const DType dtype = GENERATE(DType::kU8, DType::kF32, DType::kF64, DType::kF16, DType::kBF16);
  std::mt19937_64 rng(0x0c0b1e5 + static_cast<unsigned>(dtype));
  for (int i = 0; i < 80; ++i) {
    const ResampleCase c = ups_test::random_case(rng, dtype, false, i % 6 == 5);
    run_and_check(c, 1 + i % 2);
  }
}

TEST_CASE("resample_cpu gives the same bits on one and several threads", "[resample]") {
  std::mt19937_64 rng(77);
  for (int i = 0; i < 30; ++i) {
    const ResampleCase c = ups_test::random_case(rng, DType::kF32, true, i % 3 == 0);
    StridedTensor a = c.dst, b = c.dst;
    ups::detail::resample_cpu(c.plan, c.src.view(), a.view(), 1);
    ups::detail::resample_cpu(c.plan, c.src.view(), b.view(), 3);
    INFO(c.what);
    CHECK(a.bytes == b.bytes);
  }
}

TEST_CASE("resample_cpu on large rows and many rows (vector paths, threads)", "[resample]") {
  // A 2-D downscale with wide windows over a plane large enough to be split between threads, in
  // NCHW and with the channels innermost.
  std::mt19937_64 rng(5);
  for (const auto sk : {ups_test::Strides::kContiguous, ups_test::Strides::kChannelsLast}) {
    ResampleCase c;
    c.plan.dtype = DType::kF32;
    c.plan.rank = 4;
    const std::int64_t in[] = {2, 3, 67, 131}, out[] = {2, 3, 29, 50};
    c.plan.axis[0] = ResampleAxis::identity(2);
    c.plan.axis[1] = ResampleAxis::identity(3);
    c.plan.axis[2] = ups_test::random_axis(rng, in[2], out[2], 9, true, false);
    c.plan.axis[3] = ups_test::random_axis(rng, in[3], out[3], 11, true, false);
    c.src = StridedTensor(DType::kF32, 4, in, sk, rng);
    c.dst = StridedTensor(DType::kF32, 4, out, sk, rng);
    c.src.fill(rng);
    c.what = std::string("large ") + ups_test::to_string(sk);
    run_and_check(c, 2);
  }
}

TEST_CASE("resample_cpu rejects inconsistent plans", "[resample]") {
  std::mt19937_64 rng(1);
  ResamplePlan plan;
  plan.rank = 1;
  plan.axis[0] = ups_test::random_axis(rng, 5, 4, 3, true, false);
  const std::int64_t in[] = {5}, out[] = {4};
  StridedTensor src(DType::kF32, 1, in, ups_test::Strides::kContiguous, rng);
  StridedTensor dst(DType::kF32, 1, out, ups_test::Strides::kContiguous, rng);
  ups::detail::resample_cpu(plan, src.view(), dst.view(), 1);

  ResamplePlan bad = plan;
  bad.axis[0].idx[5] = 5;  // past the input
  CHECK(ups_test::error_of([&] {
          ups::detail::resample_cpu(bad, src.view(), dst.view(), 1);
        }).code() == ups::ErrorCode::kInternal);
  bad = plan;
  bad.axis[0].w.pop_back();
  CHECK(ups_test::error_of([&] {
          ups::detail::resample_cpu(bad, src.view(), dst.view(), 1);
        }).code() == ups::ErrorCode::kInternal);
  bad = plan;
  bad.axis[0].out = 3;  // not the destination's size
  CHECK(ups_test::error_of([&] {
          ups::detail::resample_cpu(bad, src.view(), dst.view(), 1);
        }).code() == ups::ErrorCode::kInternal);
  // u8 only for copies.
  bad = plan;
  bad.dtype = DType::kU8;
  StridedTensor src8(DType::kU8, 1, in, ups_test::Strides::kContiguous, rng);
  StridedTensor dst8(DType::kU8, 1, out, ups_test::Strides::kContiguous, rng);
  CHECK(ups_test::error_of([&] {
          ups::detail::resample_cpu(bad, src8.view(), dst8.view(), 1);
        }).code() == ups::ErrorCode::kUnsupportedDType);
}

TEST_CASE("ResampleAxis::identity", "[resample]") {
  const ResampleAxis a = ResampleAxis::identity(4);
  CHECK(a.is_identity());
  CHECK(a.in == 4);
  CHECK(a.out == 4);
  ResampleAxis b = a;
  b.w[2] = 0.5;
  CHECK_FALSE(b.is_identity());
  b = a;
  b.outside.assign(4, 0);
  CHECK(b.is_identity());
  b.outside[1] = 1;
  CHECK_FALSE(b.is_identity());
}
