// The shared per-element math (kernels/common/hd.hpp, kernels/interpolate/interp_math.hpp) run
// on the device against the same functions run on the host: every f16 and bf16 bit pattern, a
// sweep of floats (subnormals, ties, infinities, NaNs), and the index and tap functions over
// many geometries. The device side lives in interp_math_device.cu.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "common/hd.hpp"
#include "interp_math_device.hpp"
#include "interpolate/interp_math.hpp"

namespace {

namespace kern = ups::kern;
namespace dm = ups_test::device_math;

std::uint32_t float_bits(float f) {
  std::uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}
float bits_float(std::uint32_t b) {
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}

// The value of a positive finite f16 bit pattern, from the format's definition.
double half_value(std::uint32_t h) {
  const std::uint32_t e = h >> 10, m = h & 0x3ffu;
  return e == 0 ? std::ldexp(static_cast<double>(m), -24)
                : std::ldexp(static_cast<double>(1024 + m), static_cast<int>(e) - 25);
}

// Floats that exercise the 16-bit conversions, as bit patterns, both signs of each.
std::vector<std::uint32_t> float_sweep() {
  std::vector<std::uint32_t> v;
  auto add = [&v](std::uint32_t b) {
    v.push_back(b);
    v.push_back(b ^ 0x80000000u);
  };
  auto add_with_neighbours = [&add](std::uint32_t b) {
    add(b);
    add(b + 1);  // next float up (for positive patterns)
    if (b > 0) add(b - 1);
  };
  // Every positive finite f16 value, the midpoint (a tie) to the next one, and their neighbours.
  // The midpoint between 65504 and 65536 (the first value past the largest half) is 65520,
  // where rounding turns to infinity.
  for (std::uint32_t h = 0; h < 0x7c00u; ++h) {
    const double lo = half_value(h);
    const double hi = h + 1 == 0x7c00u ? 65536.0 : half_value(h + 1);
    add_with_neighbours(float_bits(static_cast<float>(lo)));
    add_with_neighbours(float_bits(static_cast<float>((lo + hi) / 2)));  // exact in f32
  }
  // Every positive finite bf16 value, the tie to the next one, and their neighbours.
  for (std::uint32_t b = 0; b < 0x7f80u; ++b) {
    add_with_neighbours(b << 16);
    add_with_neighbours((b << 16) | 0x8000u);
  }
  // f32 subnormals, infinities, NaNs (quiet, signalling, with payloads) and the extremes.
  for (std::uint32_t b = 1; b < 0x800000u; b += 997)
    add(b);
  for (std::uint32_t b :
       {0u, 0x007fffffu, 0x00800000u, 0x7f7fffffu, 0x7f800000u, 0x7f800001u, 0x7fbfffffu,
        0x7fc00000u, 0x7fc00001u, 0x7fffe000u, 0x7fffffffu, 0x477fefffu, 0x477ff000u, 0x477ff001u,
        0x38800000u, 0x387fffffu, 0x33000000u, 0x33000001u, 0x32ffffffu}) {
    add(b);
  }
  // A stride through all 2^32 patterns and random ones.
  for (std::uint64_t b = 0; b < (std::uint64_t(1) << 32); b += 4099) {
    v.push_back(static_cast<std::uint32_t>(b));
  }
  std::mt19937 rng(12345);
  for (int i = 0; i < 1000000; ++i)
    v.push_back(static_cast<std::uint32_t>(rng()));
  return v;
}

template <class Bits>
std::string first_mismatches(const std::vector<Bits>& got, const std::vector<Bits>& want,
                             const std::vector<std::uint32_t>& inputs) {
  std::ostringstream os;
  std::size_t bad = 0;
  for (std::size_t i = 0; i < got.size() && i < want.size(); ++i) {
    if (got[i] == want[i]) continue;
    if (bad < 5) {
      os << std::hex << " [input 0x" << inputs[i] << ": device 0x" << got[i] << ", host 0x"
         << want[i] << "]" << std::dec;
    }
    ++bad;
  }
  if (got.size() != want.size()) return "sizes differ";
  if (bad == 0) return "";
  return std::to_string(bad) + " mismatches:" + os.str();
}

bool is_half_nan(std::uint16_t h) {
  return (h & 0x7c00u) == 0x7c00u && (h & 0x3ffu) != 0;
}

}  // namespace

