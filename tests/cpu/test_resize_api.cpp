// ups::resize's API: the enums' names, every validation error (code and message), the output
// shape rules, empty tensors, and the per-dim math of kernels/interpolate/onnx_math.hpp against
// values worked out by hand from ONNX's specification.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "error_of.hpp"
#include "interpolate/onnx_math.hpp"
#include "test_support.hpp"
#include "ups/context.hpp"
#include "ups/resize.hpp"

namespace {

using ups::AspectRatioPolicy;
using ups::CoordinateMode;
using ups::DType;
using ups::ErrorCode;
using ups::NearestMode;
using ups::ResizeMode;
using ups::ResizeOptions;
using ups::Shape;
using ups_test::error_of;
using ups_test::HostTensor;
namespace onnx = ups::kern::onnx;

ResizeOptions scales(std::vector<double> s, ResizeMode mode = ResizeMode::kNearest) {
  ResizeOptions o;
  o.mode = mode;
  o.scales = std::move(s);
  return o;
}

ResizeOptions sizes(std::vector<std::int64_t> s, ResizeMode mode = ResizeMode::kNearest) {
  ResizeOptions o;
  o.mode = mode;
  o.sizes = std::move(s);
  return o;
}

// The error resize_output_shape reports, checked for its code and a part of its message.
void check_error(const Shape& in, const ResizeOptions& o, ErrorCode code, const std::string& part) {
  const ups::Error e = error_of([&] { ups::resize_output_shape(in, o); });
  INFO(e.what());
  CHECK(e.code() == code);
  CHECK(std::string(e.what()).find(part) != std::string::npos);
}

}  // namespace

TEST_CASE("resize enums: names and parsing", "[resize][api]") {
  CHECK(std::string(ups::to_string(ResizeMode::kCubic)) == "cubic");
  CHECK(std::string(ups::to_string(CoordinateMode::kHalfPixelSymmetric)) == "half_pixel_symmetric");
  CHECK(std::string(ups::to_string(CoordinateMode::kTfCropAndResize)) == "tf_crop_and_resize");
  CHECK(std::string(ups::to_string(NearestMode::kRoundPreferCeil)) == "round_prefer_ceil");
  CHECK(std::string(ups::to_string(AspectRatioPolicy::kNotSmaller)) == "not_smaller");
  CHECK(std::string(ups::to_string(static_cast<ResizeMode>(9))) == "?");
  CHECK(std::string(ups::to_string(static_cast<CoordinateMode>(9))) == "?");
  for (auto m : {ResizeMode::kNearest, ResizeMode::kLinear, ResizeMode::kCubic})
    CHECK(ups::parse_resize_mode(ups::to_string(m)) == m);
  for (int i = 0; i < 6; ++i) {
    const auto m = static_cast<CoordinateMode>(i);
    CHECK(ups::parse_coordinate_mode(ups::to_string(m)) == m);
  }
  for (int i = 0; i < 4; ++i) {
    const auto m = static_cast<NearestMode>(i);
    CHECK(ups::parse_nearest_mode(ups::to_string(m)) == m);
  }
  for (int i = 0; i < 3; ++i) {
    const auto p = static_cast<AspectRatioPolicy>(i);
    CHECK(ups::parse_aspect_ratio_policy(ups::to_string(p)) == p);
  }
  const ups::Error e = error_of([] { ups::parse_coordinate_mode("half-pixel"); });
  CHECK(e.code() == ErrorCode::kInvalidArgument);
  CHECK(std::string(e.what()).find("'half-pixel'") != std::string::npos);
  CHECK(std::string(e.what()).find("tf_crop_and_resize") != std::string::npos);
  CHECK(std::string(error_of([] { ups::parse_resize_mode("bilinear"); }).what())
            .find("nearest, linear or cubic") != std::string::npos);
  CHECK_THROWS_AS(ups::parse_nearest_mode("round"), ups::Error);
  CHECK_THROWS_AS(ups::parse_aspect_ratio_policy("fit"), ups::Error);
}

