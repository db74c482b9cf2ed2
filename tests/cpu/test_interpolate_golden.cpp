// ups::interpolate on the CPU against golden outputs of PyTorch's CPU kernels
// (tests/golden/interpolate.{txt,bin}, written by scripts/gen_golden.py).
//
// Every case runs with contiguous input and output, channels-last input and output, and
// contiguous input with channels-last output, each with 1 and with 3 threads. The 3-thread runs
// repeat the golden batch until the output is large enough for the CPU backend to split it
// across threads, so that chunk boundaries fall inside planes and rows.
//
// Tolerances. The goldens come from PyTorch's portable (DEFAULT) CPU kernels, and the shared
// math reproduces their order of operations and their roundings, and the library's CPU sources
// are built with -ffp-contract=off (no fused multiply-adds), so most cases match bit for bit. What
// the tolerances must absorb is the evaluation order of a different compiler or instruction set:
// PyTorch's own AVX512 kernels differ from its DEFAULT ones by up to 2.7e-6 (bicubic, f32).
// - nearest, nearest-exact: bit for bit (the output is a copy of input elements).
// - f32, f64: |got - want| <= rtol * |want| + eval_bound, with rtol 1e-5 (f32) or 1e-12 (f64).
//   eval_bound is the classic bound for evaluating the same weighted sum in another order:
//   each side is within n * u * S of the exact sum (n roundings per output: the taps of every
//   dim plus two per dim for the weights, u the unit roundoff, S = sum |w * x| <= max|x| * W,
//   W the largest sum of |weights|: 1 for linear, area and anti-aliased bilinear, 1.375 per dim
//   for Keys' cubic with a = -0.75, 1.25 per dim for a = -0.5), so two implementations differ by
//   at most 2 * n * u * S. For the goldens' inputs (|x| < 2.5) that is 1e-6 to 7e-6 in f32,
//   which only matters near zero where interpolation cancels; f64 adds a floor of 1e-12.
// - f16, bf16: |got - want| <= 1 ulp(want) + eval_bound(f32): both sides accumulate in f32 and
//   round once to the 16-bit type, so beyond the f32 evaluation bound the results can differ
//   only by straddling one rounding boundary. (PyTorch also rounds its interpolation weights and
//   its 3-D area sums to the 16-bit type; the shared math does the same, which is what keeps the
//   difference this small.)
#include <catch2/catch.hpp>

#include <algorithm>
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
#include "ups/context.hpp"
#include "ups/interpolate.hpp"

namespace {

using ups_test::HostTensor;
using ups_test::Layout;

// The CPU backend splits an output into min(threads, ceil(n / 16384)) chunks, so the 3-thread
// runs replicate the batch until the output has at least this many elements (three chunks).
constexpr std::int64_t kThreadedOutputElements = 2 * 16384 + 1;
// Keeps the replicated input of a case bounded.
constexpr std::int64_t kMaxReplicatedInputElements = std::int64_t(1) << 18;

struct GoldenCase {
  std::string id;
  std::string line;
  ups::InterpolateOptions options;
  ups::DType dtype = ups::DType::kF32;
  ups::Shape in_shape, out_shape;
  std::size_t in_offset = 0, in_bytes = 0, out_offset = 0, out_bytes = 0;
};

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream is(s);
  while (std::getline(is, item, sep))
    out.push_back(item);
  return out;
}

ups::Shape parse_shape(const std::string& s) {
  ups::Shape shape;
  for (const auto& v : split(s, ','))
    shape.push_back(std::stoll(v));
  return shape;
}

std::optional<bool> parse_tristate(const std::string& key, const std::string& v) {
  if (v == "unset") return std::nullopt;
  if (v == "true") return true;
  if (v == "false") return false;
  throw std::runtime_error("bad value '" + v + "' for " + key);
}

