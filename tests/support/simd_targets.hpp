// Runs a test body once per SIMD target this CPU supports, so that the narrower targets' code
// paths (AVX2, SSE4, the scalar fallback on an AVX-512 machine) are held to the same references
// as the best one. ups's CPU kernels dispatch through Highway's shared library, whose target mask
// hwy::SetSupportedTargetsForTest replaces for the whole process.
#pragma once

#include <hwy/targets.h>

#include <cstdint>
#include <string>

namespace ups_test {

template <class Fn>
void for_each_simd_target(Fn&& fn) {
  struct Restore {
    ~Restore() { hwy::SetSupportedTargetsForTest(0); }
  } restore;
  const std::int64_t all = hwy::SupportedTargets();
  for (std::int64_t bit = 1; bit != 0 && bit <= all; bit <<= 1) {
    if ((all & bit) == 0) continue;
    hwy::SetSupportedTargetsForTest(bit);
    fn(std::string(hwy::TargetName(bit)));
  }
}

}  // namespace ups_test
