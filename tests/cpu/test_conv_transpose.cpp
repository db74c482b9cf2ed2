// CPU tests of ups::conv_transpose: PyTorch goldens (every dtype and both layouts, gemm and
// gather), PyTorch's error messages, the seed examples, the tap arithmetic against brute force,
// the three per-element formulations against each other, precision against f64, strided views
// and determinism across thread counts.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "common/hd.hpp"
#include "conv_transpose/deconv_math.hpp"
#include "deconv_golden.hpp"
#include "simd_targets.hpp"
#include "test_support.hpp"
#include "ups/conv_transpose.hpp"
#include "ups/error.hpp"

using ups::ConvTransposeAlgo;
using ups::ConvTransposeOptions;
using ups::DType;
using ups::Shape;
using ups_test::HostTensor;
using ups_test::Layout;

namespace {

using ups_test::check_against;
using ups_test::fill_golden;
using ups_test::GoldenCase;
using ups_test::options_from;
using ups_test::parse_fields;
using ups_test::parse_list;
using ups_test::read_lines;

std::vector<GoldenCase> load_cases() {
  const auto lines = read_lines("deconv_cases.txt");
  std::vector<GoldenCase> cases;
  for (std::size_t i = 0; i + 1 < lines.size(); i += 2) {
    GoldenCase c;
    c.f = parse_fields(lines[i]);
    std::stringstream ss(lines[i + 1]);
    std::int64_t v;
    while (ss >> v)
      c.out4096.push_back(v);
    cases.push_back(std::move(c));
  }
  return cases;
}

struct Problem {
  HostTensor src, weight, bias, dst;
  bool has_bias = false;
};

// src, weight and dst in `layout` (weight's "channels" dim is C_out / groups); no bias.
Problem make_problem(const Shape& in, const Shape& w, const Shape& out, DType dtype, Layout layout,
                     std::uint64_t seed, bool golden_values) {
  Problem p;
  p.src = HostTensor(dtype, in, layout);
  p.weight = HostTensor(dtype, w, layout);
  p.dst = HostTensor(dtype, out, layout);
  if (golden_values) {
    fill_golden(p.src, seed);
    fill_golden(p.weight, seed + 1);
  } else {
    ups_test::fill_random(p.src, seed);
    ups_test::fill_random(p.weight, seed + 1);
  }
  return p;
}

ups::ConvTransposeResult run(Problem& p, const ConvTransposeOptions& opt, int threads = 0) {
  ups::Context ctx(ups::Device::kCPU);
  ctx.set_num_threads(threads);
  const ups::TensorView b = p.has_bias ? p.bias.view() : ups::TensorView{};
  return ups::conv_transpose(ctx, p.src.view(), p.weight.view(), p.has_bias ? &b : nullptr,
                             p.dst.view(), opt);
}

std::int64_t shape_numel(const Shape& s) {
  std::int64_t n = 1;
  for (auto v : s)
    n *= v;
  return n;
}

}  // namespace

TEST_CASE("conv_transpose matches PyTorch goldens in every dtype and layout", "[conv_transpose]") {
  const auto cases = load_cases();
  REQUIRE(cases.size() >= 40);
  for (const GoldenCase& c : cases) {
    const Shape in = parse_list(c.f.at("input"));
    const Shape w = parse_list(c.f.at("weight"));
    const Shape out = parse_list(c.f.at("out"));
    const bool has_bias = c.f.at("bias") == "1";
    const std::uint64_t seed = std::stoull(c.f.at("seed"));
    ConvTransposeOptions opt = options_from(c.f);
    if (!opt.output_size.empty()) opt.output_padding = {5};  // ignored with output_size
    INFO("case " << c.f.at("name"));
    REQUIRE(ups::conv_transpose_output_shape(in, w, opt) == out);
    REQUIRE(static_cast<std::int64_t>(c.out4096.size()) == shape_numel(out));
    std::vector<double> exact(c.out4096.size());
    for (std::size_t i = 0; i < exact.size(); ++i)
      exact[i] = static_cast<double>(c.out4096[i]) / 4096.0;

    for (DType dtype : {DType::kF64, DType::kF32, DType::kF16, DType::kBF16}) {
      for (Layout layout : {Layout::kContiguous, Layout::kChannelsLast}) {
        for (ConvTransposeAlgo algo : {ConvTransposeAlgo::kAuto, ConvTransposeAlgo::kGather}) {
          INFO(ups::to_string(dtype)
               << " " << ups_test::to_string(layout) << " " << ups::to_string(algo));
          Problem p = make_problem(in, w, out, dtype, layout, seed, true);
          if (has_bias) {
            p.bias = HostTensor(dtype, {out[1]});
            fill_golden(p.bias, seed + 2);
            p.has_bias = true;
          }
          opt.algorithm = algo;
          const auto result = run(p, opt, 3);
          CHECK(result.algorithm == (algo == ConvTransposeAlgo::kAuto
                                         ? ConvTransposeAlgo::kGemm
                                         : ConvTransposeAlgo::kGather));
          CHECK(check_against(p.dst, exact) == "");
        }
      }
    }
  }
}

