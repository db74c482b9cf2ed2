// The ONNX Resize goldens (tests/golden/onnx_resize.txt, written by
// scripts/gen_golden_onnx_resize.py): parsing, strided copies of the operands, and the
// comparison the CPU and CUDA tests share.
//
// Tolerances. The goldens are ONNX's reference implementation (f64 arithmetic, then rounded to
// the element type) or, where the reference departs from the specification, the
// specification's formulas in f64. ups computes the weights in f64 too and accumulates f32,
// f16 and bf16 in f32, f64 in f64.
// - nearest: bit for bit (a copy of one input element), every dtype.
// - f64: |got - want| <= 1e-12 * (1 + |want|).
// - f32: |got - want| <= 4e-6 * (1 + |want|) + 4e-6: an f32 weighted sum of up to a few dozen
//   taps of inputs below 8 in magnitude, against the reference's f64 sum rounded once. The
//   reference's cubic weights are themselves computed in float32 (about 1e-7 relative), which
//   this absorbs.
// - f16 / bf16: one unit in the last place of the 16-bit type at |want| (2^-10 / 2^-7
//   relative) plus the f32 bound: the expected value is the exact result, which ups rounds
//   once after an f32 sum.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "test_support.hpp"
#include "ups/resize.hpp"
#include "ups/tensor.hpp"

