// CPU tests of ups::conv_transpose_backward: PyTorch autograd goldens (every dtype, both layouts,
// gemm and gather), the GEMM-shaped path against the per-element reference bodies on random
// problems and strided views, determinism across runs and thread counts, optional gradients,
// the empty batch, and argument errors.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <vector>

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

struct BackwardGolden {
  std::map<std::string, std::string> f;
  std::vector<double> gx, gw, gb;  // exact values
};

std::vector<double> scaled_line(const std::string& line) {
  std::vector<double> v;
  std::stringstream ss(line);
  std::int64_t x;
  while (ss >> x)
    v.push_back(static_cast<double>(x) / 4096.0);
  return v;
}

std::vector<BackwardGolden> load_backward() {
  const auto lines = ups_test::read_lines("deconv_backward.txt");
  std::vector<BackwardGolden> cases;
  for (std::size_t i = 0; i + 3 < lines.size(); i += 4) {
    BackwardGolden c;
    c.f = ups_test::parse_fields(lines[i]);
    c.gx = scaled_line(lines[i + 1]);
    c.gw = scaled_line(lines[i + 2]);
    c.gb = scaled_line(lines[i + 3]);
    cases.push_back(std::move(c));
  }
  return cases;
}

struct Grads {
  HostTensor gx, gw, gb;
};

struct BackwardProblem {
  HostTensor gy, x, w;
  Shape in, wshape, out;
};

BackwardProblem make_backward(const Shape& in, const Shape& w, const Shape& out, DType dtype,
                              Layout layout, std::uint64_t seed, bool golden_values) {
  BackwardProblem p;
  p.in = in;
  p.wshape = w;
  p.out = out;
  p.x = HostTensor(dtype, in, layout);
  p.w = HostTensor(dtype, w, layout);
  p.gy = HostTensor(dtype, out, layout);
  if (golden_values) {
    ups_test::fill_golden(p.x, seed);
    ups_test::fill_golden(p.w, seed + 1);
    ups_test::fill_golden(p.gy, seed + 3);
  } else {
    ups_test::fill_random(p.x, seed);
    ups_test::fill_random(p.w, seed + 1);
    ups_test::fill_random(p.gy, seed + 3);
  }
  return p;
}

Grads make_grads(const BackwardProblem& p, DType dtype, Layout layout) {
  Grads g;
  g.gx = HostTensor(dtype, p.in, layout);
  g.gw = HostTensor(dtype, p.wshape, layout);
  g.gb = HostTensor(dtype, {p.out[1]});
  // NaN everywhere: an element the op forgets to write cannot pass.
  for (HostTensor* t : {&g.gx, &g.gw, &g.gb}) {
    for (std::int64_t i = 0; i < t->numel(); ++i)
      t->set(i, std::nan(""));
  }
  return g;
}

ups::ConvTransposeBackwardResult run_backward(const BackwardProblem& p, Grads& g,
                                              const ConvTransposeOptions& opt, int threads,
                                              bool want_x = true, bool want_w = true,
                                              bool want_b = true) {
  ups::Context ctx(ups::Device::kCPU);
  ctx.set_num_threads(threads);
  const ups::TensorView vx = g.gx.view(), vw = g.gw.view(), vb = g.gb.view();
  return ups::conv_transpose_backward(ctx, p.gy.view(), p.x.view(), p.w.view(),
                                      want_x ? &vx : nullptr, want_w ? &vw : nullptr,
                                      want_b ? &vb : nullptr, opt);
}

Shape shape_of(const std::map<std::string, std::string>& f, const char* key) {
  return ups_test::parse_list(f.at(key));
}

}  // namespace

