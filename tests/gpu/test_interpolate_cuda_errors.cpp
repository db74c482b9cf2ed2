// Error paths of the CUDA backend: tensors on the wrong device are rejected with
// kUnsupportedDevice before anything is enqueued, nothing is written, and the context (and the
// CUDA state of the process) stays usable for the next call.
#include <catch2/catch.hpp>

#include <string>

#include "gpu_compare.hpp"
#include "gpu_support.hpp"
#include "test_support.hpp"
#include "ups/error.hpp"
#include "ups/interpolate.hpp"

namespace {

using ups::DType;
using ups::ErrorCode;
using ups::InterpMode;
using ups_test::HostTensor;
using ups_test::Layout;

// The code of the ups::Error that f throws; fails the check when it throws nothing.
template <class F>
ErrorCode error_code_of(F&& f, std::string& message) {
  try {
    f();
  } catch (const ups::Error& e) {
    message = e.what();
    return e.code();
  }
  FAIL_CHECK("expected ups::Error, but nothing was thrown");
  return ErrorCode::kInternal;
}

}  // namespace

TEST_CASE("CUDA interpolate rejects host tensors and the context stays usable",
          "[gpu][interpolate][errors]") {
  ups_test::CudaStream stream;
  const ups::Context gpu(ups::Device::kCUDA, stream.get());
  const ups::Context cpu(ups::Device::kCPU);
  ups::InterpolateOptions opt;
  opt.mode = InterpMode::kBilinear;
  opt.size = {8, 6};
  const ups::Shape in_shape = {2, 3, 4, 5};
  const ups::Shape out_shape = {2, 3, 8, 6};

  HostTensor h_src(DType::kF32, in_shape);
  ups_test::fill_random(h_src, 5);
  HostTensor h_dst(DType::kF32, out_shape);
  ups_test::GuardedDeviceTensor d_src(DType::kF32, in_shape, Layout::kContiguous, stream.get());
  ups_test::GuardedDeviceTensor d_dst(DType::kF32, out_shape, Layout::kContiguous, stream.get());
  d_src.upload(h_src);
  d_dst.fill(0xFF);

  std::string msg;
  SECTION("host src and host dst on a CUDA context") {
    CHECK(error_code_of([&] { ups::interpolate(gpu, h_src.view(), h_dst.view(), opt); }, msg) ==
          ErrorCode::kUnsupportedDevice);
    CHECK_THAT(msg,
               Catch::Matchers::Contains("src is on cpu") && Catch::Matchers::Contains("cuda"));
  }
  SECTION("host src and device dst on a CUDA context") {
    CHECK(error_code_of([&] { ups::interpolate(gpu, h_src.view(), d_dst.view(), opt); }, msg) ==
          ErrorCode::kUnsupportedDevice);
    CHECK_THAT(msg, Catch::Matchers::Contains("src"));
  }
  SECTION("device src and host dst on a CUDA context") {
    CHECK(error_code_of([&] { ups::interpolate(gpu, d_src.view(), h_dst.view(), opt); }, msg) ==
          ErrorCode::kUnsupportedDevice);
    CHECK_THAT(msg, Catch::Matchers::Contains("dst"));
  }
  SECTION("device tensors on a CPU context") {
    CHECK(error_code_of([&] { ups::interpolate(cpu, d_src.view(), d_dst.view(), opt); }, msg) ==
          ErrorCode::kUnsupportedDevice);
  }
  SECTION("a wrong dst shape on a CUDA context") {
    ups::TensorView bad = d_dst.view();
    bad.sizes[3] = 5;
    CHECK(error_code_of([&] { ups::interpolate(gpu, d_src.view(), bad, opt); }, msg) ==
          ErrorCode::kShapeMismatch);
  }
  SECTION("u8 with a non-nearest mode on a CUDA context") {
    ups_test::GuardedDeviceTensor s8(DType::kU8, in_shape, Layout::kContiguous, stream.get());
    ups_test::GuardedDeviceTensor d8(DType::kU8, out_shape, Layout::kContiguous, stream.get());
    CHECK(error_code_of([&] { ups::interpolate(gpu, s8.view(), d8.view(), opt); }, msg) ==
          ErrorCode::kUnsupportedDType);
  }

  // Nothing was enqueued or written, and no CUDA error is pending.
  stream.synchronize();
  CHECK(cudaGetLastError() == cudaSuccess);
  CHECK(d_dst.check_guards() == "");
  const HostTensor untouched = d_dst.download();
  std::size_t written = 0;
  for (std::size_t i = 0; i < untouched.nbytes(); ++i) {
    written += static_cast<const unsigned char*>(untouched.data())[i] != 0xFF;
  }
  CHECK(written == 0);

  // The same context then runs a valid call, which matches the CPU backend.
  ups::interpolate(gpu, d_src.view(), d_dst.view(), opt);
  ups::interpolate(cpu, h_src.view(), h_dst.view(), opt);
  stream.synchronize();
  ups_test::InterpCase c;
  c.in_shape = in_shape;
  c.options = opt;
  CHECK(ups_test::compare_close(d_dst.download(), h_dst, ups_test::accumulation_bound(c)) == "");
  CHECK(d_dst.check_guards() == "");
}

TEST_CASE("CUDA interpolate runs on the legacy default stream too", "[gpu][interpolate][stream]") {
  // A context without a stream enqueues on the legacy default stream (nullptr).
  ups_test::InterpCase c;
  c.in_shape = {2, 5, 9, 7};
  c.options.mode = InterpMode::kBicubic;
  c.options.scale_factor = {1.5};
  c.in_layout = Layout::kChannelsLast;
  const std::string err = ups_test::run_against_cpu(c, nullptr);
  CHECK(err == "");
}