TEST_CASE("conv_transpose reproduces PyTorch's error messages", "[conv_transpose][errors]") {
  const auto lines = read_lines("deconv_errors.txt");
  REQUIRE(lines.size() >= 80);
  for (std::size_t i = 0; i + 1 < lines.size(); i += 2) {
    const auto f = parse_fields(lines[i]);
    const std::string expected = lines[i + 1];
    INFO("error case " << f.at("name"));
    const Shape in = parse_list(f.at("input"));
    const Shape w = parse_list(f.at("weight"));
    const ConvTransposeOptions opt = options_from(f);
    HostTensor src(DType::kF32, in), weight(DType::kF32, w), dst(DType::kF32, {1});
    HostTensor bias;
    const bool has_bias = f.at("bias") != "-";
    if (has_bias) bias = HostTensor(DType::kF32, parse_list(f.at("bias")));
    const ups::TensorView bv = has_bias ? bias.view() : ups::TensorView{};
    ups::Context ctx(ups::Device::kCPU);
    std::string got;
    try {
      ups::conv_transpose(ctx, src.view(), weight.view(), has_bias ? &bv : nullptr, dst.view(),
                          opt);
      got = "<no error>";
    } catch (const ups::Error& e) {
      got = e.what();
    }
    CHECK(got == expected);
    if (!has_bias) {
      std::string got_shape;
      try {
        ups::conv_transpose_output_shape(in, w, opt);
        got_shape = "<no error>";
      } catch (const ups::Error& e) {
        got_shape = e.what();
      }
      CHECK(got_shape == expected);
    }
  }
}

TEST_CASE("conv_transpose seed examples", "[conv_transpose]") {
  // nn.ConvTranspose1d(2, 3, 3, stride=2, padding=1, output_padding=1): length 5 -> 10.
  ConvTransposeOptions o1;
  o1.stride = {2};
  o1.padding = {1};
  o1.output_padding = {1};
  CHECK(ups::conv_transpose_output_shape({1, 2, 5}, {2, 3, 3}, o1) == Shape{1, 3, 10});
  // nn.ConvTranspose2d(C, C', kernel_size=2, stride=2) doubles H and W.
  ConvTransposeOptions o2;
  o2.stride = {2};
  CHECK(ups::conv_transpose_output_shape({4, 8, 7, 9}, {8, 5, 2, 2}, o2) == Shape{4, 5, 14, 18});

  // Hand-computed 1-D values: x = [1, 2], w = [1, 10, 100] (one channel), stride 2:
  // out[o] = sum over i, k with o = 2i + k: [1, 10, 100 + 2, 20, 200].
  HostTensor x(DType::kF64, {1, 1, 2}), w(DType::kF64, {1, 1, 3}), y(DType::kF64, {1, 1, 5});
  x.set(0, 1);
  x.set(1, 2);
  w.set(0, 1);
  w.set(1, 10);
  w.set(2, 100);
  ups::Context ctx(ups::Device::kCPU);
  ConvTransposeOptions o3;
  o3.stride = {2};
  ups::conv_transpose(ctx, x.view(), w.view(), nullptr, y.view(), o3);
  const double want[] = {1, 10, 102, 20, 200};
  for (int i = 0; i < 5; ++i)
    CHECK(y.get(i) == want[i]);

  // Padding 1 crops one position on each side of [1, 10, 102, 20, 200] and output_padding 1
  // adds one back at the end ((2-1)*2 - 2 + 2 + 1 + 1 = 4 positions): [10, 102, 20, 200],
  // plus a bias of 0.5.
  HostTensor y2(DType::kF64, {1, 1, 4}), b(DType::kF64, {1});
  b.set(0, 0.5);
  o3.padding = {1};
  o3.output_padding = {1};
  const ups::TensorView bv = b.view();
  ups::conv_transpose(ctx, x.view(), w.view(), &bv, y2.view(), o3);
  const double want2[] = {10.5, 102.5, 20.5, 200.5};
  for (int i = 0; i < 4; ++i)
    CHECK(y2.get(i) == want2[i]);
}

TEST_CASE("deconv_taps visits exactly the taps that reach each output", "[conv_transpose]") {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 3000; ++trial) {
    ups::kern::DeconvGeometry g{};
    const std::int64_t s = 1 + rng() % 9, d = 1 + rng() % 9, k = 1 + rng() % 8;
    const std::int64_t in = 1 + rng() % 9, pad = rng() % 12;
    for (int a = 0; a < 3; ++a) {
      g.stride[a] = 1;
      g.dil[a] = 1;
      g.k[a] = 1;
      g.in[a] = 1;
      g.pad[a] = 0;
    }
    g.stride[2] = s;
    g.dil[2] = d;
    g.k[2] = k;
    g.in[2] = in;
    g.pad[2] = pad;
    ups::kern::init_deconv_taps(g);
    const std::int64_t out = (in - 1) * s + d * (k - 1) + 1 + s;  // every reachable position
    for (std::int64_t o = 0; o < out; ++o) {
      std::vector<std::pair<std::int64_t, std::int64_t>> brute, walk;
      for (std::int64_t kk = 0; kk < k; ++kk) {
        const std::int64_t num = o + pad - kk * d;
        if (num >= 0 && num % s == 0 && num / s < in) brute.emplace_back(kk, num / s);
      }
      const auto t = ups::kern::deconv_taps(g, 2, o);
      for (std::int64_t j = 0; j < t.count; ++j)
        walk.emplace_back(t.k0 + j * t.kstep, t.i0 - j * t.istep);
      INFO("s=" << s << " d=" << d << " k=" << k << " in=" << in << " pad=" << pad << " o=" << o);
      REQUIRE(walk == brute);
    }
  }
}

