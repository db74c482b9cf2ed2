// GPU tests of the CUDA plumbing every op shares: the device an op runs on (the context's pinned
// device, the stream's device, the tensors' device) and the restoring of the caller's current
// device; clean errors for tensors another device cannot reach; ups's scratch pool; the loaded
// CUDA and cuDNN versions; and cuDNN handles and plans across threads that exit.
#include <cuda_runtime_api.h>
#include <catch2/catch.hpp>

#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "gpu_support.hpp"
#include "test_support.hpp"
#include "ups/context.hpp"
#include "ups/conv_transpose.hpp"
#include "ups/error.hpp"
#include "ups/interpolate.hpp"

using ups::DType;
using ups::Shape;
using ups_test::DeviceBuffer;
using ups_test::HostTensor;

namespace {

int device_count() {
  int n = 0;
  UPS_TEST_CUDA_CHECK(cudaGetDeviceCount(&n));
  return n;
}

int current_device() {
  int d = -1;
  UPS_TEST_CUDA_CHECK(cudaGetDevice(&d));
  return d;
}

ups::InterpolateOptions nearest2x() {
  ups::InterpolateOptions o;
  o.mode = ups::InterpMode::kNearest;
  o.scale_factor = {2.0, 2.0};
  return o;
}

// A random [2, 3, 5, 7] f32 input and its nearest-2x upsampling on the CPU backend.
struct Problem {
  HostTensor src{DType::kF32, {2, 3, 5, 7}};
  HostTensor want;
  explicit Problem(std::uint64_t seed) {
    ups_test::fill_random(src, seed);
    want = HostTensor(DType::kF32, ups::interpolate_output_shape(src.shape(), nearest2x()));
    ups::interpolate(ups::Context(ups::Device::kCPU), src.view(), want.view(), nearest2x());
  }
};

// Input and (NaN-filled) output of a Problem in the memory of `device`.
struct DeviceProblem {
  int device;
  DeviceBuffer in, out;
  ups::TensorView src, dst;
  DeviceProblem(const Problem& p, int dev) : device(dev) {
    const int before = current_device();
    UPS_TEST_CUDA_CHECK(cudaSetDevice(device));
    in = DeviceBuffer(p.src.nbytes());
    out = DeviceBuffer(p.want.nbytes());
    UPS_TEST_CUDA_CHECK(cudaMemcpy(in.get(), p.src.data(), p.src.nbytes(), cudaMemcpyHostToDevice));
    UPS_TEST_CUDA_CHECK(cudaMemset(out.get(), 0xFF, p.want.nbytes()));
    UPS_TEST_CUDA_CHECK(cudaSetDevice(before));
    src = ups::TensorView::contiguous(in.get(), DType::kF32, ups::Device::kCUDA, p.src.shape());
    dst = ups::TensorView::contiguous(out.get(), DType::kF32, ups::Device::kCUDA, p.want.shape());
  }
  HostTensor result(const Problem& p) const {
    HostTensor got(DType::kF32, p.want.shape());
    const int before = current_device();
    UPS_TEST_CUDA_CHECK(cudaSetDevice(device));
    UPS_TEST_CUDA_CHECK(cudaDeviceSynchronize());
    UPS_TEST_CUDA_CHECK(cudaMemcpy(got.data(), out.get(), got.nbytes(), cudaMemcpyDeviceToHost));
    UPS_TEST_CUDA_CHECK(cudaSetDevice(before));
    return got;
  }
};

}  // namespace

TEST_CASE("CUDA ops restore the caller's current device", "[gpu][device]") {
  const int n = device_count();
  const Problem p(1);
  for (int caller = 0; caller < n; ++caller) {
    for (int data = 0; data < n; ++data) {
      INFO("caller on cuda:" << caller << ", tensors on cuda:" << data);
      DeviceProblem d(p, data);
      UPS_TEST_CUDA_CHECK(cudaSetDevice(caller));
      // The default stream: the op runs where the tensors are.
      ups::interpolate(ups::Context(ups::Device::kCUDA), d.src, d.dst, nearest2x());
      CHECK(current_device() == caller);
      CHECK(ups_test::compare_bitwise(d.result(p), p.want) == "");
      // Pinned to the tensors' device.
      UPS_TEST_CUDA_CHECK(cudaSetDevice(data));
      UPS_TEST_CUDA_CHECK(cudaMemset(d.out.get(), 0xFF, d.out.size()));
      UPS_TEST_CUDA_CHECK(cudaSetDevice(caller));
      ups::Context pinned(ups::Device::kCUDA);
      pinned.set_cuda_device(data);
      ups::interpolate(pinned, d.src, d.dst, nearest2x());
      CHECK(current_device() == caller);
      CHECK(ups_test::compare_bitwise(d.result(p), p.want) == "");
    }
  }
  UPS_TEST_CUDA_CHECK(cudaSetDevice(0));
}

