// ups::interpolate_backward on the CPU against PyTorch autograd (tests/golden/
// interpolate_backward.{txt,bin}, written by scripts/gen_golden_backward.py), plus determinism
// and argument checks.
//
// The golden grad_input is the f64 gradient of F.interpolate for the case's grad_output values
// (exact in f64), so it is an oracle free of the dtype's rounding. ups accumulates in the
// dtype's accumulation type (f32 for f16/bf16) in another order than PyTorch, so the check is
// |got - want| <= rtol * (|want| + max|want|): rtol 1e-12 (f64), 1e-5 (f32: a few roundings of
// sums of at most a few dozen terms), 1e-3 (f16: one rounding to 11 bits) and 8e-3 (bf16: 8
// bits). The max|want| term absorbs cancellation near zero. A wrong tap, weight or index is an
// error of the order of the values themselves, far beyond these bounds.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "error_of.hpp"
#include "test_support.hpp"
#include "ups/context.hpp"
#include "ups/interpolate.hpp"

namespace {

using ups::DType;
using ups::InterpMode;
using ups::Shape;
using ups_test::HostTensor;
using ups_test::Layout;

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream is(s);
  while (std::getline(is, item, sep))
    out.push_back(item);
  return out;
}

struct BackwardCase {
  std::string id;
  ups::InterpolateOptions options;
  DType dtype = DType::kF32;
  Shape in_shape, out_shape;
  std::size_t gout_off = 0, gout_bytes = 0, gin_off = 0, gin_bytes = 0;
};

DType parse_dtype(const std::string& s) {
  if (s == "f32") return DType::kF32;
  if (s == "f64") return DType::kF64;
  if (s == "f16") return DType::kF16;
  if (s == "bf16") return DType::kBF16;
  throw std::runtime_error("unknown dtype " + s);
}

void parse_ref(const std::string& s, std::size_t* off, std::size_t* bytes) {
  const auto parts = split(s, ':');
  *off = std::stoull(parts.at(0));
  *bytes = std::stoull(parts.at(1));
}

struct Goldens {
  std::vector<BackwardCase> cases;
  std::vector<unsigned char> blob;
};

const Goldens& goldens() {
  static const Goldens g = [] {
    Goldens out;
    const std::string dir = UPS_TEST_DATA_DIR;
    std::ifstream txt(dir + "/interpolate_backward.txt");
    REQUIRE(txt.good());
    std::ifstream bin(dir + "/interpolate_backward.bin", std::ios::binary);
    REQUIRE(bin.good());
    out.blob.assign(std::istreambuf_iterator<char>(bin), std::istreambuf_iterator<char>());
    std::string line;
    while (std::getline(txt, line)) {
      if (line.empty() || line[0] == '#') continue;
      std::map<std::string, std::string> kv;
      for (const auto& field : split(line, ' ')) {
        const auto eq = field.find('=');
        kv[field.substr(0, eq)] = field.substr(eq + 1);
      }
      BackwardCase c;
      c.id = kv.at("id");
      c.options.mode = ups::parse_interp_mode(kv.at("mode"));
      c.dtype = parse_dtype(kv.at("dtype"));
      for (const auto& v : split(kv.at("in_shape"), ','))
        c.in_shape.push_back(std::stoll(v));
      for (const auto& v : split(kv.at("out_shape"), ','))
        c.out_shape.push_back(std::stoll(v));
      if (kv.at("size") != "-") {
        for (const auto& v : split(kv.at("size"), ','))
          c.options.size.push_back(std::stoll(v));
      }
      if (kv.at("scale") != "-") {
        for (const auto& v : split(kv.at("scale"), ','))
          c.options.scale_factor.push_back(std::stod(v));
      }
      if (kv.at("align_corners") != "-") c.options.align_corners = kv.at("align_corners") == "1";
      c.options.recompute_scale_factor = kv.at("recompute") == "1";
      c.options.antialias = kv.at("antialias") == "1";
      parse_ref(kv.at("gout"), &c.gout_off, &c.gout_bytes);
      parse_ref(kv.at("gin"), &c.gin_off, &c.gin_bytes);
      out.cases.push_back(c);
    }
    return out;
  }();
  return g;
}

