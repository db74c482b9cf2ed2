// Test runner shared by the CPU and GPU suites. With --requires-gpu (the GPU suite's CTest
// entries pass it) the runner exits with 77, CTest's Skipped code, when no CUDA device is
// usable, so a machine without a GPU reports the GPU tests as Skipped rather than Failed.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdio>
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
  return Catch::Session().run(static_cast<int>(args.size()), args.data());
}
