// GPU tests of ups::conv_transpose: every CUDA algorithm against the CPU backend in every dtype
// and both layouts, bitwise run-to-run determinism, the determinism rules, the benchmark cache,
// scratch memory, and the reasons reported when cuDNN cannot run.
#include <cuda_runtime_api.h>
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

using ups::ConvTransposeAlgo;
using ups::ConvTransposeOptions;
using ups::DType;
using ups::Shape;
using ups_test::HostTensor;
using ups_test::Layout;

namespace {

void cuda_ok(cudaError_t e) {
  REQUIRE(e == cudaSuccess);
}

// 0xFF bytes are NaN in every float type: an output element that an op forgets to write cannot
// match a finite expected value.
constexpr int kPoison = 0xFF;

// A device copy of a host tensor with the same layout, or (with `fill`) a tensor of its shape and
// layout whose every byte is `fill`.
class DeviceTensor {
 public:
  explicit DeviceTensor(const HostTensor& h, int fill = -1) : bytes_(h.nbytes()) {
    cuda_ok(cudaMalloc(&ptr_, bytes_ == 0 ? 1 : bytes_));
    if (bytes_ == 0) return;
    if (fill >= 0) {
      cuda_ok(cudaMemset(ptr_, fill, bytes_));
    } else {
      cuda_ok(cudaMemcpy(ptr_, h.data(), bytes_, cudaMemcpyHostToDevice));
    }
  }
  ~DeviceTensor() { (void)cudaFree(ptr_); }
  DeviceTensor(const DeviceTensor&) = delete;
  DeviceTensor& operator=(const DeviceTensor&) = delete;
  ups::TensorView view(const HostTensor& like) const {
    ups::TensorView v = like.view();
    v.data = ptr_;
    v.device = ups::Device::kCUDA;
    return v;
  }
  void download(HostTensor& h) const {
    cuda_ok(cudaDeviceSynchronize());
    cuda_ok(cudaMemcpy(h.data(), ptr_, bytes_, cudaMemcpyDeviceToHost));
  }
  void* data() const { return ptr_; }