TEST_CASE("conv_transpose_backward matches PyTorch autograd goldens",
          "[conv_transpose][backward]") {
  const auto cases = load_backward();
  REQUIRE(cases.size() >= 50);
  for (const BackwardGolden& c : cases) {
    const Shape in = shape_of(c.f, "input"), w = shape_of(c.f, "weight"),
                out = shape_of(c.f, "out");
    const std::uint64_t seed = std::stoull(c.f.at("seed"));
    ConvTransposeOptions opt = ups_test::options_from(c.f);
    INFO("case " << c.f.at("name"));
    REQUIRE(ups::conv_transpose_output_shape(in, w, opt) == out);
    for (DType dtype : {DType::kF64, DType::kF32, DType::kF16, DType::kBF16}) {
      for (Layout layout : {Layout::kContiguous, Layout::kChannelsLast}) {
        for (ConvTransposeAlgo algo : {ConvTransposeAlgo::kAuto, ConvTransposeAlgo::kGather}) {
          INFO(ups::to_string(dtype)
               << " " << ups_test::to_string(layout) << " " << ups::to_string(algo));
          const BackwardProblem p = make_backward(in, w, out, dtype, layout, seed, true);
          Grads g = make_grads(p, dtype, layout);
          opt.algorithm = algo;
          const auto r = run_backward(p, g, opt, 3);
          for (const auto* part : {&r.grad_input, &r.grad_weight, &r.grad_bias}) {
            if (algo == ConvTransposeAlgo::kAuto) {
              CHECK((part->algorithm == ConvTransposeAlgo::kGemm ||
                     part->algorithm == ConvTransposeAlgo::kOnednn));
            } else {
              CHECK(part->algorithm == algo);
            }
          }
          CHECK(ups_test::check_against(g.gx, c.gx) == "");
          CHECK(ups_test::check_against(g.gw, c.gw) == "");
          CHECK(ups_test::check_against(g.gb, c.gb) == "");
        }
      }
    }
  }
}

TEST_CASE("conv_transpose_backward gemm equals the reference bodies on random problems",
          "[conv_transpose][backward]") {
  std::mt19937_64 rng(4242);
  auto pick = [&](int lo, int hi) {
    return static_cast<std::int64_t>(std::uniform_int_distribution<int>(lo, hi)(rng));
  };
  int made = 0;
  while (made < 60) {
    const int sp = static_cast<int>(pick(1, 3));
    const std::int64_t groups = pick(1, 3), cin_g = pick(1, 5), cout_g = pick(1, 5);
    Shape in = {pick(0, 3), groups * cin_g}, w = {groups * cin_g, cout_g};
    ConvTransposeOptions opt;
    opt.stride.clear();
    opt.padding.clear();
    opt.dilation.clear();
    opt.output_padding.clear();
    for (int d = 0; d < sp; ++d) {
      in.push_back(pick(1, sp == 3 ? 5 : 12));
      w.push_back(pick(1, 4));
      opt.stride.push_back(pick(1, 3));
      opt.dilation.push_back(pick(1, 2));
      opt.padding.push_back(pick(0, 2));
      opt.output_padding.push_back(pick(0, std::max(opt.stride.back(), opt.dilation.back()) - 1));
    }
    opt.groups = groups;
    Shape out;
    try {
      out = ups::conv_transpose_output_shape(in, w, opt);
    } catch (const ups::Error&) {
      continue;  // an output size below 1
    }
    ++made;
    const DType dtype = made % 3 == 0 ? DType::kF32 : DType::kF64;
    const Layout layout = made % 2 == 0 ? Layout::kChannelsLast : Layout::kContiguous;
    INFO("problem " << made << " input " << ups::shape_to_string(in) << " weight "
                    << ups::shape_to_string(w) << " " << ups::to_string(dtype));
    const BackwardProblem p = make_backward(in, w, out, dtype, layout, 77 + made, false);
    Grads ref = make_grads(p, dtype, Layout::kContiguous);
    Grads fast = make_grads(p, dtype, layout);
    opt.algorithm = ConvTransposeAlgo::kGather;
    run_backward(p, ref, opt, 2);
    opt.algorithm = ConvTransposeAlgo::kGemm;
    run_backward(p, fast, opt, 2);
    const double rtol = dtype == DType::kF64 ? 1e-12 : 2e-5;
    CHECK(ups_test::compare(fast.gx, ref.gx, rtol, rtol) == "");
    CHECK(ups_test::compare(fast.gw, ref.gw, rtol, rtol * 10) == "");
    CHECK(ups_test::compare(fast.gb, ref.gb, rtol, rtol * 10) == "");
  }
}

