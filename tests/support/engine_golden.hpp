// The goldens of the engine-backed interpolate modes (lanczos, tricubic, anti-aliased trilinear
// and tricubic): tests/golden/interpolate_engine.{txt,bin}, written by
// scripts/gen_golden_engine.py. Loader and tolerance, shared by the CPU and GPU suites.
//
// Tolerance: |got - want| <= rtol * |want| + atol with rtol, atol = 1e-5, 2e-5 (f32) and 1e-12,
// 1e-12 (f64). Both sides compute the same weights in the same type, but sum in another order
// (PyTorch resamples W first and rounds that intermediate to the element type; the separable
// oracles of the 3-D modes round once more between their two passes; ups combines the outer dims
// first): each side is within a few units of roundoff of sum |w * x|, which for these inputs
// (|x| < 2.5, sum |w| below 1.4 per dim) stays below the absolute term.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "test_support.hpp"
#include "ups/interpolate.hpp"

namespace ups_test {

struct EngineGoldenCase {
  std::string id, oracle;
  ups::InterpolateOptions options;
  ups::DType dtype = ups::DType::kF32;
  ups::Shape in_shape, out_shape;
  HostTensor input, expected;
};

inline std::vector<std::string> split_fields(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream is(s);
  while (std::getline(is, item, sep))
    out.push_back(item);
  return out;
}

inline const std::vector<EngineGoldenCase>& engine_goldens() {
  static const std::vector<EngineGoldenCase> cases = [] {
    const std::string dir = UPS_TEST_DATA_DIR;
    std::ifstream bin(dir + "/interpolate_engine.bin", std::ios::binary);
    if (!bin) throw std::runtime_error("cannot open " + dir + "/interpolate_engine.bin");
    const std::vector<unsigned char> blob((std::istreambuf_iterator<char>(bin)),
                                          std::istreambuf_iterator<char>());
    std::ifstream txt(dir + "/interpolate_engine.txt");
    if (!txt) throw std::runtime_error("cannot open " + dir + "/interpolate_engine.txt");
    std::vector<EngineGoldenCase> out;
    std::string line;
    while (std::getline(txt, line)) {
      if (line.empty() || line[0] == '#') continue;
      std::map<std::string, std::string> f;
      for (const auto& kv : split_fields(line, ' ')) {
        const auto eq = kv.find('=');
        if (eq == std::string::npos) throw std::runtime_error("bad field in: " + line);
        f[kv.substr(0, eq)] = kv.substr(eq + 1);
      }
      const auto get = [&](const char* key) -> const std::string& {
        const auto it = f.find(key);
        if (it == f.end()) throw std::runtime_error(std::string("missing ") + key + ": " + line);
        return it->second;
      };
      const auto shape = [&](const std::string& s) {
        ups::Shape v;
        for (const auto& e : split_fields(s, ','))
          v.push_back(std::stoll(e));
        return v;
      };
      const auto tristate = [&](const std::string& v) -> std::optional<bool> {
        if (v == "unset") return std::nullopt;
        return v == "true";
      };
      EngineGoldenCase c;
      c.id = get("id");
      c.oracle = get("oracle");
      c.options.mode = ups::parse_interp_mode(get("mode"));
      c.dtype = ups::parse_dtype(get("dtype"));
      c.in_shape = shape(get("in_shape"));
      c.out_shape = shape(get("out_shape"));
      if (get("size") != "-") c.options.size = shape(get("size"));
      if (get("scale") != "-") {
        for (const auto& v : split_fields(get("scale"), ','))
          c.options.scale_factor.push_back(std::strtod(v.c_str(), nullptr));
      }
      c.options.align_corners = tristate(get("align_corners"));
      c.options.antialias = tristate(get("antialias")).value_or(false);
      c.options.recompute_scale_factor = tristate(get("recompute_scale_factor")).value_or(false);
      const auto load = [&](const ups::Shape& s, const char* off, const char* len) {
        HostTensor t(c.dtype, s);
        const std::size_t o = std::stoull(get(off)), n = std::stoull(get(len));
        if (n != t.nbytes() || o + n > blob.size())
          throw std::runtime_error("bad tensor bounds in: " + line);
        std::memcpy(t.data(), blob.data() + o, n);
        return t;
      };
      c.input = load(c.in_shape, "in_offset", "in_bytes");
      c.expected = load(c.out_shape, "out_offset", "out_bytes");
      out.push_back(std::move(c));
    }
    return out;
  }();
  return cases;
}

// Empty when `got` holds the case's expected output within the tolerance above.
inline std::string compare_engine_golden(const EngineGoldenCase& c, const HostTensor& got) {
  const bool f64 = c.dtype == ups::DType::kF64;
  const double rtol = f64 ? 1e-12 : 1e-5, atol = f64 ? 1e-12 : 2e-5;
  return compare(got, c.expected, rtol, atol);
}

}  // namespace ups_test