 private:
  void* ptr_ = nullptr;
  std::size_t bytes_;
};

struct Spec {
  const char* name;
  Shape in, w;
  ConvTransposeOptions opt;
  bool bias;
};

std::vector<Spec> specs() {
  std::vector<Spec> v;
  {
    Spec s{"2d decoder k4 s2 p1", {2, 16, 9, 7}, {16, 8, 4, 4}, {}, true};
    s.opt.stride = {2};
    s.opt.padding = {1};
    v.push_back(s);
  }
  {
    Spec s{"1d groups op", {3, 4, 17}, {4, 3, 3}, {}, false};
    s.opt.stride = {2};
    s.opt.padding = {1};
    s.opt.output_padding = {1};
    s.opt.groups = 2;
    v.push_back(s);
  }
  {
    Spec s{"3d dilated", {1, 8, 4, 5, 3}, {8, 4, 3, 3, 3}, {}, true};
    s.opt.stride = {1, 2, 2};
    s.opt.padding = {1};
    s.opt.output_padding = {0, 1, 1};
    s.opt.dilation = {2, 1, 1};
    v.push_back(s);
  }
  {
    Spec s{"2d output_padding >= stride", {1, 32, 6, 5}, {32, 4, 3, 3}, {}, false};
    s.opt.dilation = {3};
    s.opt.output_padding = {2};
    v.push_back(s);
  }
  {
    Spec s{"2d groups s3 d2", {2, 8, 5, 6}, {8, 2, 3, 3}, {}, true};
    s.opt.stride = {3};
    s.opt.dilation = {2};
    s.opt.padding = {2};
    s.opt.groups = 4;
    v.push_back(s);
  }
  return v;
}

struct HostProblem {
  HostTensor src, weight, bias, dst;
  Shape out;
};

HostProblem host_problem(const Spec& s, DType dtype, Layout layout, std::uint64_t seed) {
  HostProblem p;
  p.out = ups::conv_transpose_output_shape(s.in, s.w, s.opt);
  p.src = HostTensor(dtype, s.in, layout);
  p.weight = HostTensor(dtype, s.w, layout);
  p.dst = HostTensor(dtype, p.out, layout);
  ups_test::fill_random(p.src, seed);
  ups_test::fill_random(p.weight, seed + 1);
  p.bias = HostTensor(dtype, {p.out[1]});
  ups_test::fill_random(p.bias, seed + 2);
  return p;
}

// The CPU backend's result on the same (rounded) inputs.
HostTensor cpu_reference(const Spec& s, HostProblem& p) {
  HostTensor out(p.dst.dtype(), p.out, p.dst.layout());
  ups::Context cpu(ups::Device::kCPU);
  const ups::TensorView b = p.bias.view();
  ups::conv_transpose(cpu, p.src.view(), p.weight.view(), s.bias ? &b : nullptr, out.view(), s.opt);
  return out;
}

// The error conv_transpose raises when 'cudnn' was asked for and cuDNN has no plan for it.
bool is_cudnn_decline(const ups::Error& e) {
  return e.code() == ups::ErrorCode::kCudnnError &&
         std::string(e.what()).find("cannot run this problem") != std::string::npos;
}

struct GpuRun {
  ups::ConvTransposeResult result;
  HostTensor out;
};

GpuRun run_gpu(const ups::Context& ctx, const Spec& s, HostProblem& p, ConvTransposeAlgo algo) {
  DeviceTensor x(p.src), w(p.weight), b(p.bias), y(p.dst, kPoison);
  ConvTransposeOptions opt = s.opt;
  opt.algorithm = algo;
  const ups::TensorView bv = b.view(p.bias);
  GpuRun r;
  r.result = ups::conv_transpose(ctx, x.view(p.src), w.view(p.weight), s.bias ? &bv : nullptr,
                                 y.view(p.dst), opt);
  r.out = HostTensor(p.dst.dtype(), p.out, p.dst.layout());
  y.download(r.out);
  return r;
}

}  // namespace

