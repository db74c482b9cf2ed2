// Test runner shared by the CPU and GPU suites. With --requires-gpu (the GPU suite's CTest
// entries pass it) the runner exits with 77, CTest's Skipped code, when no CUDA device is
// usable, so a machine without a GPU reports the GPU tests as Skipped rather than Failed.
//
// UPS_TEST_HWY_TARGET=AVX2, SSE4 or SCALAR restricts the CPU backend's run-time SIMD dispatch to
// that Highway target, so that one machine can test the vector paths of targets below its best;
// the runner exits with 77 when the CPU does not support it.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <hwy/targets.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "ups/context.hpp"

int main(int argc, char** argv) {
  std::vector<char*> args;
  bool requires_gpu = false;
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--requires-gpu") == 0) {
      requires_gpu = true;
    } else {
      args.push_back(argv[i]);
    }
  }
  if (requires_gpu && !ups::cuda_available()) {
    std::fprintf(stderr, "no usable CUDA device: skipping GPU tests\n");
    return 77;
  }
  if (const char* name = std::getenv("UPS_TEST_HWY_TARGET")) {
    std::int64_t target = 0;
    if (std::strcmp(name, "AVX2") == 0) target = HWY_AVX2;
    if (std::strcmp(name, "SSE4") == 0) target = HWY_SSE4;
    if (std::strcmp(name, "SCALAR") == 0) target = HWY_SCALAR;
    if (target == 0) {
      std::fprintf(stderr, "UPS_TEST_HWY_TARGET=%s: expected AVX2, SSE4 or SCALAR\n", name);
      return 2;
    }
    if ((hwy::SupportedTargets() & target) == 0) {
      std::fprintf(stderr, "UPS_TEST_HWY_TARGET=%s: not supported here: skipping\n", name);
      return 77;
    }
    hwy::SetSupportedTargetsForTest(target);
    hwy::GetChosenTarget().Update(hwy::SupportedTargets());
  }
  return Catch::Session().run(static_cast<int>(args.size()), args.data());
}