TEST_CASE("conv_transpose_backward is deterministic across runs and thread counts",
          "[conv_transpose][backward][determinism]") {
  ConvTransposeOptions opt;
  opt.stride = {2};
  opt.padding = {1};
  const Shape in = {3, 8, 13, 11}, w = {8, 6, 4, 4};
  const Shape out = ups::conv_transpose_output_shape(in, w, opt);
  for (DType dtype : {DType::kF32, DType::kBF16}) {
    for (ConvTransposeAlgo algo : {ConvTransposeAlgo::kGemm, ConvTransposeAlgo::kGather}) {
      INFO(ups::to_string(dtype) << " " << ups::to_string(algo));
      opt.algorithm = algo;
      const BackwardProblem p = make_backward(in, w, out, dtype, Layout::kContiguous, 9, false);
      Grads first = make_grads(p, dtype, Layout::kContiguous);
      run_backward(p, first, opt, 1);
      for (int run = 0; run < 20; ++run) {
        const int threads = 1 + run % 4;
        Grads again = make_grads(p, dtype, Layout::kContiguous);
        run_backward(p, again, opt, threads);
        INFO("run " << run << " threads " << threads);
        REQUIRE(ups_test::compare_bitwise(again.gx, first.gx) == "");
        REQUIRE(ups_test::compare_bitwise(again.gw, first.gw) == "");
        REQUIRE(ups_test::compare_bitwise(again.gb, first.gb) == "");
      }
    }
  }
}

TEST_CASE("conv_transpose_backward writes only the requested gradients, into strided views",
          "[conv_transpose][backward]") {
  ConvTransposeOptions opt;
  opt.stride = {2, 3};
  opt.dilation = {2, 1};
  opt.groups = 2;
  const Shape in = {2, 4, 5, 6}, w = {4, 3, 3, 2};
  const Shape out = ups::conv_transpose_output_shape(in, w, opt);
  const BackwardProblem p = make_backward(in, w, out, DType::kF64, Layout::kContiguous, 5, false);
  Grads ref = make_grads(p, DType::kF64, Layout::kContiguous);
  opt.algorithm = ConvTransposeAlgo::kGather;
  run_backward(p, ref, opt, 1);

  // grad_weight alone, into every other element of a larger buffer.
  std::vector<double> buf(2 * 4 * 3 * 3 * 2, -7.0);
  ups::TensorView gw = ups::TensorView::contiguous(buf.data(), DType::kF64, ups::Device::kCPU, w);
  for (int d = 0; d < 4; ++d)
    gw.strides[d] *= 2;
  ups::Context ctx(ups::Device::kCPU);
  opt.algorithm = ConvTransposeAlgo::kAuto;
  const auto r = ups::conv_transpose_backward(ctx, p.gy.view(), p.x.view(), p.w.view(), nullptr,
                                              &gw, nullptr, opt);
  CHECK(r.grad_input.algorithm == ConvTransposeAlgo::kAuto);
  CHECK(r.grad_bias.algorithm == ConvTransposeAlgo::kAuto);
  CHECK(r.grad_weight.algorithm == ConvTransposeAlgo::kGemm);
  for (std::int64_t i = 0; i < ref.gw.numel(); ++i) {
    CHECK(buf[static_cast<std::size_t>(2 * i)] == Approx(ref.gw.get(i)).epsilon(1e-12));
    CHECK(buf[static_cast<std::size_t>(2 * i + 1)] == -7.0);  // the gaps stay untouched
  }

  // grad_input and grad_bias alone: grad_weight stays NaN.
  Grads g = make_grads(p, DType::kF64, Layout::kChannelsLast);
  run_backward(p, g, opt, 2, true, false, true);
  CHECK(ups_test::compare(g.gx, ref.gx, 1e-12, 1e-12) == "");
  CHECK(ups_test::compare(g.gb, ref.gb, 1e-12, 1e-12) == "");
  CHECK(std::isnan(g.gw.get(0)));
}