TEST_CASE("resize output shapes", "[resize][api]") {
  // scales: floor(in * scale), every dim including N and C.
  CHECK(ups::resize_output_shape({2, 3, 5}, scales({1.0, 1.0, 1.7})) == Shape{2, 3, 8});
  CHECK(ups::resize_output_shape({2, 3, 5}, scales({1.5, 2.0, 0.5})) == Shape{3, 6, 2});
  CHECK(ups::resize_output_shape({7}, scales({0.1})) == Shape{0});
  // sizes, as given.
  CHECK(ups::resize_output_shape({1, 3, 4, 4}, sizes({1, 3, 9, 2})) == Shape{1, 3, 9, 2});
  // axes: only those dims; any order; negative values.
  ResizeOptions o = sizes({7, 3});
  o.axes = {3, -2};
  CHECK(ups::resize_output_shape({1, 2, 5, 6}, o) == Shape{1, 2, 3, 7});
  o = scales({2.0});
  o.axes = {0};
  CHECK(ups::resize_output_shape({3, 2, 4}, o) == Shape{6, 2, 4});
  // keep_aspect_ratio_policy: one scale for the axes, round halves up.
  o = sizes({1, 1, 8, 10});
  o.keep_aspect_ratio_policy = AspectRatioPolicy::kNotLarger;  // min(1, 1, 8/6, 10/9) = 1
  CHECK(ups::resize_output_shape({1, 1, 6, 9}, o) == Shape{1, 1, 6, 9});
  o.keep_aspect_ratio_policy = AspectRatioPolicy::kNotSmaller;  // max = 4/3, N and C too
  CHECK(ups::resize_output_shape({1, 1, 6, 9}, o) == Shape{1, 1, 8, 12});
  o = sizes({8, 10});
  o.axes = {2, 3};
  o.keep_aspect_ratio_policy = AspectRatioPolicy::kNotLarger;  // min(8/6, 10/9) = 10/9
  CHECK(ups::resize_output_shape({1, 1, 6, 9}, o) == Shape{1, 1, 7, 10});
  o = sizes({5, 100});
  o.axes = {2, 3};
  o.keep_aspect_ratio_policy = AspectRatioPolicy::kNotLarger;  // 5/2: 2 * 2.5 = 5, 3 * 2.5 = 7.5
  CHECK(ups::resize_output_shape({1, 1, 2, 3}, o) == Shape{1, 1, 5, 8});
  // tf_crop_and_resize with scales: floor(in * scale) too, whatever the roi (ONNX's shape
  // inference; the operator's text would multiply by end - start).
  o = scales({1.0, 2.0});
  o.coordinate_mode = CoordinateMode::kTfCropAndResize;
  o.roi = {0.0, 0.25, 1.0, 0.75};
  CHECK(ups::resize_output_shape({3, 8}, o) == Shape{3, 16});
  o.roi = {0.0, 0.8, 1.0, 0.2};  // a flipped region samples backwards
  CHECK(ups::resize_output_shape({3, 8}, o) == Shape{3, 16});
  // Empty dims: a batch of 0 stays 0; an empty dim may be resized to 0.
  CHECK(ups::resize_output_shape({0, 2, 4}, scales({1.0, 1.0, 2.0})) == Shape{0, 2, 8});
  CHECK(ups::resize_output_shape({0, 2, 4}, sizes({0, 2, 3})) == Shape{0, 2, 3});
}

