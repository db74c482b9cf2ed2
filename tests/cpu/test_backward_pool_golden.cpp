// The backward passes of max_pool, max_unpool, pixel_shuffle and pixel_unshuffle on the CPU
// against PyTorch autograd (tests/golden/backward_pool.{txt,bin}, written by
// scripts/gen_golden_backward_pool.py).
//
// Tolerances. max_unpool_backward and the shuffles' backward move bits: compared bit for bit.
// max_pool_backward in f32 and f64 is compared bit for bit too: where several windows pick one
// input element (manifest field multi=1), ups adds their gradients in increasing output order,
// starting from zero, which is the order of PyTorch's CPU scatter (grad_input[index] +=
// grad_output over the outputs in order), so the roundings are the same. f16 and bf16 are bit
// for bit where multi=0 (each element is one gradient, copied, or 0); where multi=1 ups adds in
// f32 and rounds once, whereas PyTorch rounds after every addition: with at most 27 terms drawn
// from N(0, 1) (|g| < 6), the difference stays below the bound used, 4 * eps * |expected| +
// 8 * eps (eps the dtype's machine epsilon; observed: one unit in the last place). A missing or
// extra term (a gradient of typical size 0.1 to 2) exceeds it, except for gradients below
// 8 * eps.
// Each case also runs channels-last, with grad_input channels-last and the others contiguous,
// with views that have gaps between elements, and (a subset) on 3 threads with the batch
// replicated so that chunk boundaries fall inside planes.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "pool_golden.hpp"
#include "test_support.hpp"
#include "ups/context.hpp"
#include "ups/error.hpp"
#include "ups/max_pool.hpp"
#include "ups/max_unpool.hpp"
#include "ups/pixel_shuffle.hpp"