TEST_CASE("conv_transpose_backward with an empty batch gives zero weight and bias gradients",
          "[conv_transpose][backward]") {
  ConvTransposeOptions opt;
  opt.stride = {2};
  const Shape in = {0, 3, 4, 4}, w = {3, 2, 3, 3};
  const Shape out = ups::conv_transpose_output_shape(in, w, opt);
  for (ConvTransposeAlgo algo : {ConvTransposeAlgo::kAuto, ConvTransposeAlgo::kGather}) {
    opt.algorithm = algo;
    const BackwardProblem p = make_backward(in, w, out, DType::kF32, Layout::kContiguous, 1, false);
    Grads g = make_grads(p, DType::kF32, Layout::kContiguous);
    run_backward(p, g, opt, 2);
    for (std::int64_t i = 0; i < g.gw.numel(); ++i)
      CHECK(g.gw.get(i) == 0.0);
    for (std::int64_t i = 0; i < g.gb.numel(); ++i)
      CHECK(g.gb.get(i) == 0.0);
  }
}

TEST_CASE("conv_transpose_backward argument errors", "[conv_transpose][backward][errors]") {
  ConvTransposeOptions opt;
  opt.stride = {2};
  const Shape in = {1, 4, 3, 3}, w = {4, 2, 2, 2};
  const Shape out = ups::conv_transpose_output_shape(in, w, opt);
  const BackwardProblem p = make_backward(in, w, out, DType::kF32, Layout::kContiguous, 3, false);
  ups::Context ctx(ups::Device::kCPU);
  auto message = [&](const ups::TensorView& gy, const ups::TensorView* gx,
                     const ups::TensorView* gw, const ups::TensorView* gb,
                     const ConvTransposeOptions& o) -> std::string {
    try {
      ups::conv_transpose_backward(ctx, gy, p.x.view(), p.w.view(), gx, gw, gb, o);
    } catch (const ups::Error& e) {
      return e.what();
    }
    return "no error";
  };
  Grads g = make_grads(p, DType::kF32, Layout::kContiguous);
  const ups::TensorView gx = g.gx.view(), gw = g.gw.view(), gb = g.gb.view();

  HostTensor wrong_gy(DType::kF32, {1, 2, 7, 6});
  CHECK_THAT(message(wrong_gy.view(), &gx, nullptr, nullptr, opt),
             Catch::Contains("expected grad_output of shape [1, 2, 6, 6] but got [1, 2, 7, 6]"));
  HostTensor wrong_gx(DType::kF32, {1, 4, 3, 4});
  const ups::TensorView wgx = wrong_gx.view();
  CHECK_THAT(message(p.gy.view(), &wgx, nullptr, nullptr, opt),
             Catch::Contains("expected grad_input of shape [1, 4, 3, 3] (the shape of input)"));
  HostTensor wrong_gb(DType::kF32, {4});
  const ups::TensorView wgb = wrong_gb.view();
  CHECK_THAT(message(p.gy.view(), nullptr, nullptr, &wgb, opt),
             Catch::Contains("expected grad_bias of shape [2] ((C_out)) but got [4]"));
  HostTensor f64_gw(DType::kF64, w);
  const ups::TensorView dgw = f64_gw.view();
  CHECK_THAT(message(p.gy.view(), nullptr, &dgw, nullptr, opt),
             Catch::Contains("grad_weight has dtype f64 but input has dtype f32"));
  // grad_weight aliasing grad_input's memory.
  ups::TensorView alias = gw;
  alias.data = gx.data;
  CHECK_THAT(message(p.gy.view(), &gx, &alias, nullptr, opt), Catch::Contains("overlap"));
  // Writing into grad_output is an overlap too.
  ups::TensorView into_gy = gx;
  into_gy.data = const_cast<void*>(p.gy.view().data);
  CHECK_THAT(message(p.gy.view(), &into_gy, nullptr, nullptr, opt), Catch::Contains("overlap"));

  ConvTransposeOptions bad = opt;
  bad.algorithm = ConvTransposeAlgo::kScatter;
  CHECK_THAT(message(p.gy.view(), &gx, &gw, &gb, bad),
             Catch::Contains("algorithm 'scatter' has no backward form"));
  bad.algorithm = ConvTransposeAlgo::kCudnn;
  CHECK_THAT(message(p.gy.view(), &gx, &gw, &gb, bad),
             Catch::Contains("algorithm 'cudnn' runs only on CUDA"));
  bad = opt;
  bad.stride = {0};
  CHECK_THAT(message(p.gy.view(), &gx, &gw, &gb, bad),
             Catch::Contains("non-positive stride is not supported"));
  // The workspace query validates the same way and needs nothing on the CPU.
  CHECK(ups::conv_transpose_backward_workspace_size(ctx, p.gy.view(), p.x.view(), p.w.view(), &gx,
                                                    &gw, &gb, opt) == 0);
  CHECK_THROWS_AS(ups::conv_transpose_backward_workspace_size(ctx, wrong_gy.view(), p.x.view(),
                                                              p.w.view(), &gx, &gw, &gb, opt),
                  ups::Error);
}

