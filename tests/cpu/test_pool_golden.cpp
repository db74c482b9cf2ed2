// ups::max_pool and ups::max_unpool on the CPU against golden outputs of PyTorch's CPU kernels
// (tests/golden/pool.{txt,bin}, written by scripts/gen_golden_pool.py). Every comparison is bit
// for bit: max pooling selects input elements (PyTorch's f16/bf16 NaN conversion aside, which
// the goldens contain), indices are integers and unpooling moves bits.
//
// Each case runs with contiguous tensors, channels-last tensors (ranks 3 to 5), contiguous input
// with channels-last output and, for a subset, views with gaps between the elements. Outputs are
// pre-filled with two different byte patterns so that an element the op fails to write is
// caught. A subset also runs on 3 threads with the batch replicated until the work is large
// enough for the CPU backend to split it (16384 elements per chunk), so that chunk boundaries
// fall inside planes.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "pool_golden.hpp"
#include "test_support.hpp"
#include "ups/context.hpp"
#include "ups/error.hpp"
#include "ups/max_pool.hpp"
#include "ups/max_unpool.hpp"

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
  static const std::vector<GoldenCase> c = ups_pool_test::load_cases("pool");
  return c;
}
const std::vector<unsigned char>& blob() {
  static const std::vector<unsigned char> b = ups_pool_test::load_blob("pool");
  return b;
}

bool layouts_ok(const ups::Shape& s, std::pair<Layout, Layout> l) {
  return layout_ok(s, l.first) && layout_ok(s, l.second);
}

std::string join(const std::string& a, const std::string& b) {
  if (a.empty()) return b;
  if (b.empty()) return a;
  return a + "; " + b;
}

// ---- max_pool ---------------------------------------------------------------------------------

std::string run_pool(const GoldenCase& c, const HostTensor& in, const HostTensor& want_v,
                     const HostTensor& want_i, Layout in_layout, Layout out_layout, int threads,
                     unsigned char fill) {
  const HostTensor src = in.to_layout(in_layout);
  HostTensor dst(c.dtype, want_v.shape(), out_layout);
  HostTensor idx(ups::DType::kI64, want_v.shape(), out_layout);
  ups_pool_test::fill_bytes(dst, fill);
  ups_pool_test::fill_bytes(idx, fill);
  ups::Context ctx(ups::Device::kCPU);
  ctx.set_num_threads(threads);
  ups::max_pool(ctx, src.view(), dst.view(), idx.view(), pool_options(c));
  const std::string values = ups_test::compare_bitwise(dst, want_v);
  const std::string positions = ups_test::compare_bitwise(idx, want_i);
  return join(values, positions.empty() ? "" : "indices: " + positions);
}

std::string run_pool_gapped(const GoldenCase& c, const HostTensor& in, const HostTensor& want_v,
                            const HostTensor& want_i) {
  GappedTensor src(c.dtype, in.shape());
  src.assign(in);
  GappedTensor dst(c.dtype, want_v.shape(), 0x5A);
  GappedTensor idx(ups::DType::kI64, want_v.shape(), 0x5A);
  ups::Context ctx(ups::Device::kCPU);
  ups::max_pool(ctx, src.view(), dst.view(), idx.view(), pool_options(c));
  std::string err = join(ups_test::compare_bitwise(dst.values(), want_v),
                         ups_test::compare_bitwise(idx.values(), want_i));
  if (!dst.gaps_hold(0x5A) || !idx.gaps_hold(0x5A)) err = join(err, "wrote between elements");
  return err;
}

