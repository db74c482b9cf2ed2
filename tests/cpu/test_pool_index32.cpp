// The CUDA max_pool and max_unpool kernels have 32-bit variants that run the same templates as the
// 64-bit bodies with Index = int32_t, whose divisions are multiply-shifts (kern::Divider<int32_t>).
// These tests hold the 32-bit forms to the 64-bit ones on randomised geometries that fit int32:
// coordinates, window spans, offsets, selected values and indices must be identical.
#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "pool/pool_math.hpp"

namespace {

using ups::kern::PoolGeometry;
using ups::kern::UnpoolGeometry;

struct Rng {
  std::mt19937_64 gen;
  explicit Rng(std::uint64_t seed) : gen(seed) {}
  std::int64_t pick(std::int64_t lo, std::int64_t hi) {
    return lo + static_cast<std::int64_t>(gen() % static_cast<std::uint64_t>(hi - lo + 1));
  }
};

// Strides of a dense tensor of logical shape (n, c, d, h, w), NCDHW or NDHWC.
void dense_strides(const std::int64_t shape[5], bool channels_last, std::int64_t out[5]) {
  if (channels_last) {
    out[1] = 1;
    out[4] = shape[1];
    out[3] = out[4] * shape[4];
    out[2] = out[3] * shape[3];
    out[0] = out[2] * shape[2];
  } else {
    out[4] = 1;
    for (int k = 3; k >= 0; --k)
      out[k] = out[k + 1] * shape[k + 1];
  }
}

}  // namespace

TEST_CASE("max_pool body in 32-bit form equals the 64-bit form", "[max_pool][math]") {
  Rng rng(41);
  for (int iter = 0; iter < 300; ++iter) {
    PoolGeometry g{};
    g.n = rng.pick(1, 2);
    g.c = rng.pick(1, 3);
    const int rank = static_cast<int>(rng.pick(1, 3));
    for (int d = 0; d < 3; ++d) {
      const bool active = d >= 3 - rank;
      g.in[d] = active ? rng.pick(1, 9) : 1;
      g.kernel[d] = active ? rng.pick(1, 4) : 1;
      g.stride[d] = active ? rng.pick(1, 3) : 1;
      g.dilation[d] = active ? rng.pick(1, 3) : 1;
      g.pad[d] = active ? rng.pick(0, g.kernel[d] / 2) : 0;
      const std::int64_t eff = (g.kernel[d] - 1) * g.dilation[d] + 1;
      const std::int64_t span = g.in[d] + 2 * g.pad[d] - eff;
      // Ceil mode may add a window that starts in the padding; span < 0 gives an empty output
      // in the front end, here one output with no full window.
      g.out[d] = span < 0 ? 1 : span / g.stride[d] + 1 + rng.pick(0, 1);
    }
    g.channels_last = (iter % 2) == 1;
    g.narrow = true;
    const std::int64_t in_shape[5] = {g.n, g.c, g.in[0], g.in[1], g.in[2]};
    const std::int64_t out_shape[5] = {g.n, g.c, g.out[0], g.out[1], g.out[2]};
    dense_strides(in_shape, g.channels_last, g.src_stride);
    dense_strides(out_shape, g.channels_last, g.dst_stride);
    dense_strides(out_shape, false, g.idx_stride);
    std::int64_t in_total = 1, out_total = 1;
    for (int k = 0; k < 5; ++k) {
      in_total *= in_shape[k];
      out_total *= out_shape[k];
    }
    std::vector<float> src(static_cast<std::size_t>(in_total));
    for (auto& v : src) {
      // Few distinct values, so that ties occur, and an occasional NaN.
      const auto r = rng.pick(0, 40);
      v = r == 0 ? std::numeric_limits<float>::quiet_NaN() : static_cast<float>(r % 7);
    }
    std::vector<float> dst32(static_cast<std::size_t>(out_total)), dst64(dst32.size());
    std::vector<std::int64_t> idx32(dst32.size()), idx64(dst32.size());
    const auto v32 = ups::kern::pool_divs<std::int32_t>(g.c, g.out, true);
    const auto v64 = ups::kern::pool_divs<std::int64_t>(g.c, g.out, true);
    INFO("iteration " << iter);
    for (std::int64_t i = 0; i < out_total; ++i) {
      const auto c32 = ups::kern::unravel_ncdhw(static_cast<std::int32_t>(i), v32, g.channels_last);
      const auto c64 = ups::kern::unravel_ncdhw(i, v64, g.channels_last);
      REQUIRE(c32.n == c64.n);
      REQUIRE(c32.c == c64.c);
      REQUIRE(c32.d == c64.d);
      REQUIRE(c32.h == c64.h);
      REQUIRE(c32.w == c64.w);
      ups::kern::max_pool_at<float, std::int32_t>(g, c32, src.data(), dst32.data(), idx32.data());
      ups::kern::max_pool_at<float, std::int64_t>(g, c64, src.data(), dst64.data(), idx64.data());
    }
    for (std::size_t k = 0; k < dst32.size(); ++k) {
      const bool both_nan = dst32[k] != dst32[k] && dst64[k] != dst64[k];
      REQUIRE((both_nan || dst32[k] == dst64[k]));
      REQUIRE(idx32[k] == idx64[k]);
    }
  }
}

