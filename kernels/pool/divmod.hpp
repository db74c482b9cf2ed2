// Integer division for the index math of the pooling family and pixel shuffle kernels.
#pragma once

#include <cstdint>

#include "common/hd.hpp"

namespace ups {
namespace kern {

struct DivMod {
  std::int64_t q, r;
};

// a / b and a % b for 0 <= a and 0 < b. With `narrow` (set on the host when every dividend and
// divisor of the op is below 2^32) the division is done in 32-bit unsigned arithmetic: GPUs
// emulate 64-bit division in dozens of instructions, which would make copy kernels compute-bound.
// The result is the same either way; only the cost differs.
UPS_HD DivMod divmod_hd(std::int64_t a, std::int64_t b, bool narrow) {
  if (narrow) {
    const auto ua = static_cast<std::uint32_t>(a);
    const auto ub = static_cast<std::uint32_t>(b);
    const std::uint32_t q = ua / ub;
    return {static_cast<std::int64_t>(q), static_cast<std::int64_t>(ua - q * ub)};
  }
  const std::int64_t q = a / b;
  return {q, a - q * b};
}

}  // namespace kern
}  // namespace ups