GoldenCase parse_case(const std::string& line) {
  std::map<std::string, std::string> f;
  for (const auto& kv : split(line, ' ')) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos) throw std::runtime_error("bad field '" + kv + "' in: " + line);
    f[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  const auto get = [&](const char* key) -> const std::string& {
    const auto it = f.find(key);
    if (it == f.end()) throw std::runtime_error(std::string("missing ") + key + " in: " + line);
    return it->second;
  };
  GoldenCase c;
  c.line = line;
  c.id = get("id");
  c.options.mode = ups::parse_interp_mode(get("mode"));
  c.dtype = ups::parse_dtype(get("dtype"));
  c.in_shape = parse_shape(get("in_shape"));
  c.out_shape = parse_shape(get("out_shape"));
  if (get("size") != "-") c.options.size = parse_shape(get("size"));
  if (get("scale") != "-") {
    // Python's repr of a float: strtod reads it back to the same binary64 value.
    for (const auto& v : split(get("scale"), ','))
      c.options.scale_factor.push_back(std::strtod(v.c_str(), nullptr));
  }
  c.options.align_corners = parse_tristate("align_corners", get("align_corners"));
  c.options.antialias = parse_tristate("antialias", get("antialias")).value();
  c.options.recompute_scale_factor =
      parse_tristate("recompute_scale_factor", get("recompute_scale_factor")).value_or(false);
  c.in_offset = std::stoull(get("in_offset"));
  c.in_bytes = std::stoull(get("in_bytes"));
  c.out_offset = std::stoull(get("out_offset"));
  c.out_bytes = std::stoull(get("out_bytes"));
  return c;
}

struct Goldens {
  std::string torch_version;
  std::vector<GoldenCase> cases;
  std::vector<unsigned char> blob;
};

const Goldens& goldens() {
  static const Goldens g = [] {
    Goldens out;
    const std::string dir = UPS_TEST_DATA_DIR;
    std::ifstream txt(dir + "/interpolate.txt");
    if (!txt) throw std::runtime_error("cannot open " + dir + "/interpolate.txt");
    std::string line;
    while (std::getline(txt, line)) {
      if (line.empty()) continue;
      if (line[0] == '#') {
        const auto pos = line.find("torch_version=");
        if (pos != std::string::npos) out.torch_version = line.substr(pos + 14);
        continue;
      }
      out.cases.push_back(parse_case(line));
    }
    std::ifstream bin(dir + "/interpolate.bin", std::ios::binary);
    if (!bin) throw std::runtime_error("cannot open " + dir + "/interpolate.bin");
    out.blob.assign(std::istreambuf_iterator<char>(bin), std::istreambuf_iterator<char>());
    return out;
  }();
  return g;
}

// A contiguous host tensor holding blob[offset, offset + bytes).
HostTensor from_blob(const Goldens& g, ups::DType dtype, const ups::Shape& shape,
                     std::size_t offset, std::size_t bytes) {
  HostTensor t(dtype, shape);
  if (t.nbytes() != bytes) throw std::runtime_error("manifest byte count does not match shape");
  if (offset + bytes > g.blob.size()) throw std::runtime_error("case lies outside the blob");
  if (bytes) std::memcpy(t.data(), g.blob.data() + offset, bytes);
  return t;
}

// `t` repeated `times` times along the batch dim (contiguous).
HostTensor repeat_batch(const HostTensor& t, std::int64_t times) {
  ups::Shape shape = t.shape();
  shape[0] *= times;
  HostTensor out(t.dtype(), shape);
  for (std::int64_t r = 0; r < times; ++r) {
    std::memcpy(static_cast<unsigned char*>(out.data()) + static_cast<std::size_t>(r) * t.nbytes(),
                t.data(), t.nbytes());
  }
  return out;
}

// Distance in units in the last place between two 16-bit floats (f16 or bf16: both are
// sign-magnitude, so mapping to a monotonic integer line makes adjacent values differ by 1).
std::int64_t ulp_distance16(std::uint16_t a, std::uint16_t b) {
  const auto line = [](std::uint16_t v) -> std::int64_t {
    const std::int64_t mag = v & 0x7fff;
    return (v & 0x8000) ? -mag : mag;
  };
  const std::int64_t d = line(a) - line(b);
  return d < 0 ? -d : d;
}

bool is_nan16(std::uint16_t v, ups::DType dtype) {
  return dtype == ups::DType::kF16 ? ((v & 0x7c00) == 0x7c00 && (v & 0x3ff) != 0)
                                   : ((v & 0x7f80) == 0x7f80 && (v & 0x7f) != 0);
}

// The spacing of 16-bit values at |v| (f16: 10 fraction bits, bf16: 7; subnormals below 2^-14
// and 2^-126).
double ulp16(double v, ups::DType dtype) {
  const bool half = dtype == ups::DType::kF16;
  const int min_exp = half ? -14 : -126;
  const int exp = v == 0.0 ? min_exp : std::max(min_exp, std::ilogb(v));
  return std::ldexp(1.0, exp - (half ? 10 : 7));
}

