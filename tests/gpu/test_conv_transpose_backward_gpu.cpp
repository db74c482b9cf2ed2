// The CUDA backend of conv_transpose_backward against the CPU backend (itself checked against
// PyTorch autograd goldens in tests/cpu): every algorithm, dtype and layout on decoder-shaped,
// grouped, dilated and 1-D/3-D problems, guarded buffers that reveal stray writes, optional
// gradients, the empty batch, and the same bits over 20 runs for the native kernels and for
// cuDNN under the determinism flag.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "gpu_support.hpp"
#include "test_support.hpp"
#include "ups/context.hpp"
#include "ups/conv_transpose.hpp"
#include "ups/error.hpp"

namespace {

using ups::ConvTransposeAlgo;
using ups::ConvTransposeOptions;
using ups::DType;
using ups::Shape;
using ups_test::GuardedDeviceTensor;
using ups_test::HostTensor;
using ups_test::Layout;

struct Spec {
  const char* name;
  Shape in, w;
  ConvTransposeOptions opt;
};

std::vector<Spec> specs() {
  std::vector<Spec> v;
  {
    Spec s{"2d decoder k4 s2 p1", {2, 16, 9, 7}, {16, 8, 4, 4}, {}};
    s.opt.stride = {2};
    s.opt.padding = {1};
    v.push_back(s);
  }
  {
    Spec s{"2d unet k2 s2", {2, 32, 12, 10}, {32, 16, 2, 2}, {}};
    s.opt.stride = {2};
    v.push_back(s);
  }
  {
    Spec s{"1d groups op", {3, 4, 17}, {4, 3, 3}, {}};
    s.opt.stride = {2};
    s.opt.padding = {1};
    s.opt.output_padding = {1};
    s.opt.groups = 2;
    v.push_back(s);
  }
  {
    Spec s{"3d dilated", {1, 8, 4, 5, 3}, {8, 4, 3, 3, 3}, {}};
    s.opt.stride = {1, 2, 2};
    s.opt.padding = {1};
    s.opt.output_padding = {0, 1, 1};
    s.opt.dilation = {2, 1, 1};
    v.push_back(s);
  }
  {
    Spec s{"2d depthwise", {2, 12, 9, 8}, {12, 1, 3, 3}, {}};
    s.opt.stride = {2};
    s.opt.padding = {1};
    s.opt.output_padding = {1};
    s.opt.groups = 12;
    v.push_back(s);
  }
  {
    Spec s{"2d output_padding >= stride", {1, 8, 6, 5}, {8, 4, 3, 3}, {}};
    s.opt.dilation = {3};
    s.opt.output_padding = {2};
    v.push_back(s);
  }
  return v;
}

struct Host {
  HostTensor gy, x, w;
  Shape out;
};

Host host_problem(const Spec& s, DType dtype, Layout layout, std::uint64_t seed) {
  Host h;
  h.out = ups::conv_transpose_output_shape(s.in, s.w, s.opt);
  h.gy = HostTensor(dtype, h.out, layout);
  h.x = HostTensor(dtype, s.in, layout);
  h.w = HostTensor(dtype, s.w, layout);
  ups_test::fill_random(h.gy, seed);
  ups_test::fill_random(h.x, seed + 1);
  ups_test::fill_random(h.w, seed + 2);
  return h;
}

struct Grads {
  HostTensor gx, gw, gb;
};

Grads cpu_reference(const Spec& s, const Host& h) {
  Grads g{HostTensor(h.x.dtype(), s.in, h.x.layout()), HostTensor(h.x.dtype(), s.w, h.w.layout()),
          HostTensor(h.x.dtype(), {h.out[1]})};
  ups::Context cpu(ups::Device::kCPU);
  ConvTransposeOptions opt = s.opt;
  opt.algorithm = ConvTransposeAlgo::kGather;
  const ups::TensorView vx = g.gx.view(), vw = g.gw.view(), vb = g.gb.view();
  ups::conv_transpose_backward(cpu, h.gy.view(), h.x.view(), h.w.view(), &vx, &vw, &vb, opt);
  return g;
}

struct GpuGrads {
  ups::ConvTransposeBackwardResult result;
  Grads g;
  std::string guards;
};

GpuGrads run_gpu(const ups::Context& ctx, const Spec& s, const Host& h, ConvTransposeAlgo algo,
                 bool want_x = true, bool want_w = true, bool want_b = true) {
  cudaStream_t stream = static_cast<cudaStream_t>(ctx.stream());
  GuardedDeviceTensor gy(h.gy.dtype(), h.out, h.gy.layout(), stream);
  GuardedDeviceTensor x(h.x.dtype(), s.in, h.x.layout(), stream);
  GuardedDeviceTensor w(h.w.dtype(), s.w, h.w.layout(), stream);
  GuardedDeviceTensor gx(h.x.dtype(), s.in, h.x.layout(), stream);
  GuardedDeviceTensor gw(h.w.dtype(), s.w, h.w.layout(), stream);
  GuardedDeviceTensor gb(h.x.dtype(), {h.out[1]}, Layout::kContiguous, stream);
  gy.upload(h.gy);
  x.upload(h.x);
  w.upload(h.w);
  for (GuardedDeviceTensor* t : {&gx, &gw, &gb})
    t->fill(0xFF);
  ConvTransposeOptions opt = s.opt;
  opt.algorithm = algo;
  GpuGrads r;
  r.result = ups::conv_transpose_backward(
      ctx, gy.view(), x.view(), w.view(), want_x ? &gx.view() : nullptr,
      want_w ? &gw.view() : nullptr, want_b ? &gb.view() : nullptr, opt);
  r.g = Grads{gx.download(), gw.download(), gb.download()};
  for (GuardedDeviceTensor* t : {&gx, &gw, &gb})
    r.guards += t->check_guards();
  return r;
}

bool is_cudnn_decline(const ups::Error& e) {
  return e.code() == ups::ErrorCode::kCudnnError &&
         std::string(e.what()).find("cannot compute") != std::string::npos;
}

}  // namespace