TEST_CASE("conv_transpose: every CUDA algorithm matches the CPU backend", "[gpu][conv_transpose]") {
  ups::Context ctx(ups::Device::kCUDA);
  ctx.set_deterministic(false);
  const bool have_cudnn = ups::build_info().has_cudnn;
  int cudnn_ran = 0, cudnn_declined = 0;
  std::uint64_t seed = 1;
  for (const Spec& s : specs()) {
    for (DType dtype : {DType::kF32, DType::kF64, DType::kF16, DType::kBF16}) {
      for (Layout layout : {Layout::kContiguous, Layout::kChannelsLast}) {
        HostProblem p = host_problem(s, dtype, layout, seed++);
        const HostTensor want = cpu_reference(s, p);
        for (ConvTransposeAlgo algo :
             {ConvTransposeAlgo::kGather, ConvTransposeAlgo::kScatter, ConvTransposeAlgo::kCudnn,
              ConvTransposeAlgo::kAuto, ConvTransposeAlgo::kBenchmark}) {
          INFO(s.name << " " << ups::to_string(dtype) << " " << ups_test::to_string(layout) << " "
                      << ups::to_string(algo));
          if (algo == ConvTransposeAlgo::kCudnn) {
            if (!have_cudnn) {
              CHECK_THROWS_WITH(run_gpu(ctx, s, p, algo), Catch::Contains("no cuDNN"));
              continue;
            }
            GpuRun r;
            try {
              r = run_gpu(ctx, s, p, algo);
            } catch (const ups::Error& e) {
              // Only a decline is tolerated: a cuDNN error saying why it cannot run the problem.
              // Any other error fails the test. output_padding >= stride has no cuDNN form at
              // all; other declines are engine coverage, counted below.
              if (!is_cudnn_decline(e)) throw;
              if (std::string(e.what()).find("output_padding") == std::string::npos) {
                ++cudnn_declined;
              }
              WARN("cuDNN declined: " << e.what());
              continue;
            }
            ++cudnn_ran;
            CHECK(r.result.algorithm == ConvTransposeAlgo::kCudnn);
            CHECK(ups_test::compare_summed(r.out, want) == "");
            continue;
          }
          const GpuRun r = run_gpu(ctx, s, p, algo);
          INFO(ups::to_string(r.result));
          CHECK(ups_test::compare_summed(r.out, want) == "");
          if (algo == ConvTransposeAlgo::kGather || algo == ConvTransposeAlgo::kScatter) {
            CHECK(r.result.algorithm == algo);
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

TEST_CASE("conv_transpose: cuDNN runs the plain NCHW f32 decoder layer", "[gpu][conv_transpose]") {
  if (!ups::build_info().has_cudnn) return;
  ups::Context ctx(ups::Device::kCUDA);
  const Spec s = specs()[0];
  HostProblem p = host_problem(s, DType::kF32, Layout::kContiguous, 77);
  const HostTensor want = cpu_reference(s, p);
  const GpuRun r = run_gpu(ctx, s, p, ConvTransposeAlgo::kCudnn);
  INFO(ups::to_string(r.result));
  CHECK(r.result.algorithm == ConvTransposeAlgo::kCudnn);
  CHECK(ups_test::compare_summed(r.out, want) == "");
  // auto sends this compute-heavy layer (16 channels x 4 taps per output) to cuDNN.
  const GpuRun a = run_gpu(ctx, s, p, ConvTransposeAlgo::kAuto);
  INFO(ups::to_string(a.result));
  CHECK(a.result.algorithm == ConvTransposeAlgo::kCudnn);
}

TEST_CASE("conv_transpose: deterministic algorithms are bitwise reproducible",
          "[gpu][conv_transpose]") {
  ups::Context ctx(ups::Device::kCUDA);
  ctx.set_deterministic(true);
  for (const Spec& s : {specs()[0], specs()[2]}) {
    for (DType dtype : {DType::kF32, DType::kF16}) {
      HostProblem p = host_problem(s, dtype, Layout::kContiguous, 5);
      for (ConvTransposeAlgo algo : {ConvTransposeAlgo::kGather, ConvTransposeAlgo::kCudnn,
                                     ConvTransposeAlgo::kAuto, ConvTransposeAlgo::kBenchmark}) {
        if (algo == ConvTransposeAlgo::kCudnn && !ups::build_info().has_cudnn) continue;
        INFO(s.name << " " << ups::to_string(dtype) << " " << ups::to_string(algo));
        GpuRun first;
        try {
          first = run_gpu(ctx, s, p, algo);
        } catch (const ups::Error& e) {
          // Only 'cudnn' may decline (no deterministic engine); the others must run.
          if (algo != ConvTransposeAlgo::kCudnn || !is_cudnn_decline(e)) throw;
          WARN("cuDNN declined in deterministic mode: " << e.what());
          continue;
        }
        CHECK(first.result.algorithm != ConvTransposeAlgo::kScatter);
        for (int rep = 1; rep < 20; ++rep) {
          const GpuRun again = run_gpu(ctx, s, p, algo);
          REQUIRE(again.result.algorithm == first.result.algorithm);
          REQUIRE(ups_test::compare_bitwise(again.out, first.out) == "");
        }
      }
    }
  }
}

TEST_CASE("conv_transpose: deterministic mode rejects scatter", "[gpu][conv_transpose]") {
  ups::Context ctx(ups::Device::kCUDA);
  ctx.set_deterministic(true);
  const Spec s = specs()[1];
  HostProblem p = host_problem(s, DType::kF32, Layout::kContiguous, 9);
  try {
    run_gpu(ctx, s, p, ConvTransposeAlgo::kScatter);
    FAIL("scatter ran in deterministic mode");
  } catch (const ups::Error& e) {
    CHECK(e.code() == ups::ErrorCode::kInvalidArgument);
    CHECK_THAT(e.what(), Catch::Contains("'scatter' is nondeterministic") &&
                             Catch::Contains("deterministic mode is on"));
  }
}

TEST_CASE("conv_transpose: the benchmark cache respects determinism", "[gpu][conv_transpose]") {
  // A memory-bound problem where scatter is a real contender.
  Spec s{"wide 1x1", {4, 4, 64, 64}, {4, 4, 1, 1}, {}, false};
  s.opt.stride = {2};
  ups::Context ctx(ups::Device::kCUDA);
  HostProblem p = host_problem(s, DType::kF32, Layout::kContiguous, 21);
  const HostTensor want = cpu_reference(s, p);

  ctx.set_deterministic(false);
  const GpuRun free1 = run_gpu(ctx, s, p, ConvTransposeAlgo::kBenchmark);
  INFO(ups::to_string(free1.result));
  CHECK_FALSE(free1.result.from_cache);
  CHECK(ups_test::compare_summed(free1.out, want) == "");
  const GpuRun free2 = run_gpu(ctx, s, p, ConvTransposeAlgo::kBenchmark);
  CHECK(free2.result.from_cache);
  CHECK(free2.result.algorithm == free1.result.algorithm);

  ctx.set_deterministic(true);
  const GpuRun det1 = run_gpu(ctx, s, p, ConvTransposeAlgo::kBenchmark);
  INFO(ups::to_string(det1.result));
  CHECK(det1.result.algorithm != ConvTransposeAlgo::kScatter);
  CHECK_FALSE(det1.result.from_cache);  // a different key: never the nondeterministic choice
  bool scatter_refused = false;
  for (const auto& a : det1.result.attempts) {
    if (a.algo == ConvTransposeAlgo::kScatter) {
      CHECK_FALSE(a.chosen);
      CHECK(a.time_ms < 0);
      scatter_refused = true;
    }
  }
  CHECK(scatter_refused);
  const GpuRun det2 = run_gpu(ctx, s, p, ConvTransposeAlgo::kBenchmark);
  CHECK(det2.result.from_cache);
  CHECK(det2.result.algorithm != ConvTransposeAlgo::kScatter);
  CHECK(ups_test::compare_bitwise(det1.out, det2.out) == "");
}

TEST_CASE("conv_transpose: the benchmark cache is keyed by the workspace budget",
          "[gpu][conv_transpose]") {
  // f16 scatter needs an f32 accumulator: a winner timed with room for it may not fit a smaller
  // budget, so a smaller budget must be benchmarked afresh.
  Spec s{"wide 1x1 f16", {4, 4, 64, 64}, {4, 4, 1, 1}, {}, false};
  s.opt.stride = {2};
  HostProblem p = host_problem(s, DType::kF16, Layout::kContiguous, 23);
  const HostTensor want = cpu_reference(s, p);
  ups::Context ctx(ups::Device::kCUDA);
  ctx.set_deterministic(false);
  ctx.set_workspace_limit(std::size_t(64) << 20);
  const GpuRun roomy = run_gpu(ctx, s, p, ConvTransposeAlgo::kBenchmark);
  INFO(ups::to_string(roomy.result));
  CHECK_FALSE(roomy.result.from_cache);
  CHECK(ups_test::compare_summed(roomy.out, want) == "");
  CHECK(run_gpu(ctx, s, p, ConvTransposeAlgo::kBenchmark).result.from_cache);

  ctx.set_workspace_limit(0);
  const GpuRun tight = run_gpu(ctx, s, p, ConvTransposeAlgo::kBenchmark);
  INFO(ups::to_string(tight.result));
  CHECK_FALSE(tight.result.from_cache);  // a new key, whatever won before
  CHECK(tight.result.workspace_bytes == 0);
  CHECK(tight.result.algorithm != ConvTransposeAlgo::kScatter);  // it needs scratch
  CHECK(ups_test::compare_summed(tight.out, want) == "");
  const GpuRun again = run_gpu(ctx, s, p, ConvTransposeAlgo::kBenchmark);
  CHECK(again.result.from_cache);
  CHECK(again.result.algorithm == tight.result.algorithm);
}

TEST_CASE("conv_transpose: auto reports why cuDNN declined", "[gpu][conv_transpose]") {
  ups::Context ctx(ups::Device::kCUDA);
  // output_padding >= stride cannot be expressed as cuDNN backward data.
  const Spec s = specs()[3];
  HostProblem p = host_problem(s, DType::kF32, Layout::kContiguous, 31);
  const HostTensor want = cpu_reference(s, p);
  const GpuRun r = run_gpu(ctx, s, p, ConvTransposeAlgo::kAuto);
  INFO(ups::to_string(r.result));
  CHECK(r.result.algorithm == ConvTransposeAlgo::kGather);
  CHECK(ups_test::compare_summed(r.out, want) == "");
  bool reported = false;
  for (const auto& a : r.result.attempts) {
    if (a.algo == ConvTransposeAlgo::kCudnn) {
      CHECK_FALSE(a.chosen);
      CHECK_THAT(a.reason,
                 Catch::Contains(ups::build_info().has_cudnn ? "output_padding" : "no cuDNN"));
      reported = true;
    }
  }
  CHECK(reported);
  if (ups::build_info().has_cudnn) {
    CHECK_THROWS_WITH(run_gpu(ctx, s, p, ConvTransposeAlgo::kCudnn),
                      Catch::Contains("output_padding"));
  }
}

TEST_CASE("conv_transpose: workspace limits and caller workspace",
          "[gpu][conv_transpose][memcheck]") {
  const Spec s = specs()[0];
  HostProblem p = host_problem(s, DType::kF16, Layout::kContiguous, 41);
  DeviceTensor x(p.src), w(p.weight), y(p.dst, kPoison);
  ups::Context ctx(ups::Device::kCUDA);
  ConvTransposeOptions opt = s.opt;

  // scatter in f16 accumulates in an f32 buffer of one float per output element, plus up to
  // 255 bytes to start it on a 256-byte boundary wherever the caller's workspace starts.
  opt.algorithm = ConvTransposeAlgo::kScatter;
  const std::size_t need = ups::conv_transpose_workspace_size(ctx, x.view(p.src), w.view(p.weight),
                                                              nullptr, y.view(p.dst), opt);
  CHECK(need == static_cast<std::size_t>(p.dst.numel()) * 4 + 255);
  opt.algorithm = ConvTransposeAlgo::kGather;
  CHECK(ups::conv_transpose_workspace_size(ctx, x.view(p.src), w.view(p.weight), nullptr,
                                           y.view(p.dst), opt) == 0);

  // With a workspace limit of 0 and no caller workspace, scatter cannot get its buffer.
  ups::Context none(ups::Device::kCUDA);
  none.set_workspace_limit(0);
  opt.algorithm = ConvTransposeAlgo::kScatter;
  try {
    ups::conv_transpose(none, x.view(p.src), w.view(p.weight), nullptr, y.view(p.dst), opt);
    FAIL("scatter ran without its workspace");
  } catch (const ups::Error& e) {
    CHECK(e.code() == ups::ErrorCode::kOutOfMemory);
    CHECK_THAT(e.what(), Catch::Contains("workspace limit is 0"));
  }
  // The caller's workspace is used as is: nothing is allocated. It starts at an odd address,
  // where an f32 accumulator taken without alignment would make atomicAdd fault.
  unsigned char* ws = nullptr;
  cuda_ok(cudaMalloc(reinterpret_cast<void**>(&ws), need + 1));
  none.set_workspace(ws + 1, need);
  const auto r =
      ups::conv_transpose(none, x.view(p.src), w.view(p.weight), nullptr, y.view(p.dst), opt);
  CHECK(r.workspace_bytes == need);
  CHECK_FALSE(r.workspace_allocated);
  HostTensor got(DType::kF16, p.out);
  y.download(got);
  // The spec has a bias; this call has none, so compare with a bias-free reference.
  Spec nb = s;
  nb.bias = false;
  const HostTensor want_nb = cpu_reference(nb, p);
  CHECK(ups_test::compare_summed(got, want_nb) == "");
  // One byte less than the reported need is not enough.
  none.set_workspace(ws + 1, need - 1);
  CHECK_THROWS_WITH(
      ups::conv_transpose(none, x.view(p.src), w.view(p.weight), nullptr, y.view(p.dst), opt),
      Catch::Contains("for alignment"));

  // cuDNN with a misaligned caller workspace of exactly the reported size.
  if (ups::build_info().has_cudnn) {
    opt.algorithm = ConvTransposeAlgo::kCudnn;
    ups::Context big(ups::Device::kCUDA);
    std::size_t cudnn_need = 0;
    try {
      cudnn_need = ups::conv_transpose_workspace_size(big, x.view(p.src), w.view(p.weight), nullptr,
                                                      y.view(p.dst), opt);
    } catch (const ups::Error& e) {
      if (!is_cudnn_decline(e)) throw;
      WARN("cuDNN declined: " << e.what());
    }
    if (cudnn_need > 0) {
      unsigned char* cws = nullptr;
      cuda_ok(cudaMalloc(reinterpret_cast<void**>(&cws), cudnn_need + 3));
      big.set_workspace(cws + 3, cudnn_need);
      cuda_ok(cudaMemset(y.data(), kPoison, static_cast<std::size_t>(p.dst.nbytes())));
      const auto c =
          ups::conv_transpose(big, x.view(p.src), w.view(p.weight), nullptr, y.view(p.dst), opt);
      INFO(ups::to_string(c));
      CHECK(c.workspace_bytes == cudnn_need);
      CHECK_FALSE(c.workspace_allocated);
      y.download(got);
      CHECK(ups_test::compare_summed(got, want_nb) == "");
      cuda_ok(cudaFree(cws));
    }
  }
  cuda_ok(cudaFree(ws));

  // cuDNN with no workspace at all: it either finds an engine that needs none or auto falls
  // back to gather and says why.
  if (ups::build_info().has_cudnn) {
    ups::Context zero(ups::Device::kCUDA);
    zero.set_workspace_limit(0);
    opt.algorithm = ConvTransposeAlgo::kAuto;
    const auto a =
        ups::conv_transpose(zero, x.view(p.src), w.view(p.weight), nullptr, y.view(p.dst), opt);
    INFO(ups::to_string(a));
    CHECK(a.workspace_bytes == 0);
    if (a.algorithm != ConvTransposeAlgo::kCudnn) {
      bool said = false;
      for (const auto& t : a.attempts) {
        if (t.algo == ConvTransposeAlgo::kCudnn) {
          said = t.reason.find("workspace") != std::string::npos ||
                 t.reason.find("engine") != std::string::npos;
        }
      }
      CHECK(said);
    }
  }
}

TEST_CASE("conv_transpose: strided outputs and streams", "[gpu][conv_transpose][memcheck]") {
  const Spec s = specs()[2];
  HostProblem p = host_problem(s, DType::kF32, Layout::kContiguous, 51);
  const HostTensor want = cpu_reference(s, p);
  DeviceTensor x(p.src), w(p.weight), b(p.bias);
  // dst inside a buffer twice as wide in W: not dense, so scatter must not memset it whole.
  const Shape out = p.out;
  const std::int64_t wide = out[4] * 2;
  const std::size_t count = static_cast<std::size_t>(out[0] * out[1] * out[2] * out[3] * wide);
  std::vector<float> host(count, -3.f);
  float* dbuf = nullptr;
  cuda_ok(cudaMalloc(reinterpret_cast<void**>(&dbuf), count * sizeof(float)));
  cudaStream_t stream = nullptr;
  cuda_ok(cudaStreamCreate(&stream));
  ups::Context ctx(ups::Device::kCUDA, stream);
  ctx.set_deterministic(false);
  for (ConvTransposeAlgo algo :
       {ConvTransposeAlgo::kGather, ConvTransposeAlgo::kScatter, ConvTransposeAlgo::kAuto}) {
    cuda_ok(cudaMemcpy(dbuf, host.data(), count * sizeof(float), cudaMemcpyHostToDevice));
    ups::TensorView dv = ups::TensorView::contiguous(dbuf, DType::kF32, ups::Device::kCUDA, out);
    dv.strides[3] = wide;
    dv.strides[2] = out[3] * wide;
    dv.strides[1] = out[2] * out[3] * wide;
    dv.strides[0] = out[1] * out[2] * out[3] * wide;
    ConvTransposeOptions opt = s.opt;
    opt.algorithm = algo;
    const ups::TensorView bv = b.view(p.bias);
    ups::conv_transpose(ctx, x.view(p.src), w.view(p.weight), &bv, dv, opt);
    cuda_ok(cudaStreamSynchronize(stream));
    std::vector<float> back(count);
    cuda_ok(cudaMemcpy(back.data(), dbuf, count * sizeof(float), cudaMemcpyDeviceToHost));
    INFO(ups::to_string(algo));
    HostTensor got(DType::kF32, out);
    std::int64_t i = 0;
    for (std::int64_t n = 0; n < out[0]; ++n)
      for (std::int64_t c = 0; c < out[1]; ++c)
        for (std::int64_t d = 0; d < out[2]; ++d)
          for (std::int64_t h = 0; h < out[3]; ++h)
            for (std::int64_t q = 0; q < wide; ++q) {
              const float v = back[static_cast<std::size_t>(
                  (((n * out[1] + c) * out[2] + d) * out[3] + h) * wide + q)];
              if (q < out[4]) {
                got.set(i++, v);
              } else {
                REQUIRE(v == -3.f);  // the gaps stay untouched
              }
            }
    CHECK(ups_test::compare_summed(got, want) == "");
  }
  cuda_ok(cudaStreamDestroy(stream));
  cuda_ok(cudaFree(dbuf));
}

TEST_CASE("conv_transpose: chunked and untiled weights in the native kernels",
          "[gpu][conv_transpose][memcheck]") {
  // Channels-last with 32 output channels per block: the 2-D problem's weight tile holds only
  // part of C_in (several chunks, in f32 and f64), the 1-D one's 150 taps do not fit even one
  // input channel in f64 (weights read from global memory).
  std::vector<Spec> v;
  {
    Spec s{"2d C_in in chunks", {1, 48, 6, 5}, {48, 32, 3, 3}, {}, true};
    s.opt.stride = {2};
    s.opt.padding = {1};
    v.push_back(s);
  }
  {
    Spec s{"1d 150 taps", {2, 4, 5}, {4, 40, 150}, {}, true};
    s.opt.stride = {3};
    v.push_back(s);
  }
  ups::Context ctx(ups::Device::kCUDA);
  ctx.set_deterministic(false);
  std::uint64_t seed = 300;
  for (const Spec& s : v) {
    for (DType dtype : {DType::kF32, DType::kF64, DType::kBF16}) {
      for (Layout layout : {Layout::kContiguous, Layout::kChannelsLast}) {
        HostProblem p = host_problem(s, dtype, layout, seed++);
        const HostTensor want = cpu_reference(s, p);
        for (ConvTransposeAlgo algo : {ConvTransposeAlgo::kGather, ConvTransposeAlgo::kScatter}) {
          INFO(s.name << " " << ups::to_string(dtype) << " " << ups_test::to_string(layout) << " "
                      << ups::to_string(algo));
          const GpuRun r = run_gpu(ctx, s, p, algo);
          CHECK(r.result.algorithm == algo);
          CHECK(ups_test::compare_summed(r.out, want) == "");
        }
      }
    }
  }
}