TEST_CASE("resize validation errors", "[resize][api]") {
  const Shape in = {1, 2, 4, 4};
  check_error({}, scales({}), ErrorCode::kShapeMismatch, "rank 1 to 5");
  check_error({1, 1, 1, 1, 1, 1}, scales({1, 1, 1, 1, 1, 1}), ErrorCode::kShapeMismatch, "rank 6");
  check_error(in, ResizeOptions{}, ErrorCode::kInvalidArgument,
              "either sizes or scales must be given");
  ResizeOptions both = scales({1, 1, 2, 2});
  both.sizes = {1, 2, 8, 8};
  check_error(in, both, ErrorCode::kInvalidArgument, "not both");
  check_error(in, scales({2, 2}), ErrorCode::kShapeMismatch,
              "scales has 2 entries, but the input's rank 4 need 4");
  check_error(in, sizes({8, 8, 8}), ErrorCode::kShapeMismatch, "sizes has 3 entries");
  ResizeOptions ax = sizes({8});
  ax.axes = {2, 3};
  check_error(in, ax, ErrorCode::kShapeMismatch, "sizes has 1 entries, but 2 axes [2, 3] need 2");
  ax.axes = {2, 4};
  ax.sizes = {8, 8};
  check_error(in, ax, ErrorCode::kInvalidArgument, "axis 4 is out of range");
  ax.axes = {2, -5};
  check_error(in, ax, ErrorCode::kInvalidArgument, "axis -5 is out of range");
  ax.axes = {3, -1};
  check_error(in, ax, ErrorCode::kInvalidArgument, "name dim 3 more than once");
  ax.axes = {0, 1, 2, 3, 0};
  ax.sizes = {1, 1, 1, 1, 1};
  check_error(in, ax, ErrorCode::kShapeMismatch, "5 axes");
  check_error(in, scales({1, 1, 0, 2}), ErrorCode::kInvalidArgument,
              "scales must be finite and greater than 0");
  check_error(in, scales({1, 1, -1, 2}), ErrorCode::kInvalidArgument, "greater than 0");
  check_error(in, scales({1, 1, NAN, 2}), ErrorCode::kInvalidArgument, "finite");
  check_error(in, scales({1, 1, INFINITY, 2}), ErrorCode::kInvalidArgument, "finite");
  check_error(in, sizes({1, 2, -3, 4}), ErrorCode::kInvalidArgument, "sizes must not be negative");

  ResizeOptions o = scales({1, 1, 2, 2}, ResizeMode::kLinear);
  o.nearest_mode = NearestMode::kFloor;
  check_error(in, o, ErrorCode::kInvalidArgument,
              "nearest_mode applies to mode nearest only, not to mode linear");
  o = scales({1, 1, 2, 2}, ResizeMode::kLinear);
  o.cubic_coeff_a = -0.5;
  check_error(in, o, ErrorCode::kInvalidArgument,
              "cubic_coeff_a applies to mode cubic only, not to mode linear");
  o = scales({1, 1, 2, 2}, ResizeMode::kNearest);
  o.cubic_coeff_a = -0.5;
  check_error(in, o, ErrorCode::kInvalidArgument, "not to mode nearest");
  o = scales({1, 1, 2, 2}, ResizeMode::kCubic);
  o.cubic_coeff_a = NAN;
  check_error(in, o, ErrorCode::kInvalidArgument, "cubic_coeff_a must be a finite number");
  o = scales({1, 1, 2, 2});
  o.antialias = true;
  check_error(in, o, ErrorCode::kInvalidArgument,
              "antialias applies to modes linear and cubic only");
  o = scales({1, 1, 2, 2});
  o.exclude_outside = true;
  check_error(in, o, ErrorCode::kInvalidArgument,
              "exclude_outside applies to modes linear and cubic only");
  o = scales({1, 1, 2, 2}, ResizeMode::kLinear);
  o.roi = {0, 0, 0, 0, 1, 1, 1, 1};
  check_error(in, o, ErrorCode::kInvalidArgument,
              "roi applies to coordinate mode tf_crop_and_resize only, not to half_pixel");
  o = scales({1, 1, 2, 2}, ResizeMode::kLinear);
  o.coordinate_mode = CoordinateMode::kAlignCorners;
  o.extrapolation_value = 1.0;
  check_error(in, o, ErrorCode::kInvalidArgument,
              "extrapolation_value applies to coordinate mode tf_crop_and_resize only, not to "
              "align_corners");
  o = scales({1, 1, 2, 2}, ResizeMode::kLinear);
  o.coordinate_mode = CoordinateMode::kTfCropAndResize;
  check_error(in, o, ErrorCode::kInvalidArgument, "tf_crop_and_resize needs roi (8 values");
  o.roi = {0, 0, 1, 1};
  check_error(in, o, ErrorCode::kShapeMismatch, "roi has 4 entries, but the input's rank 4 need 8");
  o.roi = {0, 0, 0, 0, 1, 1, NAN, 1};
  check_error(in, o, ErrorCode::kInvalidArgument, "roi values must be finite");
  o = scales({1, 1, 2, 2});
  o.keep_aspect_ratio_policy = AspectRatioPolicy::kNotLarger;
  check_error(in, o, ErrorCode::kInvalidArgument,
              "keep_aspect_ratio_policy not_larger applies to sizes only");
  o = sizes({1, 2, 3, 3});
  o.keep_aspect_ratio_policy = AspectRatioPolicy::kNotSmaller;
  check_error({1, 0, 4, 4}, o, ErrorCode::kShapeMismatch, "needs non-empty resized dims");
  check_error({1, 0, 4}, sizes({1, 2, 4}), ErrorCode::kShapeMismatch,
              "dim 1 of input shape [1, 0, 4] is empty but its output size is 2");
  check_error({1, -1, 4}, sizes({1, 2, 4}), ErrorCode::kShapeMismatch, "negative size");
  check_error({1 << 20, 1 << 20}, scales({1e7, 1e7}), ErrorCode::kOutOfMemory, "more than 2^63");
  check_error({4}, scales({1e300}), ErrorCode::kOutOfMemory, "overflows int64");
  o = sizes({1}, ResizeMode::kLinear);
  o.antialias = true;
  check_error({std::int64_t(1) << 23}, o, ErrorCode::kInvalidArgument,
              "would stretch the filter by 8.38861e+06; ups supports at most 4.1943e+06");
  CHECK(ups::resize_output_shape({std::int64_t(1) << 22}, o) == Shape{1});
  // Values outside the enums.
  o = scales({1, 1, 2, 2});
  o.mode = static_cast<ResizeMode>(7);
  check_error(in, o, ErrorCode::kInvalidArgument, "options.mode has the invalid value 7");
  o = scales({1, 1, 2, 2});
  o.coordinate_mode = static_cast<CoordinateMode>(7);
  check_error(in, o, ErrorCode::kInvalidArgument, "options.coordinate_mode");
  o = scales({1, 1, 2, 2});
  o.nearest_mode = static_cast<NearestMode>(7);
  check_error(in, o, ErrorCode::kInvalidArgument, "options.nearest_mode");
  o = sizes({1, 1, 2, 2});
  o.keep_aspect_ratio_policy = static_cast<AspectRatioPolicy>(7);
  check_error(in, o, ErrorCode::kInvalidArgument, "options.keep_aspect_ratio_policy");
}