// Empty when every |a - b| <= 1 ulp(b) + atol (NaNs must match), else the first mismatch.
std::string compare_16bit(const HostTensor& actual, const HostTensor& expected, double atol) {
  if (actual.shape() != expected.shape()) return "shape differs";
  const HostTensor a = actual.to_layout(Layout::kContiguous);
  const HostTensor b = expected.to_layout(Layout::kContiguous);
  const auto* pa = static_cast<const std::uint16_t*>(a.data());
  const auto* pb = static_cast<const std::uint16_t*>(b.data());
  std::int64_t bad = 0, first = -1, worst_ulps = 0;
  for (std::int64_t i = 0; i < a.numel(); ++i) {
    if (is_nan16(pa[i], a.dtype()) && is_nan16(pb[i], b.dtype())) continue;
    const std::int64_t ulps = ulp_distance16(pa[i], pb[i]);
    worst_ulps = std::max(worst_ulps, ulps);
    if (ulps <= 1) continue;
    const double want = b.get(i);
    if (std::fabs(a.get(i) - want) > ulp16(want, b.dtype()) + atol) {
      if (first < 0) first = i;
      ++bad;
    }
  }
  if (bad == 0) return "";
  std::ostringstream os;
  os.precision(9);
  os << bad << " of " << a.numel() << " elements differ by more than 1 ulp + " << atol << " (worst "
     << worst_ulps << " ulp); first at " << first << ": got " << a.get(first) << ", expected "
     << b.get(first);
  return os.str();
}

// Largest |x| of the input.
double max_abs(const HostTensor& t) {
  double m = 0.0;
  for (std::int64_t i = 0; i < t.numel(); ++i)
    m = std::max(m, std::fabs(t.get(i)));
  return m;
}

// 2 * n * u * max|x| * W: see the tolerance notes at the top of the file.
double eval_bound(const GoldenCase& c, double max_input, double unit_roundoff) {
  const std::size_t spatial = c.in_shape.size() - 2;
  const bool cubic = c.options.mode == ups::InterpMode::kBicubic;
  double n = 0.0, w = 1.0, window = 1.0;
  for (std::size_t d = 0; d < spatial; ++d) {
    const double in = static_cast<double>(c.in_shape[2 + d]);
    const double out = static_cast<double>(c.out_shape[2 + d]);
    if (c.options.mode == ups::InterpMode::kArea) {
      window *= std::ceil(in / out) + 1.0;  // adaptive windows may straddle one extra input
      n += 1.0;                             // one division per dim
    } else if (c.options.antialias) {
      // The filter's support grows with the downscale factor (in / out, or the given scale).
      double scale = in / out;
      if (!c.options.scale_factor.empty() && !c.options.recompute_scale_factor) {
        const double s = c.options.scale_factor.size() == 1 ? c.options.scale_factor[0]
                                                            : c.options.scale_factor[d];
        scale = std::max(scale, 1.0 / s);
      }
      const double support = (cubic ? 2.0 : 1.0) * std::max(scale, 1.0);
      n += 2.0 * std::ceil(support) + 1.0 + 2.0;
      if (cubic) w *= 1.25;
    } else {
      n += (cubic ? 4.0 : 2.0) + 2.0;
      if (cubic) w *= 1.375;
    }
  }
  if (c.options.mode == ups::InterpMode::kArea) n += window;
  return 2.0 * n * unit_roundoff * max_input * w;
}

std::string compare_case(const GoldenCase& c, const HostTensor& input, const HostTensor& actual,
                         const HostTensor& expected) {
  if (ups::interp_mode_traits(c.options.mode).copies) {
    return ups_test::compare_bitwise(actual, expected);
  }
  const double m = max_abs(input);
  const double u32 = std::ldexp(1.0, -24), u64 = std::ldexp(1.0, -53);
  switch (c.dtype) {
    case ups::DType::kF32:
      return ups_test::compare(actual, expected, 1e-5, eval_bound(c, m, u32));
    case ups::DType::kF64:
      return ups_test::compare(actual, expected, 1e-12, 1e-12 + eval_bound(c, m, u64));
    case ups::DType::kF16:
    case ups::DType::kBF16:
      return compare_16bit(actual, expected, eval_bound(c, m, u32));
    default:
      return "no comparison rule for dtype " + std::string(ups::to_string(c.dtype));
  }
}