TEST_CASE("conv_transpose_backward: every CUDA algorithm matches the CPU backend",
          "[gpu][conv_transpose][backward]") {
  ups::Context ctx(ups::Device::kCUDA);
  const bool have_cudnn = ups::build_info().has_cudnn;
  int cudnn_ran = 0, cudnn_declined = 0;
  std::uint64_t seed = 1;
  for (const Spec& s : specs()) {
    for (DType dtype : {DType::kF32, DType::kF64, DType::kF16, DType::kBF16}) {
      for (Layout layout : {Layout::kContiguous, Layout::kChannelsLast}) {
        const Host h = host_problem(s, dtype, layout, seed++);
        const Grads want = cpu_reference(s, h);
        for (ConvTransposeAlgo algo : {ConvTransposeAlgo::kGather, ConvTransposeAlgo::kCudnn,
                                       ConvTransposeAlgo::kAuto, ConvTransposeAlgo::kBenchmark}) {
          INFO(s.name << " " << ups::to_string(dtype) << " " << ups_test::to_string(layout) << " "
                      << ups::to_string(algo));
          GpuGrads r;
          try {
            r = run_gpu(ctx, s, h, algo);
          } catch (const ups::Error& e) {
            if (algo != ConvTransposeAlgo::kCudnn) throw;
            if (!have_cudnn) {
              CHECK(e.code() == ups::ErrorCode::kNotCompiled);
              continue;
            }
            if (!is_cudnn_decline(e)) throw;
            if (std::string(e.what()).find("output_padding") == std::string::npos) {
              ++cudnn_declined;
            }
            WARN("cuDNN declined: " << e.what());
            continue;
          }
          if (algo == ConvTransposeAlgo::kCudnn) ++cudnn_ran;
          INFO(ups::to_string(r.result.grad_input) << "\n" << ups::to_string(r.result.grad_weight));
          CHECK(r.guards == "");
          CHECK(ups_test::compare_summed(r.g.gx, want.gx) == "");
          CHECK(ups_test::compare_summed(r.g.gw, want.gw) == "");
          CHECK(ups_test::compare_summed(r.g.gb, want.gb) == "");
          CHECK(r.result.grad_bias.algorithm == ConvTransposeAlgo::kGather);
          if (algo == ConvTransposeAlgo::kGather) {
            CHECK(r.result.grad_input.algorithm == ConvTransposeAlgo::kGather);
            CHECK(r.result.grad_weight.algorithm == ConvTransposeAlgo::kGather);
          }
        }
      }
    }
  }
  if (have_cudnn) {
    INFO("cuDNN ran " << cudnn_ran << " problems and declined " << cudnn_declined);
    CHECK(cudnn_ran > cudnn_declined);
  }
}

TEST_CASE("conv_transpose_backward: native and deterministic cuDNN gradients repeat bit for bit",
          "[gpu][conv_transpose][backward][determinism]") {
  ups::Context ctx(ups::Device::kCUDA);
  ctx.set_deterministic(true);
  const Spec s = specs()[0];
  for (DType dtype : {DType::kF32, DType::kBF16}) {
    const Host h = host_problem(s, dtype, Layout::kContiguous, 11);
    for (ConvTransposeAlgo algo : {ConvTransposeAlgo::kGather, ConvTransposeAlgo::kAuto}) {
      INFO(ups::to_string(dtype) << " " << ups::to_string(algo));
      const GpuGrads first = run_gpu(ctx, s, h, algo);
      for (int run = 0; run < 20; ++run) {
        const GpuGrads again = run_gpu(ctx, s, h, algo);
        REQUIRE(ups_test::compare_bitwise(again.g.gx, first.g.gx) == "");
        REQUIRE(ups_test::compare_bitwise(again.g.gw, first.g.gw) == "");
        REQUIRE(ups_test::compare_bitwise(again.g.gb, first.g.gb) == "");
      }
    }
  }
}

TEST_CASE("conv_transpose_backward: optional gradients and the empty batch on CUDA",
          "[gpu][conv_transpose][backward]") {
  ups::Context ctx(ups::Device::kCUDA);
  const Spec s = specs()[1];
  const Host h = host_problem(s, DType::kF32, Layout::kContiguous, 3);
  const Grads want = cpu_reference(s, h);
  const GpuGrads only_w = run_gpu(ctx, s, h, ConvTransposeAlgo::kAuto, false, true, false);
  CHECK(only_w.guards == "");
  CHECK(ups_test::compare_summed(only_w.g.gw, want.gw) == "");
  CHECK(std::isnan(only_w.g.gx.get(0)));  // untouched: still the 0xFF fill
  CHECK(std::isnan(only_w.g.gb.get(0)));
  CHECK(only_w.result.grad_input.algorithm == ConvTransposeAlgo::kAuto);

  Spec empty = s;
  empty.in[0] = 0;
  const Host e = host_problem(empty, DType::kF32, Layout::kContiguous, 4);
  const GpuGrads r = run_gpu(ctx, empty, e, ConvTransposeAlgo::kAuto);
  for (std::int64_t i = 0; i < r.g.gw.numel(); ++i)
    REQUIRE(r.g.gw.get(i) == 0.0);
  for (std::int64_t i = 0; i < r.g.gb.numel(); ++i)
    REQUIRE(r.g.gb.get(i) == 0.0);
}