TEST_CASE("pool window spans in 32-bit form equal the 64-bit form", "[max_pool][math]") {
  Rng rng(43);
  for (int iter = 0; iter < 20000; ++iter) {
    const std::int64_t in = rng.pick(1, 1000), k = rng.pick(1, 20), s = rng.pick(1, 9),
                       d = rng.pick(1, 9), p = rng.pick(0, k / 2), o = rng.pick(0, 400);
    const auto a = ups::kern::pool_span_t<std::int32_t>(
        static_cast<std::int32_t>(o), static_cast<std::int32_t>(in), static_cast<std::int32_t>(k),
        static_cast<std::int32_t>(s), static_cast<std::int32_t>(p), static_cast<std::int32_t>(d));
    const auto b = ups::kern::pool_span(o, in, k, s, p, d);
    INFO("o " << o << " in " << in << " k " << k << " s " << s << " p " << p << " d " << d);
    REQUIRE(a.begin == b.begin);
    REQUIRE(a.end == b.end);
    REQUIRE(ups::kern::pool_taps(a, static_cast<std::int32_t>(d)) == ups::kern::pool_taps(b, d));
  }
}

TEST_CASE("max_unpool maps in 32-bit form equal the 64-bit form", "[max_unpool][math]") {
  Rng rng(47);
  for (int iter = 0; iter < 300; ++iter) {
    UnpoolGeometry g{};
    g.n = rng.pick(1, 3);
    g.c = rng.pick(1, 4);
    for (int d = 0; d < 3; ++d) {
      g.in[d] = rng.pick(1, 5);
      g.out[d] = g.in[d] * rng.pick(1, 3);
    }
    g.plane_in = g.in[0] * g.in[1] * g.in[2];
    g.plane_out = g.out[0] * g.out[1] * g.out[2];
    g.channels_last = (iter % 2) == 1;
    g.narrow = true;
    // Arbitrary strides, negative ones included: the maps are pure index arithmetic.
    for (int k = 0; k < 5; ++k) {
      g.src_stride[k] = rng.pick(-60, 60);
      g.idx_stride[k] = rng.pick(-60, 60);
      g.dst_stride[k] = rng.pick(-60, 60);
    }
    const auto v32 = ups::kern::unpool_divs<std::int32_t>(g);
    const auto v64 = ups::kern::unpool_divs<std::int64_t>(g);
    const std::int64_t total = g.n * g.c * g.plane_in;
    INFO("iteration " << iter);
    for (std::int64_t i = 0; i < total; ++i) {
      const auto s32 = ups::kern::unpool_source(g, v32, static_cast<std::int32_t>(i));
      const auto s64 = ups::kern::unpool_source(g, v64, i);
      REQUIRE(s32.src_off == s64.src_off);
      REQUIRE(s32.idx_off == s64.idx_off);
      REQUIRE(s32.dst_plane_off == s64.dst_plane_off);
      REQUIRE(s32.plane == s64.plane);
      REQUIRE(s32.pos == s64.pos);
      REQUIRE(ups::kern::unpool_logical(g, s32) == ups::kern::unpool_logical(g, s64));
      const std::int64_t v = rng.pick(0, g.plane_out - 1);
      REQUIRE(ups::kern::unpool_target(g, v32, static_cast<std::int32_t>(v)) ==
              ups::kern::unpool_target(g, v64, v));
      REQUIRE(ups::kern::unpool_slot(g, s32, static_cast<std::int32_t>(v)) ==
              ups::kern::unpool_slot(g, s64, v));
    }
    // The zero fill of a non-dense output.
    const std::int64_t sizes[5] = {g.n, g.c, g.out[0], g.out[1], g.out[2]};
    ups::kern::Divider<std::int32_t> div32[5];
    for (int k = 0; k < 5; ++k)
      div32[k] = ups::kern::Divider<std::int32_t>(sizes[4 - k], true);
    const std::int64_t out_total = g.n * g.c * g.plane_out;
    for (std::int64_t i = 0; i < out_total; ++i)
      REQUIRE(ups::kern::strided_offset5(static_cast<std::int32_t>(i), div32, g.dst_stride) ==
              ups::kern::strided_offset5(i, sizes, g.dst_stride, true));
  }
}