TEST_CASE("resize checks its tensors", "[resize][api]") {
  const ups::Context cpu(ups::Device::kCPU);
  const ResizeOptions lin = scales({1, 1, 2}, ResizeMode::kLinear);
  HostTensor src(DType::kF32, {1, 2, 3});
  HostTensor dst(DType::kF32, {1, 2, 6});
  ups::resize(cpu, src.view(), dst.view(), lin);  // valid

  HostTensor u8(DType::kU8, {1, 2, 3}), u8_out(DType::kU8, {1, 2, 6});
  ups::Error e = error_of([&] { ups::resize(cpu, u8.view(), u8_out.view(), lin); });
  CHECK(e.code() == ErrorCode::kUnsupportedDType);
  CHECK(std::string(e.what()).find("mode linear does not support dtype u8") != std::string::npos);
  ups::resize(cpu, u8.view(), u8_out.view(), scales({1, 1, 2}));  // nearest takes u8
  HostTensor i32(DType::kI32, {1, 2, 3}), i32_out(DType::kI32, {1, 2, 6});
  e = error_of([&] { ups::resize(cpu, i32.view(), i32_out.view(), scales({1, 1, 2})); });
  CHECK(std::string(e.what()).find("(supported: f32, f64, f16, bf16, u8)") != std::string::npos);

  HostTensor f64_out(DType::kF64, {1, 2, 6});
  e = error_of([&] { ups::resize(cpu, src.view(), f64_out.view(), lin); });
  CHECK(e.code() == ErrorCode::kUnsupportedDType);
  CHECK(std::string(e.what()).find("dst has dtype f64 but src has dtype f32") != std::string::npos);

  HostTensor wrong(DType::kF32, {1, 2, 5});
  e = error_of([&] { ups::resize(cpu, src.view(), wrong.view(), lin); });
  CHECK(e.code() == ErrorCode::kShapeMismatch);
  CHECK(std::string(e.what()).find("expected dst of shape [1, 2, 6] but got [1, 2, 5]") !=
        std::string::npos);

  ups::TensorView gpu_src = src.view();
  gpu_src.device = ups::Device::kCUDA;
  e = error_of([&] { ups::resize(cpu, gpu_src, dst.view(), lin); });
  CHECK(e.code() == ErrorCode::kUnsupportedDevice);

  // An output aliasing itself, and one overlapping the input.
  ups::TensorView alias = dst.view();
  alias.strides[2] = 0;
  e = error_of([&] { ups::resize(cpu, src.view(), alias, lin); });
  CHECK(std::string(e.what()).find("overlapping elements") != std::string::npos);
  HostTensor both(DType::kF32, {1, 2, 9});
  ups::TensorView in_part = both.view(), out_part = both.view();
  in_part.sizes[2] = 3;
  out_part.sizes[2] = 6;
  e = error_of([&] { ups::resize(cpu, in_part, out_part, lin); });
  CHECK(std::string(e.what()).find("overlaps the input") != std::string::npos);

  // Empty outputs are no-ops, whatever the data pointers.
  HostTensor empty_in(DType::kF32, {0, 2, 3}), empty_out(DType::kF32, {0, 2, 6});
  ups::resize(cpu, empty_in.view(), empty_out.view(), lin);
  HostTensor zero_out(DType::kF32, {1, 2, 0});
  ups::resize(cpu, src.view(), zero_out.view(), scales({1, 1, 0.2}, ResizeMode::kLinear));

  CHECK(ups::resize_workspace_size(cpu, {1, 2, 3}, DType::kF32, lin) == 0);
  CHECK_THROWS_AS(ups::resize_workspace_size(cpu, {1, 2, 3}, DType::kU8, lin), ups::Error);
  CHECK_THROWS_AS(ups::resize_workspace_size(cpu, {1, 2, 3}, DType::kF32, scales({2})), ups::Error);
}

