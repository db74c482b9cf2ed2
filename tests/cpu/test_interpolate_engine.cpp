// The interpolate modes on the resampling engine (lanczos, tricubic, anti-aliased trilinear and
// tricubic) on the CPU: PyTorch goldens (tests/support/engine_golden.hpp) in contiguous and
// channels-last layouts on one and two threads, PyTorch 2.15's validation messages for lanczos,
// the mode table's new rows, the workspace query, and the backward's refusal.
#include <catch2/catch.hpp>

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "engine_golden.hpp"
#include "error_of.hpp"
#include "test_support.hpp"
#include "ups/context.hpp"
#include "ups/error.hpp"
#include "ups/interpolate.hpp"

namespace {

using ups::DType;
using ups::InterpMode;
using ups::InterpolateOptions;
using ups_test::error_of;
using ups_test::HostTensor;
using ups_test::Layout;

ups::Error interpolate_error(const ups::Shape& shape, const InterpolateOptions& o,
                             DType dtype = DType::kF32) {
  HostTensor in(dtype, shape);
  HostTensor out(dtype, {1});
  return error_of([&] {
    const ups::Shape os = ups::interpolate_output_shape(shape, o);
    out = HostTensor(dtype, os);
    ups::interpolate(ups::Context(ups::Device::kCPU), in.view(), out.view(), o);
  });
}

InterpolateOptions lanczos(std::vector<std::int64_t> size) {
  InterpolateOptions o;
  o.mode = InterpMode::kLanczos;
  o.size = std::move(size);
  o.antialias = true;
  return o;
}

}  // namespace

TEST_CASE("engine modes match PyTorch goldens on the CPU", "[interpolate][golden][engine]") {
  const auto& cases = ups_test::engine_goldens();
  REQUIRE(cases.size() > 50);
  std::set<std::string> covered;
  for (const auto& c : cases) {
    const std::string mode = ups::to_string(c.options.mode);
    covered.insert(mode + (c.options.antialias ? " aa " : " ") + ups::to_string(c.dtype));
    for (const Layout layout : {Layout::kContiguous, Layout::kChannelsLast}) {
      for (const int threads : {1, 2}) {
        const HostTensor in = c.input.to_layout(layout);
        HostTensor out(c.dtype, c.out_shape, layout);
        ups::Context ctx(ups::Device::kCPU);
        ctx.set_num_threads(threads);
        ups::interpolate(ctx, in.view(), out.view(), c.options);
        INFO(c.id << " (" << c.oracle << "), " << ups_test::to_string(layout) << ", threads "
                  << threads);
        CHECK(ups_test::compare_engine_golden(c, out) == "");
      }
    }
  }
  for (const char* key :
       {"lanczos aa f32", "lanczos aa f64", "tricubic f32", "tricubic f64", "tricubic aa f32",
        "tricubic aa f64", "trilinear aa f32", "trilinear aa f64"}) {
    INFO("no golden case for " << key);
    CHECK(covered.count(key) == 1);
  }
}

TEST_CASE("lanczos validates as PyTorch 2.15 does", "[interpolate][engine]") {
  // Without antialias.
  InterpolateOptions o = lanczos({3, 3});
  o.antialias = false;
  ups::Error e = interpolate_error({1, 1, 5, 5}, o);
  CHECK(e.code() == ups::ErrorCode::kInvalidArgument);
  CHECK(std::string(e.what()) == "Lanczos mode requires antialias=True");
  // align_corners=True is rejected (before the antialias check), False is accepted.
  o.align_corners = true;
  e = interpolate_error({1, 1, 5, 5}, o);
  CHECK(std::string(e.what()) == "Lanczos mode does not support align_corners=True");
  o = lanczos({3, 3});
  o.align_corners = false;
  HostTensor in(DType::kF32, {1, 1, 5, 5}), out(DType::kF32, {1, 1, 3, 3});
  ups::interpolate(ups::Context(ups::Device::kCPU), in.view(), out.view(), o);
  // Another rank with antialias: PyTorch's anti-alias message.
  e = interpolate_error({1, 1, 5}, lanczos({3}));
  CHECK(std::string(e.what()) ==
        "Anti-alias option is restricted to bilinear, bicubic, and lanczos modes and requires a "
        "4-D tensor as input");
  // 16-bit types: PyTorch has no lanczos weight tables for them.
  e = interpolate_error({1, 1, 5, 5}, lanczos({3, 3}), DType::kF16);
  CHECK(e.code() == ups::ErrorCode::kUnsupportedDType);
  CHECK(std::string(e.what()) ==
        "interpolate: mode 'lanczos' does not support dtype f16 (supported: f32, f64)");
  e = interpolate_error({1, 1, 5, 5}, lanczos({3, 3}), DType::kU8);
  CHECK(e.code() == ups::ErrorCode::kUnsupportedDType);
}

