// Host/device portability layer shared by the CPU backend (compiled by the host compiler) and the
// CUDA kernels (compiled by nvcc). Everything here is plain C++ outside nvcc.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#if defined(__CUDACC__)
#define UPS_HD __host__ __device__ __forceinline__
#define UPS_UNROLL \
  _Pragma("unroll")  // loops over a compile-time count (registers, not local memory)
#else
#define UPS_HD inline
#define UPS_UNROLL
#endif

namespace ups {
namespace kern {

template <class T>
UPS_HD T min_hd(T a, T b) {
  return b < a ? b : a;
}
template <class T>
UPS_HD T max_hd(T a, T b) {
  return a < b ? b : a;
}

template <class To, class From>
UPS_HD To bit_cast_hd(const From& from) {
  static_assert(sizeof(To) == sizeof(From), "bit_cast_hd needs equal sizes");
  To to;
  memcpy(&to, &from, sizeof(To));
  return to;
}

// 16-bit storage types. Conversions are integer-only so that the CPU and every GPU round the same
// way (round to nearest even, as c10::Half and c10::BFloat16 do), whatever FMA contraction or
// fast-math setting a compiler applies.
struct half_t {
  std::uint16_t bits;
};
struct bf16_t {
  std::uint16_t bits;
};

UPS_HD float half_to_float(half_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h.bits & 0x8000u) << 16;
  const std::uint32_t exp = (h.bits >> 10) & 0x1fu;
  const std::uint32_t mant = h.bits & 0x3ffu;
  if (exp == 0) {
    // Zero or subnormal: mant * 2^-24 is exact in binary32.
    const float mag = static_cast<float>(mant) * 5.9604644775390625e-8f;
    return sign ? -mag : mag;
  }
  if (exp == 31) return bit_cast_hd<float>(sign | 0x7f800000u | (mant << 13));
  return bit_cast_hd<float>(sign | ((exp + 112u) << 23) | (mant << 13));
}

UPS_HD half_t float_to_half(float f) {
  std::uint32_t x = bit_cast_hd<std::uint32_t>(f);
  const std::uint16_t sign = static_cast<std::uint16_t>((x >> 16) & 0x8000u);
  x &= 0x7fffffffu;
  if (x >= 0x7f800000u)
    return {static_cast<std::uint16_t>(sign | (x > 0x7f800000u ? 0x7e00u : 0x7c00u))};
  if (x >= 0x477ff000u) return {static_cast<std::uint16_t>(sign | 0x7c00u)};  // rounds to inf
  if (x < 0x38800000u) {  // |f| < 2^-14: zero or subnormal half
    if (x < 0x33000000u) return {sign};
    const std::uint32_t e = x >> 23;
    const std::uint32_t m = (x & 0x7fffffu) | 0x800000u;
    const std::uint32_t shift = 126u - e;  // 14..24
    std::uint32_t mh = m >> shift;
    const std::uint32_t rem = m & ((1u << shift) - 1u);
    const std::uint32_t halfway = 1u << (shift - 1u);
    if (rem > halfway || (rem == halfway && (mh & 1u))) ++mh;
    return {static_cast<std::uint16_t>(sign | mh)};
  }
  std::uint32_t h = (((x >> 23) - 112u) << 10) | ((x & 0x7fffffu) >> 13);
  const std::uint32_t rem = x & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;  // a carry may reach the exponent
  return {static_cast<std::uint16_t>(sign | h)};
}

UPS_HD float bf16_to_float(bf16_t b) {
  return bit_cast_hd<float>(static_cast<std::uint32_t>(b.bits) << 16);
}

UPS_HD bf16_t float_to_bf16(float f) {
  const std::uint32_t x = bit_cast_hd<std::uint32_t>(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return {static_cast<std::uint16_t>((x >> 16) | 0x40u)};
  const std::uint32_t rounding_bias = 0x7fffu + ((x >> 16) & 1u);
  return {static_cast<std::uint16_t>((x + rounding_bias) >> 16)};
}

// The accumulation type of an element type: f64 accumulates in f64, everything else in f32
// (PyTorch's opmath_type).
template <class T>
struct AccOf {
  using type = float;
};
template <>
struct AccOf<double> {
  using type = double;
};
template <class T>
using acc_t = typename AccOf<T>::type;

template <class Acc>
UPS_HD Acc to_acc(float v) {
  return static_cast<Acc>(v);
}
template <class Acc>
UPS_HD Acc to_acc(double v) {
  return static_cast<Acc>(v);
}
template <class Acc>
UPS_HD Acc to_acc(half_t v) {
  return static_cast<Acc>(half_to_float(v));
}
template <class Acc>
UPS_HD Acc to_acc(bf16_t v) {
  return static_cast<Acc>(bf16_to_float(v));
}
template <class Acc>
UPS_HD Acc to_acc(std::uint8_t v) {
  return static_cast<Acc>(v);
}

template <class T>
struct FromAcc {
  template <class Acc>
  UPS_HD static T apply(Acc v) {
    return static_cast<T>(v);
  }
};
template <>
struct FromAcc<half_t> {
  template <class Acc>
  UPS_HD static half_t apply(Acc v) {
    return float_to_half(static_cast<float>(v));
  }
};
template <>
struct FromAcc<bf16_t> {
  template <class Acc>
  UPS_HD static bf16_t apply(Acc v) {
    return float_to_bf16(static_cast<float>(v));
  }
};
template <class T, class Acc>
UPS_HD T from_acc(Acc v) {
  return FromAcc<T>::apply(v);
}

}  // namespace kern
}  // namespace ups
