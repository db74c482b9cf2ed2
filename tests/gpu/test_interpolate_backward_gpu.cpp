// The CUDA backend of ups::interpolate_backward against the CPU backend (itself checked against
// PyTorch autograd in tests/cpu/test_interpolate_backward.cpp): both form every sum in the same
// order without contraction, so they must agree bit for bit, on random shapes, scales, modes,
// dtypes and layouts. Also: runs repeat bit for bit, caller workspaces of the queried size work,
// and nothing outside grad_input is written.
#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "error_of.hpp"
#include "gpu_support.hpp"
#include "test_support.hpp"
#include "ups/context.hpp"
#include "ups/error.hpp"
#include "ups/interpolate.hpp"

namespace {

using ups::DType;
using ups::InterpMode;
using ups::Shape;
using ups_test::GuardedDeviceTensor;
using ups_test::HostTensor;
using ups_test::Layout;

struct Case {
  ups::InterpolateOptions opt;
  DType dtype;
  Shape in;
  Layout go_layout, gi_layout;
};

Case random_case(std::mt19937_64& rng) {
  const auto& modes = ups::interp_modes();
  // The modes on the resampling engine have no backward.
  const ups::InterpModeTraits* pick = &modes[rng() % modes.size()];
  while (pick->mode == ups::InterpMode::kLanczos || pick->mode == ups::InterpMode::kTricubic)
    pick = &modes[rng() % modes.size()];
  const ups::InterpModeTraits& t = *pick;
  Case c{};
  c.opt.mode = t.mode;
  const int rank =
      t.min_rank + static_cast<int>(rng() % static_cast<unsigned>(t.max_rank - t.min_rank + 1));
  c.opt.antialias = t.antialias && rank == 4 && rng() % 3 == 0;
  static const DType types[] = {DType::kF32, DType::kF64, DType::kF16, DType::kBF16};
  c.dtype = types[rng() % 4];
  c.in = {1 + static_cast<std::int64_t>(rng() % 3), 1 + static_cast<std::int64_t>(rng() % 20)};
  const int max_sp = rank == 5 ? 9 : (rank == 4 ? 30 : 80);
  for (int d = 2; d < rank; ++d)
    c.in.push_back(1 + static_cast<std::int64_t>(rng() % static_cast<unsigned>(max_sp)));
  static const double scales[] = {0.3, 0.5, 0.75, 1.0, 1.3, 2.0, 2.5, 3.0};
  if (rng() % 2 == 0) {
    for (int d = 2; d < rank; ++d)
      c.opt.size.push_back(1 +
                           static_cast<std::int64_t>(rng() % static_cast<unsigned>(2 * max_sp)));
  } else {
    for (int d = 2; d < rank; ++d)
      c.opt.scale_factor.push_back(scales[rng() % 8]);
  }
  if (t.align_corners && rng() % 3 == 0) c.opt.align_corners = true;
  const bool cl_ok = rank >= 4;
  c.go_layout = cl_ok && rng() % 2 ? Layout::kChannelsLast : Layout::kContiguous;
  c.gi_layout = cl_ok && rng() % 2 ? Layout::kChannelsLast : Layout::kContiguous;
  return c;
}

std::string describe(const Case& c) {
  std::string s = std::string(ups::to_string(c.opt.mode)) + (c.opt.antialias ? " aa" : "") + " " +
                  ups::to_string(c.dtype) + " in " + ups::shape_to_string(c.in) + " " +
                  ups_test::to_string(c.go_layout) + " -> " + ups_test::to_string(c.gi_layout);
  return s;
}

}  // namespace

TEST_CASE("CUDA interpolate_backward equals the CPU backend bit for bit",
          "[gpu][interpolate][backward]") {
  std::mt19937_64 rng(4242);
  ups_test::CudaStream stream;
  const ups::Context gpu(ups::Device::kCUDA, stream.get());
  const ups::Context cpu(ups::Device::kCPU);
  int failures = 0;
  for (int i = 0; i < 400; ++i) {
    const Case c = random_case(rng);
    const Shape out = ups::interpolate_output_shape(c.in, c.opt);
    HostTensor go(c.dtype, out);
    ups_test::fill_random(go, 1000 + static_cast<std::uint64_t>(i), -2.0, 2.0);
    HostTensor want(c.dtype, c.in);
    ups::interpolate_backward(cpu, go.view(), want.view(), c.opt);

    GuardedDeviceTensor dgo(c.dtype, out, c.go_layout, stream.get());
    dgo.upload(go.to_layout(c.go_layout));
    std::string err;
    HostTensor first;
    for (int run = 0; run < 2; ++run) {
      GuardedDeviceTensor dgi(c.dtype, c.in, c.gi_layout, stream.get());
      dgi.fill(0xFF);
      ups::interpolate_backward(gpu, dgo.view(), dgi.view(), c.opt);
      const HostTensor got = dgi.download();
      err += ups_test::compare_bitwise(got, want) + dgi.check_guards();
      if (run == 0) first = got;
      if (run == 1) err += ups_test::compare_bitwise(got, first);
    }
    if (!err.empty() && ++failures <= 20) FAIL_CHECK(describe(c) << ": " << err);
  }
  CHECK(failures == 0);
}

TEST_CASE("CUDA interpolate_backward with a caller workspace", "[gpu][interpolate][backward]") {
  ups_test::CudaStream stream;
  ups::Context gpu(ups::Device::kCUDA, stream.get());
  ups::InterpolateOptions opt;
  opt.mode = InterpMode::kBicubic;
  opt.scale_factor = {1.5};
  const Shape in = {2, 3, 20, 24};
  const Shape out = ups::interpolate_output_shape(in, opt);
  const std::size_t need = ups::interpolate_backward_workspace_size(gpu, in, DType::kF32, opt);
  REQUIRE(need > 0);
  HostTensor go(DType::kF32, out);
  ups_test::fill_random(go, 7, -1.0, 1.0);
  HostTensor want(DType::kF32, in);
  ups::interpolate_backward(ups::Context(ups::Device::kCPU), go.view(), want.view(), opt);
  GuardedDeviceTensor dgo(DType::kF32, out, Layout::kContiguous, stream.get());
  dgo.upload(go);
  GuardedDeviceTensor dgi(DType::kF32, in, Layout::kContiguous, stream.get());

  ups_test::DeviceBuffer small(need - 1);
  gpu.set_workspace(small.get(), need - 1);
  const ups::Error e =
      ups_test::error_of([&] { ups::interpolate_backward(gpu, dgo.view(), dgi.view(), opt); });
  CHECK(e.code() == ups::ErrorCode::kOutOfMemory);

  ups_test::DeviceBuffer ws(need);
  gpu.set_workspace(ws.get(), need);
  dgi.fill(0xFF);
  ups::interpolate_backward(gpu, dgo.view(), dgi.view(), opt);
  CHECK(ups_test::compare_bitwise(dgi.download(), want).empty());
}