TEST_CASE("conv_transpose_backward onednn matches the goldens where it runs",
          "[conv_transpose][backward][onednn]") {
  if (!ups::build_info().has_onednn) return;
  int ran = 0, declined = 0;
  for (const BackwardGolden& c : load_backward()) {
    const Shape in = shape_of(c.f, "input"), w = shape_of(c.f, "weight"),
                out = shape_of(c.f, "out");
    const std::uint64_t seed = std::stoull(c.f.at("seed"));
    ConvTransposeOptions opt = ups_test::options_from(c.f);
    opt.algorithm = ConvTransposeAlgo::kOnednn;
    for (DType dtype : {DType::kF32, DType::kBF16}) {
      for (Layout layout : {Layout::kContiguous, Layout::kChannelsLast}) {
        INFO("case " << c.f.at("name") << " " << ups::to_string(dtype) << " "
                     << ups_test::to_string(layout));
        const BackwardProblem p = make_backward(in, w, out, dtype, layout, seed, true);
        Grads g = make_grads(p, dtype, layout);
        try {
          const auto r = run_backward(p, g, opt, 2);
          CHECK(r.grad_input.algorithm == ConvTransposeAlgo::kOnednn);
          CHECK(r.grad_weight.algorithm == ConvTransposeAlgo::kOnednn);
          CHECK(ups_test::check_against(g.gx, c.gx) == "");
          CHECK(ups_test::check_against(g.gw, c.gw) == "");
          CHECK(ups_test::check_against(g.gb, c.gb) == "");
          ++ran;
        } catch (const ups::Error& e) {
          CHECK_THAT(e.what(), Catch::Contains("algorithm 'onednn' cannot run this problem"));
          ++declined;
        }
      }
    }
  }
  INFO("oneDNN ran " << ran << " and declined " << declined);
  CHECK(ran > declined);
}