TEST_CASE("max_pool matches PyTorch goldens bit for bit", "[max_pool][golden]") {
  const auto& b = blob();
  int ran = 0, index = 0;
  for (const GoldenCase& c : cases()) {
    if (c.op != "max_pool") continue;
    ++index;
    INFO(c.line);
    const HostTensor in = ups_pool_test::golden_tensor(b, c.in, c.dtype, c.in_shape);
    const HostTensor want_v = ups_pool_test::golden_tensor(b, c.out, c.dtype, c.out_shape);
    const HostTensor want_i = ups_pool_test::golden_tensor(b, c.idx, ups::DType::kI64, c.out_shape);
    CHECK(ups::max_pool_output_shape(c.in_shape, pool_options(c)) == c.out_shape);
    const Layout kC = Layout::kContiguous, kCL = Layout::kChannelsLast;
    const std::pair<Layout, Layout> combos[] = {{kC, kC}, {kCL, kCL}, {kC, kCL}};
    for (const auto& lc : combos) {
      if (!layouts_ok(c.in_shape, lc)) continue;
      INFO(ups_test::to_string(lc.first) << " -> " << ups_test::to_string(lc.second));
      CHECK(run_pool(c, in, want_v, want_i, lc.first, lc.second, 1, 0xFF) == "");
      CHECK(run_pool(c, in, want_v, want_i, lc.first, lc.second, 1, 0x00) == "");
    }
    if (index % 3 == 0) CHECK(run_pool_gapped(c, in, want_v, want_i) == "");
    if (index % 5 == 0 && !c.unbatched) {
      const std::int64_t rep = std::max<std::int64_t>(1, kThreadedElements / want_v.numel() + 1);
      const HostTensor in_r = ups_pool_test::repeat_batch(in, rep);
      const HostTensor v_r = ups_pool_test::repeat_batch(want_v, rep);
      const HostTensor i_r = ups_pool_test::repeat_batch(want_i, rep);
      INFO("3 threads, batch x" << rep);
      const Layout l = layout_ok(c.in_shape, Layout::kChannelsLast) ? Layout::kChannelsLast
                                                                    : Layout::kContiguous;
      CHECK(run_pool(c, in_r, v_r, i_r, Layout::kContiguous, l, 3, 0xFF) == "");
      CHECK(run_pool(c, in_r, v_r, i_r, l, Layout::kContiguous, 3, 0xFF) == "");
    }
    ++ran;
  }
  CHECK(ran > 400);  // the manifest was read
}

// ---- max_unpool -------------------------------------------------------------------------------

std::string run_unpool(const GoldenCase& c, const HostTensor& in, const HostTensor& idx_in,
                       const HostTensor& want, Layout in_layout, Layout out_layout, int threads,
                       unsigned char fill, bool deterministic) {
  const HostTensor src = in.to_layout(in_layout);
  const HostTensor idx = idx_in.to_layout(in_layout);
  HostTensor dst(c.dtype, want.shape(), out_layout);
  ups_pool_test::fill_bytes(dst, fill);
  ups::Context ctx(ups::Device::kCPU);
  ctx.set_num_threads(threads);
  ctx.set_deterministic(deterministic);
  ups::max_unpool(ctx, src.view(), idx.view(), dst.view(), unpool_options(c));
  return ups_test::compare_bitwise(dst, want);
}

std::string run_unpool_gapped(const GoldenCase& c, const HostTensor& in, const HostTensor& idx_in,
                              const HostTensor& want) {
  GappedTensor src(c.dtype, in.shape());
  src.assign(in);
  GappedTensor idx(ups::DType::kI64, in.shape());
  idx.assign(idx_in);
  GappedTensor dst(c.dtype, want.shape(), 0x77);
  // Elements and gaps both start as 0x77; the op must zero every element and no gap.
  ups::Context ctx(ups::Device::kCPU);
  ups::max_unpool(ctx, src.view(), idx.view(), dst.view(), unpool_options(c));
  std::string err = ups_test::compare_bitwise(dst.values(), want);
  if (!dst.gaps_hold(0x77)) err = join(err, "wrote between elements");
  return err;
}