double rtol_of(DType t) {
  switch (t) {
    case DType::kF64:
      return 1e-12;
    case DType::kF32:
      return 1e-5;
    case DType::kF16:
      return 1e-3;
    default:
      return 8e-3;
  }
}

// Runs one golden case with grad tensors in `layout` on `threads` threads; "" when it matches.
std::string run_golden(const BackwardCase& c, const Goldens& g, Layout layout, int threads) {
  HostTensor gout(c.dtype, c.out_shape);
  REQUIRE(gout.nbytes() == c.gout_bytes);
  std::memcpy(gout.data(), g.blob.data() + c.gout_off, c.gout_bytes);
  HostTensor want(DType::kF64, c.in_shape);
  REQUIRE(want.nbytes() == c.gin_bytes);
  std::memcpy(want.data(), g.blob.data() + c.gin_off, c.gin_bytes);
  const HostTensor go = gout.to_layout(layout);
  HostTensor gi(c.dtype, c.in_shape, layout);
  for (std::int64_t i = 0; i < gi.numel(); ++i)
    gi.set(i, std::nan(""));  // every element must be written
  ups::Context ctx(ups::Device::kCPU);
  ctx.set_num_threads(threads);
  ups::interpolate_backward(ctx, go.view(), gi.view(), c.options);
  double scale = 0.0;
  for (std::int64_t i = 0; i < want.numel(); ++i)
    scale = std::max(scale, std::fabs(want.get(i)));
  const double rtol = rtol_of(c.dtype);
  std::int64_t bad = 0, first = -1;
  for (std::int64_t i = 0; i < want.numel(); ++i) {
    const double got = gi.get(i), exp = want.get(i);
    if (!(std::fabs(got - exp) <= rtol * (std::fabs(exp) + scale))) {
      if (first < 0) first = i;
      ++bad;
    }
  }
  if (bad == 0) return "";
  std::ostringstream os;
  os << bad << " of " << want.numel() << " elements differ; first at " << first << ": "
     << gi.get(first) << " vs " << want.get(first);
  return os.str();
}

}  // namespace

TEST_CASE("interpolate_backward matches PyTorch autograd", "[interpolate][backward][golden]") {
  const Goldens& g = goldens();
  REQUIRE(g.cases.size() > 300);
  int failures = 0;
  for (const BackwardCase& c : g.cases) {
    const bool cl = c.in_shape.size() >= 4;
    for (Layout layout : {Layout::kContiguous, Layout::kChannelsLast}) {
      if (layout == Layout::kChannelsLast && !cl) continue;
      for (int threads : {1, 3}) {
        const std::string err = run_golden(c, g, layout, threads);
        if (!err.empty() && ++failures <= 20) {
          FAIL_CHECK(c.id << " (" << ups_test::to_string(layout) << ", " << threads
                          << " threads): " << err);
        }
      }
    }
  }
  CHECK(failures == 0);
}