namespace {

// The three formulations on random data: the gemm backend, the gather body run serially on the
// host, and the scatter body with an f64 sink.
struct RandomCase {
  Shape in, w, out;
  ConvTransposeOptions opt;
};

RandomCase random_case(std::mt19937& rng) {
  RandomCase c;
  const int sp = 1 + static_cast<int>(rng() % 3);
  const std::int64_t groups = 1 + rng() % 3;
  const std::int64_t cin = groups * (1 + rng() % 3);
  const std::int64_t cout_g = 1 + rng() % 5;
  c.in = {1 + static_cast<std::int64_t>(rng() % 2), cin};
  c.w = {cin, cout_g};
  c.opt.groups = groups;
  c.opt.stride.clear();
  c.opt.padding.clear();
  c.opt.output_padding.clear();
  c.opt.dilation.clear();
  const std::int64_t lim = sp == 1 ? 23 : (sp == 2 ? 7 : 4);
  for (int i = 0; i < sp; ++i) {
    const std::int64_t s = 1 + rng() % 4, d = 1 + rng() % 3, k = 1 + rng() % 5;
    const std::int64_t in = 1 + rng() % lim;
    std::int64_t p = rng() % 4;
    const std::int64_t op = rng() % std::max(s, d);
    while (p > 0 && (in - 1) * s - 2 * p + d * (k - 1) + op + 1 < 1)
      --p;
    c.in.push_back(in);
    c.w.push_back(k);
    c.opt.stride.push_back(s);
    c.opt.padding.push_back(p);
    c.opt.output_padding.push_back(op);
    c.opt.dilation.push_back(d);
  }
  c.out = ups::conv_transpose_output_shape(c.in, c.w, c.opt);
  return c;
}

}  // namespace

TEST_CASE("gemm, gather and scatter formulations agree on random problems", "[conv_transpose]") {
  std::mt19937 rng(12345);
  for (int trial = 0; trial < 60; ++trial) {
    const RandomCase c = random_case(rng);
    const bool with_bias = trial % 2 == 0;
    Problem p = make_problem(c.in, c.w, c.out, DType::kF64,
                             trial % 3 == 0 ? Layout::kChannelsLast : Layout::kContiguous,
                             static_cast<std::uint64_t>(trial) + 1000, false);
    HostTensor bias(DType::kF64, {c.out[1]});
    ups_test::fill_random(bias, static_cast<std::uint64_t>(trial) + 77);
    if (with_bias) {
      p.bias = bias;
      p.has_bias = true;
    }
    INFO("trial " << trial << " in " << ups::shape_to_string(c.in) << " w "
                  << ups::shape_to_string(c.w));
    run(p, c.opt, 4);

    // Reference 1: the scatter body, serially, into f64.
    ups::kern::DeconvGeometry g{};
    const int sp = static_cast<int>(c.in.size()) - 2;
    const int lead = 3 - sp;
    const HostTensor src = p.src.to_layout(Layout::kContiguous);
    const HostTensor wt = p.weight.to_layout(Layout::kContiguous);
    g.n = c.in[0];
    g.groups = c.opt.groups;
    g.cin_g = c.in[1] / c.opt.groups;
    g.cout_g = c.w[1];
    std::int64_t in_sp = 1, k_sp = 1;
    for (int i = 0; i < sp; ++i) {
      in_sp *= c.in[static_cast<std::size_t>(2 + i)];
      k_sp *= c.w[static_cast<std::size_t>(2 + i)];
    }
    for (int d = 0; d < 3; ++d) {
      const int i = d - lead;
      const bool real = i >= 0;
      const std::size_t ui = static_cast<std::size_t>(i + 2);
      g.in[d] = real ? c.in[ui] : 1;
      g.out[d] = real ? c.out[ui] : 1;
      g.k[d] = real ? c.w[ui] : 1;
      g.stride[d] = real ? c.opt.stride[static_cast<std::size_t>(i)] : 1;
      g.pad[d] = real ? c.opt.padding[static_cast<std::size_t>(i)] : 0;
      g.dil[d] = real ? c.opt.dilation[static_cast<std::size_t>(i)] : 1;
    }
    // Contiguous strides in the normalised 5-D form.
    g.src_stride[4] = 1;
    g.src_stride[3] = g.in[2];
    g.src_stride[2] = g.in[1] * g.in[2];
    g.src_stride[1] = in_sp;
    g.src_stride[0] = in_sp * c.in[1];
    g.w_stride[4] = 1;
    g.w_stride[3] = g.k[2];
    g.w_stride[2] = g.k[1] * g.k[2];
    g.w_stride[1] = k_sp;
    g.w_stride[0] = k_sp * c.w[1];
    const std::int64_t out_sp = g.out[0] * g.out[1] * g.out[2];
    g.dst_stride[4] = 1;
    g.dst_stride[3] = g.out[2];
    g.dst_stride[2] = g.out[1] * g.out[2];
    g.dst_stride[1] = out_sp;
    g.dst_stride[0] = out_sp * c.out[1];
    g.has_bias = with_bias;
    g.bias_stride = 1;
    ups::kern::init_deconv_taps(g);

    const std::int64_t total = shape_numel(c.out);
    std::vector<double> scattered(static_cast<std::size_t>(total), 0.0);
    auto sink = [&](std::int64_t n, std::int64_t co, std::int64_t od, std::int64_t oh,
                    std::int64_t ow, double v) {
      scattered[static_cast<std::size_t>(n * g.dst_stride[0] + co * g.dst_stride[1] +
                                         od * g.dst_stride[2] + oh * g.dst_stride[3] + ow)] += v;
    };
    const double* sd = static_cast<const double*>(src.data());
    const double* wd = static_cast<const double*>(wt.data());
    for (std::int64_t i = 0; i < shape_numel(c.in); ++i) {
      ups::kern::deconv_scatter_element<double>(g, sd, wd, sink, i);
    }
    if (with_bias) {
      for (std::int64_t i = 0; i < total; ++i)
        scattered[static_cast<std::size_t>(i)] += bias.get((i / out_sp) % c.out[1]);
    }
    // Reference 2: the gather body, serially.
    std::vector<double> gathered(static_cast<std::size_t>(total));
    for (std::int64_t i = 0; i < total; ++i) {
      ups::kern::deconv_gather_element<double>(g, sd, wd, static_cast<const double*>(bias.data()),
                                               gathered.data(), i);
    }
    double scale = 0;
    for (double v : scattered)
      scale = std::max(scale, std::fabs(v));
    for (std::int64_t i = 0; i < total; ++i) {
      const double e = scattered[static_cast<std::size_t>(i)];
      REQUIRE(std::fabs(gathered[static_cast<std::size_t>(i)] - e) <= 1e-12 * (1 + scale));
      REQUIRE(std::fabs(p.dst.get(i) - e) <= 1e-12 * (1 + scale));
    }
  }
}