TEST_CASE("half_to_float on the device matches the host for all 65536 patterns",
          "[gpu][math][f16]") {
  std::vector<std::uint16_t> in(65536);
  std::vector<std::uint32_t> in32(65536), want(65536);
  for (std::uint32_t i = 0; i < 65536; ++i) {
    in[i] = static_cast<std::uint16_t>(i);
    in32[i] = i;
    want[i] = float_bits(kern::half_to_float(kern::half_t{in[i]}));
  }
  const std::vector<std::uint32_t> got = dm::half_to_float(in);
  CHECK(first_mismatches(got, want, in32) == "");
  // Hand-checked values: 1, the largest half, the smallest subnormal, -0, -inf.
  CHECK(got[0x3c00] == float_bits(1.0f));
  CHECK(got[0x7bff] == float_bits(65504.0f));
  CHECK(got[0x0001] == float_bits(std::ldexp(1.0f, -24)));
  CHECK(got[0x8000] == 0x80000000u);
  CHECK(got[0xfc00] == 0xff800000u);
}

TEST_CASE("bf16_to_float on the device matches the host for all 65536 patterns",
          "[gpu][math][bf16]") {
  std::vector<std::uint16_t> in(65536);
  std::vector<std::uint32_t> in32(65536), want(65536);
  for (std::uint32_t i = 0; i < 65536; ++i) {
    in[i] = static_cast<std::uint16_t>(i);
    in32[i] = i;
    want[i] = float_bits(kern::bf16_to_float(kern::bf16_t{in[i]}));
  }
  const std::vector<std::uint32_t> got = dm::bf16_to_float(in);
  CHECK(first_mismatches(got, want, in32) == "");
  for (std::uint32_t i = 0; i < 65536; ++i) {
    if (got[i] != i << 16) FAIL_CHECK("bf16 0x" << std::hex << i << " is not the top half");
  }
}

TEST_CASE("float_to_half on the device matches the host over a sweep of floats",
          "[gpu][math][f16]") {
  const std::vector<std::uint32_t> in = float_sweep();
  std::vector<std::uint16_t> want(in.size());
  for (std::size_t i = 0; i < in.size(); ++i)
    want[i] = kern::float_to_half(bits_float(in[i])).bits;
  const std::vector<std::uint16_t> got = dm::float_to_half(in);
  CHECK(first_mismatches(got, want, in) == "");

  // Properties that do not depend on the host function: every half survives a round trip, and
  // a tie between two neighbouring halves goes to the even one.
  std::vector<std::uint32_t> back(0x7c00u), ties(0x7bffu);
  for (std::uint32_t h = 0; h < 0x7c00u; ++h)
    back[h] = float_bits(static_cast<float>(half_value(h)));
  for (std::uint32_t h = 0; h + 1 < 0x7c00u; ++h) {
    ties[h] = float_bits(static_cast<float>((half_value(h) + half_value(h + 1)) / 2));
  }
  const std::vector<std::uint16_t> round_trip = dm::float_to_half(back);
  const std::vector<std::uint16_t> tie_result = dm::float_to_half(ties);
  std::size_t bad_trip = 0, bad_tie = 0;
  for (std::uint32_t h = 0; h < 0x7c00u; ++h)
    bad_trip += round_trip[h] != h;
  for (std::uint32_t h = 0; h + 1 < 0x7c00u; ++h)
    bad_tie += tie_result[h] != ((h & 1u) ? h + 1 : h);
  CHECK(bad_trip == 0);
  CHECK(bad_tie == 0);
  // Hand-checked: overflow to infinity at 65520, NaN stays NaN, underflow ties to even zero.
  const std::vector<std::uint16_t> special =
      dm::float_to_half({float_bits(65519.996f), float_bits(65520.0f), 0x7fc00000u, 0xff800001u,
                         float_bits(std::ldexp(1.0f, -25)), float_bits(3 * std::ldexp(1.0f, -25))});
  CHECK(special[0] == 0x7bffu);
  CHECK(special[1] == 0x7c00u);
  CHECK(is_half_nan(special[2]));
  CHECK(is_half_nan(special[3]));
  CHECK(special[4] == 0x0000u);
  CHECK(special[5] == 0x0002u);
}