struct Variant {
  const char* name;
  Layout src, dst;
};
constexpr Variant kVariants[] = {
    {"contiguous -> contiguous", Layout::kContiguous, Layout::kContiguous},
    {"channels-last -> channels-last", Layout::kChannelsLast, Layout::kChannelsLast},
    {"contiguous -> channels-last", Layout::kContiguous, Layout::kChannelsLast},
};

// Runs every golden case of `mode`; returns the number of cases run.
int run_golden_mode(ups::InterpMode mode) {
  const Goldens& g = goldens();
  INFO("goldens from torch " << g.torch_version);
  int ran = 0;
  for (const GoldenCase& c : g.cases) {
    if (c.options.mode != mode) continue;
    ++ran;
    INFO("case " << c.id);
    INFO("manifest: " << c.line);
    const HostTensor input = from_blob(g, c.dtype, c.in_shape, c.in_offset, c.in_bytes);
    const HostTensor expected = from_blob(g, c.dtype, c.out_shape, c.out_offset, c.out_bytes);

    ups::Shape shape;
    try {
      shape = ups::interpolate_output_shape(c.in_shape, c.options);
    } catch (const std::exception& e) {
      FAIL_CHECK("ups::interpolate_output_shape threw: " << e.what());
      continue;
    }
    CHECK(ups::shape_to_string(shape) == ups::shape_to_string(c.out_shape));
    if (shape != c.out_shape) continue;

    // The batch repetition for the threaded runs.
    const std::int64_t out_numel = expected.numel();
    std::int64_t reps = (kThreadedOutputElements + out_numel - 1) / out_numel;
    while (reps > 1 && reps * input.numel() > kMaxReplicatedInputElements)
      reps /= 2;

    for (const Variant& v : kVariants) {
      for (const int threads : {1, 3}) {
        const std::int64_t r = threads == 1 ? 1 : reps;
        INFO("layout " << v.name << ", " << threads << " thread(s), batch repeated " << r
                       << " time(s)");
        const HostTensor src_c = r == 1 ? input : repeat_batch(input, r);
        const HostTensor exp = r == 1 ? expected : repeat_batch(expected, r);
        const HostTensor src = src_c.to_layout(v.src);
        HostTensor dst(c.dtype, exp.shape(), v.dst);
        ups::Context ctx(ups::Device::kCPU);
        ctx.set_num_threads(threads);
        try {
          ups::interpolate(ctx, src.view(), dst.view(), c.options);
        } catch (const std::exception& e) {
          FAIL_CHECK("ups::interpolate threw: " << e.what());
          continue;
        }
        const std::string diff = compare_case(c, input, dst, exp);
        CHECK(diff == "");
      }
    }
  }
  return ran;
}

// How a case picks its output size, for the coverage check.
std::string size_class(const GoldenCase& c) {
  if (!c.options.size.empty()) {
    bool up = false, down = false;
    for (std::size_t d = 2; d < c.in_shape.size(); ++d) {
      up = up || c.out_shape[d] > c.in_shape[d];
      down = down || c.out_shape[d] < c.in_shape[d];
    }
    return up ? "size-up" : down ? "size-down" : "size-same";
  }
  bool integer = true, up = false, down = false;
  for (const double f : c.options.scale_factor) {
    integer = integer && f >= 2.0 && f == std::floor(f);
    up = up || f > 1.0;
    down = down || f < 1.0;
  }
  return integer ? "scale-int" : up ? "scale-frac-up" : down ? "scale-down" : "scale-other";
}

// The modes that have a golden test case (UPS_GOLDEN_TEST below), for the coverage check.
std::vector<std::string>& modes_with_golden_test() {
  static std::vector<std::string> modes;
  return modes;
}
struct GoldenTestRegistration {
  explicit GoldenTestRegistration(const char* mode) { modes_with_golden_test().push_back(mode); }
};

}  // namespace

