// What the library reports about the loaded CUDA runtime and cuDNN (no GPU needed), and the
// CUDA-device settings of a context on a machine without a usable device.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <string>

#include "ups/context.hpp"
#include "ups/error.hpp"

namespace {

// The leading number of "13.0.88" / "9.19.0".
long major_of(const std::string& version) {
  return std::strtol(version.c_str(), nullptr, 10);
}

}  // namespace

TEST_CASE("runtime_info reports the libraries this process loaded", "[runtime]") {
  const ups::BuildInfo b = ups::build_info();
  const ups::RuntimeInfo r = ups::runtime_info();
  std::string problems;
  for (const auto& p : r.problems)
    problems += p + "; ";
  INFO("problems: " << problems);
  if (!b.has_cuda) {
    CHECK(r.cuda_runtime_version == 0);
    CHECK(r.cudnn_version == 0);
    CHECK(r.problems.empty());
    return;
  }
  // The runtime that the dynamic loader found for libups: the same major release as the headers.
  CHECK(r.cuda_runtime_version / 1000 == major_of(b.cuda_version));
  if (b.has_cudnn) {
    CHECK(static_cast<long>(r.cudnn_version / 10000) == major_of(b.cudnn_version));
    CHECK(r.cudnn_cudart_version > 0);
  } else {
    CHECK(r.cudnn_version == 0);
  }
  // A machine that builds and tests ups must load what it was built with.
  CHECK(r.problems.empty());
}

TEST_CASE("Context::set_cuda_device needs an existing device", "[runtime]") {
  ups::Context cpu(ups::Device::kCPU);
  const int count = ups::cuda_device_count();
  try {
    cpu.set_cuda_device(count);
    FAIL("a device index past the last device was accepted");
  } catch (const ups::Error& e) {
    CHECK(e.code() == ups::ErrorCode::kInvalidArgument);
    CHECK_THAT(e.what(),
               Catch::Contains("CUDA device " + std::to_string(count) + " does not exist"));
  }
  CHECK_THROWS_AS(cpu.set_cuda_device(-1), ups::Error);
  CHECK_FALSE(cpu.cuda_device().has_value());
  cpu.set_cuda_device(std::nullopt);
  CHECK_FALSE(cpu.cuda_device().has_value());
}

TEST_CASE("the CUDA scratch pool is empty until used", "[runtime]") {
  // Nothing in the CPU suite allocates CUDA scratch, and releasing is safe without a device.
  CHECK(ups::cuda_scratch_reserved(0) == 0);
  CHECK(ups::cuda_scratch_reserved(-1) == 0);
  CHECK_NOTHROW(ups::cuda_release_scratch());
}
