// ups::pixel_shuffle / ups::pixel_unshuffle on the CPU: golden outputs of PyTorch
// (tests/golden/pixel_shuffle.{txt,bin}, from scripts/gen_golden_pool.py; the inputs are random
// bit patterns, NaN payloads included) compared bit for bit in several layouts, PyTorch's
// messages for bad arguments, and the shuffle / unshuffle maps being inverse to each other.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "error_of.hpp"
#include "pixel_shuffle/shuffle_math.hpp"
#include "pool_golden.hpp"
#include "test_support.hpp"
#include "ups/context.hpp"
#include "ups/error.hpp"
#include "ups/pixel_shuffle.hpp"

namespace {

using ups::DType;
using ups::ErrorCode;
using ups::Shape;
using ups_pool_test::GappedTensor;
using ups_pool_test::GoldenCase;
using ups_test::HostTensor;
using ups_test::Layout;

using ups_test::error_of;

void run_op(const GoldenCase& c, const ups::Context& ctx, const ups::TensorView& src,
            const ups::TensorView& dst) {
  if (c.op == "pixel_shuffle") {
    ups::pixel_shuffle(ctx, src, dst, c.factor);
  } else {
    ups::pixel_unshuffle(ctx, src, dst, c.factor);
  }
}

std::string run_layouts(const GoldenCase& c, const HostTensor& in, const HostTensor& want,
                        Layout in_layout, Layout out_layout, int threads) {
  const HostTensor src = in.to_layout(in_layout);
  HostTensor dst(c.dtype, want.shape(), out_layout);
  ups_pool_test::fill_bytes(dst, 0xEE);
  ups::Context ctx(ups::Device::kCPU);
  ctx.set_num_threads(threads);
  run_op(c, ctx, src.view(), dst.view());
  return ups_test::compare_bitwise(dst, want);
}

TEST_CASE("pixel shuffles match PyTorch goldens bit for bit", "[pixel_shuffle][golden]") {
  const auto cases = ups_pool_test::load_cases("pixel_shuffle");
  const auto blob = ups_pool_test::load_blob("pixel_shuffle");
  int ran = 0;
  for (const GoldenCase& c : cases) {
    INFO(c.line);
    const HostTensor in = ups_pool_test::golden_tensor(blob, c.in, c.dtype, c.in_shape);
    const HostTensor want = ups_pool_test::golden_tensor(blob, c.out, c.dtype, c.out_shape);
    const Shape shape = c.op == "pixel_shuffle"
                            ? ups::pixel_shuffle_output_shape(c.in_shape, c.factor)
                            : ups::pixel_unshuffle_output_shape(c.in_shape, c.factor);
    CHECK(shape == c.out_shape);
    const Layout kC = Layout::kContiguous, kCL = Layout::kChannelsLast;
    for (const auto& lc : {std::make_pair(kC, kC), std::make_pair(kCL, kCL),
                           std::make_pair(kC, kCL), std::make_pair(kCL, kC)}) {
      INFO(ups_test::to_string(lc.first) << " -> " << ups_test::to_string(lc.second));
      CHECK(run_layouts(c, in, want, lc.first, lc.second, 1) == "");
    }
    // Gaps between the elements of both tensors.
    GappedTensor src(c.dtype, c.in_shape);
    src.assign(in);
    GappedTensor dst(c.dtype, c.out_shape, 0x42);
    ups::Context ctx(ups::Device::kCPU);
    run_op(c, ctx, src.view(), dst.view());
    CHECK(ups_test::compare_bitwise(dst.values(), want) == "");
    CHECK(dst.gaps_hold(0x42));
    ++ran;
  }
  CHECK(ran == 126);
}

TEST_CASE("pixel shuffles on several threads", "[pixel_shuffle]") {
  // Large enough for the CPU backend to split the work; unshuffle(shuffle(x)) == x checks both
  // maps against each other, and a hand-computed element checks the direction.
  for (DType dt : {DType::kF32, DType::kU8, DType::kF64, DType::kBF16}) {
    INFO(ups::to_string(dt));
    HostTensor x(dt, {3, 18, 40, 50});
    ups_test::fill_random(x, 5, 0, 200);
    ups::Context ctx(ups::Device::kCPU);
    ctx.set_num_threads(3);
    HostTensor y(dt, {3, 2, 120, 150}, Layout::kChannelsLast);
    ups::pixel_shuffle(ctx, x.view(), y.view(), 3);
    // out[n, c, h*r + i, w*r + j] = in[n, (c*r + i)*r + j, h, w] at n=2, c=1, h=7, w=11, i=2, j=1.
    const std::int64_t out_pos = ((2 * 2 + 1) * 120 + (7 * 3 + 2)) * 150 + (11 * 3 + 1);
    const std::int64_t in_pos = ((2 * 18 + (1 * 3 + 2) * 3 + 1) * 40 + 7) * 50 + 11;
    CHECK(y.get(out_pos) == x.get(in_pos));
    HostTensor z(dt, {3, 18, 40, 50});
    ups::pixel_unshuffle(ctx, y.view(), z.view(), 3);
    CHECK(ups_test::compare_bitwise(z, x) == "");
  }
}

TEST_CASE("pixel shuffle index maps are inverse", "[pixel_shuffle][math]") {
  // shuffle_src_offset of the shuffle geometry maps output coordinates to input offsets; the
  // unshuffle geometry of the reverse shapes must map them back.
  for (std::int64_t r = 1; r <= 3; ++r) {
    const std::int64_t C = 2, H = 3, W = 4;
    ups::kern::ShuffleGeometry s{};
    ups::kern::ShuffleGeometry u{};
    const std::int64_t big[5] = {1, 1, C, H * r, W * r};    // shuffle output = unshuffle input
    const std::int64_t small[5] = {1, 1, C * r * r, H, W};  // shuffle input = unshuffle output
    std::int64_t big_stride[5], small_stride[5];
    big_stride[4] = small_stride[4] = 1;
    for (int d = 3; d >= 0; --d) {
      big_stride[d] = big_stride[d + 1] * big[d + 1];
      small_stride[d] = small_stride[d + 1] * small[d + 1];
    }
    for (int d = 0; d < 5; ++d) {
      s.out_size[d] = big[d];
      s.dst_stride[d] = big_stride[d];
      s.src_stride[d] = small_stride[d];
      u.out_size[d] = small[d];
      u.dst_stride[d] = small_stride[d];
      u.src_stride[d] = big_stride[d];
      s.order[d] = u.order[d] = d;
    }
    s.r = u.r = r;
    s.unshuffle = false;
    u.unshuffle = true;
    s.narrow = u.narrow = (r % 2) == 1;  // both index paths
    std::vector<int> hits(static_cast<std::size_t>(C * H * W * r * r), 0);
    for (std::int64_t i = 0; i < C * H * W * r * r; ++i) {
      const auto co = ups::kern::shuffle_unravel(s, i);
      const std::int64_t src = ups::kern::shuffle_src_offset(s, co);
      REQUIRE(src >= 0);
      REQUIRE(src < C * H * W * r * r);
      ++hits[static_cast<std::size_t>(src)];
      // The unshuffle element at `src` reads back output offset i.
      const auto cu = ups::kern::shuffle_unravel(u, src);
      CHECK(ups::kern::shuffle_src_offset(u, cu) == i);
    }
    for (int h : hits)
      CHECK(h == 1);  // a bijection
  }
}

TEST_CASE("pixel shuffle runs step like the per-element map", "[pixel_shuffle][math]") {
  // kern::ShuffleRun (the CUDA fast path's walk along the output's unit-stride dim) must visit
  // exactly the offsets shuffle_src_offset gives, from every start, in both directions and for
  // both inner dims, with contiguous and channels-last-like input strides.
  for (bool unshuffle : {false, true}) {
    for (std::int64_t r = 1; r <= 4; ++r) {
      for (bool input_cl : {false, true}) {
        ups::kern::ShuffleGeometry g{};
        g.r = r;
        g.unshuffle = unshuffle;
        g.narrow = r != 3;
        const std::int64_t C = 2, H = 3, W = 2;
        // Output sizes (L0, L1, C, H, W) and input sizes.
        const std::int64_t out[5] = {2, 1, unshuffle ? C * r * r : C, unshuffle ? H : H * r,
                                     unshuffle ? W : W * r};
        const std::int64_t in[5] = {2, 1, unshuffle ? C : C * r * r, unshuffle ? H * r : H,
                                    unshuffle ? W * r : W};
        // Input strides: C order, or channels innermost.
        std::int64_t st[5];
        if (input_cl) {
          st[2] = 1;
          st[4] = in[2];
          st[3] = st[4] * in[4];
          st[1] = st[3] * in[3];
        } else {
          st[4] = 1;
          st[3] = in[4];
          st[2] = st[3] * in[3];
          st[1] = st[2] * in[2];
        }
        st[0] = st[1] * in[1];
        for (int d = 0; d < 5; ++d) {
          g.out_size[d] = out[d];
          g.src_stride[d] = st[d];
          g.dst_stride[d] = 0;  // unused here
          g.order[d] = d;
        }
        for (int inner : {2, 4}) {
          std::int64_t total = 1;
          for (int d = 0; d < 5; ++d)
            total *= out[d];
          for (std::int64_t i = 0; i < total; ++i) {
            ups::kern::ShuffleCoord c = ups::kern::shuffle_unravel(g, i);
            ups::kern::ShuffleRun run = ups::kern::shuffle_run(g, c, inner);
            for (std::int64_t o = c.o[inner]; o < out[inner]; ++o) {
              INFO("unshuffle " << unshuffle << " r " << r << " cl " << input_cl << " inner "
                                << inner << " start " << i << " at " << o);
              REQUIRE(run.offset == ups::kern::shuffle_src_offset(g, c));
              run.next();
              ++c.o[inner];
            }
          }
        }
      }
    }
  }
}

TEST_CASE("pixel shuffle index maps in 32-bit form equal the 64-bit form",
          "[pixel_shuffle][math]") {
  // The CUDA kernels' 32-bit variants run the same templates with Index = int32_t, whose
  // divisions are multiply-shifts (kern::Divider<int32_t>): coordinates, offsets and runs must
  // equal the 64-bit forms, in every iteration order and with negative strides too.
  std::mt19937_64 rng(23);
  auto pick = [&](std::int64_t lo, std::int64_t hi) {
    return lo + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(hi - lo + 1));
  };
  for (int iter = 0; iter < 300; ++iter) {
    ups::kern::ShuffleGeometry g{};
    g.r = pick(1, 5);
    g.unshuffle = (iter % 2) == 1;
    g.narrow = (iter % 3) != 0;
    const std::int64_t rr = g.r * g.r;
    g.out_size[0] = pick(1, 3);
    g.out_size[1] = pick(1, 2);
    g.out_size[2] = g.unshuffle ? rr * pick(1, 3) : pick(1, 4);
    g.out_size[3] = g.unshuffle ? pick(1, 4) : g.r * pick(1, 3);
    g.out_size[4] = g.unshuffle ? pick(1, 4) : g.r * pick(1, 3);
    int order[5] = {0, 1, 2, 3, 4};
    std::shuffle(order, order + 5, rng);
    for (int d = 0; d < 5; ++d) {
      g.order[d] = order[d];
      g.src_stride[d] = pick(-50, 50);
      g.dst_stride[d] = pick(-50, 50);
    }
    const auto v32 = ups::kern::shuffle_divs<std::int32_t>(g);
    const auto v64 = ups::kern::shuffle_divs<std::int64_t>(g);
    std::int64_t total = 1;
    for (std::int64_t n : g.out_size)
      total *= n;
    INFO("iteration " << iter << " r " << g.r << " unshuffle " << g.unshuffle);
    for (std::int64_t i = 0; i < total; ++i) {
      const auto c64 = ups::kern::shuffle_unravel(g, v64, i);
      const auto c32 = ups::kern::shuffle_unravel(g, v32, static_cast<std::int32_t>(i));
      for (int d = 0; d < 5; ++d)
        REQUIRE(c32.o[d] == c64.o[d]);
      REQUIRE(ups::kern::shuffle_dst_offset(g, c32) == ups::kern::shuffle_dst_offset(g, c64));
      REQUIRE(ups::kern::shuffle_src_offset(g, v32, c32) ==
              ups::kern::shuffle_src_offset(g, v64, c64));
      for (int inner : {2, 4}) {
        auto r32 = ups::kern::shuffle_run(g, v32, c32, inner);
        auto r64 = ups::kern::shuffle_run(g, v64, c64, inner);
        for (std::int64_t o = c64.o[inner]; o < g.out_size[inner]; ++o) {
          REQUIRE(r32.offset == r64.offset);
          r32.next();
          r64.next();
        }
      }
    }
  }
}

