// The interpolate modes on the resampling engine (lanczos, tricubic, anti-aliased trilinear and
// tricubic) on CUDA: the PyTorch goldens of the CPU suite (tests/support/engine_golden.hpp) in
// contiguous and channels-last layouts, with tables in ups's pool and in a caller workspace of
// the size interpolate_workspace_size() reports; a workspace too small is an error.
#include <catch2/catch.hpp>

#include <string>

#include "engine_golden.hpp"
#include "error_of.hpp"
#include "gpu_support.hpp"
#include "ups/context.hpp"
#include "ups/error.hpp"
#include "ups/interpolate.hpp"

using ups_test::GuardedDeviceTensor;
using ups_test::HostTensor;
using ups_test::Layout;

TEST_CASE("CUDA engine modes match PyTorch goldens", "[gpu][interpolate][engine]") {
  ups_test::CudaStream stream;
  for (const auto& c : ups_test::engine_goldens()) {
    for (const Layout layout : {Layout::kContiguous, Layout::kChannelsLast}) {
      for (const bool workspace : {false, true}) {
        ups::Context ctx(ups::Device::kCUDA, stream.get());
        const std::size_t need =
            ups::interpolate_workspace_size(ctx, c.in_shape, c.dtype, c.options);
        CHECK(need > 0);
        ups_test::DeviceBuffer ws(need);
        if (workspace) ctx.set_workspace(ws.get(), need);
        GuardedDeviceTensor src(c.dtype, c.in_shape, layout, stream.get());
        GuardedDeviceTensor dst(c.dtype, c.out_shape, layout, stream.get());
        src.upload(c.input.to_layout(layout));
        dst.fill(0xFF);
        ups::interpolate(ctx, src.view(), dst.view(), c.options);
        INFO(c.id << " (" << c.oracle << "), " << ups_test::to_string(layout)
                  << (workspace ? ", caller workspace" : ", pool"));
        CHECK(ups_test::compare_engine_golden(c, dst.download()) == "");
        CHECK(dst.check_guards() == "");
      }
    }
  }
}

TEST_CASE("CUDA engine modes report a workspace that is too small", "[gpu][interpolate][engine]") {
  ups_test::CudaStream stream;
  ups::Context ctx(ups::Device::kCUDA, stream.get());
  ups::InterpolateOptions o;
  o.mode = ups::InterpMode::kLanczos;
  o.antialias = true;
  o.size = {5, 7};
  const ups::Shape in = {1, 2, 40, 50};
  ups_test::DeviceBuffer ws(16);
  ctx.set_workspace(ws.get(), 16);
  GuardedDeviceTensor src(ups::DType::kF32, in, Layout::kContiguous, stream.get());
  GuardedDeviceTensor dst(ups::DType::kF32, {1, 2, 5, 7}, Layout::kContiguous, stream.get());
  const ups::Error e =
      ups_test::error_of([&] { ups::interpolate(ctx, src.view(), dst.view(), o); });
  CHECK(e.code() == ups::ErrorCode::kOutOfMemory);
}