TEST_CASE("resize leaves unresized dims and identity scales exact", "[resize][api]") {
  // A cubic resize of scale 1 in a dim is the identity there (the weights are 0, 1, 0, 0).
  const ups::Context cpu(ups::Device::kCPU);
  HostTensor src(DType::kF64, {2, 3, 5});
  ups_test::fill_random(src, 5);
  HostTensor dst(DType::kF64, {2, 3, 5});
  ups::resize(cpu, src.view(), dst.view(), scales({1, 1, 1}, ResizeMode::kCubic));
  CHECK(ups_test::compare_bitwise(dst, src) == "");
}

TEST_CASE("onnx_math: coordinate transforms", "[resize][math]") {
  onnx::DimGeometry g{4, 6, 1.5, 6.0, 0.0, 1.0};
  // half_pixel: (x + 0.5) / 1.5 - 0.5.
  CHECK(onnx::source_coordinate(onnx::Coord::kHalfPixel, 0, g) == Approx(-1.0 / 6.0));
  CHECK(onnx::source_coordinate(onnx::Coord::kHalfPixel, 5, g) == Approx(19.0 / 6.0));
  // align_corners: x * 3 / 5.
  CHECK(onnx::source_coordinate(onnx::Coord::kAlignCorners, 5, g) == 3.0);
  CHECK(onnx::source_coordinate(onnx::Coord::kAsymmetric, 3, g) == 2.0);
  // half_pixel_symmetric equals half_pixel when the target length is an integer.
  CHECK(onnx::source_coordinate(onnx::Coord::kHalfPixelSymmetric, 2, g) ==
        Approx(onnx::source_coordinate(onnx::Coord::kHalfPixel, 2, g)));
  // ... and shifts by center * (1 - out / width) otherwise: in 5, scale 1.3, width 6.5, out 6.
  const onnx::DimGeometry f{5, 6, 1.3, 6.5, 0.0, 1.0};
  CHECK(onnx::source_coordinate(onnx::Coord::kHalfPixelSymmetric, 0, f) ==
        Approx(2.5 * (1.0 - 6.0 / 6.5) + 0.5 / 1.3 - 0.5));
  // Lengths of 1.
  const onnx::DimGeometry one{7, 1, 1.0 / 7.0, 1.0, 0.2, 0.7};
  CHECK(onnx::source_coordinate(onnx::Coord::kPytorchHalfPixel, 0, one) == 0.0);
  CHECK(onnx::source_coordinate(onnx::Coord::kAlignCorners, 0, one) == 0.0);
  CHECK(onnx::source_coordinate(onnx::Coord::kHalfPixel, 0, one) == Approx(3.0));
  CHECK(onnx::source_coordinate(onnx::Coord::kTfCropAndResize, 0, one) == Approx(0.45 * 6.0));
  // tf_crop_and_resize: start * (in - 1) + x * (end - start) * (in - 1) / (out - 1).
  const onnx::DimGeometry crop{5, 3, 0.6, 3.0, -0.25, 1.25};
  CHECK(onnx::source_coordinate(onnx::Coord::kTfCropAndResize, 0, crop) == -1.0);
  CHECK(onnx::source_coordinate(onnx::Coord::kTfCropAndResize, 1, crop) == 2.0);
  CHECK(onnx::source_coordinate(onnx::Coord::kTfCropAndResize, 2, crop) == 5.0);
  CHECK(onnx::is_outside(onnx::Coord::kTfCropAndResize, -1.0, 5));
  CHECK_FALSE(onnx::is_outside(onnx::Coord::kTfCropAndResize, 4.0, 5));
  CHECK(onnx::is_outside(onnx::Coord::kTfCropAndResize, 4.0000001, 5));
  CHECK_FALSE(onnx::is_outside(onnx::Coord::kHalfPixel, -1.0, 5));
}