TEST_CASE("float_to_bf16 on the device matches the host over a sweep of floats",
          "[gpu][math][bf16]") {
  const std::vector<std::uint32_t> in = float_sweep();
  std::vector<std::uint16_t> want(in.size());
  for (std::size_t i = 0; i < in.size(); ++i)
    want[i] = kern::float_to_bf16(bits_float(in[i])).bits;
  const std::vector<std::uint16_t> got = dm::float_to_bf16(in);
  CHECK(first_mismatches(got, want, in) == "");
  // Hand-checked: exact values stay, ties go to even, NaN stays NaN (never infinity).
  const std::vector<std::uint16_t> special =
      dm::float_to_bf16({float_bits(1.0f), 0x3f808000u, 0x3f818000u, 0x7f800001u, 0x7f7fffffu});
  CHECK(special[0] == 0x3f80u);
  CHECK(special[1] == 0x3f80u);
  CHECK(special[2] == 0x3f82u);
  CHECK(((special[3] & 0x7f80u) == 0x7f80u && (special[3] & 0x7fu) != 0));
  CHECK(special[4] == 0x7f80u);  // the largest float rounds up to infinity
}

namespace {

const std::vector<std::int64_t> kSizes = {1, 2, 3, 4, 5, 7, 10, 13, 37, 100, 1000, 4097};
const std::vector<double> kUserScales = {0.0, 0.5, 0.3, 1.7, 2.0, 2.05, 3.0, 4.5};

// (in, out, user scale) triples: out from floor(in * s) when a scale is given, else a list.
struct Geometry {
  std::int64_t in, out;
  double user_scale;
};
std::vector<Geometry> geometries() {
  std::vector<Geometry> g;
  for (std::int64_t in : kSizes) {
    for (double s : kUserScales) {
      if (s > 0) {
        const auto out = static_cast<std::int64_t>(std::floor(static_cast<double>(in) * s));
        if (out > 0) g.push_back({in, out, s});
      } else {
        for (std::int64_t out : kSizes)
          g.push_back({in, out, 0.0});
      }
    }
  }
  return g;
}

// Output positions to try: all of them for small outputs, both ends of large ones.
std::vector<std::int64_t> positions(std::int64_t out) {
  std::vector<std::int64_t> p;
  for (std::int64_t d = 0; d < out; ++d) {
    if (out <= 4096 || d < 1024 || d >= out - 1024) p.push_back(d);
  }
  return p;
}

}  // namespace

TEST_CASE("nearest_index and nearest_exact_index on the device match the host",
          "[gpu][math][nearest]") {
  std::vector<dm::NearestQuery> q;
  for (const Geometry& g : geometries()) {
    const float scale = kern::compute_scales_value<float>(g.user_scale, g.in, g.out);
    for (std::int64_t d : positions(g.out))
      q.push_back({d, g.in, g.out, scale});
  }
  // Positions far beyond 2^24 and 2^31, where int64 -> float conversion rounds.
  for (std::int64_t d : {std::int64_t(1) << 24, (std::int64_t(1) << 24) + 1,
                         (std::int64_t(1) << 31) + 5, (std::int64_t(1) << 33) - 1}) {
    q.push_back({d, std::int64_t(1) << 32, std::int64_t(1) << 34, 0.25f});
    q.push_back({d, std::int64_t(3) << 30, std::int64_t(1) << 34, 0.1875f});
  }
  for (bool exact : {false, true}) {
    INFO((exact ? "nearest_exact_index" : "nearest_index") << " over " << q.size() << " queries");
    const std::vector<std::int64_t> got = dm::nearest_indices(q, exact);
    REQUIRE(got.size() == q.size());
    std::size_t bad = 0;
    for (std::size_t i = 0; i < q.size(); ++i) {
      const auto& x = q[i];
      const std::int64_t want = exact ? kern::nearest_exact_index(x.dst, x.in, x.scale)
                                      : kern::nearest_index(x.dst, x.in, x.out, x.scale);
      if (got[i] != want) {
        if (++bad <= 5) {
          FAIL_CHECK("dst=" << x.dst << " in=" << x.in << " out=" << x.out << " scale=" << x.scale
                            << ": device " << got[i] << ", host " << want);
        }
      }
    }
    CHECK(bad == 0);
  }
}