TEST_CASE("conv_transpose f32 and f16 accumulate accurately", "[conv_transpose]") {
  std::mt19937 rng(99);
  for (int trial = 0; trial < 12; ++trial) {
    RandomCase c = random_case(rng);
    // Wider channels so that accumulation error would show.
    c.in[1] *= 8;
    c.w[0] *= 8;
    c.out = ups::conv_transpose_output_shape(c.in, c.w, c.opt);
    for (DType dtype : {DType::kF32, DType::kF16, DType::kBF16}) {
      Problem p = make_problem(c.in, c.w, c.out, dtype, Layout::kContiguous,
                               static_cast<std::uint64_t>(trial) * 3 + 5, false);
      // The same (rounded) inputs in f64.
      Problem ref;
      ref.src = HostTensor(DType::kF64, c.in);
      ref.weight = HostTensor(DType::kF64, c.w);
      ref.dst = HostTensor(DType::kF64, c.out);
      for (std::int64_t i = 0; i < p.src.numel(); ++i)
        ref.src.set(i, p.src.get(i));
      for (std::int64_t i = 0; i < p.weight.numel(); ++i)
        ref.weight.set(i, p.weight.get(i));
      run(p, c.opt);
      run(ref, c.opt);
      std::vector<double> exact(static_cast<std::size_t>(ref.dst.numel()));
      for (std::int64_t i = 0; i < ref.dst.numel(); ++i)
        exact[static_cast<std::size_t>(i)] = ref.dst.get(i);
      INFO("trial " << trial << " dtype " << ups::to_string(dtype));
      CHECK(check_against(p.dst, exact) == "");
    }
  }
}

TEST_CASE("conv_transpose CPU results do not depend on the thread count", "[conv_transpose]") {
  std::mt19937 rng(2024);
  for (int trial = 0; trial < 10; ++trial) {
    RandomCase c = random_case(rng);
    c.in[0] = 3;
    c.out[0] = 3;
    for (ConvTransposeAlgo algo : {ConvTransposeAlgo::kGemm, ConvTransposeAlgo::kGather}) {
      c.opt.algorithm = algo;
      Problem a = make_problem(c.in, c.w, c.out, DType::kF32, Layout::kContiguous, 31, false);
      Problem b = a;
      Problem d = a;
      run(a, c.opt, 1);
      run(b, c.opt, 3);
      run(d, c.opt, 8);
      CHECK(ups_test::compare_bitwise(a.dst, b.dst) == "");
      CHECK(ups_test::compare_bitwise(a.dst, d.dst) == "");
    }
  }
}

TEST_CASE("conv_transpose handles arbitrary strides and a large GEMM-shaped layer",
          "[conv_transpose]") {
  // A decoder-like 2-D layer, run through gemm and gather, in both layouts.
  const Shape in{2, 32, 9, 11}, w{32, 16, 4, 4};
  ConvTransposeOptions opt;
  opt.stride = {2};
  opt.padding = {1};
  const Shape out = ups::conv_transpose_output_shape(in, w, opt);
  REQUIRE(out == Shape{2, 16, 18, 22});
  Problem ref = make_problem(in, w, out, DType::kF64, Layout::kContiguous, 5, false);
  opt.algorithm = ConvTransposeAlgo::kGather;
  run(ref, opt);
  std::vector<double> exact(static_cast<std::size_t>(ref.dst.numel()));
  for (std::int64_t i = 0; i < ref.dst.numel(); ++i)
    exact[static_cast<std::size_t>(i)] = ref.dst.get(i);
  for (Layout layout : {Layout::kContiguous, Layout::kChannelsLast}) {
    Problem p = make_problem(in, w, out, DType::kF64, layout, 5, false);
    opt.algorithm = ConvTransposeAlgo::kGemm;
    run(p, opt);
    CHECK(check_against(p.dst, exact) == "");
  }

  // dst as a strided slice: every other W element of a wider buffer, C stride padded.
  Problem s = make_problem(in, w, out, DType::kF64, Layout::kContiguous, 5, false);
  std::vector<double> big(static_cast<std::size_t>(2 * 17 * 18 * 44), -7.0);
  ups::TensorView dv = ups::TensorView::contiguous(big.data(), DType::kF64, ups::Device::kCPU, out);
  dv.strides[3] = 2;
  dv.strides[2] = 44;
  dv.strides[1] = 18 * 44;
  dv.strides[0] = 17 * 18 * 44;
  // src as a permuted view of a channels-last buffer with an odd N stride.
  ups::Context ctx(ups::Device::kCPU);
  opt.algorithm = ConvTransposeAlgo::kAuto;
  ups::conv_transpose(ctx, s.src.view(), s.weight.view(), nullptr, dv, opt);
  std::int64_t idx = 0;
  for (std::int64_t n = 0; n < 2; ++n)
    for (std::int64_t c = 0; c < 16; ++c)
      for (std::int64_t h = 0; h < 18; ++h)
        for (std::int64_t x = 0; x < 22; ++x, ++idx) {
          const double got = big[static_cast<std::size_t>(n * dv.strides[0] + c * dv.strides[1] +
                                                          h * dv.strides[2] + x * 2)];
          REQUIRE(std::fabs(got - exact[static_cast<std::size_t>(idx)]) <= 1e-12 * 64);
        }
  CHECK(big[1] == -7.0);  // the gaps stay untouched
}

