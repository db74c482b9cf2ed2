// ups::max_pool and ups::max_unpool on the CPU: argument validation with PyTorch's messages and
// error codes, hand-computed results (ties, NaN, duplicates, invalid indices), the deferred index
// check, and the shared window math against ATen's loop form.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "error_of.hpp"
#include "pool/pool_math.hpp"
#include "test_support.hpp"
#include "ups/context.hpp"
#include "ups/error.hpp"
#include "ups/max_pool.hpp"
#include "ups/max_unpool.hpp"

namespace {

using ups::DType;
using ups::ErrorCode;
using ups::Shape;
using ups_test::HostTensor;
using ups_test::Layout;

using ups_test::error_of;

ups::MaxPoolOptions pool_opts(std::vector<std::int64_t> k, std::vector<std::int64_t> s = {},
                              std::vector<std::int64_t> p = {0}, std::vector<std::int64_t> d = {1},
                              bool ceil = false, int spatial_dims = 0) {
  ups::MaxPoolOptions o;
  o.kernel_size = std::move(k);
  o.stride = std::move(s);
  o.padding = std::move(p);
  o.dilation = std::move(d);
  o.ceil_mode = ceil;
  o.spatial_dims = spatial_dims;
  return o;
}

void expect_pool_error(const Shape& in, const ups::MaxPoolOptions& o, ErrorCode code,
                       const std::string& message) {
  const ups::Error e = error_of([&] { (void)ups::max_pool_output_shape(in, o); });
  CHECK(e.code() == code);
  CHECK(std::string(e.what()) == message);
}

// ---- max_pool: validation ----------------------------------------------------------------------

TEST_CASE("max_pool rejects bad arguments with PyTorch's messages", "[max_pool][errors]") {
  const Shape x1{1, 2, 5}, x2{1, 2, 5, 5}, x3{1, 2, 5, 5, 5};
  const auto kIA = ErrorCode::kInvalidArgument;
  const auto kSM = ErrorCode::kShapeMismatch;
  SECTION("2-D") {
    expect_pool_error(x2, pool_opts({0}), kIA, "stride should not be zero");
    expect_pool_error(x2, pool_opts({-1}), kIA,
                      "kernel size should be greater than zero, but got kH: -1 kW: -1");
    expect_pool_error(x2, pool_opts({2}, {0}), kIA, "stride should not be zero");
    expect_pool_error(x2, pool_opts({2}, {-1}), kIA,
                      "stride should be greater than zero, but got dH: -1 dW: -1");
    expect_pool_error(x2, pool_opts({2}, {}, {-1}), kIA,
                      "pad must be non-negative, but got pad: -1");
    expect_pool_error(x2, pool_opts({3}, {}, {2}), kIA,
                      "pad should be at most half of effective kernel size, but got pad=2, "
                      "kernel_size=3 and dilation=1");
    expect_pool_error(x2, pool_opts({3}, {}, {2}, {2}), kIA,
                      "pad should be smaller than or equal to half of kernel size, but got padW = "
                      "2, padH = 2, kW = 3, kH = 3");
    expect_pool_error(x2, pool_opts({3}, {}, {3}, {2}), kIA,
                      "pad should be at most half of effective kernel size, but got pad=3, "
                      "kernel_size=3 and dilation=2");
    expect_pool_error(x2, pool_opts({2}, {}, {0}, {0}), kIA,
                      "dilation should be greater than zero, but got dilationH: 0 dilationW: 0");
    expect_pool_error(x2, pool_opts({6}), kSM,
                      "Given input size: (2x5x5). Calculated output size: (2x0x0). Output size is "
                      "too small");
    expect_pool_error(x2, pool_opts({3}, {}, {0}, {3}), kSM,
                      "Given input size: (2x5x5). Calculated output size: (2x0x0). Output size is "
                      "too small");
    expect_pool_error({1, 0, 5, 5}, pool_opts({2}), kSM,
                      "Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for "
                      "input, but got:[1, 0, 5, 5]");
    expect_pool_error({1, 2, 5, 0}, pool_opts({2}), kSM,
                      "Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for "
                      "input, but got:[1, 2, 5, 0]");
    expect_pool_error({5, 5}, pool_opts({2}, {}, {0}, {1}, false, 2), kSM,
                      "non-empty 3D or 4D (batch mode) tensor expected for input");
    expect_pool_error(
        x2, pool_opts({2, 2, 2, 2}), kIA,
        "max_pool2d: kernel_size must either be a single int, or a tuple of two ints");
    expect_pool_error(x2, pool_opts({2}, {1, 1, 1}), kIA,
                      "max_pool2d: stride must either be omitted, a single int, or a tuple of two "
                      "ints");
    expect_pool_error(x2, pool_opts({2}, {}, {1, 1, 1}), kIA,
                      "max_pool2d: padding must either be a single int, or a tuple of two ints");
    expect_pool_error(x2, pool_opts({2}, {}, {0}, {1, 1, 1}), kIA,
                      "max_pool2d: dilation must be either a single int, or a tuple of two ints");
    expect_pool_error(
        x2, pool_opts({}), kIA,
        "max_pool2d: kernel_size must either be a single int, or a tuple of two ints");
  }
  SECTION("1-D") {
    expect_pool_error(x1, pool_opts({-1}), kIA,
                      "kernel size should be greater than zero, but got kH: 1 kW: -1");
    expect_pool_error(x1, pool_opts({2}, {-1}), kIA,
                      "stride should be greater than zero, but got dH: 1 dW: -1");
    expect_pool_error(x1, pool_opts({3}, {}, {2}, {2}), kIA,
                      "pad should be smaller than or equal to half of kernel size, but got padW = "
                      "2, padH = 0, kW = 3, kH = 1");
    expect_pool_error(x1, pool_opts({2}, {}, {0}, {0}), kIA,
                      "dilation should be greater than zero, but got dilationH: 1 dilationW: 0");
    expect_pool_error(x1, pool_opts({6}), kSM,
                      "Given input size: (2x1x5). Calculated output size: (2x1x0). Output size is "
                      "too small");
    expect_pool_error({1, 0, 5}, pool_opts({2}), kSM,
                      "Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for "
                      "input, but got:[1, 0, 1, 5]");
    expect_pool_error({5}, pool_opts({2}, {}, {0}, {1}, false, 1), kSM,
                      "Expected 2 to 3 dimensions, but got 1-dimensional tensor for argument #1 "
                      "'self' (while checking arguments for max_pool1d)");
    expect_pool_error(x1, pool_opts({2, 2}), kIA,
                      "max_pool1d() kernel_size must be an int, list of ints or tuple of ints of "
                      "size 1 but got size 2");
  }
  SECTION("3-D") {
    expect_pool_error(x3, pool_opts({-1}), kIA,
                      "kernel size should be greater than zero, but got kT: -1 kH: -1 kW: -1");
    expect_pool_error(x3, pool_opts({2}, {-1}), kIA,
                      "stride should be greater than zero, but got dT: -1 dH: -1 dW: -1");
    expect_pool_error(x3, pool_opts({3}, {}, {2}, {2}), kIA,
                      "pad should be smaller than or equal to half of kernel size, but got kT: 3 "
                      "kW: 3 kH: 3 padT: 2 padW: 2 padH: 2");
    expect_pool_error(x3, pool_opts({2}, {}, {0}, {0}), kIA,
                      "dilation should be greater than zero, but got dilationT: 0 dilationH: 0 "
                      "dilationW: 0");
    expect_pool_error(x3, pool_opts({6}), kSM,
                      "Given input size: (2x5x5x5). Calculated output size: (2x0x0x0). Output "
                      "size is too small");
    expect_pool_error({1, 2, 5, 5, 0}, pool_opts({2}), kSM,
                      "max_pool3d(): Expected input to have non-zero size for non-batch "
                      "dimensions, but input has sizes [1, 2, 5, 5, 0] with dimension 4 being "
                      "empty");
    expect_pool_error({5, 5}, pool_opts({2}, {}, {0}, {1}, false, 3), kSM,
                      "non-empty 4D or 5D (batch mode) tensor expected for input");
    expect_pool_error(x3, pool_opts({2, 2}), kIA,
                      "max_pool3d: kernel_size must either be a single int, or a tuple of three "
                      "ints");
  }
  SECTION("overflow and dimensionality") {
    expect_pool_error(x1, pool_opts({std::int64_t(1) << 62}, {1}, {0}, {4}), kIA,
                      "effective kernel size overflows, but got kernel_size=4611686018427387904 "
                      "and dilation=4");
    CHECK(error_of([&] {
            (void)ups::max_pool_output_shape({1, 2}, pool_opts({2}));
          }).code() == kSM);
    CHECK(error_of([&] {
            (void)ups::max_pool_output_shape(x2, pool_opts({2}, {}, {0}, {1}, false, 4));
          }).code() == kIA);
  }
}

TEST_CASE("max_pool output shapes follow PyTorch's formula", "[max_pool]") {
  // floor((in + 2p - d(k-1) - 1) / s) + 1, ceil with the last-window rule (hand-computed).
  CHECK(ups::max_pool_output_shape({1, 1, 5, 5}, pool_opts({2}, {2}, {0}, {1}, true)) ==
        Shape{1, 1, 3, 3});
  CHECK(ups::max_pool_output_shape({1, 1, 5, 5}, pool_opts({2}, {2})) == Shape{1, 1, 2, 2});
  // in 3, k 2, s 2, p 1, ceil: ceil((3 + 2 - 2) / 2) + 1 = 3, but the third window would start
  // at 2 * 2 - 1 = 3 >= in, so it is dropped.
  CHECK(ups::max_pool_output_shape({1, 1, 3}, pool_opts({2}, {2}, {1}, {1}, true)) ==
        Shape{1, 1, 2});
  CHECK(ups::max_pool_output_shape({2, 3, 7, 9, 11}, pool_opts({3, 2, 1}, {1, 2, 3}, {1, 0, 0})) ==
        Shape{2, 3, 7, 4, 4});
  // Unbatched inputs.
  CHECK(ups::max_pool_output_shape({3, 8, 8}, pool_opts({2}, {}, {0}, {1}, false, 2)) ==
        Shape{3, 4, 4});
  CHECK(ups::max_pool_output_shape({3, 8}, pool_opts({2}, {}, {0}, {1}, false, 1)) == Shape{3, 4});
  // A batch of 0 is allowed.
  CHECK(ups::max_pool_output_shape({0, 2, 4, 4}, pool_opts({2})) == Shape{0, 2, 2, 2});
}

TEST_CASE("max_pool checks tensors", "[max_pool][errors]") {
  ups::Context ctx(ups::Device::kCPU);
  HostTensor src(DType::kF32, {1, 2, 4, 4});
  HostTensor dst(DType::kF32, {1, 2, 2, 2});
  HostTensor idx(DType::kI64, {1, 2, 2, 2});
  const auto o = pool_opts({2});
  HostTensor dst16(DType::kF16, {1, 2, 2, 2});
  CHECK(error_of([&] { ups::max_pool(ctx, src.view(), dst16.view(), idx.view(), o); }).code() ==
        ErrorCode::kUnsupportedDType);
  HostTensor idx32(DType::kI32, {1, 2, 2, 2});
  const ups::Error e32 =
      error_of([&] { ups::max_pool(ctx, src.view(), dst.view(), idx32.view(), o); });
  CHECK(e32.code() == ErrorCode::kUnsupportedDType);
  CHECK(std::string(e32.what()) == "max_pool: indices must have dtype i64, but got i32");
  HostTensor dst_bad(DType::kF32, {1, 2, 3, 2});
  CHECK(error_of([&] { ups::max_pool(ctx, src.view(), dst_bad.view(), idx.view(), o); }).code() ==
        ErrorCode::kShapeMismatch);
  HostTensor idx_bad(DType::kI64, {1, 2, 2, 3});
  CHECK(error_of([&] { ups::max_pool(ctx, src.view(), dst.view(), idx_bad.view(), o); }).code() ==
        ErrorCode::kShapeMismatch);
  ups::TensorView on_cuda = dst.view();
  on_cuda.device = ups::Device::kCUDA;
  CHECK(error_of([&] { ups::max_pool(ctx, src.view(), on_cuda, idx.view(), o); }).code() ==
        ErrorCode::kUnsupportedDevice);
  // dst aliasing itself, and outputs overlapping the input or each other.
  ups::TensorView self_alias = dst.view();
  self_alias.strides[3] = 0;
  CHECK(error_of([&] { ups::max_pool(ctx, src.view(), self_alias, idx.view(), o); }).code() ==
        ErrorCode::kInvalidArgument);
  HostTensor big(DType::kI64, {1, 2, 4, 4});
  ups::TensorView in_big =
      ups::TensorView::contiguous(big.data(), DType::kF32, ups::Device::kCPU, {1, 2, 4, 4});
  ups::TensorView dst_in_big = ups::TensorView::contiguous(
      static_cast<float*>(big.data()) + 1, DType::kF32, ups::Device::kCPU, {1, 2, 2, 2});
  CHECK(error_of([&] { ups::max_pool(ctx, in_big, dst_in_big, idx.view(), o); }).code() ==
        ErrorCode::kInvalidArgument);
  HostTensor both(DType::kI64, {2, 2, 2, 2});
  ups::TensorView d_part =
      ups::TensorView::contiguous(both.data(), DType::kF32, ups::Device::kCPU, {1, 2, 2, 2});
  ups::TensorView i_part =
      ups::TensorView::contiguous(both.data(), DType::kI64, ups::Device::kCPU, {1, 2, 2, 2});
  CHECK(error_of([&] { ups::max_pool(ctx, src.view(), d_part, i_part, o); }).code() ==
        ErrorCode::kInvalidArgument);
  // A batch of 0 is a no-op (null data is allowed for empty views).
  const auto empty_in =
      ups::TensorView::contiguous(nullptr, DType::kF32, ups::Device::kCPU, {0, 2, 4, 4});
  const auto empty_out =
      ups::TensorView::contiguous(nullptr, DType::kF32, ups::Device::kCPU, {0, 2, 2, 2});
  const auto empty_idx =
      ups::TensorView::contiguous(nullptr, DType::kI64, ups::Device::kCPU, {0, 2, 2, 2});
  CHECK_NOTHROW(ups::max_pool(ctx, empty_in, empty_out, empty_idx, o));
}

// ---- max_pool: hand-computed results ---------------------------------------------------------

TEST_CASE("max_pool ties, NaN and padding follow PyTorch", "[max_pool]") {
  ups::Context ctx(ups::Device::kCPU);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  auto run1d = [&](DType dt, const std::vector<double>& x, const ups::MaxPoolOptions& o,
                   std::vector<double>* values, std::vector<std::int64_t>* positions) {
    HostTensor src(dt, {1, 1, static_cast<std::int64_t>(x.size())});
    for (std::size_t i = 0; i < x.size(); ++i)
      src.set(static_cast<std::int64_t>(i), x[i]);
    const Shape out = ups::max_pool_output_shape(src.shape(), o);
    HostTensor dst(dt, out), idx(DType::kI64, out);
    ups::max_pool(ctx, src.view(), dst.view(), idx.view(), o);
    values->clear();
    positions->clear();
    for (std::int64_t i = 0; i < dst.numel(); ++i) {
      values->push_back(dst.get(i));
      positions->push_back(static_cast<std::int64_t>(idx.get(i)));
    }
  };
  std::vector<double> v;
  std::vector<std::int64_t> p;
  // Equal maxima: the first wins.
  run1d(DType::kF32, {1, 3, 3, 2, 3, 3}, pool_opts({3}), &v, &p);
  CHECK(p == std::vector<std::int64_t>{1, 4});
  // NaN replaces any maximum, so the last NaN of a window wins.
  run1d(DType::kF32, {1, nan, 3, nan, 0.5, 7}, pool_opts({6}), &v, &p);
  CHECK(std::isnan(v[0]));
  CHECK(p == std::vector<std::int64_t>{3});
  // -inf only: the first in-bounds element; with padding the first tap inside.
  run1d(DType::kF64, {-inf, -inf, -inf, -inf}, pool_opts({2}, {2}, {1}), &v, &p);
  CHECK(p == std::vector<std::int64_t>{0, 1, 3});
  CHECK(v == std::vector<double>{-inf, -inf, -inf});
  // No tap inside the input: input [0, 1], k 2, d 3, p 1 -> taps at -1 and 2 (PyTorch gives
  // -inf and index 2).
  run1d(DType::kF32, {0, 1}, pool_opts({2}, {1}, {1}, {3}), &v, &p);
  CHECK(v == std::vector<double>{-inf});
  CHECK(p == std::vector<std::int64_t>{2});
  // Integers compare as themselves: 2^53 + 1 and 2^53 are equal in f32 and f64, not in i64.
  {
    HostTensor src(DType::kI64, {1, 1, 2});
    const std::int64_t a = (std::int64_t(1) << 53) + 1, b = std::int64_t(1) << 53;
    std::memcpy(src.data(), &b, 8);
    std::memcpy(static_cast<std::int64_t*>(src.data()) + 1, &a, 8);
    HostTensor dst(DType::kI64, {1, 1, 1}), idx(DType::kI64, {1, 1, 1});
    ups::max_pool(ctx, src.view(), dst.view(), idx.view(), pool_opts({2}));
    std::int64_t got = 0, at = -1;
    std::memcpy(&got, dst.data(), 8);
    std::memcpy(&at, idx.data(), 8);
    CHECK(got == a);
    CHECK(at == 1);
  }
  // 2-D index = h * W + w of the plane; 3-D = (d * H + h) * W + w.
  {
    HostTensor src(DType::kF32, {1, 1, 2, 3});
    for (int i = 0; i < 6; ++i)
      src.set(i, i == 4 ? 10 : i);
    HostTensor dst(DType::kF32, {1, 1, 1, 1}), idx(DType::kI64, {1, 1, 1, 1});
    ups::max_pool(ctx, src.view(), dst.view(), idx.view(), pool_opts({2, 3}));
    CHECK(idx.get(0) == 4);
    HostTensor s3(DType::kF32, {1, 1, 2, 2, 2});
    for (int i = 0; i < 8; ++i)
      s3.set(i, i == 6 ? 10 : -i);
    HostTensor d3(DType::kF32, {1, 1, 1, 1, 1}), i3(DType::kI64, {1, 1, 1, 1, 1});
    ups::max_pool(ctx, s3.view(), d3.view(), i3.view(), pool_opts({2}));
    CHECK(i3.get(0) == 6);
    CHECK(d3.get(0) == 10);
  }
}

TEST_CASE("max_pool converts a winning f16/bf16 NaN as PyTorch does", "[max_pool]") {
  ups::Context ctx(ups::Device::kCPU);
  auto pool_bits = [&](DType dt, std::uint16_t a, std::uint16_t b) {
    HostTensor src(dt, {1, 1, 2});
    std::memcpy(src.data(), &a, 2);
    std::memcpy(static_cast<std::uint16_t*>(src.data()) + 1, &b, 2);
    HostTensor dst(dt, {1, 1, 1}), idx(DType::kI64, {1, 1, 1});
    ups::max_pool(ctx, src.view(), dst.view(), idx.view(), pool_opts({2}));
    std::uint16_t out = 0;
    std::memcpy(&out, dst.data(), 2);
    return out;
  };
  // f16 1.0 then a signalling -NaN with a payload: quieted, sign and payload kept (what PyTorch
  // 2.15 returns on x86). bf16: always 0x7fc0 (c10's conversion).
  CHECK(pool_bits(DType::kF16, 0x3c00, 0xfc01) == 0xfe01);
  CHECK(pool_bits(DType::kF16, 0x3c00, 0x7d55) == 0x7f55);
  CHECK(pool_bits(DType::kF16, 0x3c00, 0x7fff) == 0x7fff);
  CHECK(pool_bits(DType::kBF16, 0x3f80, 0xff81) == 0x7fc0);
  // Ordinary values are returned unchanged, including -0.0 and subnormals.
  CHECK(pool_bits(DType::kF16, 0x8000, 0xfc00) == 0x8000);
  CHECK(pool_bits(DType::kBF16, 0x0001, 0x8000) == 0x0001);
}

TEST_CASE("pool window math equals ATen's loop form", "[max_pool][math]") {
  for (std::int64_t in = 1; in <= 9; ++in) {
    for (std::int64_t k = 1; k <= 4; ++k) {
      for (std::int64_t s = 1; s <= 3; ++s) {
        for (std::int64_t d = 1; d <= 3; ++d) {
          for (std::int64_t p = 0; p <= ((k - 1) * d + 1) / 2; ++p) {
            for (std::int64_t o = 0; o < 6; ++o) {
              std::int64_t begin = o * s - p;
              const std::int64_t end = std::min(begin + (k - 1) * d + 1, in);
              while (begin < 0)
                begin += d;  // ATen's form
              const auto span = ups::kern::pool_span(o, in, k, s, p, d);
              INFO("in " << in << " k " << k << " s " << s << " d " << d << " p " << p << " o "
                         << o);
              CHECK(span.begin == begin);
              CHECK(span.end == end);
            }
          }
        }
      }
    }
  }
}

TEST_CASE("narrow and wide index math agree", "[max_pool][max_unpool][math]") {
  // The backends divide in 32 bits when every index fits; the 64-bit path (tensors of 2^32
  // elements or more) must give the same coordinates.
  const std::int64_t sizes[3] = {5, 7, 9};
  for (std::int64_t idx = 0; idx < 3 * 4 * 5 * 7 * 9; idx += 7) {
    for (bool cl : {false, true}) {
      const auto a = ups::kern::unravel_ncdhw(idx, 4, sizes, cl, true);
      const auto b = ups::kern::unravel_ncdhw(idx, 4, sizes, cl, false);
      CHECK((a.n == b.n && a.c == b.c && a.d == b.d && a.h == b.h && a.w == b.w));
    }
  }
  for (std::int64_t a : {std::int64_t(0), std::int64_t(1), std::int64_t(4294967295)}) {
    for (std::int64_t b : {std::int64_t(1), std::int64_t(3), std::int64_t(65536)}) {
      const auto n = ups::kern::divmod_hd(a, b, true);
      CHECK(n.q == a / b);
      CHECK(n.r == a % b);
    }
  }
  const auto w = ups::kern::divmod_hd(std::int64_t(1) << 40, 3, false);
  CHECK(w.q == (std::int64_t(1) << 40) / 3);
  CHECK(w.r == (std::int64_t(1) << 40) % 3);
}

// ---- max_unpool -----------------------------------------------------------------------------

ups::MaxUnpoolOptions unpool_opts(std::vector<std::int64_t> k, std::vector<std::int64_t> s = {},
                                  std::vector<std::int64_t> p = {0},
                                  std::vector<std::int64_t> out = {}, int spatial_dims = 0) {
  ups::MaxUnpoolOptions o;
  o.kernel_size = std::move(k);
  o.stride = std::move(s);
  o.padding = std::move(p);
  o.output_size = std::move(out);
  o.spatial_dims = spatial_dims;
  return o;
}

TEST_CASE("max_unpool rejects bad arguments with PyTorch's messages", "[max_unpool][errors]") {
  ups::Context ctx(ups::Device::kCPU);
  HostTensor v(DType::kF32, {1, 2, 2, 2});
  HostTensor idx(DType::kI64, {1, 2, 2, 2});
  HostTensor dst(DType::kF32, {1, 2, 4, 4});
  auto expect = [&](ErrorCode code, const std::string& message, auto&& call) {
    const ups::Error e = error_of(call);
    CHECK(e.code() == code);
    CHECK(std::string(e.what()) == message);
  };
  HostTensor idx32(DType::kI32, {1, 2, 2, 2});
  expect(ErrorCode::kUnsupportedDType, "elements in indices should be type int64 but got: Int",
         [&] { ups::max_unpool(ctx, v.view(), idx32.view(), dst.view(), unpool_opts({2})); });
  HostTensor idx_shape(DType::kI64, {1, 1, 2, 2});
  expect(ErrorCode::kShapeMismatch,
         "Expected shape of indices to be same as that of the input tensor ([1, 2, 2, 2]) but got "
         "indices tensor with shape: [1, 1, 2, 2]",
         [&] { ups::max_unpool(ctx, v.view(), idx_shape.view(), dst.view(), unpool_opts({2})); });
  expect(ErrorCode::kInvalidArgument,
         "invalid output_size \"(6, 4)\" (dim 0 must be between 2 and 6)", [&] {
           (void)ups::max_unpool_output_shape({1, 2, 2, 2}, unpool_opts({2}, {}, {0}, {6, 4}));
         });
  expect(ErrorCode::kInvalidArgument,
         "invalid output_size \"(2, 4)\" (dim 0 must be between 2 and 6)", [&] {
           (void)ups::max_unpool_output_shape({1, 2, 2, 2}, unpool_opts({2}, {}, {0}, {2, 4}));
         });
  expect(ErrorCode::kInvalidArgument,
         "invalid output_size \"(9,)\" (dim 0 must be between 4 and 8)", [&] {
           (void)ups::max_unpool_output_shape({1, 2, 3}, unpool_opts({2}, {}, {0}, {9}));
         });
  expect(
      ErrorCode::kInvalidArgument,
      "invalid output_size \"(4, 4, 9)\" (dim 2 must be between 2 and 6)", [&] {
        (void)ups::max_unpool_output_shape({1, 2, 2, 2, 2}, unpool_opts({2}, {}, {0}, {4, 4, 9}));
      });
  expect(ErrorCode::kInvalidArgument,
         "output_size should be a sequence containing 2 or 4 elements, but it has a length of '3'",
         [&] {
           (void)ups::max_unpool_output_shape({1, 2, 2, 2}, unpool_opts({2}, {}, {0}, {5, 3, 3}));
         });
  expect(ErrorCode::kShapeMismatch,
         "max_unpooling2d(): Expected input to have non-zero size for non-batch dimensions, but "
         "input has sizes [1, 0, 2, 2] with dimension 1 being empty",
         [&] {
           (void)ups::max_unpool_output_shape({1, 0, 2, 2}, unpool_opts({2}));
         });
  expect(
      ErrorCode::kShapeMismatch,
      "Input to max_unpooling2d should be a 3d or 4d Tensor, but got a tensor with 2 dimensions.",
      [&] {
        (void)ups::max_unpool_output_shape({2, 2}, unpool_opts({2}, {}, {0}, {}, 2));
      });
  expect(ErrorCode::kInvalidArgument,
         "max_unpooling: output_size must contain non-negative spatial dimensions, but got "
         "output_size[0]=-2",
         [&] {
           (void)ups::max_unpool_output_shape({1, 2, 2, 2}, unpool_opts({2}, {}, {3}));
         });
  expect(ErrorCode::kInvalidArgument,
         "strides should be greater than zero, but got stride: [0, 0, 0]", [&] {
           (void)ups::max_unpool_output_shape({1, 2, 2, 2, 2}, unpool_opts({2}, {0}));
         });
  expect(ErrorCode::kInvalidArgument,
         "max_unpool2d: kernel_size must be a single int or two ints, but got 3 values", [&] {
           (void)ups::max_unpool_output_shape({1, 2, 2, 2}, unpool_opts({2, 2, 2}));
         });
  HostTensor dst16(DType::kF16, {1, 2, 4, 4});
  CHECK(error_of([&] {
          ups::max_unpool(ctx, v.view(), idx.view(), dst16.view(), unpool_opts({2}));
        }).code() == ErrorCode::kUnsupportedDType);
  HostTensor dst_shape(DType::kF32, {1, 2, 4, 5});
  CHECK(error_of([&] {
          ups::max_unpool(ctx, v.view(), idx.view(), dst_shape.view(), unpool_opts({2}));
        }).code() == ErrorCode::kShapeMismatch);
  CHECK_THROWS_AS(ups::max_unpool_check(ctx, nullptr), ups::Error);
}

TEST_CASE("max_unpool output shapes", "[max_unpool]") {
  // (in - 1) * stride - 2 * pad + kernel, or an explicit size (k or k + 2 values).
  CHECK(ups::max_unpool_output_shape({1, 2, 2, 2}, unpool_opts({2})) == Shape{1, 2, 4, 4});
  CHECK(ups::max_unpool_output_shape({1, 2, 2, 2}, unpool_opts({2}, {}, {0}, {5, 3})) ==
        Shape{1, 2, 5, 3});
  CHECK(ups::max_unpool_output_shape({1, 2, 2, 2}, unpool_opts({2}, {}, {0}, {7, 7, 5, 3})) ==
        Shape{1, 2, 5, 3});
  CHECK(ups::max_unpool_output_shape({1, 2, 3, 3}, unpool_opts({3}, {2}, {1})) ==
        Shape{1, 2, 5, 5});
  CHECK(ups::max_unpool_output_shape({2, 4, 4}, unpool_opts({2}, {}, {0}, {}, 2)) ==
        Shape{2, 8, 8});
  CHECK(ups::max_unpool_output_shape({3, 5}, unpool_opts({3}, {1}, {1}, {}, 1)) == Shape{3, 5});
  CHECK(ups::max_unpool_output_shape({1, 1, 2, 3, 4}, unpool_opts({2, 1, 3})) ==
        Shape{1, 1, 4, 3, 12});
  ups::Context ctx(ups::Device::kCPU);
  CHECK(ups::max_unpool_workspace_size(ctx, {1, 2, 2, 2}, unpool_opts({2})) == 0);
}

HostTensor make_f32(const Shape& shape, const std::vector<double>& values, Layout l) {
  HostTensor t(DType::kF32, shape);
  for (std::size_t i = 0; i < values.size(); ++i)
    t.set(static_cast<std::int64_t>(i), values[i]);
  return t.to_layout(l);
}
HostTensor make_i64(const Shape& shape, const std::vector<std::int64_t>& values, Layout l) {
  HostTensor t(DType::kI64, shape);
  std::memcpy(t.data(), values.data(), values.size() * 8);
  return t.to_layout(l);
}

TEST_CASE("max_unpool scatters, zero-fills and resolves duplicates", "[max_unpool]") {
  for (Layout l : {Layout::kContiguous, Layout::kChannelsLast}) {
    for (int threads : {1, 3}) {
      INFO(ups_test::to_string(l) << ", " << threads << " threads");
      ups::Context ctx(ups::Device::kCPU);
      ctx.set_num_threads(threads);
      // Plane 0: values 1..4 at indices 1, 1, 1, 0 -> the largest position wins: [4, 3, 0, 0].
      // Plane 1: values 5..8 at indices 3, 2, 1, 0 -> reversed.
      const HostTensor v = make_f32({1, 2, 1, 4}, {1, 2, 3, 4, 5, 6, 7, 8}, l);
      const HostTensor idx = make_i64({1, 2, 1, 4}, {1, 1, 1, 0, 3, 2, 1, 0}, l);
      HostTensor dst(DType::kF32, {1, 2, 1, 4}, l);
      std::memset(dst.data(), 0x7f, dst.nbytes());
      ups::max_unpool(ctx, v.view(), idx.view(), dst.view(), unpool_opts({1}));
      const HostTensor want = make_f32({1, 2, 1, 4}, {4, 3, 0, 0, 8, 7, 6, 5}, Layout::kContiguous);
      CHECK(ups_test::compare_bitwise(dst, want) == "");
    }
  }
}

TEST_CASE("max_unpool rejects invalid indices without writing through them", "[max_unpool]") {
  ups::Context ctx(ups::Device::kCPU);
  const HostTensor v = make_f32({1, 2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8}, Layout::kContiguous);
  HostTensor dst(DType::kF32, {1, 2, 2, 2});
  auto message_for = [&](const std::vector<std::int64_t>& ind) {
    const HostTensor idx = make_i64({1, 2, 2, 2}, ind, Layout::kContiguous);
    return std::string(error_of([&] {
                         ups::max_unpool(ctx, v.view(), idx.view(), dst.view(), unpool_opts({1}));
                       }).what());
  };
  CHECK(message_for({0, 1, 2, -1, 0, 1, 2, 3}) ==
        "Found an invalid max index: -1 (output volumes are of size 2x2)");
  CHECK(message_for({0, 1, 2, 3, 0, 1, 2, 4}) ==
        "Found an invalid max index: 4 (output volumes are of size 2x2)");
  // Several invalid indices: the one at the largest position is named (PyTorch's
  // single-threaded loop over a contiguous input names the last one too).
  CHECK(message_for({0, 1, -5, 7, 2, 9, -3, 1}) ==
        "Found an invalid max index: -3 (output volumes are of size 2x2)");
  // The valid elements were written, the invalid ones skipped.
  const HostTensor want = make_f32({1, 2, 2, 2}, {1, 2, 0, 0, 0, 8, 5, 0}, Layout::kContiguous);
  CHECK(ups_test::compare_bitwise(dst, want) == "");
  // Huge indices must not be truncated to 32 bits (2^32 + 1 would alias index 1).
  CHECK(message_for({0, 1, 2, 3, 0, (std::int64_t(1) << 32) + 1, 2, 3}) ==
        "Found an invalid max index: 4294967297 (output volumes are of size 2x2)");

  // 1-D and 3-D messages, printed as PyTorch prints them.
  {
    const HostTensor v1 = make_f32({1, 1, 3}, {1, 2, 3}, Layout::kContiguous);
    const HostTensor i1 = make_i64({1, 1, 3}, {0, 7, 1}, Layout::kContiguous);
    HostTensor d1(DType::kF32, {1, 1, 6});
    const ups::Error e =
        error_of([&] { ups::max_unpool(ctx, v1.view(), i1.view(), d1.view(), unpool_opts({2})); });
    CHECK(std::string(e.what()) ==
          "Found an invalid max index: 7 (output volumes are of size 6x1)");
    CHECK(e.code() == ErrorCode::kInvalidArgument);
  }
  {
    const HostTensor v3 = make_f32({1, 1, 1, 1, 2}, {1, 2}, Layout::kContiguous);
    const HostTensor i3 = make_i64({1, 1, 1, 1, 2}, {0, 64}, Layout::kContiguous);
    HostTensor d3(DType::kF32, {1, 1, 4, 4, 4});
    const ups::Error e = error_of([&] {
      ups::max_unpool(ctx, v3.view(), i3.view(), d3.view(), unpool_opts({4, 4, 2}));
    });
    CHECK(std::string(e.what()) ==
          "Found an invalid max index: 64 (output volumes are of size 4x4x4)");
  }
}

TEST_CASE("max_unpool deferred index check", "[max_unpool]") {
  ups::Context ctx(ups::Device::kCPU);
  const HostTensor v = make_f32({1, 1, 2, 2}, {1, 2, 3, 4}, Layout::kContiguous);
  HostTensor dst(DType::kF32, {1, 1, 2, 2});
  ups::MaxUnpoolStatus status;
  std::memset(&status, 0x5c, sizeof(status));
  const HostTensor good = make_i64({1, 1, 2, 2}, {3, 2, 1, 0}, Layout::kContiguous);
  ups::max_unpool(ctx, v.view(), good.view(), dst.view(), unpool_opts({1}), &status);
  CHECK(status.position == -1);
  CHECK_NOTHROW(ups::max_unpool_check(ctx, &status));
  const HostTensor bad = make_i64({1, 1, 2, 2}, {3, 2, 9, 0}, Layout::kContiguous);
  CHECK_NOTHROW(ups::max_unpool(ctx, v.view(), bad.view(), dst.view(), unpool_opts({1}), &status));
  CHECK(status.position == 2);
  CHECK(status.index == 9);
  const ups::Error e = error_of([&] { ups::max_unpool_check(ctx, &status); });
  CHECK(std::string(e.what()) == "Found an invalid max index: 9 (output volumes are of size 2x2)");
  // The next call on the same record resets it.
  ups::max_unpool(ctx, v.view(), good.view(), dst.view(), unpool_opts({1}), &status);
  CHECK_NOTHROW(ups::max_unpool_check(ctx, &status));
}

TEST_CASE("max_unpool empty cases are no-ops", "[max_unpool]") {
  ups::Context ctx(ups::Device::kCPU);
  const auto e_in =
      ups::TensorView::contiguous(nullptr, DType::kF32, ups::Device::kCPU, {0, 2, 2, 2});
  const auto e_idx =
      ups::TensorView::contiguous(nullptr, DType::kI64, ups::Device::kCPU, {0, 2, 2, 2});
  const auto e_out =
      ups::TensorView::contiguous(nullptr, DType::kF32, ups::Device::kCPU, {0, 2, 4, 4});
  CHECK_NOTHROW(ups::max_unpool(ctx, e_in, e_idx, e_out, unpool_opts({2})));
  // An output with a zero-sized dim (output_size 0): nothing to write, no index is checked, as in
  // PyTorch.
  const HostTensor v = make_f32({1, 1, 1, 1}, {1}, Layout::kContiguous);
  const HostTensor idx = make_i64({1, 1, 1, 1}, {5}, Layout::kContiguous);
  const auto z_out =
      ups::TensorView::contiguous(nullptr, DType::kF32, ups::Device::kCPU, {1, 1, 0, 1});
  ups::MaxUnpoolStatus status{};
  status.position = 123;
  CHECK_NOTHROW(ups::max_unpool(ctx, v.view(), idx.view(), z_out,
                                unpool_opts({1}, {3}, {0}, {0, 1}), &status));
  CHECK(status.position == -1);
}

TEST_CASE("max_unpool round-trips max_pool for every dtype", "[max_unpool][max_pool]") {
  // Non-overlapping windows: unpool(pool(x)) keeps each window's maximum (at its position) and
  // zeroes the rest: an independent formula for the expected result.
  for (DType dt : {DType::kF32, DType::kF64, DType::kF16, DType::kBF16, DType::kU8, DType::kI32,
                   DType::kI64}) {
    INFO(ups::to_string(dt));
    ups::Context ctx(ups::Device::kCPU);
    HostTensor x(dt, {2, 3, 6, 4});
    ups_test::fill_random(x, 17, 0, 100);
    const auto po = pool_opts({2});
    HostTensor v(dt, {2, 3, 3, 2}), idx(DType::kI64, {2, 3, 3, 2});
    ups::max_pool(ctx, x.view(), v.view(), idx.view(), po);
    HostTensor back(dt, {2, 3, 6, 4}, Layout::kChannelsLast);
    ups::max_unpool(ctx, v.view(), idx.view(), back.view(), unpool_opts({2}));
    HostTensor want(dt, {2, 3, 6, 4});
    for (std::int64_t plane = 0; plane < 6; ++plane) {
      for (std::int64_t wh = 0; wh < 3; ++wh) {
        for (std::int64_t ww = 0; ww < 2; ++ww) {
          std::int64_t best = -1;
          for (std::int64_t a = 0; a < 2; ++a) {
            for (std::int64_t b = 0; b < 2; ++b) {
              const std::int64_t pos = plane * 24 + (2 * wh + a) * 4 + 2 * ww + b;
              if (best < 0 || x.get(pos) > x.get(best)) best = pos;
            }
          }
          want.set(best, x.get(best));
        }
      }
    }
    CHECK(ups_test::compare_bitwise(back, want) == "");
  }
}

}  // namespace
