// Division by a run-time constant without a division instruction, for the 32-bit index variants
// of the kernels: the divisor's magic number and shift are computed once on the host, and each
// quotient is one high multiply and one shift (Granlund and Montgomery; CUTLASS's FastDivmod).
// GPUs have no integer divider: a 64-bit division is an out-of-line call of dozens of
// instructions and a 32-bit one about twenty.
#pragma once

#include <cstdint>

#include "common/hd.hpp"

namespace ups {
namespace kern {

// Divides dividends in [0, 2^31) by a divisor in [1, 2^31).
struct FastDivmod {
  std::uint32_t divisor = 1;
  std::uint32_t multiplier = 0;  // 0 for a divisor of 1
  std::uint32_t shift = 0;

  FastDivmod() = default;
  // Host: the magic number of d: multiplier = ceil(2^(32 + shift) / d), shift = ceil(log2 d) - 1.
  UPS_HD explicit FastDivmod(std::uint32_t d) : divisor(d) {
    if (d <= 1) return;
    std::uint32_t log2 = 0;
    while ((std::uint64_t(1) << log2) < d)
      ++log2;
    const std::uint32_t p = 31 + log2;
    multiplier = static_cast<std::uint32_t>(((std::uint64_t(1) << p) + d - 1) / d);
    shift = p - 32;
  }

  UPS_HD std::uint32_t div(std::uint32_t n) const {
    if (divisor == 1) return n;
#if defined(__CUDA_ARCH__)
    return __umulhi(n, multiplier) >> shift;
#else
    return static_cast<std::uint32_t>((static_cast<std::uint64_t>(n) * multiplier) >> 32) >> shift;
#endif
  }
  // Quotient and remainder.
  UPS_HD void divmod(std::uint32_t n, std::uint32_t* q, std::uint32_t* r) const {
    *q = div(n);
    *r = n - *q * divisor;
  }
};

}  // namespace kern
}  // namespace ups
