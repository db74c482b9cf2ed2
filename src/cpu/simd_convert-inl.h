// Per-target SIMD loads and stores of the element types, converting to and from the accumulation
// type exactly as kernels/common/hd.hpp does one element at a time (to_acc / from_acc): f16 and
// bf16 round to nearest even, NaN becomes the same quiet NaN, so a vector loop and the
// per-element reference produce the same bits. Highway's own f16/bf16 demotions truncate on
// some targets, so these are written with integer operations.
//
// Include inside HWY_NAMESPACE, after <hwy/highway.h>; no include guard (one copy per target).

// clang-format off
#if defined(UPS_CPU_SIMD_CONVERT_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef UPS_CPU_SIMD_CONVERT_INL_H_
#undef UPS_CPU_SIMD_CONVERT_INL_H_
#else
#define UPS_CPU_SIMD_CONVERT_INL_H_
#endif
// clang-format on

#include <cstdint>
#include <cstring>

#include "common/hd.hpp"

HWY_BEFORE_NAMESPACE();
namespace ups {
namespace detail {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// The lane type Highway uses for a storage type: f16/bf16 move as uint16_t bits.
template <class T>
struct LaneOf {
  using type = T;
};
template <>
struct LaneOf<kern::half_t> {
  using type = std::uint16_t;
};
template <>
struct LaneOf<kern::bf16_t> {
  using type = std::uint16_t;
};

// kern::half_to_float on every lane of the 16-bit vector `h` (promoted to the f32 lanes of df).
template <class DF, class VU16>
HWY_INLINE hn::Vec<DF> HalfToFloat(DF df, VU16 h) {
  const hn::RebindToUnsigned<DF> du;
  const hn::RebindToSigned<DF> di;
  const auto x = hn::PromoteTo(du, h);
  const auto sign = hn::ShiftLeft<16>(hn::And(x, hn::Set(du, 0x8000u)));
  const auto exp = hn::And(hn::ShiftRight<10>(x), hn::Set(du, 0x1fu));
  const auto mant = hn::And(x, hn::Set(du, 0x3ffu));
  // Zero or subnormal: mant * 2^-24 is exact.
  const auto sub =
      hn::Mul(hn::ConvertTo(df, hn::BitCast(di, mant)), hn::Set(df, 5.9604644775390625e-8f));
  const auto sub_bits = hn::Or(hn::BitCast(du, sub), sign);
  const auto infnan = hn::Or(hn::Or(sign, hn::Set(du, 0x7f800000u)), hn::ShiftLeft<13>(mant));
  const auto normal = hn::Or(hn::Or(sign, hn::ShiftLeft<23>(hn::Add(exp, hn::Set(du, 112u)))),
                             hn::ShiftLeft<13>(mant));
  auto bits = hn::IfThenElse(hn::Eq(exp, hn::Zero(du)), sub_bits, normal);
  bits = hn::IfThenElse(hn::Eq(exp, hn::Set(du, 31u)), infnan, bits);
  return hn::BitCast(df, bits);
}

// kern::float_to_half on every lane: the 16-bit results in the low half of each 32-bit lane.
// Comparisons are signed: every value compared is below 2^31.
template <class DF>
HWY_INLINE hn::Vec<hn::RebindToUnsigned<DF>> FloatToHalfBits(DF df, hn::Vec<DF> f) {
  (void)df;
  const hn::RebindToUnsigned<DF> du;
  const hn::RebindToSigned<DF> di;
  const auto all = hn::BitCast(du, f);
  const auto sign = hn::And(hn::ShiftRight<16>(all), hn::Set(du, 0x8000u));
  const auto x = hn::And(all, hn::Set(du, 0x7fffffffu));
  const auto xi = hn::BitCast(di, x);
  const auto one = hn::Set(du, 1u);
  const auto below = [&](std::int32_t v) { return hn::RebindMask(du, hn::Lt(xi, hn::Set(di, v))); };
  // NaN and infinity.
  const auto nan = hn::RebindMask(du, hn::Gt(xi, hn::Set(di, 0x7f800000)));
  const auto infnan = hn::Or(sign, hn::IfThenElse(nan, hn::Set(du, 0x7e00u), hn::Set(du, 0x7c00u)));
  // Normal halves: round the mantissa to nearest even; a carry may reach the exponent.
  auto h = hn::Or(hn::ShiftLeft<10>(hn::Sub(hn::ShiftRight<23>(x), hn::Set(du, 112u))),
                  hn::ShiftRight<13>(hn::And(x, hn::Set(du, 0x7fffffu))));
  const auto rem = hn::BitCast(di, hn::And(x, hn::Set(du, 0x1fffu)));
  const auto odd = hn::RebindMask(di, hn::Eq(hn::And(h, one), one));
  const auto up =
      hn::Or(hn::Gt(rem, hn::Set(di, 0x1000)), hn::And(hn::Eq(rem, hn::Set(di, 0x1000)), odd));
  h = hn::IfThenElse(hn::RebindMask(du, up), hn::Add(h, one), h);
  // Subnormal halves: shift the mantissa with its implicit bit right by 126 - e (14..24).
  // The shift is clamped to [1, 31] so that no lane shifts by its width; lanes outside the
  // subnormal range compute something unused.
  const auto e = hn::BitCast(di, hn::ShiftRight<23>(x));
  const auto m = hn::Or(hn::And(x, hn::Set(du, 0x7fffffu)), hn::Set(du, 0x800000u));
  const auto shift = hn::BitCast(
      du, hn::Max(hn::Min(hn::Sub(hn::Set(di, 126), e), hn::Set(di, 31)), hn::Set(di, 1)));
  auto mh = hn::Shr(m, shift);
  const auto srem = hn::BitCast(di, hn::And(m, hn::Sub(hn::Shl(one, shift), one)));
  const auto halfway = hn::BitCast(di, hn::Shl(one, hn::Sub(shift, one)));
  const auto mh_odd = hn::RebindMask(di, hn::Eq(hn::And(mh, one), one));
  const auto sup = hn::Or(hn::Gt(srem, halfway), hn::And(hn::Eq(srem, halfway), mh_odd));
  mh = hn::IfThenElse(hn::RebindMask(du, sup), hn::Add(mh, one), mh);
  auto r =
      hn::IfThenElse(below(0x38800000), hn::IfThenElse(below(0x33000000), hn::Zero(du), mh), h);
  r = hn::IfThenElse(below(0x477ff000), r, hn::Set(du, 0x7c00u));  // rounds to infinity
  r = hn::Or(sign, r);
  return hn::IfThenElse(below(0x7f800000), r, infnan);
}

// kern::float_to_bf16 on every lane: the 16-bit results in the low half of each 32-bit lane.
template <class DF>
HWY_INLINE hn::Vec<hn::RebindToUnsigned<DF>> FloatToBf16Bits(DF df, hn::Vec<DF> f) {
  (void)df;
  const hn::RebindToUnsigned<DF> du;
  const hn::RebindToSigned<DF> di;
  const auto x = hn::BitCast(du, f);
  const auto nan = hn::Gt(hn::BitCast(di, hn::And(x, hn::Set(du, 0x7fffffffu))),
                          hn::BitCast(di, hn::Set(du, 0x7f800000u)));
  const auto quiet = hn::Or(hn::ShiftRight<16>(x), hn::Set(du, 0x40u));
  const auto bias = hn::Add(hn::Set(du, 0x7fffu), hn::And(hn::ShiftRight<16>(x), hn::Set(du, 1u)));
  const auto rounded = hn::ShiftRight<16>(hn::Add(x, bias));
  return hn::IfThenElse(hn::RebindMask(du, nan), quiet, rounded);
}

// Loads Lanes(d) elements of type T from p as accumulation-type lanes (d's lane type).
template <class T, class D>
HWY_INLINE hn::Vec<D> LoadAcc(D d, const T* HWY_RESTRICT p) {
  using Acc = hn::TFromD<D>;
  if constexpr (std::is_same_v<T, Acc>) {
    return hn::LoadU(d, p);
  } else if constexpr (std::is_same_v<T, kern::bf16_t>) {
    const hn::Rebind<std::uint16_t, D> d16;
    const hn::RebindToUnsigned<D> du;
    const auto bits = hn::LoadU(d16, reinterpret_cast<const std::uint16_t*>(p));
    return hn::BitCast(d, hn::ShiftLeft<16>(hn::PromoteTo(du, bits)));
  } else {
    static_assert(std::is_same_v<T, kern::half_t>, "LoadAcc: unsupported element type");
    const hn::Rebind<std::uint16_t, D> d16;
    return HalfToFloat(d, hn::LoadU(d16, reinterpret_cast<const std::uint16_t*>(p)));
  }
}

// Stores a vector at p, with a non-temporal (streaming) store when kStream and p is aligned to the
// vector's size: outputs far larger than the caches then skip the read-for-ownership of every
// line they write. The caller issues hn::FlushStream() before the results are handed over.
template <bool kStream, class D>
HWY_INLINE void StoreVec(D d, hn::Vec<D> v, hn::TFromD<D>* HWY_RESTRICT p) {
  if constexpr (kStream) {
    if (reinterpret_cast<std::uintptr_t>(p) % (hn::Lanes(d) * sizeof(hn::TFromD<D>)) == 0) {
      hn::Stream(v, d, p);
      return;
    }
  }
  hn::StoreU(v, d, p);
}

// Stores the accumulation-type lanes v to Lanes(d) elements of type T at p.
template <bool kStream = false, class T, class D>
HWY_INLINE void StoreAcc(D d, hn::Vec<D> v, T* HWY_RESTRICT p) {
  using Acc = hn::TFromD<D>;
  if constexpr (std::is_same_v<T, Acc>) {
    StoreVec<kStream>(d, v, p);
  } else {
    const hn::Rebind<std::uint16_t, D> d16;
    const hn::RebindToSigned<D> di;
    hn::Vec<hn::RebindToUnsigned<D>> bits;
    if constexpr (std::is_same_v<T, kern::bf16_t>) {
      bits = FloatToBf16Bits(d, v);
    } else {
      static_assert(std::is_same_v<T, kern::half_t>, "StoreAcc: unsupported element type");
      bits = FloatToHalfBits(d, v);
    }
    // Every lane holds a value below 2^16, so the saturating demotion is exact.
    StoreVec<kStream>(d16, hn::DemoteTo(d16, hn::BitCast(di, bits)),
                      reinterpret_cast<std::uint16_t*>(p));
  }
}

// Stores the first `count` lanes of v as elements of type T at p (count < Lanes(d)): through a
// buffer, so that no byte past them is written on any target.
template <class T, class D>
HWY_INLINE void StoreAccN(D d, hn::Vec<D> v, T* HWY_RESTRICT p, std::size_t count) {
  T buf[HWY_MAX_BYTES / sizeof(hn::TFromD<D>)];
  StoreAcc(d, v, buf);
  std::memcpy(p, buf, count * sizeof(T));
}

}  // namespace HWY_NAMESPACE
}  // namespace detail
}  // namespace ups
HWY_AFTER_NAMESPACE();

#endif  // UPS_CPU_SIMD_CONVERT_INL_H_