TEST_CASE("CUDA ops run on the device of the context's stream", "[gpu][device]") {
  const int n = device_count();
  const Problem p(2);
  for (int dev = 0; dev < n; ++dev) {
    INFO("stream and tensors on cuda:" << dev << ", caller on cuda:0");
    DeviceProblem d(p, dev);
    UPS_TEST_CUDA_CHECK(cudaSetDevice(dev));
    ups_test::CudaStream stream;
    UPS_TEST_CUDA_CHECK(cudaSetDevice(0));
    ups::interpolate(ups::Context(ups::Device::kCUDA, stream.get()), d.src, d.dst, nearest2x());
    CHECK(current_device() == 0);
    CHECK(ups_test::compare_bitwise(d.result(p), p.want) == "");
  }
}

TEST_CASE("CUDA ops reject tensors of another device and leave the current device alone",
          "[gpu][device]") {
  const int n = device_count();
  if (n < 2) {
    WARN("one CUDA device: the cross-device cases need two");
    return;
  }
  const Problem p(3);
  DeviceProblem on1(p, 1);
  UPS_TEST_CUDA_CHECK(cudaSetDevice(0));
  ups::Context pinned0(ups::Device::kCUDA);
  pinned0.set_cuda_device(0);
  try {
    ups::interpolate(pinned0, on1.src, on1.dst, nearest2x());
    FAIL("a tensor of cuda:1 ran on cuda:0");
  } catch (const ups::Error& e) {
    CHECK(e.code() == ups::ErrorCode::kUnsupportedDevice);
    CHECK_THAT(e.what(), Catch::Contains("src is in the memory of cuda:1") &&
                             Catch::Contains("runs on cuda:0"));
  }
  CHECK(current_device() == 0);
  // A stream of cuda:0 with a context pinned to cuda:1.
  ups_test::CudaStream stream0;
  ups::Context mixed(ups::Device::kCUDA, stream0.get());
  mixed.set_cuda_device(1);
  CHECK_THROWS_WITH(ups::interpolate(mixed, on1.src, on1.dst, nearest2x()),
                    Catch::Contains("stream belongs to cuda:0"));
  // Input on one device, output on another.
  DeviceProblem on0(p, 0);
  try {
    ups::interpolate(ups::Context(ups::Device::kCUDA), on0.src, on1.dst, nearest2x());
    FAIL("tensors of two devices were accepted");
  } catch (const ups::Error& e) {
    CHECK(e.code() == ups::ErrorCode::kUnsupportedDevice);
    CHECK_THAT(e.what(), Catch::Contains("all tensors of an op must be on one device"));
  }
  CHECK(current_device() == 0);
}

TEST_CASE("a CUDA view of ordinary host memory is a clean error or works",
          "[gpu][device][memcheck]") {
  const Problem p(4);
  std::vector<float> host_out(static_cast<std::size_t>(p.want.numel()));
  const auto src = ups::TensorView::contiguous(const_cast<void*>(p.src.data()), DType::kF32,
                                               ups::Device::kCUDA, p.src.shape());
  const auto dst =
      ups::TensorView::contiguous(host_out.data(), DType::kF32, ups::Device::kCUDA, p.want.shape());
  int pageable = 0;
  UPS_TEST_CUDA_CHECK(cudaDeviceGetAttribute(&pageable, cudaDevAttrPageableMemoryAccess, 0));
  const ups::Context gpu(ups::Device::kCUDA);
  if (pageable == 0) {
    try {
      ups::interpolate(gpu, src, dst, nearest2x());
      FAIL("a host pointer in a CUDA view was accepted by a device that cannot read it");
    } catch (const ups::Error& e) {
      CHECK(e.code() == ups::ErrorCode::kUnsupportedDevice);
      CHECK_THAT(e.what(), Catch::Contains("ordinary host memory"));
    }
  } else {
    // The device reads and writes pageable memory (HMM or ATS): the op must simply work.
    ups::interpolate(gpu, src, dst, nearest2x());
    UPS_TEST_CUDA_CHECK(cudaDeviceSynchronize());
    HostTensor got(DType::kF32, p.want.shape());
    std::memcpy(got.data(), host_out.data(), got.nbytes());
    CHECK(ups_test::compare_bitwise(got, p.want) == "");
  }
  // Either way the CUDA context is intact.
  UPS_TEST_CUDA_CHECK(cudaDeviceSynchronize());
  DeviceProblem d(p, 0);
  ups::interpolate(gpu, d.src, d.dst, nearest2x());
  CHECK(ups_test::compare_bitwise(d.result(p), p.want) == "");
}

