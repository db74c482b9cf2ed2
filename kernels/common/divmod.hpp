// Integer division for the index math of the per-element bodies (pooling family, pixel shuffle).
#pragma once

#include <cstdint>

#include "common/fast_divmod.hpp"
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

// A divisor, in the index type of a body: the bodies are templates on Index, instantiated with
// std::int64_t by the per-element reference (and the CPU backend, and the CUDA kernels' 64-bit
// variants) and with std::int32_t by the CUDA kernels' 32-bit variants, where every dividend is
// below 2^31 and the division is a precomputed multiply and shift (FastDivmod).
template <class Index>
struct Divider;

template <>
struct Divider<std::int64_t> {
  std::int64_t d = 1;
  bool narrow = false;  // see divmod_hd
  Divider() = default;
  UPS_HD Divider(std::int64_t divisor, bool narrow_) : d(divisor), narrow(narrow_) {}
  UPS_HD std::int64_t value() const { return d; }
  UPS_HD void divmod(std::int64_t a, std::int64_t* q, std::int64_t* r) const {
    const DivMod qr = divmod_hd(a, d, narrow);
    *q = qr.q;
    *r = qr.r;
  }
};

template <>
struct Divider<std::int32_t> {
  FastDivmod f;
  Divider() = default;
  // divisor in [1, 2^31); `narrow` is implied.
  UPS_HD Divider(std::int64_t divisor, bool) : f(static_cast<std::uint32_t>(divisor)) {}
  UPS_HD std::int32_t value() const { return static_cast<std::int32_t>(f.divisor); }
  UPS_HD void divmod(std::int32_t a, std::int32_t* q, std::int32_t* r) const {
    std::uint32_t uq, ur;
    f.divmod(static_cast<std::uint32_t>(a), &uq, &ur);
    *q = static_cast<std::int32_t>(uq);
    *r = static_cast<std::int32_t>(ur);
  }
};

}  // namespace kern
}  // namespace ups