TEST_CASE("interpolate_backward is bitwise reproducible across runs, thread counts and layouts",
          "[interpolate][backward][determinism]") {
  // Larger shapes than the goldens, so that every thread count splits the work differently.
  struct Spec {
    InterpMode mode;
    Shape in;
    std::vector<double> scale;
    bool aa;
  };
  const std::vector<Spec> specs = {
      {InterpMode::kBilinear, {3, 5, 23, 31}, {2.0, 1.5}, false},
      {InterpMode::kBicubic, {2, 4, 19, 17}, {1.7, 2.0}, false},
      {InterpMode::kBilinear, {2, 3, 40, 36}, {0.3, 0.45}, true},
      {InterpMode::kTrilinear, {1, 3, 7, 9, 11}, {2.0, 1.5, 1.3}, false},
      {InterpMode::kArea, {2, 3, 17, 29}, {0.6, 1.4}, false},
      {InterpMode::kNearest, {2, 3, 13, 15}, {2.5, 0.7}, false},
  };
  for (const Spec& s : specs) {
    for (DType dt : {DType::kF32, DType::kBF16}) {
      ups::InterpolateOptions opt;
      opt.mode = s.mode;
      opt.scale_factor = s.scale;
      opt.antialias = s.aa;
      const Shape out = ups::interpolate_output_shape(s.in, opt);
      HostTensor gout(dt, out);
      ups_test::fill_random(gout, 99, -3.0, 3.0);
      HostTensor first(dt, s.in);
      {
        ups::Context ctx(ups::Device::kCPU);
        ctx.set_num_threads(1);
        ups::interpolate_backward(ctx, gout.view(), first.view(), opt);
      }
      INFO(ups::to_string(s.mode) << (s.aa ? " antialias " : " ") << ups::to_string(dt));
      // Channels-last gradients take the per-image path, whose sums run in the same order.
      if (s.in.size() >= 4) {
        const HostTensor go_cl = gout.to_layout(Layout::kChannelsLast);
        HostTensor cl(dt, s.in, Layout::kChannelsLast);
        ups::Context ctx(ups::Device::kCPU);
        ctx.set_num_threads(3);
        ups::interpolate_backward(ctx, go_cl.view(), cl.view(), opt);
        const HostTensor back = cl.to_layout(Layout::kContiguous);
        REQUIRE(std::memcmp(back.data(), first.data(), first.nbytes()) == 0);
      }
      for (int run = 0; run < 20; ++run) {
        const int threads = std::vector<int>{1, 2, 3, 8}[static_cast<std::size_t>(run % 4)];
        HostTensor again(dt, s.in);
        ups::Context ctx(ups::Device::kCPU);
        ctx.set_num_threads(threads);
        ups::interpolate_backward(ctx, gout.view(), again.view(), opt);
        REQUIRE(std::memcmp(again.data(), first.data(), first.nbytes()) == 0);
      }
    }
  }
}

TEST_CASE("interpolate_backward rejects bad arguments with clear errors",
          "[interpolate][backward][errors]") {
  ups::Context ctx(ups::Device::kCPU);
  ups::InterpolateOptions opt;
  opt.mode = InterpMode::kBilinear;
  opt.scale_factor = {2.0};
  HostTensor gi(DType::kF32, {1, 2, 4, 4});
  HostTensor go(DType::kF32, {1, 2, 8, 8});
  // The right call works.
  ups::interpolate_backward(ctx, go.view(), gi.view(), opt);

  HostTensor go_bad(DType::kF32, {1, 2, 8, 7});
  const std::string shape_err = ups_test::error_of([&] {
                                  ups::interpolate_backward(ctx, go_bad.view(), gi.view(), opt);
                                }).what();
  CHECK_THAT(shape_err, Catch::Contains("expected grad_output of shape [1, 2, 8, 8]"));
  CHECK_THAT(shape_err, Catch::Contains("but got [1, 2, 8, 7]"));

  HostTensor go_f64(DType::kF64, {1, 2, 8, 8});
  CHECK_THAT(std::string(ups_test::error_of([&] {
                           ups::interpolate_backward(ctx, go_f64.view(), gi.view(), opt);
                         }).what()),
             Catch::Contains("grad_output has dtype f64 but grad_input has dtype f32"));

  ups::InterpolateOptions nearest;
  nearest.mode = InterpMode::kNearest;
  nearest.scale_factor = {2.0};
  HostTensor gi_u8(DType::kU8, {1, 2, 4, 4});
  HostTensor go_u8(DType::kU8, {1, 2, 8, 8});
  CHECK_THAT(std::string(ups_test::error_of([&] {
                           ups::interpolate_backward(ctx, go_u8.view(), gi_u8.view(), nearest);
                         }).what()),
             Catch::Contains("has no gradient for dtype u8"));

  // The forward's option checks apply, with PyTorch's messages.
  ups::InterpolateOptions both = opt;
  both.size = {8};
  CHECK_THAT(std::string(ups_test::error_of([&] {
                           ups::interpolate_backward(ctx, go.view(), gi.view(), both);
                         }).what()),
             Catch::Contains("only one of size or scale_factor should be defined"));

  CHECK(ups::interpolate_backward_workspace_size(ctx, {1, 2, 4, 4}, DType::kF32, opt) == 0);
}
