// The per-element helpers shared by the CPU backend and the CUDA kernels (kernels/common/hd.hpp,
// kernels/interpolate/interp_math.hpp), checked against independent references: the compiler's
// own _Float16 conversions, a bfloat16 rounding written here in double arithmetic, closed-form
// index formulas and hand-computed tables.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "common/hd.hpp"
#include "interpolate/interp_math.hpp"

namespace {

using ups::kern::bf16_t;
using ups::kern::half_t;

std::uint32_t float_bits(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
float bits_float(std::uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// Reference half conversions: g++ implements _Float16 with IEEE round-to-nearest-even.
float ref_half_to_float(std::uint16_t bits) {
  _Float16 h;
  std::memcpy(&h, &bits, 2);
  return static_cast<float>(h);
}
std::uint16_t ref_float_to_half(float f) {
  volatile float vf = f;  // keep the conversion at run time
  const _Float16 h = static_cast<_Float16>(vf);
  std::uint16_t bits;
  std::memcpy(&bits, &h, 2);
  return bits;
}

bool half_is_nan(std::uint16_t b) {
  return (b & 0x7c00u) == 0x7c00u && (b & 0x3ffu) != 0;
}
bool bf16_is_nan(std::uint16_t b) {
  return (b & 0x7f80u) == 0x7f80u && (b & 0x7fu) != 0;
}

// Reference bfloat16 rounding in double arithmetic: bf16 keeps 8 significant bits and float's
// exponent range; the nearest multiple of the quantum wins, ties go to the even multiple, and
// anything that rounds to 2^128 or beyond becomes infinity.
std::uint16_t ref_float_to_bf16(float f) {
  const bool neg = std::signbit(f);
  double mag = std::fabs(static_cast<double>(f));
  if (!std::isinf(mag) && mag != 0.0) {
    int e = 0;
    std::frexp(mag, &e);  // mag in [2^(e-1), 2^e)
    const double quantum = std::ldexp(1.0, std::max(e, -125) - 8);
    const double k = mag / quantum;  // exact: a power-of-two division
    double lo = std::floor(k);
    const double frac = k - lo;
    if (frac > 0.5 || (frac == 0.5 && std::fmod(lo, 2.0) != 0.0)) lo += 1.0;
    mag = lo * quantum;
    if (mag >= std::ldexp(1.0, 128)) mag = std::numeric_limits<double>::infinity();
  }
  const float r = static_cast<float>(neg ? -mag : mag);  // exact: r is a bf16 value
  const std::uint32_t u = float_bits(r);
  if ((u & 0xffffu) != 0u) return 0xffffu;  // cannot happen; makes the comparison fail loudly
  return static_cast<std::uint16_t>(u >> 16);
}

// Reference bf16 -> float decoding from the fields, in double.
double ref_bf16_value(std::uint16_t b) {
  const int sign = b >> 15;
  const int exp = (b >> 7) & 0xff;
  const int mant = b & 0x7f;
  double v;
  if (exp == 0) {
    v = std::ldexp(static_cast<double>(mant), -133);
  } else if (exp == 0xff) {
    v = mant ? std::numeric_limits<double>::quiet_NaN() : std::numeric_limits<double>::infinity();
  } else {
    v = std::ldexp(1.0 + mant / 128.0, exp - 127);
  }
  return sign ? -v : v;
}

// Compares ups's float -> half with the reference for one input; returns false on mismatch.
bool half_matches(float f) {
  const std::uint16_t got = ups::kern::float_to_half(f).bits;
  if (std::isnan(f)) {
    return half_is_nan(got) && (got >> 15) == (std::signbit(f) ? 1u : 0u);
  }
  return got == ref_float_to_half(f);
}

bool bf16_matches(float f) {
  const std::uint16_t got = ups::kern::float_to_bf16(f).bits;
  if (std::isnan(f)) {
    return bf16_is_nan(got) && (got >> 15) == (std::signbit(f) ? 1u : 0u);
  }
  return got == ref_float_to_bf16(f);
}

// Floats worth converting around one 16-bit value v and its upper neighbour n: v, the midpoint,
// and the floats one ulp either side of v and of the midpoint.
void push_neighbourhood(std::vector<float>& out, float v, float n) {
  out.push_back(v);
  out.push_back(std::nextafter(v, -INFINITY));
  out.push_back(std::nextafter(v, INFINITY));
  if (std::isfinite(v) && std::isfinite(n)) {
    // The tie is exact in float: 16-bit formats have far fewer significant bits.
    const float mid = static_cast<float>((static_cast<double>(v) + n) / 2.0);
    out.push_back(mid);
    out.push_back(std::nextafter(mid, -INFINITY));
    out.push_back(std::nextafter(mid, INFINITY));
  }
}

}  // namespace

TEST_CASE("half_to_float matches _Float16 for all 65536 bit patterns", "[math][half]") {
  std::int64_t bad = 0;
  for (std::uint32_t b = 0; b < 65536u; ++b) {
    const auto bits = static_cast<std::uint16_t>(b);
    const float got = ups::kern::half_to_float(half_t{bits});
    const float want = ref_half_to_float(bits);
    bool ok;
    if (half_is_nan(bits)) {
      ok = std::isnan(got) && std::signbit(got) == ((bits >> 15) != 0);
    } else {
      ok = float_bits(got) == float_bits(want);  // bitwise: distinguishes +0 and -0
    }
    if (!ok) {
      if (bad < 5) UNSCOPED_INFO("bits 0x" << std::hex << b << ": got " << got << " want " << want);
      ++bad;
    }
  }
  CHECK(bad == 0);
}

TEST_CASE("float_to_half round-trips every half value", "[math][half]") {
  std::int64_t bad = 0;
  for (std::uint32_t b = 0; b < 65536u; ++b) {
    const auto bits = static_cast<std::uint16_t>(b);
    if (half_is_nan(bits)) continue;
    if (ups::kern::float_to_half(ups::kern::half_to_float(half_t{bits})).bits != bits) ++bad;
  }
  CHECK(bad == 0);
}

TEST_CASE("float_to_half rounds like _Float16", "[math][half]") {
  std::vector<float> inputs;
  // Every finite half value, its neighbours, and the ties between consecutive halves (which
  // exercise round-half-to-even, including the carry into the exponent and the normal /
  // subnormal boundary).
  for (std::uint32_t b = 0; b < 0x7c00u; ++b) {
    for (std::uint32_t sign : {0u, 0x8000u}) {
      const float v = ups::kern::half_to_float(half_t{static_cast<std::uint16_t>(b | sign)});
      const float n = ups::kern::half_to_float(half_t{static_cast<std::uint16_t>((b + 1) | sign)});
      push_neighbourhood(inputs, v, n);
    }
  }
  // Overflow: 65504 is the largest half; the tie 65520 rounds to even, i.e. to infinity.
  for (float f : {65504.0f, 65519.99f, 65520.0f, 65536.0f, 1e6f, 3.4028235e38f, INFINITY}) {
    inputs.push_back(f);
    inputs.push_back(-f);
  }
  // Below half's smallest subnormal (2^-24): 2^-25 is a tie and rounds to zero (even).
  for (float f : {0x1p-24f, 0x1p-25f, 0x1.000002p-25f, 0x1.fffffep-26f, 0x1p-30f, 0x1p-126f,
                  0x1p-149f, 0x1.8p-24f, 0x1.4p-24f, 0x1.cp-24f}) {
    inputs.push_back(f);
    inputs.push_back(-f);
  }
  // NaNs: quiet, signalling, negative.
  for (std::uint32_t u :
       {0x7fc00000u, 0x7f800001u, 0x7fa00000u, 0xffc00000u, 0xff800001u, 0x7fffffffu}) {
    inputs.push_back(bits_float(u));
  }
  // A sweep across every binade of float (including float subnormals) ...
  for (std::uint64_t u = 0; u < (std::uint64_t(1) << 32); u += 509) {
    inputs.push_back(bits_float(static_cast<std::uint32_t>(u)));
  }
  // ... and random floats concentrated in half's range.
  std::mt19937 rng(12345);
  std::uniform_real_distribution<float> dist(-70000.0f, 70000.0f);
  std::uniform_int_distribution<std::uint32_t> any_bits;
  for (int i = 0; i < 200000; ++i) {
    inputs.push_back(dist(rng));
    inputs.push_back(std::ldexp(dist(rng), -16));
    inputs.push_back(bits_float(any_bits(rng)));
  }

  std::int64_t bad = 0;
  for (float f : inputs) {
    if (!half_matches(f)) {
      if (bad < 5) {
        UNSCOPED_INFO("input " << f << " (bits 0x" << std::hex << float_bits(f) << "): got 0x"
                               << ups::kern::float_to_half(f).bits << " want 0x"
                               << ref_float_to_half(f));
      }
      ++bad;
    }
  }
  INFO(inputs.size() << " inputs");
  CHECK(bad == 0);
}

TEST_CASE("float_to_half: special values", "[math][half]") {
  CHECK(ups::kern::float_to_half(0.0f).bits == 0x0000u);
  CHECK(ups::kern::float_to_half(-0.0f).bits == 0x8000u);
  CHECK(ups::kern::float_to_half(1.0f).bits == 0x3c00u);
  CHECK(ups::kern::float_to_half(65504.0f).bits == 0x7bffu);
  CHECK(ups::kern::float_to_half(65520.0f).bits == 0x7c00u);
  CHECK(ups::kern::float_to_half(-INFINITY).bits == 0xfc00u);
  CHECK(ups::kern::float_to_half(0x1p-24f).bits == 0x0001u);
  CHECK(ups::kern::float_to_half(0x1p-25f).bits == 0x0000u);    // tie to even (zero)
  CHECK(ups::kern::float_to_half(0x1.8p-24f).bits == 0x0002u);  // tie to even (2)
  CHECK(half_is_nan(ups::kern::float_to_half(NAN).bits));
  CHECK(half_is_nan(ups::kern::float_to_half(bits_float(0x7f800001u)).bits));  // signalling
}

TEST_CASE("bf16_to_float decodes every bit pattern", "[math][bf16]") {
  std::int64_t bad = 0;
  for (std::uint32_t b = 0; b < 65536u; ++b) {
    const auto bits = static_cast<std::uint16_t>(b);
    const float got = ups::kern::bf16_to_float(bf16_t{bits});
    const double want = ref_bf16_value(bits);
    const bool ok = bf16_is_nan(bits) ? std::isnan(got) && std::signbit(got) == ((bits >> 15) != 0)
                                      : (static_cast<double>(got) == want &&
                                         std::signbit(got) == std::signbit(want));
    if (!ok) ++bad;
  }
  CHECK(bad == 0);
}

TEST_CASE("float_to_bf16 rounds to nearest even", "[math][bf16]") {
  std::vector<float> inputs;
  for (std::uint32_t b = 0; b < 0x7f80u; ++b) {
    for (std::uint32_t sign : {0u, 0x8000u}) {
      push_neighbourhood(inputs, bits_float((b | sign) << 16), bits_float(((b + 1) | sign) << 16));
    }
  }
  for (std::uint32_t u : {0x7fc00000u, 0x7f800001u, 0x7fffffffu, 0xffc00000u, 0xff800001u,
                          0x7f7fffffu, 0x7f7f8000u, 0x7f7f7fffu, 0x00000001u, 0x00008000u,
                          0x00018000u, 0x007fffffu, 0x7f800000u, 0xff800000u}) {
    inputs.push_back(bits_float(u));
  }
  for (std::uint64_t u = 0; u < (std::uint64_t(1) << 32); u += 509) {
    inputs.push_back(bits_float(static_cast<std::uint32_t>(u)));
  }
  std::mt19937 rng(777);
  std::uniform_int_distribution<std::uint32_t> any_bits;
  for (int i = 0; i < 300000; ++i)
    inputs.push_back(bits_float(any_bits(rng)));

  std::int64_t bad = 0;
  for (float f : inputs) {
    if (!bf16_matches(f)) {
      if (bad < 5) {
        UNSCOPED_INFO("input bits 0x" << std::hex << float_bits(f) << ": got 0x"
                                      << ups::kern::float_to_bf16(f).bits);
      }
      ++bad;
    }
  }
  INFO(inputs.size() << " inputs");
  CHECK(bad == 0);
}

TEST_CASE("float_to_bf16: special values", "[math][bf16]") {
  CHECK(ups::kern::float_to_bf16(1.0f).bits == 0x3f80u);
  CHECK(ups::kern::float_to_bf16(-0.0f).bits == 0x8000u);
  CHECK(ups::kern::float_to_bf16(bits_float(0x3f808000u)).bits == 0x3f80u);  // tie, even below
  CHECK(ups::kern::float_to_bf16(bits_float(0x3f818000u)).bits == 0x3f82u);  // tie, even above
  CHECK(ups::kern::float_to_bf16(bits_float(0x7f7f8000u)).bits == 0x7f80u);  // tie to infinity
  CHECK(ups::kern::float_to_bf16(INFINITY).bits == 0x7f80u);
  CHECK(bf16_is_nan(ups::kern::float_to_bf16(NAN).bits));
  // A NaN whose payload lies only in the low 16 bits must not collapse to infinity.
  CHECK(bf16_is_nan(ups::kern::float_to_bf16(bits_float(0x7f800001u)).bits));
  CHECK(bf16_is_nan(ups::kern::float_to_bf16(bits_float(0xff800001u)).bits));
}

// ---- scales ------------------------------------------------------------------------------------

TEST_CASE("compute_scales_value and area_pixel_compute_scale", "[math][interpolate]") {
  using ups::kern::area_pixel_compute_scale;
  using ups::kern::compute_scales_value;
  CHECK(compute_scales_value<double>(2.0, 3, 6) == 0.5);  // a given scale s drives 1/s
  CHECK(compute_scales_value<double>(1.5, 5, 7) == 1.0 / 1.5);
  CHECK(compute_scales_value<double>(0.0, 5, 7) == 5.0 / 7.0);  // none given: in / out
  CHECK(compute_scales_value<float>(0.0, 3, 5) == 0.6f);
  CHECK(area_pixel_compute_scale<double>(3, 5, true, 0.0) == 0.5);  // (in-1)/(out-1)
  CHECK(area_pixel_compute_scale<double>(3, 5, true, 7.0) == 0.5);  // scale ignored
  CHECK(area_pixel_compute_scale<double>(3, 1, true, 0.0) == 0.0);  // out == 1
  CHECK(area_pixel_compute_scale<double>(4, 2, false, 0.0) == 2.0);
  CHECK(area_pixel_compute_scale<double>(4, 8, false, 2.0) == 0.5);
  CHECK(area_pixel_compute_scale<double>(4, 1, false, 0.0) == 4.0);  // out == 1, half-pixel

  using ups::kern::area_pixel_compute_source_index;
  CHECK(area_pixel_compute_source_index<double>(0.5, 0, false, false) == 0.0);   // -0.25 clamps
  CHECK(area_pixel_compute_source_index<double>(0.5, 0, false, true) == -0.25);  // cubic keeps it
  CHECK(area_pixel_compute_source_index<double>(0.5, 3, false, false) == 1.25);
  CHECK(area_pixel_compute_source_index<double>(0.5, 3, true, false) == 1.5);
}

// ---- linear ------------------------------------------------------------------------------------

namespace {

// The source position PyTorch's linear modes sample for output `dst`, in double.
double ref_linear_position(std::int64_t dst, std::int64_t in, std::int64_t out, bool align_corners,
                           double user_scale) {
  if (in == out) return static_cast<double>(dst);
  double p;
  if (align_corners) {
    p = out > 1 ? static_cast<double>(dst) * (in - 1) / (out - 1) : 0.0;
  } else {
    const double s = user_scale > 0 ? 1.0 / user_scale : static_cast<double>(in) / out;
    p = std::max((dst + 0.5) * s - 0.5, 0.0);
  }
  return std::min(p, static_cast<double>(in - 1));
}

template <class Acc>
void check_linear_taps(std::int64_t in, std::int64_t out, bool align_corners, double user_scale,
                       double tol) {
  const Acc scale = ups::kern::area_pixel_compute_scale<Acc>(in, out, align_corners, user_scale);
  for (std::int64_t dst = 0; dst < out; ++dst) {
    INFO("in " << in << " out " << out << " align_corners " << align_corners << " scale "
               << user_scale << " dst " << dst);
    const auto t = ups::kern::linear_taps<Acc>(scale, dst, in, out, align_corners);
    CHECK(t.i0 >= 0);
    CHECK(t.i0 <= in - 1);
    CHECK(t.i1 >= t.i0);
    CHECK(t.i1 <= std::min(t.i0 + 1, in - 1));
    CHECK(t.w0 >= Acc(0));
    CHECK(t.w1 >= Acc(0));
    CHECK(static_cast<double>(t.w0 + t.w1) == Approx(1.0).margin(tol));
    const double pos = static_cast<double>(t.i0) * static_cast<double>(t.w0) +
                       static_cast<double>(t.i1) * static_cast<double>(t.w1);
    CHECK(pos == Approx(ref_linear_position(dst, in, out, align_corners, user_scale))
                     .margin(tol * static_cast<double>(in)));
  }
}

}  // namespace

TEST_CASE("linear taps: weights, ranges and source positions", "[math][interpolate]") {
  const std::int64_t sizes[] = {1, 2, 3, 4, 5, 7, 10, 16, 33};
  for (std::int64_t in : sizes) {
    for (std::int64_t out : sizes) {
      for (bool ac : {false, true}) {
        check_linear_taps<float>(in, out, ac, 0.0, 1e-6);
        check_linear_taps<double>(in, out, ac, 0.0, 1e-12);
      }
    }
  }
  // A given scale factor drives the index math as 1/scale, not in/out.
  check_linear_taps<double>(5, 7, false, 1.5, 1e-12);
  check_linear_taps<float>(10, 20, false, 2.05, 1e-6);
  check_linear_taps<double>(7, 2, false, 0.3, 1e-12);
}

TEST_CASE("linear taps: borders and align_corners endpoints", "[math][interpolate]") {
  using ups::kern::linear_taps;
  // Upsampling 4 -> 8 without align_corners: output 0 sits left of input 0 and clamps to it;
  // output 7 sits right of input 3 and uses it alone.
  const double s = ups::kern::area_pixel_compute_scale<double>(4, 8, false, 0.0);
  const auto first = linear_taps<double>(s, 0, 4, 8, false);
  CHECK(first.i0 == 0);
  CHECK(first.w0 == 1.0);
  CHECK(first.w1 == 0.0);
  const auto last = linear_taps<double>(s, 7, 4, 8, false);
  CHECK(last.i0 == 3);
  CHECK(last.i1 == 3);
  CHECK(last.w0 + last.w1 == 1.0);
  const auto mid = linear_taps<double>(s, 3, 4, 8, false);  // 0.5 * 3.5 - 0.5 = 1.25
  CHECK(mid.i0 == 1);
  CHECK(mid.i1 == 2);
  CHECK(mid.w0 == 0.75);
  CHECK(mid.w1 == 0.25);

  // align_corners maps the first and last outputs exactly onto the first and last inputs.
  for (std::int64_t in : {2, 3, 5, 9, 17}) {
    const std::int64_t out = 2 * in - 1;  // scale (in-1)/(out-1) = 1/2, exact in binary
    const float sc = ups::kern::area_pixel_compute_scale<float>(in, out, true, 0.0);
    const auto a = linear_taps<float>(sc, 0, in, out, true);
    CHECK(a.i0 == 0);
    CHECK(a.w0 == 1.0f);
    CHECK(a.w1 == 0.0f);
    const auto b = linear_taps<float>(sc, out - 1, in, out, true);
    CHECK(b.i0 == in - 1);
    CHECK(b.i1 == in - 1);
    CHECK(b.w0 == 1.0f);
  }
  // Same size copies: one tap of weight one.
  const auto same = linear_taps<float>(0.75f, 2, 5, 5, false);
  CHECK(same.i0 == 2);
  CHECK(same.w0 == 1.0f);
  CHECK(same.w1 == 0.0f);
}

// ---- cubic -------------------------------------------------------------------------------------

namespace {

// Keys' cubic convolution kernel with A = -0.75, written out as the textbook piecewise
// polynomial in double.
double ref_keys(double x, double a) {
  x = std::fabs(x);
  if (x <= 1.0) return (a + 2) * x * x * x - (a + 3) * x * x + 1;
  if (x < 2.0) return a * x * x * x - 5 * a * x * x + 8 * a * x - 4 * a;
  return 0.0;
}

}  // namespace

TEST_CASE("cubic taps: weights sum to one, match Keys' kernel, taps clamp", "[math][interpolate]") {
  using ups::kern::cubic_taps;
  const std::int64_t sizes[] = {1, 2, 3, 4, 7, 12};
  for (std::int64_t in : sizes) {
    for (std::int64_t out : sizes) {
      for (bool ac : {false, true}) {
        const double scale = ups::kern::area_pixel_compute_scale<double>(in, out, ac, 0.0);
        const float scale_f = ups::kern::area_pixel_compute_scale<float>(in, out, ac, 0.0);
        for (std::int64_t dst = 0; dst < out; ++dst) {
          INFO("in " << in << " out " << out << " align_corners " << ac << " dst " << dst);
          const auto t = cubic_taps<double>(scale, dst, in, ac);
          const auto tf = cubic_taps<float>(scale_f, dst, in, ac);
          const double real = ac ? scale * dst : scale * (dst + 0.5) - 0.5;  // not clamped
          const double fl = std::floor(real);
          double sum = 0.0, sum_f = 0.0;
          for (int k = 0; k < 4; ++k) {
            sum += t.w[k];
            sum_f += tf.w[k];
            CHECK(t.w[k] == Approx(ref_keys(real - (fl - 1 + k), -0.75)).margin(1e-12));
            const auto want_index = static_cast<std::int64_t>(
                std::min(std::max(fl - 1 + k, 0.0), static_cast<double>(in - 1)));
            CHECK(t.i[k] == want_index);
            CHECK(tf.i[k] >= 0);
            CHECK(tf.i[k] <= in - 1);
          }
          CHECK(sum == Approx(1.0).margin(1e-12));
          CHECK(sum_f == Approx(1.0).margin(1e-6));
        }
      }
    }
  }
}

TEST_CASE("cubic taps: hand-computed weights", "[math][interpolate]") {
  using ups::kern::cubic_taps;
  // t = 0: the kernel interpolates, so only the centre tap has weight.
  const auto a = cubic_taps<double>(1.0, 3, 8, true);
  CHECK(a.i[0] == 2);
  CHECK(a.i[3] == 5);
  CHECK(a.w[0] == 0.0);
  CHECK(a.w[1] == 1.0);
  CHECK(a.w[2] == 0.0);
  CHECK(a.w[3] == 0.0);
  // t = 0.5 with A = -0.75: W2(1.5) = -0.09375, W1(0.5) = 0.59375 (exact in binary).
  const auto b = cubic_taps<float>(0.5f, 5, 8, true);  // real = 2.5
  CHECK(b.i[0] == 1);
  CHECK(b.w[0] == -0.09375f);
  CHECK(b.w[1] == 0.59375f);
  CHECK(b.w[2] == 0.59375f);
  CHECK(b.w[3] == -0.09375f);
  // Upsampling 4 -> 8 without align_corners: output 0 has real = -0.25, floor -1, taps
  // -2..1 clamp to 0, 0, 0, 1; output 7 has real = 3.25, taps 2..5 clamp to 2, 3, 3, 3.
  const auto c = cubic_taps<double>(0.5, 0, 4, false);
  CHECK(c.i[0] == 0);
  CHECK(c.i[1] == 0);
  CHECK(c.i[2] == 0);
  CHECK(c.i[3] == 1);
  const auto d = cubic_taps<double>(0.5, 7, 4, false);
  CHECK(d.i[0] == 2);
  CHECK(d.i[1] == 3);
  CHECK(d.i[2] == 3);
  CHECK(d.i[3] == 3);
}

// ---- area --------------------------------------------------------------------------------------

TEST_CASE("adaptive windows: hand-computed values", "[math][interpolate]") {
  using ups::kern::adaptive_end;
  using ups::kern::adaptive_start;
  struct Case {
    std::int64_t in, out;
    std::vector<std::int64_t> start, end;
  };
  // start = floor(i * in / out), end = ceil((i + 1) * in / out).
  const Case cases[] = {
      {4, 2, {0, 2}, {2, 4}},
      {5, 3, {0, 1, 3}, {2, 4, 5}},
      {7, 3, {0, 2, 4}, {3, 5, 7}},
      {2, 4, {0, 0, 1, 1}, {1, 1, 2, 2}},
      {3, 3, {0, 1, 2}, {1, 2, 3}},
      {6, 1, {0}, {6}},
      {10, 4, {0, 2, 5, 7}, {3, 5, 8, 10}},
  };
  for (const Case& c : cases) {
    for (std::int64_t i = 0; i < c.out; ++i) {
      INFO("in " << c.in << " out " << c.out << " i " << i);
      CHECK(adaptive_start(i, c.out, c.in) == c.start[static_cast<std::size_t>(i)]);
      CHECK(adaptive_end(i, c.out, c.in) == c.end[static_cast<std::size_t>(i)]);
    }
  }
}

// Exact products of two int64 values (GCC extension; __extension__ keeps -Wpedantic quiet).
__extension__ typedef __int128 Int128;

namespace {

// Checks the first and last (up to) 100 windows of in -> out against exact floor / ceil and
// for coverage; returns the number of failed checks instead of asserting each one.
std::int64_t adaptive_window_errors(std::int64_t in, std::int64_t out) {
  using ups::kern::adaptive_end;
  using ups::kern::adaptive_start;
  const std::int64_t steps = std::min<std::int64_t>(out, 200);
  std::int64_t errors = 0, prev_start = 0, prev_end = 0;
  for (std::int64_t k = 0; k < steps; ++k) {
    const std::int64_t i = k < steps / 2 ? k : out - (steps - k);
    const std::int64_t s = adaptive_start(i, out, in);
    const std::int64_t e = adaptive_end(i, out, in);
    const Int128 want_s = static_cast<Int128>(i) * in / out;                  // floor
    const Int128 want_e = (static_cast<Int128>(i + 1) * in + out - 1) / out;  // ceil
    bool ok = static_cast<Int128>(s) == want_s && static_cast<Int128>(e) == want_e && s < e &&
              s >= 0 && e <= in && (i != 0 || s == 0) && (i != out - 1 || e == in);
    // Consecutive windows touch or overlap: no input element is skipped.
    if (k > 0 && k != steps / 2) ok = ok && s <= prev_end && s >= prev_start;
    if (!ok) {
      if (errors < 3) {
        UNSCOPED_INFO("in " << in << " out " << out << " i " << i << ": window [" << s << ", " << e
                            << ")");
      }
      ++errors;
    }
    prev_start = s;
    prev_end = e;
  }
  return errors;
}

}  // namespace

TEST_CASE("adaptive windows cover the input exactly", "[math][interpolate]") {
  const std::int64_t sizes[] = {1,
                                2,
                                3,
                                5,
                                7,
                                8,
                                13,
                                64,
                                100,
                                std::int64_t(1) << 30,
                                std::int64_t(3) << 31,
                                (std::int64_t(1) << 40) + 7};
  std::int64_t errors = 0;
  for (std::int64_t in : sizes) {
    for (std::int64_t out : sizes) {
      // ATen's integer formulas form i * in; they hold while in * out fits in int64.
      if (static_cast<Int128>(in) * out > std::numeric_limits<std::int64_t>::max()) continue;
      errors += adaptive_window_errors(in, out);
    }
  }
  CHECK(errors == 0);
}

// ATen's start_index / end_index form (i % out) * in and (i + 1) * in, which overflow int64 once
// in * out exceeds 2^63, e.g. an area resize of a 6.4e9-element row; ups's must not.
TEST_CASE("adaptive windows for sizes whose product exceeds int64", "[math][interpolate]") {
  CHECK(adaptive_window_errors(std::int64_t(3) << 31, std::int64_t(3) << 31) == 0);
  CHECK(adaptive_window_errors(std::int64_t(1) << 33, (std::int64_t(1) << 31) + 1) == 0);
}

// ---- anti-aliasing -----------------------------------------------------------------------------

TEST_CASE("antialias windows: hand-computed weights", "[math][interpolate]") {
  using ups::kern::aa_window;
  // Bilinear 4 -> 2 (scale 2): triangle of half-width 2 around centres 1 and 3.
  // Output 0: taps 0..2 with raw weights 0.75, 0.75, 0.25 -> 3/7, 3/7, 1/7.
  const auto w0 = aa_window<double>(2.0, 0, 4, false);
  CHECK(w0.xmin == 0);
  CHECK(w0.xsize == 3);
  CHECK(w0.weight(0) == Approx(3.0 / 7.0).epsilon(1e-14));
  CHECK(w0.weight(1) == Approx(3.0 / 7.0).epsilon(1e-14));
  CHECK(w0.weight(2) == Approx(1.0 / 7.0).epsilon(1e-14));
  const auto w1 = aa_window<double>(2.0, 1, 4, false);
  CHECK(w1.xmin == 1);
  CHECK(w1.xsize == 3);
  CHECK(w1.weight(0) == Approx(1.0 / 7.0).epsilon(1e-14));
  CHECK(w1.weight(2) == Approx(3.0 / 7.0).epsilon(1e-14));
  // Bicubic 4 -> 2, Keys a = -0.5 stretched by 2: raw weights at x = -0.25, 0.25, 0.75, 1.25
  // are 0.8671875, 0.8671875, 0.2265625, -0.0703125 (sum 1.890625).
  const auto c0 = aa_window<double>(2.0, 0, 4, true);
  CHECK(c0.xmin == 0);
  CHECK(c0.xsize == 4);
  const double raw[] = {0.8671875, 0.8671875, 0.2265625, -0.0703125};
  for (int j = 0; j < 4; ++j)
    CHECK(c0.weight(j) == Approx(raw[j] / 1.890625).epsilon(1e-14));
  // Upsampling 2 -> 4 (scale 0.5) does not stretch: output 0's centre 0.25 sees input 0 only.
  const auto u0 = aa_window<double>(0.5, 0, 2, false);
  CHECK(u0.xmin == 0);
  CHECK(u0.xsize == 1);
  CHECK(u0.weight(0) == Approx(1.0));
}

TEST_CASE("antialias windows are normalised and inside the input", "[math][interpolate]") {
  using ups::kern::aa_window;
  const std::int64_t sizes[] = {1, 2, 3, 5, 8, 17, 64, 255};
  for (std::int64_t in : sizes) {
    for (std::int64_t out : sizes) {
      for (bool cubic : {false, true}) {
        const double scale = static_cast<double>(in) / static_cast<double>(out);
        const float scale_f = static_cast<float>(in) / static_cast<float>(out);
        for (std::int64_t dst = 0; dst < out; ++dst) {
          INFO("in " << in << " out " << out << " cubic " << cubic << " dst " << dst);
          const auto w = aa_window<double>(scale, dst, in, cubic);
          const auto wf = aa_window<float>(scale_f, dst, in, cubic);
          CHECK(w.xmin >= 0);
          CHECK(w.xsize >= 1);
          CHECK(w.xmin + w.xsize <= in);
          double sum = 0.0, sum_f = 0.0;
          for (std::int64_t j = 0; j < w.xsize; ++j)
            sum += w.weight(j);
          for (std::int64_t j = 0; j < wf.xsize; ++j)
            sum_f += wf.weight(j);
          CHECK(sum == Approx(1.0).margin(1e-12));
          CHECK(sum_f == Approx(1.0).margin(1e-5));
          // The window holds every input pixel whose centre j + 0.5 lies strictly inside the
          // filter's support around the output centre (the filter is zero at its edge).
          const double centre = scale * (dst + 0.5);
          const double support = (cubic ? 2.0 : 1.0) * std::max(scale, 1.0);
          const double first = std::floor(centre - support - 0.5) + 1.0;
          const double last_end = std::ceil(centre + support - 0.5);
          CHECK(static_cast<double>(w.xmin) <= std::max(first, 0.0));
          CHECK(static_cast<double>(w.xmin + w.xsize) >=
                std::min(last_end, static_cast<double>(in)));
        }
      }
    }
  }
}

// ---- nearest -----------------------------------------------------------------------------------

namespace {

std::vector<std::int64_t> nearest_table(std::int64_t in, std::int64_t out, double user_scale,
                                        bool exact) {
  const float scale = ups::kern::compute_scales_value<float>(user_scale, in, out);
  std::vector<std::int64_t> idx;
  for (std::int64_t d = 0; d < out; ++d) {
    idx.push_back(exact ? ups::kern::nearest_exact_index(d, in, scale)
                        : ups::kern::nearest_index(d, in, out, scale));
  }
  return idx;
}

}  // namespace

TEST_CASE("nearest and nearest-exact: hand-computed index tables", "[math][interpolate]") {
  using V = std::vector<std::int64_t>;
  // nearest: floor(d * in / out); nearest-exact: floor((d + 0.5) * in / out) (f32 scale).
  CHECK(nearest_table(3, 5, 0.0, false) == V{0, 0, 1, 1, 2});
  CHECK(nearest_table(3, 5, 0.0, true) == V{0, 0, 1, 2, 2});
  // in = 4, out = 6: scale 2/3 rounds up in f32, so 3 * scale and 4.5 * scale land just above
  // 2 and 3.
  CHECK(nearest_table(4, 6, 0.0, false) == V{0, 0, 1, 2, 2, 3});
  CHECK(nearest_table(4, 6, 0.0, true) == V{0, 1, 1, 2, 3, 3});
  CHECK(nearest_table(5, 3, 0.0, false) == V{0, 1, 3});
  CHECK(nearest_table(5, 3, 0.0, true) == V{0, 2, 4});
  CHECK(nearest_table(7, 3, 0.0, false) == V{0, 2, 4});
  CHECK(nearest_table(2, 7, 0.0, false) == V{0, 0, 0, 0, 1, 1, 1});
  CHECK(nearest_table(2, 7, 0.0, true) == V{0, 0, 0, 1, 1, 1, 1});
}

TEST_CASE("nearest: the same-size and double-size special cases", "[math][interpolate]") {
  using V = std::vector<std::int64_t>;
  // in = 10 with scale factor 2.05: out = floor(20.5) = 20 = 2 * in, so the index is dst >> 1,
  // although the general formula floor(dst / 2.05) would give 0 for dst = 2.
  const float scale = ups::kern::compute_scales_value<float>(2.05, 10, 20);
  CHECK(static_cast<std::int64_t>(std::floor(2.0f * scale)) == 0);
  V halves;
  for (std::int64_t d = 0; d < 20; ++d)
    halves.push_back(d >> 1);
  CHECK(nearest_table(10, 20, 2.05, false) == halves);
  // nearest-exact has no special case: floor((d + 0.5) / 2.05) happens to equal d >> 1 here.
  CHECK(nearest_table(10, 20, 2.05, true) == halves);
  // in = 10 with scale factor 1.05: out = 10 = in, so the index is dst (a copy), although
  // floor(1 / 1.05) = 0.
  V identity;
  for (std::int64_t d = 0; d < 10; ++d)
    identity.push_back(d);
  CHECK(nearest_table(10, 10, 1.05, false) == identity);
  // Away from the special sizes the given scale drives the index: in = 10, scale 1.45,
  // out = 14: floor(7 / 1.45) = 4, but with in / out it would be floor(7 * 10 / 14) = 5.
  const auto t = nearest_table(10, 14, 1.45, false);
  CHECK(t[7] == 4);
  CHECK(t[13] == 8);
  const auto r = nearest_table(10, 14, 0.0, false);
  CHECK(r[7] == 5);
  CHECK(r[13] == 9);
}