namespace {

using ups_pool_test::GappedTensor;
using ups_pool_test::GoldenCase;
using ups_pool_test::layout_ok;
using ups_pool_test::pool_options;
using ups_pool_test::unpool_options;
using ups_test::HostTensor;
using ups_test::Layout;

constexpr std::int64_t kThreadedElements = 3 * 16384 + 7;

const std::vector<GoldenCase>& cases() {
  static const std::vector<GoldenCase> c = ups_pool_test::load_cases("backward_pool");
  return c;
}
const std::vector<unsigned char>& blob() {
  static const std::vector<unsigned char> b = ups_pool_test::load_blob("backward_pool");
  return b;
}

double eps_of(ups::DType t) {
  switch (t) {
    case ups::DType::kF64:
      return std::ldexp(1.0, -52);
    case ups::DType::kF16:
      return std::ldexp(1.0, -10);
    case ups::DType::kBF16:
      return std::ldexp(1.0, -7);
    default:
      return std::ldexp(1.0, -23);
  }
}

std::string join(const std::string& a, const std::string& b) {
  if (a.empty()) return b;
  if (b.empty()) return a;
  return a + "; " + b;
}

// Loads the case's three tensors.
struct Tensors {
  HostTensor grad_out, idx, want;
};

Tensors load(const GoldenCase& c, bool with_idx) {
  const auto& b = blob();
  Tensors t;
  t.grad_out = ups_pool_test::golden_tensor(b, c.grad_out, c.dtype, c.out_shape);
  t.want = ups_pool_test::golden_tensor(b, c.grad_in, c.dtype, c.in_shape);
  if (with_idx) {
    const ups::Shape& is = c.op == "max_pool_backward" ? c.out_shape : c.in_shape;
    t.idx = ups_pool_test::golden_tensor(b, c.idx, ups::DType::kI64, is);
  }
  return t;
}

std::string compare_grad(const GoldenCase& c, const HostTensor& got, const HostTensor& want) {
  const bool half = c.dtype == ups::DType::kF16 || c.dtype == ups::DType::kBF16;
  if (!c.multi || !half) return ups_test::compare_bitwise(got, want);
  const double eps = eps_of(c.dtype);
  return ups_test::compare(got, want, 4 * eps, 8 * eps);
}

// ---- max_pool_backward ------------------------------------------------------------------------

struct PoolLayouts {
  Layout grad, idx, gin;
};

std::string run_pool(const GoldenCase& c, const Tensors& t, const PoolLayouts& l, int threads,
                     unsigned char fill) {
  const HostTensor go = t.grad_out.to_layout(l.grad);
  const HostTensor idx = t.idx.to_layout(l.idx);
  HostTensor gin(c.dtype, t.want.shape(), l.gin);
  ups_pool_test::fill_bytes(gin, fill);
  ups::Context ctx(ups::Device::kCPU);
  ctx.set_num_threads(threads);
  ups::max_pool_backward(ctx, go.view(), idx.view(), gin.view(), pool_options(c));
  return compare_grad(c, gin, t.want);
}

std::string run_pool_gapped(const GoldenCase& c, const Tensors& t) {
  GappedTensor go(c.dtype, t.grad_out.shape());
  go.assign(t.grad_out);
  GappedTensor idx(ups::DType::kI64, t.idx.shape());
  idx.assign(t.idx);
  GappedTensor gin(c.dtype, t.want.shape(), 0x5A);
  ups::max_pool_backward(ups::Context(ups::Device::kCPU), go.view(), idx.view(), gin.view(),
                         pool_options(c));
  std::string err = compare_grad(c, gin.values(), t.want);
  if (!gin.gaps_hold(0x5A)) err = join(err, "wrote between elements");
  return err;
}

TEST_CASE("max_pool_backward matches PyTorch autograd", "[backward][max_pool][golden]") {
  int ran = 0, multi = 0, index = 0;
  for (const GoldenCase& c : cases()) {
    if (c.op != "max_pool_backward") continue;
    ++index;
    INFO(c.line);
    const Tensors t = load(c, true);
    const Layout kC = Layout::kContiguous, kCL = Layout::kChannelsLast;
    const PoolLayouts combos[] = {{kC, kC, kC}, {kCL, kCL, kCL}, {kC, kC, kCL}, {kCL, kC, kC}};
    for (const PoolLayouts& l : combos) {
      if (!layout_ok(c.in_shape, l.grad) || !layout_ok(c.in_shape, l.gin)) continue;
      INFO("grad_output " << ups_test::to_string(l.grad) << ", indices "
                          << ups_test::to_string(l.idx) << ", grad_input "
                          << ups_test::to_string(l.gin));
      CHECK(run_pool(c, t, l, 1, 0xFF) == "");
      CHECK(run_pool(c, t, l, 1, 0x00) == "");
    }
    CHECK(run_pool_gapped(c, t) == "");
    if (index % 3 == 0 && !c.unbatched) {
      const std::int64_t rep = std::max<std::int64_t>(1, kThreadedElements / t.want.numel() + 1);
      Tensors r;
      r.grad_out = ups_pool_test::repeat_batch(t.grad_out, rep);
      r.idx = ups_pool_test::repeat_batch(t.idx, rep);
      r.want = ups_pool_test::repeat_batch(t.want, rep);
      INFO("3 threads, batch x" << rep);
      CHECK(run_pool(c, r, {kC, kC, kC}, 3, 0xFF) == "");
      if (layout_ok(c.in_shape, kCL)) CHECK(run_pool(c, r, {kCL, kCL, kCL}, 3, 0xFF) == "");
    }
    multi += c.multi ? 1 : 0;
    ++ran;
  }
  CHECK(ran > 100);   // the manifest was read
  CHECK(multi > 30);  // and has overlapping windows that pick one element several times
}

// ---- max_unpool_backward ----------------------------------------------------------------------

std::string run_unpool(const GoldenCase& c, const Tensors& t, Layout in_layout, Layout out_layout,
                       int threads, bool deterministic) {
  const HostTensor go = t.grad_out.to_layout(out_layout);
  const HostTensor idx = t.idx.to_layout(in_layout);
  HostTensor gin(c.dtype, t.want.shape(), in_layout);
  ups_pool_test::fill_bytes(gin, 0xFF);
  ups::Context ctx(ups::Device::kCPU);
  ctx.set_num_threads(threads);
  ctx.set_deterministic(deterministic);
  ups::max_unpool_backward(ctx, go.view(), idx.view(), gin.view(), unpool_options(c));
  return ups_test::compare_bitwise(gin, t.want);
}

TEST_CASE("max_unpool_backward matches PyTorch autograd bit for bit",
          "[backward][max_unpool][golden]") {
  int ran = 0;
  for (const GoldenCase& c : cases()) {
    if (c.op != "max_unpool_backward") continue;
    INFO(c.line);
    const Tensors t = load(c, true);
    CHECK(ups::max_unpool_output_shape(c.in_shape, unpool_options(c)) == c.out_shape);
    const Layout kC = Layout::kContiguous, kCL = Layout::kChannelsLast;
    for (auto lc : {std::make_pair(kC, kC), std::make_pair(kCL, kCL), std::make_pair(kCL, kC)}) {
      if (!layout_ok(c.in_shape, lc.first)) continue;
      INFO(ups_test::to_string(lc.first) << " / " << ups_test::to_string(lc.second));
      CHECK(run_unpool(c, t, lc.first, lc.second, 1, false) == "");
      CHECK(run_unpool(c, t, lc.first, lc.second, 1, true) == "");
    }
    {
      GappedTensor go(c.dtype, t.grad_out.shape());
      go.assign(t.grad_out);
      GappedTensor idx(ups::DType::kI64, t.idx.shape());
      idx.assign(t.idx);
      GappedTensor gin(c.dtype, t.want.shape(), 0x77);
      ups::max_unpool_backward(ups::Context(ups::Device::kCPU), go.view(), idx.view(), gin.view(),
                               unpool_options(c));
      CHECK(ups_test::compare_bitwise(gin.values(), t.want) == "");
      CHECK(gin.gaps_hold(0x77));
    }
    if (!c.unbatched) {
      const std::int64_t rep = std::max<std::int64_t>(1, kThreadedElements / t.want.numel() + 1);
      Tensors r;
      r.grad_out = ups_pool_test::repeat_batch(t.grad_out, rep);
      r.idx = ups_pool_test::repeat_batch(t.idx, rep);
      r.want = ups_pool_test::repeat_batch(t.want, rep);
      INFO("3 threads, batch x" << rep);
      CHECK(run_unpool(c, r, kC, kC, 3, false) == "");
    }
    ++ran;
  }
  CHECK(ran > 40);
}

// ---- pixel_shuffle_backward / pixel_unshuffle_backward ----------------------------------------

TEST_CASE("pixel_shuffle_backward and pixel_unshuffle_backward match PyTorch autograd",
          "[backward][pixel_shuffle][golden]") {
  int ran = 0;
  for (const GoldenCase& c : cases()) {
    const bool shuffle = c.op == "pixel_shuffle_backward";
    if (!shuffle && c.op != "pixel_unshuffle_backward") continue;
    INFO(c.line);
    const Tensors t = load(c, false);
    const auto run = [&](const ups::TensorView& go, const ups::TensorView& gi) {
      const ups::Context ctx(ups::Device::kCPU);
      if (shuffle) {
        ups::pixel_shuffle_backward(ctx, go, gi, c.factor);
      } else {
        ups::pixel_unshuffle_backward(ctx, go, gi, c.factor);
      }
    };
    for (Layout l : {Layout::kContiguous, Layout::kChannelsLast}) {
      if (!layout_ok(c.in_shape, l) || c.in_shape.size() < 4) {
        if (l != Layout::kContiguous) continue;
      }
      INFO(ups_test::to_string(l));
      const HostTensor go = t.grad_out.to_layout(l);
      HostTensor gin(c.dtype, t.want.shape(), l);
      ups_pool_test::fill_bytes(gin, 0xFF);
      run(go.view(), gin.view());
      CHECK(ups_test::compare_bitwise(gin, t.want) == "");
    }
    GappedTensor go(c.dtype, t.grad_out.shape());
    go.assign(t.grad_out);
    GappedTensor gin(c.dtype, t.want.shape(), 0x33);
    run(go.view(), gin.view());
    CHECK(ups_test::compare_bitwise(gin.values(), t.want) == "");
    CHECK(gin.gaps_hold(0x33));
    ++ran;
  }
  CHECK(ran == 72);
}

}  // namespace