TEST_CASE("conv_transpose argument errors beyond PyTorch's", "[conv_transpose][errors]") {
  ups::Context ctx(ups::Device::kCPU);
  HostTensor x(DType::kF32, {1, 2, 5}), w(DType::kF32, {2, 3, 3}), y(DType::kF32, {1, 3, 7});
  ConvTransposeOptions opt;
  CHECK_NOTHROW(ups::conv_transpose(ctx, x.view(), w.view(), nullptr, y.view(), opt));

  auto code_of = [&](auto&& fn) {
    try {
      fn();
    } catch (const ups::Error& e) {
      return e.code();
    }
    return ups::ErrorCode::kInternal;
  };
  // Input rank.
  CHECK_THROWS_WITH(ups::conv_transpose_output_shape({2, 5}, {2, 3}, opt),
                    Catch::Contains("expected a 3-D, 4-D or 5-D input"));
  // dst shape.
  HostTensor bad(DType::kF32, {1, 3, 8});
  CHECK_THROWS_WITH(ups::conv_transpose(ctx, x.view(), w.view(), nullptr, bad.view(), opt),
                    Catch::Contains("expected dst of shape [1, 3, 7] but got [1, 3, 8]"));
  // dtypes.
  HostTensor w64(DType::kF64, {2, 3, 3}), xu8(DType::kU8, {1, 2, 5}), yu8(DType::kU8, {1, 3, 7});
  CHECK(code_of([&] { ups::conv_transpose(ctx, x.view(), w64.view(), nullptr, y.view(), opt); }) ==
        ups::ErrorCode::kUnsupportedDType);
  CHECK_THROWS_WITH(ups::conv_transpose(ctx, xu8.view(), w.view(), nullptr, yu8.view(), opt),
                    Catch::Contains("does not support dtype u8"));
  // Device mismatch.
  ups::TensorView wc = w.view();
  wc.device = ups::Device::kCUDA;
  CHECK(code_of([&] { ups::conv_transpose(ctx, x.view(), wc, nullptr, y.view(), opt); }) ==
        ups::ErrorCode::kUnsupportedDevice);
  // Overlap of dst with src.
  std::vector<float> buf(64, 0.f);
  const ups::TensorView xs =
      ups::TensorView::contiguous(buf.data(), DType::kF32, ups::Device::kCPU, {1, 2, 5});
  const ups::TensorView ys =
      ups::TensorView::contiguous(buf.data() + 5, DType::kF32, ups::Device::kCPU, {1, 3, 7});
  CHECK_THROWS_WITH(ups::conv_transpose(ctx, xs, w.view(), nullptr, ys, opt),
                    Catch::Contains("overlaps the input"));
  // CUDA-only algorithms on the CPU.
  opt.algorithm = ConvTransposeAlgo::kScatter;
  CHECK_THROWS_WITH(ups::conv_transpose(ctx, x.view(), w.view(), nullptr, y.view(), opt),
                    Catch::Contains("runs only on CUDA"));
  opt.algorithm = ConvTransposeAlgo::kCudnn;
  CHECK(code_of([&] { ups::conv_transpose(ctx, x.view(), w.view(), nullptr, y.view(), opt); }) ==
        ups::ErrorCode::kUnsupportedDevice);
  // Deterministic mode rejects scatter by name, before anything else.
  ups::Context det(ups::Device::kCPU);
  det.set_deterministic(true);
  opt.algorithm = ConvTransposeAlgo::kScatter;
  CHECK_THROWS_WITH(ups::conv_transpose(det, x.view(), w.view(), nullptr, y.view(), opt),
                    Catch::Contains("'scatter' is nondeterministic") &&
                        Catch::Contains("deterministic mode is on"));
  // Stride and dilation bounds.
  ConvTransposeOptions huge;
  huge.stride = {std::int64_t(1) << 31};
  CHECK_THROWS_WITH(ups::conv_transpose_output_shape({1, 2, 5}, {2, 3, 3}, huge),
                    Catch::Contains("below 2^31"));
  // Output size overflow.
  ConvTransposeOptions big;
  big.stride = {(std::int64_t(1) << 31) - 1};
  CHECK(code_of([&] {
          ups::conv_transpose_output_shape({1, 2, std::int64_t(1) << 40}, {2, 3, 3}, big);
        }) == ups::ErrorCode::kOutOfMemory);
}

TEST_CASE("conv_transpose batch 0 is a no-op and workspace is 0 on the CPU", "[conv_transpose]") {
  ups::Context ctx(ups::Device::kCPU);
  HostTensor x(DType::kF32, {0, 2, 5}), w(DType::kF32, {2, 3, 3}), y(DType::kF32, {0, 3, 7});
  const auto r = ups::conv_transpose(ctx, x.view(), w.view(), nullptr, y.view());
  CHECK(r.algorithm == ConvTransposeAlgo::kAuto);
  CHECK_FALSE(r.attempts.empty());
  HostTensor x1(DType::kF32, {1, 2, 5}), y1(DType::kF32, {1, 3, 7});
  ups::TensorView xv = x1.view(), yv = y1.view(), wv = w.view();
  xv.data = nullptr;  // the query reads shapes only
  yv.data = nullptr;
  CHECK(ups::conv_transpose_workspace_size(ctx, xv, wv, nullptr, yv, {}) == 0);
}

TEST_CASE("conv_transpose algorithm names", "[conv_transpose]") {
  for (const auto& info : ups::conv_transpose_algorithms()) {
    CHECK(ups::parse_conv_transpose_algo(info.name) == info.algo);
    CHECK(info.name == ups::to_string(info.algo));
    CHECK_FALSE(info.description.empty());
  }
  CHECK(ups::conv_transpose_algorithms().size() == 7);
  CHECK(ups::conv_transpose_algorithms().back().available == ups::build_info().has_onednn);
  CHECK_THROWS_WITH(ups::parse_conv_transpose_algo("fft"),
                    Catch::Contains("unknown conv_transpose algorithm 'fft'"));
  ups::ConvTransposeResult r;
  r.algorithm = ConvTransposeAlgo::kGather;
  ups::ConvTransposeAttempt a;
  a.algo = ConvTransposeAlgo::kCudnn;
  a.reason = "no engine";
  r.attempts.push_back(a);
  CHECK_THAT(ups::to_string(r),
             Catch::Contains("gather") && Catch::Contains("cudnn: declined - no engine"));
}