TEST_CASE("onnx_math: nearest modes", "[resize][math]") {
  using N = onnx::Nearest;
  CHECK(onnx::nearest_index(N::kRoundPreferFloor, 1.5, 9) == 1);
  CHECK(onnx::nearest_index(N::kRoundPreferCeil, 1.5, 9) == 2);
  CHECK(onnx::nearest_index(N::kRoundPreferFloor, 1.51, 9) == 2);
  CHECK(onnx::nearest_index(N::kRoundPreferCeil, 1.49, 9) == 1);
  CHECK(onnx::nearest_index(N::kFloor, 1.99, 9) == 1);
  CHECK(onnx::nearest_index(N::kCeil, 1.01, 9) == 2);
  CHECK(onnx::nearest_index(N::kCeil, 2.0, 9) == 2);    // an integer is itself
  CHECK(onnx::nearest_index(N::kFloor, -0.5, 9) == 0);  // clamped
  CHECK(onnx::nearest_index(N::kRoundPreferCeil, -0.5, 9) == 0);
  CHECK(onnx::nearest_index(N::kCeil, 8.2, 9) == 8);
}

TEST_CASE("onnx_math: weights", "[resize][math]") {
  double w[64];
  // Linear: 1 - t, t.
  CHECK(onnx::filter_weights(false, -0.75, false, 1.0, 0.25, w) == 2);
  CHECK(w[0] == 0.75);
  CHECK(w[1] == 0.25);
  // Keys' cubic at t = 0.5, a = -0.75: -0.09375, 0.59375, 0.59375, -0.09375.
  CHECK(onnx::filter_weights(true, -0.75, false, 1.0, 0.5, w) == 4);
  CHECK(w[0] == Approx(-0.09375));
  CHECK(w[1] == Approx(0.59375));
  CHECK(w[2] == Approx(0.59375));
  CHECK(w[3] == Approx(-0.09375));
  // a = -0.5 at t = 0.5: -0.0625, 0.5625, 0.5625, -0.0625.
  onnx::filter_weights(true, -0.5, false, 1.0, 0.5, w);
  CHECK(w[0] == Approx(-0.0625));
  CHECK(w[1] == Approx(0.5625));
  // Antialias at scale 0.5: the triangle of half-width 2 over taps -1..2 around t = 1 (x an
  // integer): distances 2, 1, 0, 1 -> 0, 0.5, 1, 0.5, normalised to 0, 0.25, 0.5, 0.25.
  CHECK(onnx::window_start(1, 0.5) == -1);
  CHECK(onnx::filter_weights(false, 0.0, true, 0.5, 1.0, w) == 4);
  CHECK(w[0] == 0.0);
  CHECK(w[1] == 0.25);
  CHECK(w[2] == 0.5);
  CHECK(w[3] == 0.25);
  // Cubic antialias at scale 0.25: 16 taps, summing to 1.
  CHECK(onnx::window_taps(2, 0.25) == 16);
  REQUIRE(onnx::filter_weights(true, -0.75, true, 0.25, 0.3, w) == 16);
  double sum = 0.0;
  for (int j = 0; j < 16; ++j)
    sum += w[j];
  CHECK(sum == Approx(1.0));
  CHECK(onnx::filter_scale(true, 0.25) == 0.25);
  CHECK(onnx::filter_scale(true, 2.0) == 1.0);
  CHECK(onnx::filter_scale(false, 0.25) == 1.0);
  // exclude_outside: taps -1 and 0 of in = 3 with 0.25 / 0.75 -> 0, 1.
  w[0] = 0.25;
  w[1] = 0.75;
  onnx::exclude_outside(-1, 2, 3, w);
  CHECK(w[0] == 0.0);
  CHECK(w[1] == 1.0);
  std::int64_t left = 0;
  double ratio = 0.0;
  onnx::split_coordinate(3.0, &left, &ratio);
  CHECK(left == 2);
  CHECK(ratio == 1.0);
  onnx::split_coordinate(-0.25, &left, &ratio);
  CHECK(left == -1);
  CHECK(ratio == 0.75);
}