TEST_CASE("Context::set_cuda_device checks the index", "[gpu][device]") {
  ups::Context ctx(ups::Device::kCUDA);
  CHECK_THROWS_WITH(ctx.set_cuda_device(device_count()), Catch::Contains("does not exist"));
  CHECK_THROWS_WITH(ctx.set_cuda_device(-1), Catch::Contains("does not exist"));
  ctx.set_cuda_device(0);
  CHECK(ctx.cuda_device() == 0);
  ctx.set_cuda_device(std::nullopt);
  CHECK_FALSE(ctx.cuda_device().has_value());
}

TEST_CASE("scratch memory comes from a pool that keeps it across synchronisations",
          "[gpu][device][memcheck]") {
  // f16 scatter accumulates in an f32 buffer: scratch the op allocates itself.
  const Shape in{2, 8, 16, 16}, w{8, 4, 3, 3};
  ups::ConvTransposeOptions opt;
  opt.stride = {2};
  opt.algorithm = ups::ConvTransposeAlgo::kScatter;
  const Shape out = ups::conv_transpose_output_shape(in, w, opt);
  HostTensor x(DType::kF16, in), k(DType::kF16, w);
  ups_test::fill_random(x, 5);
  ups_test::fill_random(k, 6);
  HostTensor want(DType::kF16, out);
  ups::Context cpu(ups::Device::kCPU);
  ups::ConvTransposeOptions cpu_opt = opt;
  cpu_opt.algorithm = ups::ConvTransposeAlgo::kAuto;
  ups::conv_transpose(cpu, x.view(), k.view(), nullptr, want.view(), cpu_opt);

  ups_test::CudaStream stream;
  ups_test::GuardedDeviceTensor dx(DType::kF16, in, ups_test::Layout::kContiguous, stream.get());
  ups_test::GuardedDeviceTensor dk(DType::kF16, w, ups_test::Layout::kContiguous, stream.get());
  ups_test::GuardedDeviceTensor dy(DType::kF16, out, ups_test::Layout::kContiguous, stream.get());
  dx.upload(x);
  dk.upload(k);
  ups::Context gpu(ups::Device::kCUDA, stream.get());
  gpu.set_deterministic(false);
  const std::size_t need =
      ups::conv_transpose_workspace_size(gpu, dx.view(), dk.view(), nullptr, dy.view(), opt);
  REQUIRE(need >= static_cast<std::size_t>(want.numel()) * 4);

  ups::cuda_release_scratch();
  std::size_t reserved = 0;
  for (int rep = 0; rep < 3; ++rep) {
    dy.fill(0xFF);
    const auto r = ups::conv_transpose(gpu, dx.view(), dk.view(), nullptr, dy.view(), opt);
    CHECK(r.workspace_allocated);
    stream.synchronize();
    const std::size_t now = ups::cuda_scratch_reserved(0);
    INFO("repetition " << rep << ": " << now << " bytes reserved");
    CHECK(now >= need);
    if (rep > 0) CHECK(now == reserved);  // reused, not grown
    reserved = now;
    const HostTensor got = dy.download();
    CHECK(ups_test::compare(got, want, 4.0 / 1024, 1e-3) == "");
  }
  ups::cuda_release_scratch();
  CHECK(ups::cuda_scratch_reserved(0) == 0);
}