TEST_CASE("conv_transpose onednn matches the goldens where it runs, and says why it declines",
          "[conv_transpose][onednn]") {
  const bool have = ups::build_info().has_onednn;
  int ran = 0, declined = 0;
  for (const GoldenCase& c : load_cases()) {
    const Shape in = parse_list(c.f.at("input"));
    const Shape w = parse_list(c.f.at("weight"));
    const Shape out = parse_list(c.f.at("out"));
    const std::uint64_t seed = std::stoull(c.f.at("seed"));
    ConvTransposeOptions opt = options_from(c.f);
    opt.algorithm = ConvTransposeAlgo::kOnednn;
    std::vector<double> exact(c.out4096.size());
    for (std::size_t i = 0; i < exact.size(); ++i)
      exact[i] = static_cast<double>(c.out4096[i]) / 4096.0;
    for (DType dtype : {DType::kF32, DType::kBF16, DType::kF64}) {
      for (Layout layout : {Layout::kContiguous, Layout::kChannelsLast}) {
        INFO("case " << c.f.at("name") << " " << ups::to_string(dtype) << " "
                     << ups_test::to_string(layout));
        Problem p = make_problem(in, w, out, dtype, layout, seed, true);
        if (c.f.at("bias") == "1") {
          p.bias = HostTensor(dtype, {out[1]});
          fill_golden(p.bias, seed + 2);
          p.has_bias = true;
        }
        try {
          const auto r = run(p, opt, 2);
          CHECK(r.algorithm == ConvTransposeAlgo::kOnednn);
          CHECK(check_against(p.dst, exact) == "");
          ++ran;
        } catch (const ups::Error& e) {
          const std::string msg = e.what();
          CHECK_THAT(msg, Catch::Contains("algorithm 'onednn' cannot run this problem"));
          if (!have) CHECK(e.code() == ups::ErrorCode::kNotCompiled);
          if (dtype == DType::kF64) CHECK_THAT(msg, Catch::Contains("no f64"));
          ++declined;
        }
      }
    }
  }
  if (have) {
    INFO("oneDNN ran " << ran << " and declined " << declined);
    CHECK(ran > declined);
  } else {
    CHECK(ran == 0);
  }
}

TEST_CASE("conv_transpose auto and benchmark on the CPU choose a runnable path",
          "[conv_transpose][onednn]") {
  // A dense decoder layer (oneDNN's case) and a depthwise one (the native path's).
  struct Layer {
    Shape in, w;
    std::int64_t groups;
  };
  // The third is a DCGAN-like layer that oneDNN runs in its blocked layout.
  for (const Layer& l :
       {Layer{{2, 32, 9, 7}, {32, 16, 4, 4}, 1}, Layer{{2, 8, 9, 7}, {8, 1, 3, 3}, 8},
        Layer{{4, 32, 6, 5}, {32, 32, 4, 4}, 1}}) {
    ConvTransposeOptions opt;
    opt.stride = {2};
    opt.padding = {1};
    opt.groups = l.groups;
    const Shape out = ups::conv_transpose_output_shape(l.in, l.w, opt);
    Problem ref = make_problem(l.in, l.w, out, DType::kF32, Layout::kContiguous, 3, false);
    opt.algorithm = ConvTransposeAlgo::kGather;
    run(ref, opt, 1);
    for (ConvTransposeAlgo algo :
         {ConvTransposeAlgo::kAuto, ConvTransposeAlgo::kBenchmark, ConvTransposeAlgo::kBenchmark}) {
      Problem p = make_problem(l.in, l.w, out, DType::kF32, Layout::kContiguous, 3, false);
      opt.algorithm = algo;
      const auto r = run(p, opt, 2);
      INFO(ups::to_string(r));
      CHECK(ups_test::compare(p.dst, ref.dst, 1e-5, 1e-5) == "");
      const bool dnn = r.algorithm == ConvTransposeAlgo::kOnednn;
      CHECK((dnn || r.algorithm == ConvTransposeAlgo::kGemm));
      if (dnn) CHECK(ups::build_info().has_onednn);
      if (algo == ConvTransposeAlgo::kAuto && l.groups > 1) CHECK(!dnn);
      if (algo == ConvTransposeAlgo::kAuto && l.groups == 1) {
        CHECK(dnn == ups::build_info().has_onednn);
      }
    }
  }
}