namespace {

template <class Acc>
void check_general_nearest() {
  std::vector<dm::GeneralNearestQuery<Acc>> q;
  for (const Geometry& g : geometries()) {
    for (bool align : {false, true}) {  // the scale the bodies pass: area_pixel_compute_scale
      const Acc scale = kern::area_pixel_compute_scale<Acc>(g.in, g.out, align, g.user_scale);
      for (std::int64_t d : positions(g.out))
        q.push_back({d, g.in, scale});
    }
  }
  for (bool exact : {false, true}) {
    INFO((exact ? "nearest_exact_index_general" : "nearest_index_general")
         << " with a " << sizeof(Acc) * 8 << "-bit scale over " << q.size() << " queries");
    const std::vector<std::int64_t> got = dm::nearest_indices_general(q, exact);
    REQUIRE(got.size() == q.size());
    std::size_t bad = 0;
    for (std::size_t i = 0; i < q.size(); ++i) {
      const auto& x = q[i];
      const std::int64_t want = exact ? kern::nearest_exact_index_general<Acc>(x.dst, x.in, x.scale)
                                      : kern::nearest_index_general<Acc>(x.dst, x.in, x.scale);
      if (got[i] != want && ++bad <= 5) {
        FAIL_CHECK("dst=" << x.dst << " in=" << x.in << " scale=" << x.scale << ": device "
                          << got[i] << ", host " << want);
      }
    }
    CHECK(bad == 0);
  }
}

}  // namespace

TEST_CASE("nearest_index_general and nearest_exact_index_general on the device match the host",
          "[gpu][math][nearest]") {
  SECTION("f32 scale") {
    check_general_nearest<float>();
  }
  SECTION("f64 scale") {
    check_general_nearest<double>();
  }
}