TEST_CASE("max_unpool matches PyTorch goldens bit for bit", "[max_unpool][golden]") {
  const auto& b = blob();
  int ran = 0, index = 0;
  for (const GoldenCase& c : cases()) {
    if (c.op != "max_unpool" || !c.error.empty()) continue;
    ++index;
    INFO(c.line);
    const HostTensor in = ups_pool_test::golden_tensor(b, c.in, c.dtype, c.in_shape);
    const HostTensor idx = ups_pool_test::golden_tensor(b, c.idx, ups::DType::kI64, c.in_shape);
    const HostTensor want = ups_pool_test::golden_tensor(b, c.out, c.dtype, c.out_shape);
    CHECK(ups::max_unpool_output_shape(c.in_shape, unpool_options(c)) == c.out_shape);
    const Layout kC = Layout::kContiguous, kCL = Layout::kChannelsLast;
    const std::pair<Layout, Layout> combos[] = {{kC, kC}, {kCL, kCL}, {kCL, kC}};
    for (const auto& lc : combos) {
      if (!layouts_ok(c.in_shape, lc)) continue;
      INFO(ups_test::to_string(lc.first) << " -> " << ups_test::to_string(lc.second));
      CHECK(run_unpool(c, in, idx, want, lc.first, lc.second, 1, 0xFF, false) == "");
      CHECK(run_unpool(c, in, idx, want, lc.first, lc.second, 1, 0x3C, true) == "");
    }
    CHECK(run_unpool_gapped(c, in, idx, want) == "");
    if (index % 2 == 0 && !c.unbatched) {
      const std::int64_t rep = std::max<std::int64_t>(1, kThreadedElements / in.numel() + 1);
      INFO("3 threads, batch x" << rep);
      const HostTensor in_r = ups_pool_test::repeat_batch(in, rep);
      const HostTensor idx_r = ups_pool_test::repeat_batch(idx, rep);
      const HostTensor want_r = ups_pool_test::repeat_batch(want, rep);
      CHECK(run_unpool(c, in_r, idx_r, want_r, Layout::kContiguous, Layout::kContiguous, 3, 0xFF,
                       false) == "");
      if (layout_ok(c.in_shape, Layout::kChannelsLast)) {
        CHECK(run_unpool(c, in_r, idx_r, want_r, Layout::kChannelsLast, Layout::kChannelsLast, 3,
                         0xFF, false) == "");
      }
    }
    ++ran;
  }
  CHECK(ran > 100);
}

TEST_CASE("max_unpool reports PyTorch's invalid-index error", "[max_unpool][golden]") {
  const auto& b = blob();
  int ran = 0;
  for (const GoldenCase& c : cases()) {
    if (c.op != "max_unpool" || c.error.empty()) continue;
    INFO(c.line);
    const HostTensor in = ups_pool_test::golden_tensor(b, c.in, c.dtype, c.in_shape);
    const HostTensor idx_c = ups_pool_test::golden_tensor(b, c.idx, ups::DType::kI64, c.in_shape);
    const ups::MaxUnpoolOptions opt = unpool_options(c);
    const ups::Shape out_shape = ups::max_unpool_output_shape(c.in_shape, opt);
    for (Layout l : {Layout::kContiguous, Layout::kChannelsLast}) {
      if (!layout_ok(c.in_shape, l)) continue;
      INFO(ups_test::to_string(l));
      const HostTensor src = in.to_layout(l);
      const HostTensor idx = idx_c.to_layout(l);
      HostTensor dst(c.dtype, out_shape, l);
      ups::Context ctx(ups::Device::kCPU);
      ctx.set_num_threads(3);
      try {
        ups::max_unpool(ctx, src.view(), idx.view(), dst.view(), opt);
        FAIL("no error");
      } catch (const ups::Error& e) {
        CHECK(e.code() == ups::ErrorCode::kInvalidArgument);
        CHECK(std::string(e.what()) == c.error);
      }
      // Deferred: the op records instead of throwing; the check throws the same error.
      ups::MaxUnpoolStatus status{};
      REQUIRE_NOTHROW(ups::max_unpool(ctx, src.view(), idx.view(), dst.view(), opt, &status));
      CHECK(status.position >= 0);
      try {
        ups::max_unpool_check(ctx, &status);
        FAIL("no error");
      } catch (const ups::Error& e) {
        CHECK(std::string(e.what()) == c.error);
      }
    }
    ++ran;
  }
  CHECK(ran > 10);
}

}  // namespace