namespace resize_golden {

struct Case {
  std::string id, header;
  ups::ResizeOptions options;
  ups::DType dtype = ups::DType::kF32;
  ups::Shape in_shape, out_shape;
  std::vector<double> in, out;
  bool from_spec = false;
};

inline std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream is(s);
  while (std::getline(is, item, sep)) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

inline std::vector<double> parse_reals(const std::string& s) {
  std::vector<double> v;
  for (const auto& e : split(s, ','))
    v.push_back(std::strtod(e.c_str(), nullptr));
  return v;
}

inline std::vector<std::int64_t> parse_ints(const std::string& s) {
  std::vector<std::int64_t> v;
  for (const auto& e : split(s, ','))
    v.push_back(std::stoll(e));
  return v;
}

inline std::vector<double> parse_values(const std::string& line, const char* tag) {
  std::istringstream is(line);
  std::string head;
  is >> head;
  if (head != tag) throw std::runtime_error(std::string("expected a '") + tag + "' line: " + line);
  std::vector<double> v;
  std::string tok;
  while (is >> tok)
    v.push_back(std::strtod(tok.c_str(), nullptr));
  return v;
}

inline Case parse_case(const std::string& header, const std::string& in_line,
                       const std::string& out_line) {
  std::map<std::string, std::string> f;
  for (const auto& kv : split(header, ' ')) {
    const auto eq = kv.find('=');
    if (eq != std::string::npos) f[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  const auto get = [&](const char* key) -> const std::string& {
    const auto it = f.find(key);
    if (it == f.end()) throw std::runtime_error(std::string("missing ") + key + " in: " + header);
    return it->second;
  };
  Case c;
  c.header = header;
  c.id = get("id");
  ups::ResizeOptions& o = c.options;
  o.mode = ups::parse_resize_mode(get("mode"));
  o.coordinate_mode = ups::parse_coordinate_mode(get("coord"));
  if (get("nearest") != "-") o.nearest_mode = ups::parse_nearest_mode(get("nearest"));
  if (get("cubic_a") != "-") o.cubic_coeff_a = std::strtod(get("cubic_a").c_str(), nullptr);
  o.exclude_outside = get("exclude") == "1";
  o.antialias = get("antialias") == "1";
  c.dtype = ups::parse_dtype(get("dtype"));
  c.in_shape = parse_ints(get("in_shape"));
  c.out_shape = parse_ints(get("out_shape"));
  if (get("sizes") != "-") o.sizes = parse_ints(get("sizes"));
  if (get("scales") != "-") o.scales = parse_reals(get("scales"));
  if (get("axes") != "-") o.axes = parse_ints(get("axes"));
  if (get("roi") != "-") o.roi = parse_reals(get("roi"));
  if (get("extrapolation") != "-")
    o.extrapolation_value = std::strtod(get("extrapolation").c_str(), nullptr);
  o.keep_aspect_ratio_policy = ups::parse_aspect_ratio_policy(get("policy"));
  c.from_spec = get("source") == "spec";
  c.in = parse_values(in_line, "in");
  c.out = parse_values(out_line, "out");
  return c;
}

inline std::vector<Case> load_cases() {
  const std::string path = std::string(UPS_TEST_DATA_DIR) + "/onnx_resize.txt";
  std::ifstream f(path);
  if (!f) throw std::runtime_error("cannot open " + path);
  std::vector<Case> cases;
  std::string line;
  while (std::getline(f, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::string in_line, out_line;
    if (line.rfind("case ", 0) != 0 || !std::getline(f, in_line) || !std::getline(f, out_line))
      throw std::runtime_error("malformed golden file near: " + line);
    cases.push_back(parse_case(line, in_line, out_line));
  }
  return cases;
}

inline std::int64_t numel(const ups::Shape& s) {
  std::int64_t n = 1;
  for (std::int64_t v : s)
    n *= v;
  return n;
}

// A tensor whose elements sit `gap` apart in the last dim and whose other dims are padded too:
// a view with non-contiguous strides over an owning HostTensor that is larger.
struct Strided {
  ups_test::HostTensor storage;
  ups::TensorView view;
};

inline Strided make_strided(ups::DType dtype, const ups::Shape& shape, int gap) {
  ups::Shape big = shape;
  for (auto& s : big)
    s = s + 1;  // one spare element per dim
  big.back() = std::max<std::int64_t>(1, shape.back()) * gap + 1;
  Strided t{ups_test::HostTensor(dtype, big), {}};
  ups::TensorView v = t.storage.view();
  for (std::size_t d = 0; d < shape.size(); ++d)
    v.sizes[d] = shape[d];
  v.strides[shape.size() - 1] *= gap;
  t.view = v;
  return t;
}

// Logical element i of shape `shape` -> the element offset in a view's memory.
inline std::int64_t offset_of(const ups::TensorView& v, std::int64_t i) {
  std::int64_t off = 0;
  for (int d = v.ndim - 1; d >= 0; --d) {
    off += (i % v.sizes[d]) * v.strides[d];
    i /= v.sizes[d];
  }
  return off;
}

// "" when `got` (logical C order) matches the case's expected output within the tolerance of
// its mode and dtype, else the first mismatches.
inline std::string compare(const Case& c, const std::vector<double>& got) {
  if (got.size() != c.out.size()) return "size mismatch";
  std::ostringstream os;
  int bad = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double want = c.out[i];
    double tol = 0.0;
    if (c.options.mode != ups::ResizeMode::kNearest) {
      const double aw = std::fabs(want);
      switch (c.dtype) {
        case ups::DType::kF64:
          tol = 1e-12 * (1.0 + aw);
          break;
        case ups::DType::kF16:
          tol = aw * std::ldexp(1.0, -10) + 4e-6 * (1.0 + aw) + 4e-6;
          break;
        case ups::DType::kBF16:
          tol = aw * std::ldexp(1.0, -7) + 4e-6 * (1.0 + aw) + 4e-6;
          break;
        default:
          tol = 4e-6 * (1.0 + aw) + 4e-6;
      }
    }
    const bool ok = std::fabs(got[i] - want) <= tol || (std::isnan(got[i]) && std::isnan(want));
    if (!ok && bad++ < 4) os << " [" << i << "] got " << got[i] << " want " << want << ";";
  }
  if (bad == 0) return "";
  std::ostringstream head;
  head << bad << " of " << got.size() << " elements differ:" << os.str();
  return head.str();
}

}  // namespace resize_golden