TEST_CASE("resize: tf_crop_and_resize extrapolates in any dim", "[resize][api]") {
  // A 2x2 input cropped to roi [-1, 2] in both dims with 4 samples: coordinates -3, 0, 3... in
  // (in - 1) units: x = -1 + o * 3 * 1 / 3 = -1, 0, 1, 2; rows/cols -1 and 2 are outside.
  const ups::Context cpu(ups::Device::kCPU);
  HostTensor src(DType::kF32, {2, 2});
  src.set(0, 1.0);
  src.set(1, 2.0);
  src.set(2, 3.0);
  src.set(3, 4.0);
  ResizeOptions o = sizes({4, 4}, ResizeMode::kLinear);
  o.coordinate_mode = CoordinateMode::kTfCropAndResize;
  o.roi = {-1.0, -1.0, 2.0, 2.0};
  o.extrapolation_value = -9.0;
  HostTensor dst(DType::kF32, {4, 4});
  ups::resize(cpu, src.view(), dst.view(), o);
  const double want[16] = {-9, -9, -9, -9, -9, 1, 2, -9, -9, 3, 4, -9, -9, -9, -9, -9};
  for (int i = 0; i < 16; ++i) {
    INFO(i);
    CHECK(dst.get(i) == want[i]);
  }
}