TEST_CASE("pixel shuffles reject bad arguments with PyTorch's messages",
          "[pixel_shuffle][errors]") {
  auto expect = [](ErrorCode code, const std::string& message, auto&& call) {
    const ups::Error e = error_of(call);
    CHECK(e.code() == code);
    CHECK(std::string(e.what()) == message);
  };
  const Shape x{2, 8, 3, 3};
  expect(ErrorCode::kInvalidArgument, "pixel_shuffle expects a positive upscale_factor, but got 0",
         [&] { (void)ups::pixel_shuffle_output_shape(x, 0); });
  expect(ErrorCode::kInvalidArgument, "pixel_shuffle expects a positive upscale_factor, but got -1",
         [&] { (void)ups::pixel_shuffle_output_shape(x, -1); });
  expect(ErrorCode::kShapeMismatch,
         "pixel_shuffle expects its input's 'channel' dimension to be divisible by the square of "
         "upscale_factor, but input.size(-3)=8 is not divisible by 9",
         [&] { (void)ups::pixel_shuffle_output_shape(x, 3); });
  expect(ErrorCode::kShapeMismatch,
         "pixel_shuffle expects input to have at least 3 dimensions, but got input with 2 "
         "dimension(s)",
         [&] {
           (void)ups::pixel_shuffle_output_shape({3, 3}, 1);
         });
  expect(ErrorCode::kInvalidArgument,
         "upscale factor is too large, (upscale_factor)^2 overflowed: upscale_factor=4294967296",
         [&] { (void)ups::pixel_shuffle_output_shape(x, std::int64_t(1) << 32); });
  expect(ErrorCode::kInvalidArgument,
         "pixel_unshuffle expects a positive downscale_factor, but got 0",
         [&] { (void)ups::pixel_unshuffle_output_shape(x, 0); });
  expect(ErrorCode::kShapeMismatch,
         "pixel_unshuffle expects height to be divisible by downscale_factor, but "
         "input.size(-2)=3 is not divisible by 2",
         [&] { (void)ups::pixel_unshuffle_output_shape(x, 2); });
  expect(ErrorCode::kShapeMismatch,
         "pixel_unshuffle expects width to be divisible by downscale_factor, but input.size(-1)=4 "
         "is not divisible by 3",
         [&] {
           (void)ups::pixel_unshuffle_output_shape({1, 1, 3, 4}, 3);
         });
  expect(ErrorCode::kShapeMismatch,
         "pixel_unshuffle expects input to have at least 3 dimensions, but got input with 2 "
         "dimension(s)",
         [&] {
           (void)ups::pixel_unshuffle_output_shape({4, 4}, 1);
         });
  expect(ErrorCode::kShapeMismatch,
         "pixel_unshuffle expects height to be divisible by downscale_factor, but "
         "input.size(-2)=3 is not divisible by 4294967296",
         [&] { (void)ups::pixel_unshuffle_output_shape(x, std::int64_t(1) << 32); });

  // Empty tensors are fine, as in PyTorch.
  CHECK(ups::pixel_shuffle_output_shape({0, 4, 2, 2}, 2) == Shape{0, 1, 4, 4});
  CHECK(ups::pixel_shuffle_output_shape({1, 0, 2, 2}, 2) == Shape{1, 0, 4, 4});
  CHECK(ups::pixel_shuffle_output_shape({1, 4, 0, 2}, 2) == Shape{1, 1, 0, 4});
  CHECK(ups::pixel_unshuffle_output_shape({2, 3, 4, 6}, 2) == Shape{2, 12, 2, 3});

  ups::Context ctx(ups::Device::kCPU);
  HostTensor src(DType::kF32, {1, 4, 2, 2});
  HostTensor dst_dtype(DType::kF16, {1, 1, 4, 4});
  CHECK(error_of([&] { ups::pixel_shuffle(ctx, src.view(), dst_dtype.view(), 2); }).code() ==
        ErrorCode::kUnsupportedDType);
  HostTensor dst_shape(DType::kF32, {1, 4, 2, 2});
  const ups::Error e = error_of([&] { ups::pixel_shuffle(ctx, src.view(), dst_shape.view(), 2); });
  CHECK(e.code() == ErrorCode::kShapeMismatch);
  CHECK(std::string(e.what()) ==
        "pixel_shuffle: expected dst of shape [1, 1, 4, 4] but got [1, 4, 2, 2]");
  // In place is rejected (the output overlaps the input).
  const auto alias =
      ups::TensorView::contiguous(src.data(), DType::kF32, ups::Device::kCPU, {1, 1, 4, 4});
  CHECK(error_of([&] { ups::pixel_shuffle(ctx, src.view(), alias, 2); }).code() ==
        ErrorCode::kInvalidArgument);
  // Empty views are a no-op.
  const auto e_in =
      ups::TensorView::contiguous(nullptr, DType::kF32, ups::Device::kCPU, {0, 4, 2, 2});
  const auto e_out =
      ups::TensorView::contiguous(nullptr, DType::kF32, ups::Device::kCPU, {0, 1, 4, 4});
  CHECK_NOTHROW(ups::pixel_shuffle(ctx, e_in, e_out, 2));
  // The kernel switch does not change CPU results.
  HostTensor a(DType::kF32, {1, 1, 4, 4}), b(DType::kF32, {1, 1, 4, 4});
  ups_test::fill_random(src, 3);
  ups::pixel_shuffle(ctx, src.view(), a.view(), 2, ups::ShuffleKernel::kAuto);
  ups::pixel_shuffle(ctx, src.view(), b.view(), 2, ups::ShuffleKernel::kGeneric);
  CHECK(ups_test::compare_bitwise(a, b) == "");
}

}  // namespace