TEST_CASE("golden manifest is consistent and covers every mode, rank, dtype and option",
          "[interpolate][golden]") {
  const Goldens& g = goldens();
  CHECK_FALSE(g.torch_version.empty());
  std::map<std::string, int> ids, seen;
  for (const auto& c : g.cases) {
    INFO("case " << c.id);
    CHECK(++ids[c.id] == 1);
    CHECK(c.in_offset + c.in_bytes <= g.blob.size());
    CHECK(c.out_offset + c.out_bytes <= g.blob.size());
    const std::string ac = !c.options.align_corners   ? "unset"
                           : *c.options.align_corners ? "true"
                                                      : "false";
    const std::string key = std::string(ups::to_string(c.options.mode)) + " rank " +
                            std::to_string(c.in_shape.size()) + " " + ups::to_string(c.dtype) +
                            " align_corners " + ac;
    if (c.options.antialias) {
      bool down = false, up = false;
      for (std::size_t d = 2; d < c.in_shape.size(); ++d) {
        down = down || c.out_shape[d] < c.in_shape[d];
        up = up || c.out_shape[d] > c.in_shape[d];
      }
      if (down) ++seen[key + " antialias down"];
      if (up) ++seen[key + " antialias up"];
    } else if (c.options.recompute_scale_factor) {
      ++seen[key + " recompute"];
    } else {
      ++seen[key + " " + size_class(c)];
    }
    bool out1 = true;
    for (std::size_t d = 2; d < c.out_shape.size(); ++d)
      out1 = out1 && c.out_shape[d] == 1;
    if (out1) ++seen[key + " output 1"];
  }
  const auto require = [&](const std::string& what) {
    INFO("no golden case for: " << what);
    CHECK(seen[what] > 0);
  };
  // The modes on the resampling engine have goldens of their own
  // (tests/cpu/test_interpolate_engine.cpp).
  const auto engine_mode = [](ups::InterpMode m) {
    return m == ups::InterpMode::kLanczos || m == ups::InterpMode::kTricubic;
  };
  // Every mode, rank, dtype and align_corners setting the library accepts.
  for (const ups::InterpModeTraits& t : ups::interp_modes()) {
    if (engine_mode(t.mode)) continue;
    const std::vector<std::string> aligns = t.align_corners
                                                ? std::vector<std::string>{"true", "false", "unset"}
                                                : std::vector<std::string>{"unset"};
    std::vector<ups::DType> dtypes;
    for (const ups::DType dt :
         {ups::DType::kF32, ups::DType::kF64, ups::DType::kF16, ups::DType::kBF16, ups::DType::kU8,
          ups::DType::kI32, ups::DType::kI64}) {
      if (t.supports(dt)) dtypes.push_back(dt);
    }
    for (int rank = t.min_rank; rank <= t.max_rank; ++rank) {
      for (const ups::DType dt : dtypes) {
        for (const std::string& ac : aligns) {
          const std::string key = std::string(t.name) + " rank " + std::to_string(rank) + " " +
                                  ups::to_string(dt) + " align_corners " + ac;
          for (const char* cls : {"size-up", "size-down", "scale-int", "scale-frac-up",
                                  "scale-down", "recompute", "output 1"}) {
            require(key + " " + cls);
          }
          // Anti-aliasing: PyTorch's CPU backend has it for f32 and f64 only.
          if (t.antialias && rank == 4 && (dt == ups::DType::kF32 || dt == ups::DType::kF64)) {
            require(key + " antialias down");
            require(key + " antialias up");
          }
        }
      }
    }
  }
  // No case of a dtype its mode does not support.
  for (const auto& c : g.cases) {
    INFO("case " << c.id);
    CHECK(ups::interp_mode_traits(c.options.mode).supports(c.dtype));
  }
  // Every mode has its golden test case, so that its goldens run.
  for (const ups::InterpModeTraits& t : ups::interp_modes()) {
    if (engine_mode(t.mode)) continue;
    INFO("no UPS_GOLDEN_TEST(\"" << t.name << "\")");
    const auto& tested = modes_with_golden_test();
    CHECK(std::count(tested.begin(), tested.end(), t.name) == 1);
  }
}

// One test case per mode, so that CTest runs and reports them separately.
#define UPS_GOLDEN_TEST(mode_name)                                                               \
  static const GoldenTestRegistration UPS_GOLDEN_CAT(golden_registration_, __LINE__){mode_name}; \
  TEST_CASE("interpolate matches PyTorch goldens: " mode_name, "[interpolate][golden]") {        \
    CHECK(run_golden_mode(ups::parse_interp_mode(mode_name)) > 0);                               \
  }
#define UPS_GOLDEN_CAT(a, b) UPS_GOLDEN_CAT2(a, b)
#define UPS_GOLDEN_CAT2(a, b) a##b

UPS_GOLDEN_TEST("nearest")
UPS_GOLDEN_TEST("nearest-exact")
UPS_GOLDEN_TEST("linear")
UPS_GOLDEN_TEST("bilinear")
UPS_GOLDEN_TEST("bicubic")
UPS_GOLDEN_TEST("trilinear")
UPS_GOLDEN_TEST("area")
