// ups::interpolate's front end: option and tensor validation with F.interpolate's rules and
// messages, and output values that can be worked out by hand or with closed-form references
// (no PyTorch goldens involved).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "test_support.hpp"
#include "ups/ups.hpp"

namespace {

using ups::DType;
using ups::ErrorCode;
using ups::InterpMode;
using ups::InterpolateOptions;
using ups::Shape;
using ups_test::HostTensor;
using ups_test::Layout;

// Runs `expr`, which must throw ups::Error with `expected_code` and a message containing
// `expected_phrase`.
#define CHECK_UPS_ERROR(expr, expected_code, expected_phrase)                                      \
  do {                                                                                             \
    try {                                                                                          \
      (void)(expr);                                                                                \
      FAIL_CHECK("no ups::Error from " #expr);                                                     \
    } catch (const ups::Error& e_) {                                                               \
      CHECK(std::string(ups::to_string(e_.code())) == std::string(ups::to_string(expected_code))); \
      CHECK_THAT(std::string(e_.what()), Catch::Contains(expected_phrase));                        \
    }                                                                                              \
  } while (0)

InterpolateOptions by_size(InterpMode mode, std::vector<std::int64_t> size) {
  InterpolateOptions o;
  o.mode = mode;
  o.size = std::move(size);
  return o;
}
InterpolateOptions by_scale(InterpMode mode, std::vector<double> scale) {
  InterpolateOptions o;
  o.mode = mode;
  o.scale_factor = std::move(scale);
  return o;
}
InterpolateOptions with_ac(InterpolateOptions o, bool align_corners) {
  o.align_corners = align_corners;
  return o;
}

std::int64_t product(const Shape& s) {
  std::int64_t n = 1;
  for (auto v : s)
    n *= v;
  return n;
}

// Expects both interpolate_output_shape and interpolate (on real host tensors, where the input
// shape can be allocated) to reject `options` with `code` and a message containing `phrase`.
void expect_invalid(const Shape& in, const InterpolateOptions& options, ErrorCode code,
                    const std::string& phrase) {
  INFO("input " << ups::shape_to_string(in) << ", mode " << ups::to_string(options.mode));
  CHECK_UPS_ERROR(ups::interpolate_output_shape(in, options), code, phrase);
  bool small = in.size() <= static_cast<std::size_t>(ups::kMaxDims);
  for (auto s : in)
    small = small && s >= 0 && s <= 64;
  if (small && product(in) <= (1 << 16)) {
    HostTensor src(DType::kF32, in);
    HostTensor dst(DType::kF32, in);  // the options are rejected before dst is looked at
    const ups::Context ctx(ups::Device::kCPU);
    CHECK_UPS_ERROR(ups::interpolate(ctx, src.view(), dst.view(), options), code, phrase);
  }
}

// Runs interpolate on the CPU and returns the output (contiguous unless `dst_layout` says).
HostTensor run(const HostTensor& src, const InterpolateOptions& o,
               Layout dst_layout = Layout::kContiguous) {
  HostTensor dst(src.dtype(), ups::interpolate_output_shape(src.shape(), o), dst_layout);
  ups::interpolate(ups::Context(ups::Device::kCPU), src.view(), dst.view(), o);
  return dst;
}

HostTensor make(DType dtype, const Shape& shape, const std::vector<double>& values,
                Layout layout = Layout::kContiguous) {
  HostTensor t(dtype, shape, layout);
  REQUIRE(static_cast<std::int64_t>(values.size()) == t.numel());
  for (std::int64_t i = 0; i < t.numel(); ++i)
    t.set(i, values[static_cast<std::size_t>(i)]);
  return t;
}

std::vector<double> values_of(const HostTensor& t) {
  std::vector<double> v;
  for (std::int64_t i = 0; i < t.numel(); ++i)
    v.push_back(t.get(i));
  return v;
}

}  // namespace

// ---- options -----------------------------------------------------------------------------------

TEST_CASE("interpolate mode names", "[interpolate][api]") {
  const std::pair<InterpMode, const char*> rows[] = {
      {InterpMode::kNearest, "nearest"}, {InterpMode::kNearestExact, "nearest-exact"},
      {InterpMode::kLinear, "linear"},   {InterpMode::kBilinear, "bilinear"},
      {InterpMode::kBicubic, "bicubic"}, {InterpMode::kTrilinear, "trilinear"},
      {InterpMode::kArea, "area"}};
  for (const auto& r : rows) {
    CHECK(std::string(ups::to_string(r.first)) == r.second);
    CHECK(ups::parse_interp_mode(r.second) == r.first);
  }
  CHECK_UPS_ERROR(ups::parse_interp_mode("cubic"), ErrorCode::kInvalidArgument,
                  "unknown interpolation mode 'cubic'");
}

TEST_CASE("interpolate_output_shape: valid sizes and scales", "[interpolate][api]") {
  using S = Shape;
  CHECK(ups::interpolate_output_shape({1, 3, 4, 5}, by_scale(InterpMode::kNearest, {2.5})) ==
        S{1, 3, 10, 12});
  CHECK(ups::interpolate_output_shape({1, 3, 4, 5}, by_scale(InterpMode::kNearest, {2.0, 0.5})) ==
        S{1, 3, 8, 2});
  CHECK(ups::interpolate_output_shape({1, 2, 3, 4, 5}, by_size(InterpMode::kTrilinear, {7})) ==
        S{1, 2, 7, 7, 7});
  CHECK(ups::interpolate_output_shape({1, 2, 3, 4, 5}, by_size(InterpMode::kArea, {2, 3, 4})) ==
        S{1, 2, 2, 3, 4});
  CHECK(ups::interpolate_output_shape({2, 3, 9}, by_size(InterpMode::kLinear, {4})) == S{2, 3, 4});
  // floor(in * scale) in double: 10 * 0.3 and 3 * (1/3) round to 3 and 1 exactly.
  CHECK(ups::interpolate_output_shape({2, 3, 10}, by_scale(InterpMode::kLinear, {0.3})) ==
        S{2, 3, 3});
  CHECK(ups::interpolate_output_shape({2, 3, 3}, by_scale(InterpMode::kArea, {1.0 / 3.0})) ==
        S{2, 3, 1});
  CHECK(ups::interpolate_output_shape({2, 3, 7}, by_scale(InterpMode::kArea, {1.0 / 3.0})) ==
        S{2, 3, 2});
  CHECK(ups::interpolate_output_shape({1, 1, 10, 10}, by_scale(InterpMode::kNearest, {2.05})) ==
        S{1, 1, 20, 20});
  InterpolateOptions recompute = by_scale(InterpMode::kBilinear, {1.5});
  recompute.recompute_scale_factor = true;
  CHECK(ups::interpolate_output_shape({1, 1, 5, 5}, recompute) == S{1, 1, 7, 7});
  // A batch of 0 is allowed.
  CHECK(ups::interpolate_output_shape({0, 3, 4, 4}, by_scale(InterpMode::kBilinear, {2.0})) ==
        S{0, 3, 8, 8});
}

TEST_CASE("interpolate: size and scale_factor rules", "[interpolate][api][validation]") {
  InterpolateOptions both = by_size(InterpMode::kNearest, {2});
  both.scale_factor = {2.0};
  expect_invalid({1, 1, 4, 4}, both, ErrorCode::kInvalidArgument,
                 "only one of size or scale_factor should be defined");
  expect_invalid({1, 1, 4, 4}, InterpolateOptions{}, ErrorCode::kInvalidArgument,
                 "either size or scale_factor should be defined");
  expect_invalid({1, 1, 4, 4}, by_size(InterpMode::kNearest, {2, 2, 2}),
                 ErrorCode::kInvalidArgument,
                 "Input and output must have the same number of spatial dimensions, but got "
                 "input with spatial dimensions of [4, 4] and output size of [2, 2, 2]");
  expect_invalid({1, 1, 4, 4, 4}, by_size(InterpMode::kTrilinear, {2, 2}),
                 ErrorCode::kInvalidArgument,
                 "spatial dimensions of [4, 4, 4] and output size of [2, 2]");
  expect_invalid({1, 1, 4, 4}, by_scale(InterpMode::kNearest, {2.0, 2.0, 2.0}),
                 ErrorCode::kInvalidArgument,
                 "Input and scale_factor must have the same number of spatial dimensions, but "
                 "got input with spatial dimensions of [4, 4] and scale_factor of shape [");
  InterpolateOptions recompute = by_size(InterpMode::kBilinear, {2});
  recompute.recompute_scale_factor = true;
  expect_invalid({1, 1, 4, 4}, recompute, ErrorCode::kInvalidArgument,
                 "recompute_scale_factor is not meaningful with an explicit size.");
}

TEST_CASE("interpolate: align_corners and antialias rules", "[interpolate][api][validation]") {
  for (InterpMode m : {InterpMode::kNearest, InterpMode::kArea, InterpMode::kNearestExact}) {
    for (bool ac : {false, true}) {  // any value, even false, is an error
      expect_invalid({1, 1, 4, 4}, with_ac(by_size(m, {8}), ac), ErrorCode::kInvalidArgument,
                     "align_corners option can only be set with the interpolating modes: "
                     "linear | bilinear | bicubic | trilinear");
    }
  }
  struct AaCase {
    InterpMode mode;
    Shape in;
  };
  const AaCase bad[] = {
      {InterpMode::kNearest, {1, 1, 4, 4}},   {InterpMode::kNearestExact, {1, 1, 4, 4}},
      {InterpMode::kArea, {1, 1, 4, 4}},      {InterpMode::kLinear, {1, 1, 4}},
      {InterpMode::kBilinear, {1, 1, 4}},     {InterpMode::kBicubic, {1, 1, 4, 4, 4}},
      {InterpMode::kLanczos, {1, 1, 4, 4, 4}}};
  for (const AaCase& c : bad) {
    InterpolateOptions o = by_size(c.mode, {2});
    o.antialias = true;
    expect_invalid(c.in, o, ErrorCode::kInvalidArgument,
                   "Anti-alias option is restricted to bilinear");
    expect_invalid(c.in, o, ErrorCode::kInvalidArgument, "requires a 4-D tensor as input");
  }
  for (InterpMode m : {InterpMode::kBilinear, InterpMode::kBicubic, InterpMode::kLanczos}) {
    InterpolateOptions o = by_size(m, {2});
    o.antialias = true;
    CHECK(ups::interpolate_output_shape({1, 1, 4, 4}, o) == Shape{1, 1, 2, 2});
  }
  // ups's 3-D anti-aliasing (beyond PyTorch): trilinear and tricubic with a rank-5 input.
  for (InterpMode m : {InterpMode::kTrilinear, InterpMode::kTricubic}) {
    InterpolateOptions o = by_size(m, {2});
    o.antialias = true;
    CHECK(ups::interpolate_output_shape({1, 1, 4, 4, 4}, o) == Shape{1, 1, 2, 2, 2});
  }
}

TEST_CASE("interpolate: rank and mode", "[interpolate][api][validation]") {
  struct Case {
    InterpMode mode;
    Shape in;
    const char* message;
  };
  const Case cases[] = {
      {InterpMode::kLinear, {1, 1, 4, 4}, "Got 4D input, but linear mode needs 3D input"},
      {InterpMode::kLinear, {1, 1, 4, 4, 4}, "Got 5D input, but linear mode needs 3D input"},
      {InterpMode::kBilinear, {1, 1, 4}, "Got 3D input, but bilinear mode needs 4D input"},
      {InterpMode::kBilinear, {1, 1, 4, 4, 4}, "Got 5D input, but bilinear mode needs 4D input"},
      {InterpMode::kTrilinear, {1, 1, 4}, "Got 3D input, but trilinear mode needs 5D input"},
      {InterpMode::kTrilinear, {1, 1, 4, 4}, "Got 4D input, but trilinear mode needs 5D input"},
      // PyTorch has no pair message for bicubic and falls through to the generic one; ups
      // names the mismatch the same way as for the other modes.
      {InterpMode::kBicubic, {1, 1, 4}, "bicubic mode needs 4D input"},
      {InterpMode::kBicubic, {1, 1, 4, 4, 4}, "bicubic mode needs 4D input"},
  };
  for (const Case& c : cases) {
    expect_invalid(c.in, by_size(c.mode, {2}), ErrorCode::kShapeMismatch, c.message);
  }
  for (const Shape& in : {Shape{4, 4}, Shape{4}, Shape{}, Shape{1, 1, 2, 2, 2, 2}}) {
    for (InterpMode m : {InterpMode::kNearest, InterpMode::kArea}) {
      expect_invalid(in, by_size(m, {2}), ErrorCode::kShapeMismatch,
                     "Input Error: Only 3D, 4D and 5D input Tensors supported (got " +
                         std::to_string(in.size()) + "D)");
    }
  }
  expect_invalid({1, 1, 2, 2, 2, 2}, by_size(InterpMode::kNearest, {2}), ErrorCode::kShapeMismatch,
                 "(got nearest)");
}

TEST_CASE("interpolate: empty dims and output sizes", "[interpolate][api][validation]") {
  expect_invalid({1, 0, 4, 4}, by_size(InterpMode::kBilinear, {2}), ErrorCode::kShapeMismatch,
                 "Non-empty 4D data tensor expected but got a tensor with sizes [1, 0, 4, 4]");
  expect_invalid({0, 0, 4, 4}, by_size(InterpMode::kNearest, {2}), ErrorCode::kShapeMismatch,
                 "Non-empty 4D data tensor expected but got a tensor with sizes [0, 0, 4, 4]");
  expect_invalid({2, 0, 5}, by_size(InterpMode::kNearest, {2}), ErrorCode::kShapeMismatch,
                 "Non-empty 3D data tensor expected");
  expect_invalid({1, 0, 2, 2, 2}, by_size(InterpMode::kTrilinear, {2}), ErrorCode::kShapeMismatch,
                 "Non-empty 5D data tensor expected");
  // ATen's upsample_{1,2,3}d_common_check wording, including its 1-D variant.
  expect_invalid({1, 1, 0, 4}, by_size(InterpMode::kBilinear, {2}), ErrorCode::kShapeMismatch,
                 "Input and output sizes should be greater than 0, but got input (H: 0, W: 4) "
                 "output (H: 2, W: 2)");
  expect_invalid({1, 1, 0}, by_size(InterpMode::kLinear, {2}), ErrorCode::kShapeMismatch,
                 "Input and output sizes should be greater than 0, but got input (W: 0) and "
                 "output (W: 2)");
  expect_invalid({1, 1, 4}, by_size(InterpMode::kLinear, {-3}), ErrorCode::kShapeMismatch,
                 "but got input (W: 4) and output (W: -3)");
  expect_invalid({1, 1, 2, 2, 2}, by_size(InterpMode::kTrilinear, {0, 2, 2}),
                 ErrorCode::kShapeMismatch,
                 "Input and output sizes should be greater than 0, but got input (D: 2, H: 2, W: "
                 "2) output (D: 0, H: 2, W: 2)");
  expect_invalid({1, 1, 4, 4}, by_size(InterpMode::kNearest, {-1, 2}), ErrorCode::kShapeMismatch,
                 "output (H: -1, W: 2)");
  expect_invalid({1, 1, 4, 4}, by_scale(InterpMode::kNearest, {0.1}), ErrorCode::kShapeMismatch,
                 "output (H: 0, W: 0)");
  expect_invalid({1, 1, 4, 4}, by_scale(InterpMode::kNearest, {-1.0}), ErrorCode::kShapeMismatch,
                 "output (H: -4, W: -4)");
  expect_invalid({1, 1, 4, 4}, by_scale(InterpMode::kNearest, {0.0}), ErrorCode::kShapeMismatch,
                 "output (H: 0, W: 0)");
}

TEST_CASE("interpolate: non-finite scales and overflowing sizes",
          "[interpolate][api][validation]") {
  const double inf = std::numeric_limits<double>::infinity();
  for (double s : {std::nan(""), inf, -inf}) {
    expect_invalid({1, 1, 4, 4}, by_scale(InterpMode::kNearest, {s}), ErrorCode::kInvalidArgument,
                   "scale_factor must be a finite number");
    expect_invalid({1, 1, 4, 4}, by_scale(InterpMode::kBilinear, {2.0, s}),
                   ErrorCode::kInvalidArgument, "scale_factor must be a finite number");
  }
  expect_invalid({1, 1, 4, 4}, by_scale(InterpMode::kNearest, {1e300}), ErrorCode::kOutOfMemory,
                 "overflows int64");
  expect_invalid({1, 1, 4, 4}, by_scale(InterpMode::kNearest, {2.5e18}), ErrorCode::kOutOfMemory,
                 "overflows int64");
  // Every size fits int64 but the element count does not.
  expect_invalid({1 << 20, 1 << 20, 4, 4}, by_size(InterpMode::kNearest, {1 << 20}),
                 ErrorCode::kOutOfMemory, "2^63");
}

TEST_CASE("interpolate: precedence of errors follows F.interpolate",
          "[interpolate][api][validation]") {
  // F.interpolate checks align_corners, then size / scale_factor, then antialias, then the
  // rank / mode pairing, and only then ATen's size checks.
  InterpolateOptions both = by_size(InterpMode::kLinear, {2});
  both.scale_factor = {2.0};
  expect_invalid({1, 1, 4, 4}, both, ErrorCode::kInvalidArgument,
                 "only one of size or scale_factor");
  expect_invalid({4, 4}, with_ac(by_size(InterpMode::kNearest, {2}), false),
                 ErrorCode::kInvalidArgument, "align_corners option can only be set");
  expect_invalid({4, 4}, by_size(InterpMode::kNearest, {2, 2}), ErrorCode::kInvalidArgument,
                 "spatial dimensions of [] and output size of [2, 2]");
  InterpolateOptions aa_both = both;
  aa_both.mode = InterpMode::kNearest;
  aa_both.antialias = true;
  expect_invalid({1, 1, 4, 4}, aa_both, ErrorCode::kInvalidArgument, "only one of size");
  InterpolateOptions recompute_badlen = by_size(InterpMode::kNearest, {2, 2, 2});
  recompute_badlen.recompute_scale_factor = true;
  expect_invalid({1, 1, 4, 4}, recompute_badlen, ErrorCode::kInvalidArgument,
                 "Input and output must have the same number of spatial dimensions");
  InterpolateOptions aa_rank = by_size(InterpMode::kBilinear, {2});
  aa_rank.antialias = true;
  expect_invalid({1, 1, 4}, aa_rank, ErrorCode::kInvalidArgument, "Anti-alias option");
  expect_invalid({1, 0, 4, 4}, by_size(InterpMode::kLinear, {2}), ErrorCode::kShapeMismatch,
                 "Got 4D input, but linear mode needs 3D input");
  expect_invalid({1, 1, 0, 4}, by_scale(InterpMode::kTrilinear, {std::nan("")}),
                 ErrorCode::kShapeMismatch, "Got 4D input, but trilinear mode needs 5D input");
}

// ---- tensors -----------------------------------------------------------------------------------

TEST_CASE("interpolate: a batch of 0 is a no-op", "[interpolate][api]") {
  const ups::Context ctx(ups::Device::kCPU);
  const auto o = by_scale(InterpMode::kBilinear, {2.0});
  const auto src =
      ups::TensorView::contiguous(nullptr, DType::kF32, ups::Device::kCPU, {0, 3, 4, 4});
  const auto dst =
      ups::TensorView::contiguous(nullptr, DType::kF32, ups::Device::kCPU, {0, 3, 8, 8});
  CHECK_NOTHROW(ups::interpolate(ctx, src, dst, o));
  HostTensor s(DType::kF16, {0, 2, 3}), d(DType::kF16, {0, 2, 5});
  CHECK_NOTHROW(ups::interpolate(ctx, s.view(), d.view(), by_size(InterpMode::kLinear, {5})));
}

TEST_CASE("interpolate: dst shape and dtype", "[interpolate][api][validation]") {
  const ups::Context ctx(ups::Device::kCPU);
  const auto o = by_scale(InterpMode::kNearest, {2.0});
  HostTensor src(DType::kF32, {1, 1, 4, 4});
  HostTensor wrong_shape(DType::kF32, {1, 1, 8, 7});
  CHECK_UPS_ERROR(ups::interpolate(ctx, src.view(), wrong_shape.view(), o),
                  ErrorCode::kShapeMismatch,
                  "expected dst of shape [1, 1, 8, 8] but got [1, 1, 8, 7]");
  HostTensor wrong_rank(DType::kF32, {1, 8, 8});
  CHECK_UPS_ERROR(ups::interpolate(ctx, src.view(), wrong_rank.view(), o),
                  ErrorCode::kShapeMismatch, "expected dst of shape");
  HostTensor wrong_dtype(DType::kF64, {1, 1, 8, 8});
  CHECK_UPS_ERROR(ups::interpolate(ctx, src.view(), wrong_dtype.view(), o),
                  ErrorCode::kUnsupportedDType, "dst has dtype f64 but src has dtype f32");
}

TEST_CASE("interpolate: unsupported dtypes", "[interpolate][api][validation]") {
  const ups::Context ctx(ups::Device::kCPU);
  for (InterpMode m : {InterpMode::kBilinear, InterpMode::kBicubic}) {
    HostTensor src(DType::kU8, {1, 1, 4, 4}), dst(DType::kU8, {1, 1, 8, 8});
    CHECK_UPS_ERROR(ups::interpolate(ctx, src.view(), dst.view(), by_size(m, {8})),
                    ErrorCode::kUnsupportedDType,
                    std::string("mode '") + ups::to_string(m) + "' does not support dtype u8");
  }
  {
    HostTensor src(DType::kU8, {1, 1, 4}), dst(DType::kU8, {1, 1, 2});
    CHECK_UPS_ERROR(ups::interpolate(ctx, src.view(), dst.view(), by_size(InterpMode::kArea, {2})),
                    ErrorCode::kUnsupportedDType, "does not support dtype u8");
  }
  for (DType t : {DType::kI32, DType::kI64}) {
    HostTensor src(t, {1, 1, 4, 4}), dst(t, {1, 1, 8, 8});
    CHECK_UPS_ERROR(
        ups::interpolate(ctx, src.view(), dst.view(), by_size(InterpMode::kNearest, {8})),
        ErrorCode::kUnsupportedDType, std::string("does not support dtype ") + ups::to_string(t));
  }
  // u8 is fine for the copying modes.
  HostTensor src = make(DType::kU8, {1, 1, 1, 2}, {7, 200});
  const HostTensor out = run(src, by_size(InterpMode::kNearestExact, {1, 4}));
  CHECK(values_of(out) == std::vector<double>{7, 7, 200, 200});
}

TEST_CASE("interpolate: data pointers, overlap and devices", "[interpolate][api][validation]") {
  const ups::Context ctx(ups::Device::kCPU);
  const auto o = by_scale(InterpMode::kNearest, {2.0});
  std::vector<float> buf(256, 1.0f);
  const auto src =
      ups::TensorView::contiguous(buf.data(), DType::kF32, ups::Device::kCPU, {1, 1, 4, 4});
  auto null_src = src;
  null_src.data = nullptr;
  auto dst =
      ups::TensorView::contiguous(buf.data() + 64, DType::kF32, ups::Device::kCPU, {1, 1, 8, 8});
  CHECK_NOTHROW(ups::interpolate(ctx, src, dst, o));
  CHECK_UPS_ERROR(ups::interpolate(ctx, null_src, dst, o), ErrorCode::kInvalidArgument,
                  "src has a null data pointer but 16 elements");
  auto null_dst = dst;
  null_dst.data = nullptr;
  CHECK_UPS_ERROR(ups::interpolate(ctx, src, null_dst, o), ErrorCode::kInvalidArgument,
                  "dst has a null data pointer");

  // dst shares memory with src.
  auto overlapping =
      ups::TensorView::contiguous(buf.data() + 8, DType::kF32, ups::Device::kCPU, {1, 1, 8, 8});
  CHECK_UPS_ERROR(ups::interpolate(ctx, src, overlapping, o), ErrorCode::kInvalidArgument,
                  "overlaps the input");
  // dst whose elements alias each other (a zero or too small stride).
  auto zero_stride = dst;
  zero_stride.strides[3] = 0;
  CHECK_UPS_ERROR(ups::interpolate(ctx, src, zero_stride, o), ErrorCode::kInvalidArgument,
                  "overlapping elements");
  auto interleaved = dst;
  interleaved.strides[2] = 4;  // rows of 8 elements 4 apart
  CHECK_UPS_ERROR(ups::interpolate(ctx, src, interleaved, o), ErrorCode::kInvalidArgument,
                  "overlapping elements");
  // A source may alias itself (a broadcast view).
  auto broadcast = src;
  broadcast.strides[2] = 0;
  CHECK_NOTHROW(ups::interpolate(ctx, broadcast, dst, o));

  // Views of the wrong device, or of no device.
  auto cuda_src = src;
  cuda_src.device = ups::Device::kCUDA;
  CHECK_UPS_ERROR(ups::interpolate(ctx, cuda_src, dst, o), ErrorCode::kUnsupportedDevice,
                  "src is on cuda but the context runs on cpu");
  auto cuda_dst = dst;
  cuda_dst.device = ups::Device::kCUDA;
  CHECK_UPS_ERROR(ups::interpolate(ctx, src, cuda_dst, o), ErrorCode::kUnsupportedDevice,
                  "dst is on cuda but the context runs on cpu");
  auto auto_src = src;
  auto_src.device = ups::Device::kAuto;
  CHECK_UPS_ERROR(ups::interpolate(ctx, auto_src, dst, o), ErrorCode::kInvalidArgument,
                  "must live on cpu or cuda");
  auto rank6 = src;
  rank6.ndim = 6;
  CHECK_UPS_ERROR(ups::interpolate(ctx, rank6, dst, o), ErrorCode::kShapeMismatch,
                  "at most 5 dims");
  if (ups::cuda_available()) {
    // Host tensors handed to a CUDA context.
    const ups::Context gpu(ups::Device::kCUDA);
    CHECK_UPS_ERROR(ups::interpolate(gpu, src, dst, o), ErrorCode::kUnsupportedDevice,
                    "src is on cpu but the context runs on cuda");
  }
}

// ---- values ------------------------------------------------------------------------------------

TEST_CASE("interpolate values: nearest 2x", "[interpolate][values]") {
  for (DType t : {DType::kF32, DType::kF64, DType::kF16, DType::kBF16, DType::kU8}) {
    INFO(ups::to_string(t));
    const HostTensor src = make(t, {1, 1, 2, 2}, {1, 2, 3, 4});
    const HostTensor out = run(src, by_scale(InterpMode::kNearest, {2.0}));
    CHECK(out.shape() == Shape{1, 1, 4, 4});
    CHECK(values_of(out) == std::vector<double>{1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4});
  }
}

TEST_CASE("interpolate values: nearest index rules through the API", "[interpolate][values]") {
  std::vector<double> ramp(10);
  for (int i = 0; i < 10; ++i)
    ramp[static_cast<std::size_t>(i)] = i;
  const HostTensor x = make(DType::kF32, {1, 1, 10}, ramp);
  // scale 1.45 -> 14 outputs; the index math uses 1 / 1.45 unless recompute_scale_factor.
  const auto given = values_of(run(x, by_scale(InterpMode::kNearest, {1.45})));
  CHECK(given == std::vector<double>{0, 0, 1, 2, 2, 3, 4, 4, 5, 6, 6, 7, 8, 8});
  InterpolateOptions rec = by_scale(InterpMode::kNearest, {1.45});
  rec.recompute_scale_factor = true;
  const auto recomputed = values_of(run(x, rec));
  CHECK(recomputed == std::vector<double>{0, 0, 1, 2, 2, 3, 4, 5, 5, 6, 7, 7, 8, 9});
  // nearest-exact: floor((d + 0.5) * 10 / 4) = 1, 3, 6, 8.
  CHECK(values_of(run(x, by_size(InterpMode::kNearestExact, {4}))) ==
        std::vector<double>{1, 3, 6, 8});
  // 2-D input, scale 2.05: the double-size rule copies each input twice.
  std::vector<double> grid(100);
  for (int i = 0; i < 100; ++i)
    grid[static_cast<std::size_t>(i)] = i % 10;
  const HostTensor g = make(DType::kF32, {1, 1, 10, 10}, grid);
  const HostTensor og = run(g, by_scale(InterpMode::kNearest, {2.05}));
  REQUIRE(og.shape() == Shape{1, 1, 20, 20});
  for (int j = 0; j < 20; ++j)
    CHECK(og.get(20 * 5 + j) == j / 2);
}

TEST_CASE("interpolate values: bilinear align_corners 3x3 -> 5x5", "[interpolate][values]") {
  // align_corners maps output (i, j) to input (i / 2, j / 2); the input 1..9 is the linear
  // function 1 + 3 h + w, so the output is exactly 1 + 3 i / 2 + j / 2 (multiples of 0.5,
  // exact in every float type).
  for (DType t : {DType::kF32, DType::kF64, DType::kF16, DType::kBF16}) {
    for (Layout layout : {Layout::kContiguous, Layout::kChannelsLast}) {
      INFO(ups::to_string(t) << " " << ups_test::to_string(layout));
      const HostTensor src = make(t, {1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9}, layout);
      const HostTensor out =
          run(src, with_ac(by_size(InterpMode::kBilinear, {5, 5}), true), layout);
      REQUIRE(out.shape() == Shape{1, 1, 5, 5});
      for (int i = 0; i < 5; ++i) {
        for (int j = 0; j < 5; ++j) {
          INFO("(" << i << ", " << j << ")");
          CHECK(out.get(i * 5 + j) == 1.0 + 1.5 * i + 0.5 * j);
        }
      }
    }
  }
}

TEST_CASE("interpolate values: linear 1-D", "[interpolate][values]") {
  const HostTensor two = make(DType::kF32, {1, 1, 2}, {0, 10});
  // Half-pixel centres: 2 -> 4 samples at -0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped).
  CHECK(values_of(run(two, by_size(InterpMode::kLinear, {4}))) ==
        std::vector<double>{0, 2.5, 7.5, 10});
  CHECK(values_of(run(two, with_ac(by_size(InterpMode::kLinear, {5}), true))) ==
        std::vector<double>{0, 2.5, 5, 7.5, 10});
  const HostTensor three = make(DType::kF64, {1, 1, 3}, {0, 1, 2});
  CHECK(values_of(run(three, by_scale(InterpMode::kLinear, {2.0}))) ==
        std::vector<double>{0, 0.25, 0.75, 1.25, 1.75, 2});
  // Downsampling by 2 samples the midpoints.
  const HostTensor four = make(DType::kF32, {1, 1, 4}, {0, 4, 8, 12});
  CHECK(values_of(run(four, by_size(InterpMode::kLinear, {2}))) == std::vector<double>{2, 10});
  // Per channel and per batch: each (n, c) row is resampled on its own.
  const HostTensor rows = make(DType::kF32, {2, 2, 2}, {0, 10, 100, 110, -1, 1, 5, 5});
  CHECK(values_of(run(rows, with_ac(by_size(InterpMode::kLinear, {3}), true))) ==
        std::vector<double>{0, 5, 10, 100, 105, 110, -1, 0, 1, 5, 5, 5});

  // A given scale drives the sample positions as 1 / scale; recompute_scale_factor uses in / out.
  const HostTensor ramp = make(DType::kF64, {1, 1, 5}, {0, 1, 2, 3, 4});
  const auto given = values_of(run(ramp, by_scale(InterpMode::kLinear, {1.5})));
  InterpolateOptions rec = by_scale(InterpMode::kLinear, {1.5});
  rec.recompute_scale_factor = true;
  const auto recomputed = values_of(run(ramp, rec));
  REQUIRE(given.size() == 7);
  REQUIRE(recomputed.size() == 7);
  for (int j = 0; j < 7; ++j) {
    INFO("j " << j);
    const double p_given = std::min(std::max((j + 0.5) / 1.5 - 0.5, 0.0), 4.0);
    const double p_rec = std::min(std::max((j + 0.5) * 5.0 / 7.0 - 0.5, 0.0), 4.0);
    CHECK(given[static_cast<std::size_t>(j)] == Approx(p_given).margin(1e-12));
    CHECK(recomputed[static_cast<std::size_t>(j)] == Approx(p_rec).margin(1e-12));
  }
}

TEST_CASE("interpolate values: area averages", "[interpolate][values]") {
  const HostTensor a = make(DType::kF32, {1, 1, 4}, {1, 2, 3, 4});
  CHECK(values_of(run(a, by_size(InterpMode::kArea, {2}))) == std::vector<double>{1.5, 3.5});
  // 5 -> 3: windows [0, 2), [1, 4), [3, 5).
  const HostTensor b = make(DType::kF64, {1, 1, 5}, {1, 2, 3, 4, 5});
  CHECK(values_of(run(b, by_size(InterpMode::kArea, {3}))) == std::vector<double>{1.5, 3, 4.5});
  // A scale gives the size; the windows come from the sizes alone: 10 -> 4 is
  // [0, 3), [2, 5), [5, 8), [7, 10).
  std::vector<double> ramp(10);
  for (int i = 0; i < 10; ++i)
    ramp[static_cast<std::size_t>(i)] = i;
  const HostTensor c = make(DType::kF32, {1, 1, 10}, ramp);
  CHECK(values_of(run(c, by_scale(InterpMode::kArea, {0.45}))) == std::vector<double>{1, 3, 6, 8});
  // 2-D 4x4 -> 2x2 block means.
  std::vector<double> v(16);
  for (int i = 0; i < 16; ++i)
    v[static_cast<std::size_t>(i)] = i;
  for (Layout layout : {Layout::kContiguous, Layout::kChannelsLast}) {
    const HostTensor d = make(DType::kF32, {1, 1, 4, 4}, v, layout);
    CHECK(values_of(run(d, by_size(InterpMode::kArea, {2}), layout)) ==
          std::vector<double>{2.5, 4.5, 10.5, 12.5});
  }
  // 3-D: the mean of 0..7.
  const HostTensor e = make(DType::kF16, {1, 1, 2, 2, 2}, {0, 1, 2, 3, 4, 5, 6, 7});
  CHECK(values_of(run(e, by_size(InterpMode::kArea, {1}))) == std::vector<double>{3.5});
}

TEST_CASE("interpolate values: trilinear align_corners on a linear function",
          "[interpolate][values]") {
  // f = 100 d + 10 h + w on 2x2x2; align_corners 3x3x3 samples at halves.
  std::vector<double> v;
  for (int d = 0; d < 2; ++d)
    for (int h = 0; h < 2; ++h)
      for (int w = 0; w < 2; ++w)
        v.push_back(100 * d + 10 * h + w);
  const HostTensor src = make(DType::kF32, {1, 1, 2, 2, 2}, v);
  const HostTensor out = run(src, with_ac(by_size(InterpMode::kTrilinear, {3}), true));
  REQUIRE(out.shape() == Shape{1, 1, 3, 3, 3});
  for (int i = 0; i < 27; ++i) {
    const int d = i / 9, h = (i / 3) % 3, w = i % 3;
    CHECK(out.get(i) == 50.0 * d + 5.0 * h + 0.5 * w);
  }
}

namespace {

// Keys' cubic kernel, A = -0.75, as a textbook piecewise polynomial.
double keys(double x) {
  const double a = -0.75;
  x = std::fabs(x);
  if (x <= 1.0) return (a + 2) * x * x * x - (a + 3) * x * x + 1;
  if (x < 2.0) return a * x * x * x - 5 * a * x * x + 8 * a * x - 4 * a;
  return 0.0;
}

double source_position(std::int64_t dst, std::int64_t in, std::int64_t out, bool align_corners) {
  if (align_corners) return out > 1 ? static_cast<double>(dst) * (in - 1) / (out - 1) : 0.0;
  return (dst + 0.5) * static_cast<double>(in) / static_cast<double>(out) - 0.5;
}

}  // namespace

TEST_CASE("interpolate values: bicubic reproduces a linear ramp at whole and half positions",
          "[interpolate][values]") {
  // Keys' kernel with A = -0.75 reproduces linear functions exactly where the fractional
  // position is 0 or 1/2 (by symmetry) and no tap is clamped; align_corners with
  // out = 2 in - 1 samples exactly those positions.
  std::vector<double> v;
  for (int h = 0; h < 6; ++h)
    for (int w = 0; w < 6; ++w)
      v.push_back(1 + 3 * h + 2 * w);
  for (DType t : {DType::kF32, DType::kF64}) {
    const HostTensor src = make(t, {1, 1, 6, 6}, v);
    const HostTensor out = run(src, with_ac(by_size(InterpMode::kBicubic, {11}), true));
    for (int i = 0; i < 11; ++i) {
      for (int j = 0; j < 11; ++j) {
        // Odd positions next to the border have a clamped tap with non-zero weight.
        const bool clamped = (i % 2 == 1 && (i < 2 || i > 7)) || (j % 2 == 1 && (j < 2 || j > 7));
        if (clamped) continue;
        INFO(ups::to_string(t) << " (" << i << ", " << j << ")");
        CHECK(out.get(i * 11 + j) == 1.0 + 1.5 * i + 1.0 * j);
      }
    }
  }
}

TEST_CASE("interpolate values: bicubic and bilinear against double references",
          "[interpolate][values]") {
  const std::int64_t H = 5, W = 6;
  for (bool ac : {false, true}) {
    for (Shape out_hw : {Shape{7, 9}, Shape{3, 4}, Shape{5, 6}, Shape{1, 1}}) {
      HostTensor src(DType::kF64, {2, 3, H, W});
      ups_test::fill_random(src, 42);
      const std::int64_t OH = out_hw[0], OW = out_hw[1];
      const HostTensor cubic =
          run(src, with_ac(by_size(InterpMode::kBicubic, out_hw), ac), Layout::kChannelsLast);
      const HostTensor linear = run(src, with_ac(by_size(InterpMode::kBilinear, out_hw), ac));
      for (std::int64_t plane = 0; plane < 6; ++plane) {
        for (std::int64_t i = 0; i < OH; ++i) {
          for (std::int64_t j = 0; j < OW; ++j) {
            INFO("align_corners " << ac << " out " << OH << "x" << OW << " at (" << plane << ", "
                                  << i << ", " << j << ")");
            const double py = source_position(i, H, OH, ac);
            const double px = source_position(j, W, OW, ac);
            auto at = [&](std::int64_t y, std::int64_t x) {
              y = std::min(std::max<std::int64_t>(y, 0), H - 1);
              x = std::min(std::max<std::int64_t>(x, 0), W - 1);
              return src.get(plane * H * W + y * W + x);
            };
            // Bicubic: 4x4 taps clamped to the border, unclamped position.
            double want_cubic;
            if (OH == H && OW == W) {
              want_cubic = at(i, j);  // same size: a copy
            } else {
              const double fy = std::floor(py), fx = std::floor(px);
              want_cubic = 0.0;
              for (int a = -1; a <= 2; ++a) {
                for (int b = -1; b <= 2; ++b) {
                  want_cubic +=
                      keys(py - (fy + a)) * keys(px - (fx + b)) *
                      at(static_cast<std::int64_t>(fy) + a, static_cast<std::int64_t>(fx) + b);
                }
              }
            }
            const std::int64_t o = plane * OH * OW + i * OW + j;
            CHECK(cubic.get(o) == Approx(want_cubic).margin(1e-12));
            // Bilinear: the position clamped to [0, in - 1].
            const double cy = std::min(std::max(py, 0.0), static_cast<double>(H - 1));
            const double cx = std::min(std::max(px, 0.0), static_cast<double>(W - 1));
            const auto y0 = static_cast<std::int64_t>(std::floor(cy));
            const auto x0 = static_cast<std::int64_t>(std::floor(cx));
            const double ly = cy - y0, lx = cx - x0;
            const double want_linear = (1 - ly) * ((1 - lx) * at(y0, x0) + lx * at(y0, x0 + 1)) +
                                       ly * ((1 - lx) * at(y0 + 1, x0) + lx * at(y0 + 1, x0 + 1));
            CHECK(linear.get(o) == Approx(want_linear).margin(1e-12));
          }
        }
      }
    }
  }
}

TEST_CASE("interpolate values: antialiased bilinear 4 -> 2", "[interpolate][values]") {
  // Each row is 0, 1, 2, 3; the triangle filter stretched by 2 gives weights 3/7, 3/7, 1/7
  // and 1/7, 3/7, 3/7, so the outputs are 5/7 and 16/7 (the rows are all equal, so the
  // vertical pass changes nothing).
  std::vector<double> v;
  for (int h = 0; h < 4; ++h)
    for (int w = 0; w < 4; ++w)
      v.push_back(w);
  const HostTensor src = make(DType::kF32, {1, 1, 4, 4}, v);
  InterpolateOptions o = by_size(InterpMode::kBilinear, {2});
  o.antialias = true;
  const auto out = values_of(run(src, o));
  REQUIRE(out.size() == 4);
  for (int i = 0; i < 4; ++i) {
    CHECK(out[static_cast<std::size_t>(i)] ==
          Approx(i % 2 == 0 ? 5.0 / 7.0 : 16.0 / 7.0).epsilon(1e-6));
  }
}

TEST_CASE("interpolate values: strided, sliced and flipped views", "[interpolate][values]") {
  const ups::Context ctx(ups::Device::kCPU);
  // A 4x6 buffer with b[h][w] = 10 h + w.
  std::vector<float> b(24);
  for (int h = 0; h < 4; ++h)
    for (int w = 0; w < 6; ++w)
      b[static_cast<std::size_t>(h * 6 + w)] = static_cast<float>(10 * h + w);

  // Rows 1..2 and every other column: [[10, 12, 14], [20, 22, 24]].
  ups::TensorView sliced;
  sliced.data = b.data() + 6;
  sliced.dtype = DType::kF32;
  sliced.ndim = 4;
  const std::int64_t sizes[] = {1, 1, 2, 3}, strides[] = {24, 24, 6, 2};
  for (int i = 0; i < 4; ++i) {
    sliced.sizes[i] = sizes[i];
    sliced.strides[i] = strides[i];
  }
  REQUIRE_FALSE(sliced.is_contiguous());
  {
    HostTensor out(DType::kF32, {1, 1, 4, 6});
    ups::interpolate(ctx, sliced, out.view(), by_scale(InterpMode::kNearest, {2.0}));
    const double row0[] = {10, 10, 12, 12, 14, 14}, row1[] = {20, 20, 22, 22, 24, 24};
    for (int j = 0; j < 6; ++j) {
      CHECK(out.get(j) == row0[j]);
      CHECK(out.get(6 + j) == row0[j]);
      CHECK(out.get(12 + j) == row1[j]);
      CHECK(out.get(18 + j) == row1[j]);
    }
  }
  {
    // The slice is the linear function 10 (r + 1) + 2 c; align_corners 2x3 -> 3x5 samples it
    // at (i / 2, j / 2): 10 + 5 i + j.
    HostTensor out(DType::kF32, {1, 1, 3, 5}, Layout::kChannelsLast);
    ups::interpolate(ctx, sliced, out.view(),
                     with_ac(by_size(InterpMode::kBilinear, {3, 5}), true));
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 5; ++j)
        CHECK(out.get(i * 5 + j) == 10.0 + 5.0 * i + j);
  }
  {
    // Flipped columns (negative stride): v[h][w] = 10 h + 5 - w.
    ups::TensorView flipped =
        ups::TensorView::contiguous(b.data() + 5, DType::kF32, ups::Device::kCPU, {1, 1, 4, 6});
    flipped.strides[3] = -1;
    HostTensor out(DType::kF32, {1, 1, 7, 11});
    ups::interpolate(ctx, flipped, out.view(),
                     with_ac(by_size(InterpMode::kBilinear, {7, 11}), true));
    for (int i = 0; i < 7; ++i)
      for (int j = 0; j < 11; ++j)
        CHECK(out.get(i * 11 + j) == 5.0 + 5.0 * i - 0.5 * j);
  }
  {
    // A broadcast (zero-stride) row: every row reads b[0][*].
    ups::TensorView bcast =
        ups::TensorView::contiguous(b.data(), DType::kF32, ups::Device::kCPU, {1, 1, 3, 6});
    bcast.strides[2] = 0;
    HostTensor out(DType::kF32, {1, 1, 3, 3});
    ups::interpolate(ctx, bcast, out.view(), by_size(InterpMode::kArea, {3}));
    for (int i = 0; i < 3; ++i) {
      CHECK(out.get(i * 3 + 0) == 0.5);
      CHECK(out.get(i * 3 + 1) == 2.5);
      CHECK(out.get(i * 3 + 2) == 4.5);
    }
  }
  // The source is untouched.
  for (int i = 0; i < 24; ++i)
    CHECK(b[static_cast<std::size_t>(i)] == 10 * (i / 6) + i % 6);
}