TEST_CASE("conv_transpose native CPU paths (direct and GEMM-shaped) equal the reference",
          "[conv_transpose]") {
  // Input channels per group from 1 to 16 cover both sides of the direct path's limit; strides,
  // dilations, paddings and output paddings in every combination, with every dtype and layout.
  std::mt19937 rng(777);
  auto pick = [&](int lo, int hi) {
    return static_cast<std::int64_t>(std::uniform_int_distribution<int>(lo, hi)(rng));
  };
  int made = 0;
  while (made < 80) {
    const int sp = static_cast<int>(pick(1, 3));
    const std::int64_t groups = pick(1, 3), cin_g = pick(1, 16), cout_g = pick(1, 5);
    Shape in = {pick(1, 2), groups * cin_g}, w = {groups * cin_g, cout_g};
    ConvTransposeOptions opt;
    opt.stride.clear();
    opt.padding.clear();
    opt.dilation.clear();
    opt.output_padding.clear();
    for (int d = 0; d < sp; ++d) {
      in.push_back(pick(1, sp == 3 ? 5 : 40));
      w.push_back(pick(1, 5));
      opt.stride.push_back(pick(1, 4));
      opt.dilation.push_back(pick(1, 3));
      opt.padding.push_back(pick(0, 3));
      opt.output_padding.push_back(pick(0, std::max(opt.stride.back(), opt.dilation.back()) - 1));
    }
    opt.groups = groups;
    Shape out;
    try {
      out = ups::conv_transpose_output_shape(in, w, opt);
    } catch (const ups::Error&) {
      continue;
    }
    ++made;
    const DType dtype = made % 4 == 0 ? DType::kBF16 : made % 4 == 1 ? DType::kF32 : DType::kF64;
    const Layout layout = made % 3 == 0 ? Layout::kChannelsLast : Layout::kContiguous;
    INFO("problem " << made << " in " << ups::shape_to_string(in) << " w "
                    << ups::shape_to_string(w) << " " << ups::to_string(dtype));
    Problem ref = make_problem(in, w, out, dtype, layout, 900 + made, false);
    Problem fast = make_problem(in, w, out, dtype, layout, 900 + made, false);
    ref.bias = HostTensor(dtype, {out[1]});
    ups_test::fill_random(ref.bias, 5);
    ref.has_bias = made % 2 == 0;
    fast.bias = ref.bias;
    fast.has_bias = ref.has_bias;
    opt.algorithm = ConvTransposeAlgo::kGather;
    run(ref, opt, 1);
    opt.algorithm = ConvTransposeAlgo::kGemm;
    run(fast, opt, 3);
    const double tol = dtype == DType::kF64 ? 1e-12 : dtype == DType::kF32 ? 2e-5 : 2e-2;
    CHECK(ups_test::compare(fast.dst, ref.dst, tol, tol) == "");
  }
}

TEST_CASE("conv_transpose onednn's kernel == stride matmul paths equal the gather reference",
          "[conv_transpose][onednn]") {
  // Channels-last layouts write each tap row straight into the output; planar ones interleave a
  // scratch product. f32 and bf16, 1-D to 3-D, uneven kernels, with and without bias; rows long
  // enough for the vector interleave (kernels up to 4 along W) and beyond it (5), on every SIMD
  // target the CPU supports.
  if (!ups::build_info().has_onednn) return;  // built without oneDNN: nothing to compare
  std::mt19937 rng(4242);
  auto pick = [&](int lo, int hi) {
    return static_cast<std::int64_t>(std::uniform_int_distribution<int>(lo, hi)(rng));
  };
  for (int made = 0; made < 48; ++made) {
    const int sp = 1 + made % 3;
    const std::int64_t cin = pick(1, 40), cout = pick(1, 24);
    Shape in = {pick(1, 3), cin}, w = {cin, cout};
    ConvTransposeOptions opt;
    opt.stride.clear();
    for (int d = 0; d < sp; ++d) {
      const bool last = d == sp - 1;
      in.push_back(last ? pick(1, 40) : pick(1, sp == 3 ? 5 : 17));
      w.push_back(last ? pick(1, 5) : pick(1, 3));
      opt.stride.push_back(w.back());
    }
    const Shape out = ups::conv_transpose_output_shape(in, w, opt);
    const DType dtype = made % 2 == 0 ? DType::kBF16 : DType::kF32;
    const Layout layout = (made / 2) % 2 == 0 ? Layout::kChannelsLast : Layout::kContiguous;
    INFO("problem " << made << " in " << ups::shape_to_string(in) << " w "
                    << ups::shape_to_string(w) << " " << ups::to_string(dtype) << " "
                    << ups_test::to_string(layout));
    Problem ref = make_problem(in, w, out, dtype, layout, 300 + made, false);
    ref.bias = HostTensor(dtype, {out[1]});
    ups_test::fill_random(ref.bias, 9);
    ref.has_bias = (made / 4) % 2 == 0;
    opt.algorithm = ConvTransposeAlgo::kGather;
    run(ref, opt, 1);
    ups_test::for_each_simd_target([&](const std::string& target) {
      INFO("SIMD target " << target);
      Problem fast = make_problem(in, w, out, dtype, layout, 300 + made, false);
      fast.bias = ref.bias;
      fast.has_bias = ref.has_bias;
      opt.algorithm = ConvTransposeAlgo::kOnednn;
      const auto r = run(fast, opt, made % 2 + 1);
      CHECK(r.algorithm == ConvTransposeAlgo::kOnednn);
      const double tol = dtype == DType::kF32 ? 2e-5 : 2e-2;
      CHECK(ups_test::compare(fast.dst, ref.dst, tol, tol) == "");
    });
  }
}

TEST_CASE("conv_transpose direct path's fused stride-2 rows equal the reference",
          "[conv_transpose]") {
  // Rows wide enough for the fused two-phase loop (2 * lanes outputs per phase, up to 16 f32
  // lanes), with odd widths and paddings that leave a tail for the general path.
  struct Layer {
    Shape in, w;
    std::int64_t groups, padding, output_padding;
  };
  for (const Layer& l :
       {Layer{{2, 3, 5, 70}, {3, 1, 4, 4}, 3, 1, 0}, Layer{{1, 4, 3, 67}, {4, 3, 4, 3}, 1, 1, 1},
        Layer{{2, 2, 4, 9, 66}, {2, 2, 2, 3, 5}, 2, 2, 1}}) {
    for (DType dtype : {DType::kF32, DType::kF64, DType::kBF16}) {
      for (Layout layout : {Layout::kContiguous, Layout::kChannelsLast}) {
        ConvTransposeOptions opt;
        opt.stride = {2};
        opt.padding = {l.padding};
        opt.output_padding = {l.output_padding};
        opt.groups = l.groups;
        const Shape out = ups::conv_transpose_output_shape(l.in, l.w, opt);
        INFO("input " << ups::shape_to_string(l.in) << " " << ups::to_string(dtype) << " "
                      << ups_test::to_string(layout));
        Problem ref = make_problem(l.in, l.w, out, dtype, layout, 61, false);
        Problem fast = make_problem(l.in, l.w, out, dtype, layout, 61, false);
        ref.bias = HostTensor(dtype, {out[1]});
        ups_test::fill_random(ref.bias, 62);
        ref.has_bias = true;
        fast.bias = ref.bias;
        fast.has_bias = true;
        opt.algorithm = ConvTransposeAlgo::kGather;
        run(ref, opt, 1);
        opt.algorithm = ConvTransposeAlgo::kGemm;
        run(fast, opt, 2);
        const double tol = dtype == DType::kF64 ? 1e-12 : dtype == DType::kF32 ? 2e-5 : 2e-2;
        CHECK(ups_test::compare(fast.dst, ref.dst, tol, tol) == "");
      }
    }
  }
}