TEST_CASE("tricubic and 3-D antialias validate", "[interpolate][engine]") {
  InterpolateOptions o;
  o.mode = InterpMode::kTricubic;
  o.size = {3, 3};
  ups::Error e = interpolate_error({1, 1, 5, 5}, o);
  CHECK(e.code() == ups::ErrorCode::kShapeMismatch);
  CHECK(std::string(e.what()) == "Got 4D input, but tricubic mode needs 5D input");
  // antialias with a rank-4 input reports the rank, not PyTorch's 2-D anti-alias message.
  o.antialias = true;
  e = interpolate_error({1, 1, 5, 5}, o);
  CHECK(std::string(e.what()) == "Got 4D input, but tricubic mode needs 5D input");
  // Still PyTorch's message for the modes it knows.
  o.mode = InterpMode::kBilinear;
  o.size = {3, 3, 3};
  e = interpolate_error({1, 1, 5, 5, 5}, o);
  CHECK(std::string(e.what()) ==
        "Anti-alias option is restricted to bilinear, bicubic, and lanczos modes and requires a "
        "4-D tensor as input");
  o.mode = InterpMode::kArea;
  e = interpolate_error({1, 1, 5, 5, 5}, o);
  CHECK(e.code() == ups::ErrorCode::kInvalidArgument);
}

TEST_CASE("mode table rows of the engine modes", "[interpolate][engine]") {
  const auto& l = ups::interp_mode_traits(InterpMode::kLanczos);
  CHECK(std::string(l.name) == "lanczos");
  CHECK(l.min_rank == 4);
  CHECK(l.max_rank == 4);
  CHECK(l.antialias);
  CHECK(l.supports(DType::kF32));
  CHECK(l.supports(DType::kF64));
  CHECK_FALSE(l.supports(DType::kF16));
  const auto& t = ups::interp_mode_traits(InterpMode::kTricubic);
  CHECK(std::string(t.name) == "tricubic");
  CHECK(t.min_rank == 5);
  CHECK(t.align_corners);
  CHECK(t.antialias);
  CHECK(ups::interp_mode_traits(InterpMode::kTrilinear).antialias);
  CHECK(ups::parse_interp_mode("lanczos") == InterpMode::kLanczos);
  CHECK(ups::parse_interp_mode("tricubic") == InterpMode::kTricubic);
}

TEST_CASE("engine modes: workspace and backward", "[interpolate][engine]") {
  const ups::Context cpu(ups::Device::kCPU);
  CHECK(ups::interpolate_workspace_size(cpu, {1, 1, 8, 8}, DType::kF32, lanczos({3, 3})) == 0);
  InterpolateOptions b;
  b.mode = InterpMode::kBilinear;
  b.size = {3, 3};
  CHECK(ups::interpolate_workspace_size(cpu, {1, 1, 8, 8}, DType::kF32, b) == 0);
  // No backward: a clean error naming the mode.
  HostTensor gi(DType::kF32, {1, 1, 8, 8}), go(DType::kF32, {1, 1, 3, 3});
  ups::Error e = error_of([&] {
    ups::interpolate_backward(cpu, go.view(), gi.view(), lanczos({3, 3}));
  });
  CHECK(e.code() == ups::ErrorCode::kInvalidArgument);
  CHECK(std::string(e.what()) ==
        "interpolate_backward: mode 'lanczos' with antialias has no backward");
  InterpolateOptions t;
  t.mode = InterpMode::kTrilinear;
  t.size = {2, 2, 2};
  t.antialias = true;
  HostTensor gi5(DType::kF32, {1, 1, 4, 4, 4}), go5(DType::kF32, {1, 1, 2, 2, 2});
  e = error_of([&] { ups::interpolate_backward(cpu, go5.view(), gi5.view(), t); });
  CHECK(std::string(e.what()) ==
        "interpolate_backward: mode 'trilinear' with antialias has no backward");
  t.mode = InterpMode::kTricubic;
  t.antialias = false;
  e = error_of([&] { ups::interpolate_backward(cpu, go5.view(), gi5.view(), t); });
  CHECK(std::string(e.what()) == "interpolate_backward: mode 'tricubic' has no backward");
  e = error_of([&] {
    ups::interpolate_backward_workspace_size(cpu, {1, 1, 4, 4, 4}, DType::kF32, t);
  });
  CHECK(e.code() == ups::ErrorCode::kInvalidArgument);
}