TEST_CASE("resize gives the same bits for any thread count and layout", "[resize][api]") {
  // Outputs large enough for the CPU backend to split them across threads.
  struct Config {
    Shape in;
    ResizeOptions o;
  };
  std::vector<Config> configs;
  ResizeOptions o = scales({1, 1, 0.37, 0.52}, ResizeMode::kLinear);
  o.antialias = true;
  configs.push_back({{2, 3, 97, 131}, o});
  o = scales({1, 1, 1.9, 1.3}, ResizeMode::kCubic);
  o.cubic_coeff_a = -0.5;
  o.exclude_outside = true;
  configs.push_back({{2, 3, 67, 45}, o});
  o = sizes({2, 3, 150, 77}, ResizeMode::kLinear);
  o.coordinate_mode = CoordinateMode::kTfCropAndResize;
  o.roi = {0, 0, -0.1, 0.2, 1, 1, 1.05, 0.9};
  o.extrapolation_value = 3.5;
  configs.push_back({{2, 3, 60, 70}, o});
  o = scales({1, 1, 2.5, 1.5, 0.7});
  o.coordinate_mode = CoordinateMode::kAsymmetric;
  o.nearest_mode = NearestMode::kCeil;
  configs.push_back({{1, 3, 20, 30, 40}, o});
  std::uint64_t seed = 40;
  for (const Config& cfg : configs) {
    for (DType dt : {DType::kF32, DType::kF64, DType::kBF16}) {
      INFO(ups::shape_to_string(cfg.in)
           << " " << ups::to_string(dt) << " " << ups::to_string(cfg.o.mode));
      const Shape out = ups::resize_output_shape(cfg.in, cfg.o);
      HostTensor src(dt, cfg.in);
      ups_test::fill_random(src, ++seed, -2.0, 2.0);
      HostTensor one(dt, out);
      ups::Context ctx(ups::Device::kCPU);
      ctx.set_num_threads(1);
      ups::resize(ctx, src.view(), one.view(), cfg.o);
      for (int threads : {2, 3}) {
        HostTensor many(dt, out);
        ctx.set_num_threads(threads);
        ups::resize(ctx, src.view(), many.view(), cfg.o);
        CHECK(ups_test::compare_bitwise(many, one) == "");
      }
      // Channels-last operands: the same values (the order of the passes may differ).
      const HostTensor src_cl = src.to_layout(ups_test::Layout::kChannelsLast);
      HostTensor cl(dt, out, ups_test::Layout::kChannelsLast);
      ctx.set_num_threads(2);
      ups::resize(ctx, src_cl.view(), cl.view(), cfg.o);
      const double tol = dt == DType::kF64 ? 1e-12 : dt == DType::kF32 ? 1e-5 : 2e-2;
      CHECK(ups_test::compare(cl, one, tol, tol) == "");
    }
  }
}

TEST_CASE("resize: antialias over a whole long dim", "[resize][api]") {
  // 2^20 -> 1 with antialias: a triangle window of 2^21 taps, clamped to the input, whose
  // weights sum to 1, so a constant stays constant; a ramp gives its mean (the window is
  // symmetric about the centre).
  const std::int64_t n = std::int64_t(1) << 20;
  ResizeOptions o = sizes({1}, ResizeMode::kLinear);
  o.antialias = true;
  HostTensor src(DType::kF64, {n});
  for (std::int64_t i = 0; i < n; ++i)
    src.set(i, static_cast<double>(i));
  HostTensor dst(DType::kF64, {1});
  ups::resize(ups::Context(ups::Device::kCPU), src.view(), dst.view(), o);
  CHECK(dst.get(0) == Approx((n - 1) / 2.0).epsilon(1e-9));
  o.exclude_outside = true;
  ups::resize(ups::Context(ups::Device::kCPU), src.view(), dst.view(), o);
  CHECK(dst.get(0) == Approx((n - 1) / 2.0).epsilon(1e-9));
}