TEST_CASE("conv_transpose_backward onednn's kernel == stride matmul path equals the reference",
          "[conv_transpose][backward][onednn]") {
  // NCHW layers whose kernel equals the stride run both gradients as matmuls over the
  // de-interleaved grad_output: f32 and bf16, 1-D to 3-D, batches of 1 to 3, every subset of the
  // gradients, 1 and 2 threads; rows long enough for the vector de-interleave (kernels up to 4
  // along W) and beyond it (5), on every SIMD target the CPU supports.
  if (!ups::build_info().has_onednn) return;
  std::mt19937_64 rng(99);
  auto pick = [&](int lo, int hi) {
    return static_cast<std::int64_t>(std::uniform_int_distribution<int>(lo, hi)(rng));
  };
  for (int made = 0; made < 36; ++made) {
    const int sp = 1 + made % 3;
    const std::int64_t cin = pick(1, 33), cout = pick(1, 20);
    Shape in = {pick(1, 3), cin}, w = {cin, cout};
    ConvTransposeOptions opt;
    opt.stride.clear();
    for (int d = 0; d < sp; ++d) {
      const bool last = d == sp - 1;
      in.push_back(last ? pick(1, 40) : pick(1, sp == 3 ? 5 : 15));
      w.push_back(last ? pick(1, 5) : pick(1, 3));
      opt.stride.push_back(w.back());
    }
    const Shape out = ups::conv_transpose_output_shape(in, w, opt);
    const DType dtype = (made / 3) % 2 == 0 ? DType::kF32 : DType::kBF16;
    INFO("problem " << made << " input " << ups::shape_to_string(in) << " weight "
                    << ups::shape_to_string(w) << " " << ups::to_string(dtype));
    const BackwardProblem p =
        make_backward(in, w, out, dtype, Layout::kContiguous, 500 + made, false);
    Grads ref = make_grads(p, dtype, Layout::kContiguous);
    const bool want_x = made % 4 != 1, want_w = made % 4 != 2, want_b = made % 4 != 3;
    opt.algorithm = ConvTransposeAlgo::kGather;
    run_backward(p, ref, opt, 1);
    ups_test::for_each_simd_target([&](const std::string& target) {
      INFO("SIMD target " << target);
      Grads fast = make_grads(p, dtype, Layout::kContiguous);
      opt.algorithm = ConvTransposeAlgo::kOnednn;
      const auto r = run_backward(p, fast, opt, 1 + made % 2, want_x, want_w, want_b);
      if (want_x) CHECK(r.grad_input.algorithm == ConvTransposeAlgo::kOnednn);
      if (want_w) CHECK(r.grad_weight.algorithm == ConvTransposeAlgo::kOnednn);
      const double rtol = dtype == DType::kF32 ? 2e-5 : 2e-2;
      if (want_x) CHECK(ups_test::compare(fast.gx, ref.gx, rtol, rtol) == "");
      if (want_w) CHECK(ups_test::compare(fast.gw, ref.gw, rtol, rtol * 10) == "");
      if (want_b) CHECK(ups_test::compare(fast.gb, ref.gb, rtol, rtol * 10) == "");
    });
  }
}

TEST_CASE("conv_transpose_backward onednn's blocked-layout variant equals the reference",
          "[conv_transpose][backward][onednn]") {
  // DCGAN-like layers (kernel > stride, >= 32 channels in and out, batch >= 4, NCHW) run the
  // backward primitives on reordered blocked copies; 2-D and 3-D, f32 and bf16.
  if (!ups::build_info().has_onednn) return;
  struct Layer {
    Shape in, w;
    std::vector<std::int64_t> stride, padding;
  };
  for (const Layer& l : {Layer{{4, 32, 5, 6}, {32, 33, 4, 4}, {2}, {1}},
                         Layer{{5, 40, 3, 4}, {40, 32, 3, 5}, {2, 3}, {1, 0}},
                         Layer{{4, 32, 2, 3, 3}, {32, 32, 3, 3, 3}, {2}, {1}}}) {
    for (DType dtype : {DType::kF32, DType::kBF16}) {
      ConvTransposeOptions opt;
      opt.stride = l.stride;
      opt.padding = l.padding;
      const Shape out = ups::conv_transpose_output_shape(l.in, l.w, opt);
      INFO("input " << ups::shape_to_string(l.in) << " " << ups::to_string(dtype));
      const BackwardProblem p =
          make_backward(l.in, l.w, out, dtype, Layout::kContiguous, 31, false);
      Grads ref = make_grads(p, dtype, Layout::kContiguous);
      Grads fast = make_grads(p, dtype, Layout::kContiguous);
      opt.algorithm = ConvTransposeAlgo::kGather;
      run_backward(p, ref, opt, 1);
      opt.algorithm = ConvTransposeAlgo::kOnednn;
      const auto r = run_backward(p, fast, opt, 2);
      CHECK(r.grad_input.algorithm == ConvTransposeAlgo::kOnednn);
      CHECK(r.grad_weight.algorithm == ConvTransposeAlgo::kOnednn);
      const double rtol = dtype == DType::kF32 ? 2e-5 : 2e-2;
      CHECK(ups_test::compare(fast.gx, ref.gx, rtol, rtol) == "");
      CHECK(ups_test::compare(fast.gw, ref.gw, rtol, rtol * 10) == "");
      CHECK(ups_test::compare(fast.gb, ref.gb, rtol, rtol * 10) == "");
    }
  }
}