namespace {

// Two test signals on the input positions, both within [-1, 1]: a ramp and a scramble.
double ramp(std::int64_t i, std::int64_t in) {
  return in > 1 ? static_cast<double>(i) / static_cast<double>(in - 1) : 0.0;
}
double scramble(std::int64_t i) {
  return static_cast<double>((static_cast<std::uint64_t>(i) * 2654435761u) % 2001u) / 1000.0 - 1.0;
}

template <class Acc, class F>
double apply(const kern::LinearTaps<Acc>& t, F f) {
  return static_cast<double>(t.w0) * f(t.i0) + static_cast<double>(t.w1) * f(t.i1);
}
template <class Acc, class F>
double apply(const kern::CubicTaps<Acc>& t, F f) {
  double s = 0;
  for (int k = 0; k < 4; ++k)
    s += static_cast<double>(t.w[k]) * f(t.i[k]);
  return s;
}

template <class Acc>
bool same_bits(Acc a, Acc b) {
  return std::memcmp(&a, &b, sizeof(Acc)) == 0;
}
template <class Acc>
bool identical(const kern::LinearTaps<Acc>& a, const kern::LinearTaps<Acc>& b) {
  return a.i0 == b.i0 && a.i1 == b.i1 && same_bits(a.w0, b.w0) && same_bits(a.w1, b.w1);
}
template <class Acc>
bool identical(const kern::CubicTaps<Acc>& a, const kern::CubicTaps<Acc>& b) {
  for (int k = 0; k < 4; ++k) {
    if (a.i[k] != b.i[k] || !same_bits(a.w[k], b.w[k])) return false;
  }
  return true;
}
template <class Acc>
bool indices_in_range(const kern::LinearTaps<Acc>& t, std::int64_t in) {
  // i1 is the next index, clamped at the border; out == in copies (i1 == i0).
  return t.i0 >= 0 && t.i0 < in && (t.i1 == t.i0 || t.i1 == t.i0 + 1) && t.i1 < in;
}
template <class Acc>
bool indices_in_range(const kern::CubicTaps<Acc>& t, std::int64_t in) {
  for (int k = 0; k < 4; ++k) {
    if (t.i[k] < 0 || t.i[k] >= in) return false;
  }
  return true;
}

// Device taps against host taps. Without multiply-add contraction on the device the two run the
// same IEEE operations and must agree bit for bit. With it (nvcc's default), the source
// coordinate and the Keys polynomials skip roundings: the coordinate moves by up to half an ulp
// of a value below `in` (which may flip floor() at an integer and swap which taps carry weight)
// and each weight by a few ulps. Then the taps must define the same interpolation: applied to
// signals in [-1, 1] they agree within eps * (4 * (in + 1) + 64) (slope of the cubic interpolant
// <= 4.2 per unit coordinate, a few ulps per Keys weight), and the weights still sum to 1.
template <class Acc, class Taps, class Query, class HostFn>
void check_taps(const std::vector<Query>& q, const std::vector<Taps>& got, HostFn host,
                bool contracted) {
  REQUIRE(got.size() == q.size());
  const double eps = std::numeric_limits<Acc>::epsilon();
  std::size_t bad = 0;
  for (std::size_t i = 0; i < q.size(); ++i) {
    const Query& x = q[i];
    const Taps want = host(x);
    bool ok = indices_in_range(got[i], x.in);
    if (!contracted) {
      ok = ok && identical(got[i], want);
    } else {
      const double tol = eps * (4.0 * static_cast<double>(x.in + 1) + 64.0);
      auto r = [&x](std::int64_t j) { return ramp(j, x.in); };
      auto one = [](std::int64_t) { return 1.0; };
      ok = ok && std::fabs(apply(got[i], r) - apply(want, r)) <= tol &&
           std::fabs(apply(got[i], scramble) - apply(want, scramble)) <= tol &&
           std::fabs(apply(got[i], one) - apply(want, one)) <= tol;
    }
    if (!ok && ++bad <= 5) {
      FAIL_CHECK("scale=" << x.scale << " dst=" << x.dst << " in=" << x.in << " out=" << x.out
                          << " align_corners=" << x.align_corners << ": device and host taps differ"
                          << (contracted ? " beyond the contraction bound" : " bitwise"));
    }
  }
  CHECK(bad == 0);
}

template <class Acc>
std::vector<dm::TapQuery<Acc>> tap_queries() {
  std::vector<dm::TapQuery<Acc>> q;
  for (const Geometry& g : geometries()) {
    for (bool align : {false, true}) {
      const Acc scale = kern::area_pixel_compute_scale<Acc>(g.in, g.out, align, g.user_scale);
      for (std::int64_t d : positions(g.out))
        q.push_back({scale, d, g.in, g.out, align});
    }
  }
  return q;
}

template <class Acc>
void check_linear_and_cubic(bool contracted) {
  const std::vector<dm::TapQuery<Acc>> q = tap_queries<Acc>();
  INFO(q.size() << " queries; device contracts multiply-add: " << contracted);
  check_taps<Acc>(
      q, dm::linear_taps(q),
      [](const dm::TapQuery<Acc>& x) {
        return kern::linear_taps<Acc>(x.scale, x.dst, x.in, x.out, x.align_corners);
      },
      contracted);
  check_taps<Acc>(
      q, dm::cubic_taps(q),
      [](const dm::TapQuery<Acc>& x) {
        return kern::cubic_taps<Acc>(x.scale, x.dst, x.in, x.align_corners);
      },
      contracted);
}

}  // namespace

TEST_CASE("linear_taps and cubic_taps on the device match the host", "[gpu][math][taps]") {
  const bool contracted = dm::contracts_multiply_add();
  SECTION("f32") {
    check_linear_and_cubic<float>(contracted);
  }
  SECTION("f64") {
    check_linear_and_cubic<double>(contracted);
  }
}