TEST_CASE("the loaded CUDA runtime and cuDNN agree with the build", "[gpu][device]") {
  const ups::BuildInfo b = ups::build_info();
  const ups::RuntimeInfo r = ups::runtime_info();
  std::string problems;
  for (const auto& s : r.problems)
    problems += s + "; ";
  INFO("problems: " << problems);
  CHECK(r.problems.empty());
  CHECK(r.cuda_runtime_version > 0);
  CHECK(r.cuda_driver_version >= r.cuda_runtime_version / 1000 * 1000);
  const char* expect = std::getenv("UPS_EXPECT_CUDNN");
  if (expect != nullptr && std::string(expect) == "1") {
    // Set where cuDNN must be present (scripts/gpu-check): a build without it fails here rather
    // than passing the cuDNN tests quietly.
    REQUIRE(b.has_cudnn);
  }
  if (b.has_cudnn) {
    CHECK(r.cudnn_version >= 90000);
    CHECK(r.cudnn_cudart_version / 1000 == static_cast<std::size_t>(r.cuda_runtime_version) / 1000);
  }
}

TEST_CASE("cuDNN plans and handles survive threads that come and go", "[gpu][device]") {
  if (!ups::build_info().has_cudnn) return;
  // A compute-heavy layer that auto sends to cuDNN; each thread builds its own plan on its own
  // handle and exits, returning the handle for the next thread to take.
  const Shape in{2, 32, 9, 9}, w{32, 16, 4, 4};
  ups::ConvTransposeOptions opt;
  opt.stride = {2};
  opt.padding = {1};
  opt.algorithm = ups::ConvTransposeAlgo::kCudnn;
  const Shape out = ups::conv_transpose_output_shape(in, w, opt);
  HostTensor x(DType::kF32, in), k(DType::kF32, w), want(DType::kF32, out);
  ups_test::fill_random(x, 7);
  ups_test::fill_random(k, 8);
  ups::ConvTransposeOptions cpu_opt = opt;
  cpu_opt.algorithm = ups::ConvTransposeAlgo::kAuto;
  ups::conv_transpose(ups::Context(ups::Device::kCPU), x.view(), k.view(), nullptr, want.view(),
                      cpu_opt);
  DeviceBuffer dx(x.nbytes()), dk(k.nbytes());
  UPS_TEST_CUDA_CHECK(cudaMemcpy(dx.get(), x.data(), x.nbytes(), cudaMemcpyHostToDevice));
  UPS_TEST_CUDA_CHECK(cudaMemcpy(dk.get(), k.data(), k.nbytes(), cudaMemcpyHostToDevice));
  const auto xv = ups::TensorView::contiguous(dx.get(), DType::kF32, ups::Device::kCUDA, in);
  const auto kv = ups::TensorView::contiguous(dk.get(), DType::kF32, ups::Device::kCUDA, w);
  {
    DeviceBuffer dy(want.nbytes());
    const auto yv = ups::TensorView::contiguous(dy.get(), DType::kF32, ups::Device::kCUDA, out);
    try {
      ups::conv_transpose(ups::Context(ups::Device::kCUDA), xv, kv, nullptr, yv, opt);
    } catch (const ups::Error& e) {
      if (e.code() != ups::ErrorCode::kCudnnError) throw;
      WARN("cuDNN has no engine for this layer here, so there is nothing to test: " << e.what());
      return;
    }
  }

  constexpr int kThreads = 6, kRounds = 4;
  std::vector<std::string> errors(kThreads * kRounds);
  for (int round = 0; round < kRounds; ++round) {
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t, round] {
        std::string& err = errors[static_cast<std::size_t>(round * kThreads + t)];
        try {
          ups_test::CudaStream stream;
          DeviceBuffer dy(want.nbytes());
          UPS_TEST_CUDA_CHECK(cudaMemsetAsync(dy.get(), 0xFF, want.nbytes(), stream.get()));
          const auto yv =
              ups::TensorView::contiguous(dy.get(), DType::kF32, ups::Device::kCUDA, out);
          ups::Context ctx(ups::Device::kCUDA, stream.get());
          ups::conv_transpose(ctx, xv, kv, nullptr, yv, opt);
          HostTensor got(DType::kF32, out);
          ups_test::download_bytes(got.data(), dy.get(), got.nbytes(), stream.get());
          err = ups_test::compare(got, want, 1e-5, 1e-5);
        } catch (const std::exception& e) {
          err = e.what();
        }
      });
    }
    for (auto& th : threads)
      th.join();
  }
  for (std::size_t i = 0; i < errors.size(); ++i) {
    INFO("thread " << i);
    CHECK(errors[i] == "");
  }
}
