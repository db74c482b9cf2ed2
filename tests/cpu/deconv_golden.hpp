// Shared by the conv_transpose golden tests (forward and backward): the value generator of
// scripts/gen_golden_deconv.py, the golden file parser, and the exact-value comparison.
#pragma once

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "common/hd.hpp"
#include "test_support.hpp"
#include "ups/conv_transpose.hpp"

namespace ups_test {

using ups::ConvTransposeOptions;
using ups::DType;

// The generator of scripts/gen_golden_deconv.py: an integer in [-64, 64] (value / 64).
inline int deconv_value(std::uint64_t seed, std::uint64_t i) {
  std::uint64_t x = seed * 0x9E3779B97F4A7C15ull + (i + 1) * 0xBF58476D1CE4E5B9ull;
  x ^= x >> 30;
  x *= 0xBF58476D1CE4E5B9ull;
  x ^= x >> 27;
  x *= 0x94D049BB133111EBull;
  x ^= x >> 31;
  return static_cast<int>(x % 129) - 64;
}

inline void fill_golden(HostTensor& t, std::uint64_t seed) {
  for (std::int64_t i = 0; i < t.numel(); ++i) {
    t.set(i, deconv_value(seed, static_cast<std::uint64_t>(i)) / 64.0);
  }
}

inline std::vector<std::int64_t> parse_list(const std::string& s) {
  std::vector<std::int64_t> v;
  if (s == "-" || s.empty()) return v;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    v.push_back(std::stoll(item));
  return v;
}

inline std::map<std::string, std::string> parse_fields(const std::string& line) {
  std::map<std::string, std::string> m;
  std::stringstream ss(line);
  std::string tok;
  ss >> tok;  // "case" / "error"
  while (ss >> tok) {
    const auto eq = tok.find('=');
    if (eq != std::string::npos) m[tok.substr(0, eq)] = tok.substr(eq + 1);
  }
  return m;
}

struct GoldenCase {
  std::map<std::string, std::string> f;
  std::vector<std::int64_t> out4096;  // expected output * 4096
};

inline std::vector<std::string> read_lines(const std::string& name) {
  std::ifstream in(std::string(UPS_TEST_DATA_DIR) + "/" + name);
  REQUIRE(in.good());
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] != '#') lines.push_back(line);
  }
  return lines;
}

inline ConvTransposeOptions options_from(const std::map<std::string, std::string>& f) {
  ConvTransposeOptions o;
  auto get = [&](const char* key, std::vector<std::int64_t>& dst) {
    const auto it = f.find(key);
    if (it != f.end() && it->second != "-") dst = parse_list(it->second);
  };
  get("stride", o.stride);
  get("padding", o.padding);
  get("output_padding", o.output_padding);
  get("dilation", o.dilation);
  get("output_size", o.output_size);
  o.groups = std::stoll(f.at("groups"));
  const auto pm = f.find("padding_mode");
  if (pm != f.end()) o.padding_mode = pm->second;
  return o;
}

// Distance in units in the last place between two 16-bit floats of the same type.
inline std::int64_t ulps16(double a, double b, DType dtype) {
  auto bits = [&](double v) -> std::int32_t {
    std::uint16_t u = dtype == DType::kF16 ? ups::kern::float_to_half(static_cast<float>(v)).bits
                                           : ups::kern::float_to_bf16(static_cast<float>(v)).bits;
    const std::int32_t mag = u & 0x7fff;
    return (u & 0x8000) ? -mag : mag;
  };
  const std::int64_t d = static_cast<std::int64_t>(bits(a)) - bits(b);
  return d < 0 ? -d : d;
}

// Expected value for `dtype`: the exact value rounded once to the dtype.
inline double round_to(double exact, DType dtype) {
  switch (dtype) {
    case DType::kF32:
      return static_cast<float>(exact);
    case DType::kF16:
      return ups::kern::half_to_float(ups::kern::float_to_half(static_cast<float>(exact)));
    case DType::kBF16:
      return ups::kern::bf16_to_float(ups::kern::float_to_bf16(static_cast<float>(exact)));
    default:
      return exact;
  }
}

// Compares `actual` with exact expected values: f64 to 1e-12 and f32 to 1e-5 relative (to the
// value plus the largest magnitude in the tensor, which bounds cancellation), f16/bf16 within
// 1 ulp of the exact value rounded to the dtype. Returns "" on success.
inline std::string check_against(const HostTensor& actual, const std::vector<double>& exact) {
  if (static_cast<std::size_t>(actual.numel()) != exact.size()) return "element count differs";
  double scale = 0;
  for (double v : exact)
    scale = std::max(scale, std::fabs(v));
  for (std::int64_t i = 0; i < actual.numel(); ++i) {
    const double a = actual.get(i),
                 e = round_to(exact[static_cast<std::size_t>(i)], actual.dtype());
    bool ok;
    if (actual.dtype() == DType::kF16 || actual.dtype() == DType::kBF16) {
      ok = ulps16(a, e, actual.dtype()) <= 1;
    } else {
      const double rtol = actual.dtype() == DType::kF64 ? 1e-12 : 1e-5;
      ok = std::fabs(a - e) <= rtol * (std::fabs(e) + scale);
    }
    if (!ok) {
      std::ostringstream os;
      os.precision(10);
      os << "element " << i << ": got " << a << ", expected " << e;
      return os.str();
    }
  }
  return "";
}

}  // namespace ups_test