TEST_CASE("conv_transpose direct path's one-channel-per-group rows equal the reference",
          "[conv_transpose]") {
  // One input channel per group (depthwise, channel multipliers) with W stride 1 or 2 runs the
  // row kernel: random kernels, strides and dilations along D and H, paddings, output paddings,
  // rows narrower and wider than the 2 * lanes-per-phase vectors (up to 16 f32 lanes), 1-D to
  // 3-D, every dtype, with and without bias, 1 to 3 threads (row blocks when there are few
  // planes). Channels-last outputs take the general direct path and are compared too.
  // Every SIMD target this CPU supports runs the same problems.
  ups_test::for_each_simd_target([&](const std::string& target) {
    std::mt19937 rng(2718);
    auto pick = [&](int lo, int hi) {
      return static_cast<std::int64_t>(std::uniform_int_distribution<int>(lo, hi)(rng));
    };
    int made = 0;
    while (made < 96) {
      const int sp = 1 + made % 3;
      const std::int64_t groups = pick(1, 6), cout_g = pick(1, 3);
      Shape in = {pick(1, 2), groups}, w = {groups, cout_g};
      ConvTransposeOptions opt;
      opt.stride.clear();
      opt.padding.clear();
      opt.dilation.clear();
      opt.output_padding.clear();
      for (int d = 0; d < sp; ++d) {
        const bool last = d == sp - 1;
        in.push_back(last ? pick(1, 90) : pick(1, sp == 3 ? 4 : 12));
        w.push_back(pick(1, 5));
        opt.stride.push_back(last ? pick(1, 2) : pick(1, 3));
        opt.dilation.push_back(pick(1, 2));
        opt.padding.push_back(pick(0, 3));
        opt.output_padding.push_back(pick(0, std::max(opt.stride.back(), opt.dilation.back()) - 1));
      }
      opt.groups = groups;
      Shape out;
      try {
        out = ups::conv_transpose_output_shape(in, w, opt);
      } catch (const ups::Error&) {
        continue;
      }
      ++made;
      const DType dtype = made % 4 == 0   ? DType::kBF16
                          : made % 4 == 1 ? DType::kF32
                          : made % 4 == 2 ? DType::kF64
                                          : DType::kF16;
      const Layout layout = made % 5 == 0 ? Layout::kChannelsLast : Layout::kContiguous;
      INFO(target << " problem " << made << " in " << ups::shape_to_string(in) << " w "
                  << ups::shape_to_string(w) << " stride " << opt.stride.back() << " "
                  << ups::to_string(dtype));
      Problem ref = make_problem(in, w, out, dtype, layout, 4100 + made, false);
      Problem fast = make_problem(in, w, out, dtype, layout, 4100 + made, false);
      ref.bias = HostTensor(dtype, {out[1]});
      ups_test::fill_random(ref.bias, 4099);
      ref.has_bias = made % 2 == 1;
      fast.bias = ref.bias;
      fast.has_bias = ref.has_bias;
      opt.algorithm = ConvTransposeAlgo::kGather;
      run(ref, opt, 1);
      opt.algorithm = ConvTransposeAlgo::kGemm;
      run(fast, opt, 1 + made % 3);
      const double tol = dtype == DType::kF64   ? 1e-12
                         : dtype == DType::kF32 ? 2e-5
                         : dtype == DType::kF16 ? 4e-3
                                                : 2e-2;
      CHECK(ups_test::compare(fast.dst, ref.dst, tol, tol) == "");
    }
  });
}

TEST_CASE("conv_transpose depthwise rows larger than the caches equal the reference",
          "[conv_transpose]") {
  // An f32 output of 17 MB is written with streaming stores; both thread counts.
  const Shape in = {1, 8, 256, 520}, w = {8, 1, 4, 4};
  ConvTransposeOptions opt;
  opt.stride = {2};
  opt.padding = {1};
  opt.groups = 8;
  const Shape out = ups::conv_transpose_output_shape(in, w, opt);
  REQUIRE(shape_numel(out) * 4 >= 16 * (1 << 20));
  Problem ref = make_problem(in, w, out, DType::kF32, Layout::kContiguous, 77, false);
  ref.bias = HostTensor(DType::kF32, {out[1]});
  ups_test::fill_random(ref.bias, 78);
  ref.has_bias = true;
  opt.algorithm = ConvTransposeAlgo::kGather;
  run(ref, opt, 2);
  for (int threads : {1, 2}) {
    Problem fast = make_problem(in, w, out, DType::kF32, Layout::kContiguous, 77, false);
    fast.bias = ref.bias;
    fast.has_bias = true;
    opt.algorithm = ConvTransposeAlgo::kGemm;
    run(fast, opt, threads);
    INFO("threads " << threads);
    CHECK(ups_test::compare(fast.dst, ref.dst, 2e-5, 2e-5) == "");
  }
}
