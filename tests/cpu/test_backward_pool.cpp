// The backward passes of max_pool, max_unpool and the pixel shuffles on the CPU: the window
// cover math against a brute-force enumeration, max_pool_backward against a scatter oracle on
// random configurations in every dtype (gradients are small integers, so every sum is exact in
// every dtype and the comparison is bit for bit), determinism across runs and thread counts,
// and every error: shapes, dtypes, invalid indices, through the synchronous and the deferred
// index check (against a brute-force enumeration of each window's taps).
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "pool/pool_math.hpp"
#include "test_support.hpp"
#include "ups/context.hpp"
#include "ups/error.hpp"
#include "ups/max_pool.hpp"
#include "ups/max_unpool.hpp"
#include "ups/pixel_shuffle.hpp"

namespace {

using ups::DType;
using ups::ErrorCode;
using ups::Shape;
using ups_test::HostTensor;
using ups_test::Layout;

const DType kAllTypes[] = {DType::kF32, DType::kF64, DType::kF16, DType::kBF16,
                           DType::kU8,  DType::kI32, DType::kI64};

// ---- the cover of one dim ---------------------------------------------------------------------

TEST_CASE("pool_cover_t lists exactly the windows with a tap at a position",
          "[backward][max_pool][math]") {
  int checked = 0;
  for (std::int64_t in = 1; in <= 9; ++in) {
    for (std::int64_t k = 1; k <= 4; ++k) {
      for (std::int64_t s = 1; s <= 4; ++s) {
        for (std::int64_t d = 1; d <= 4; ++d) {
          for (std::int64_t p = 0; p <= ((k - 1) * d + 1) / 2 && p <= k / 2; ++p) {
            for (std::int64_t out = 1; out <= (in + 2 * p) / s + 2; ++out) {
              std::int64_t g = s, b = d;
              while (b != 0) {
                const std::int64_t t = g % b;
                g = b;
                b = t;
              }
              const std::int64_t step = d / g;
              for (std::int64_t pos = 0; pos < in; ++pos) {
                std::vector<std::int64_t> want;
                for (std::int64_t o = 0; o < out; ++o) {
                  for (std::int64_t t = 0; t < k; ++t) {
                    if (o * s - p + t * d == pos) {
                      want.push_back(o);
                      break;
                    }
                  }
                }
                const auto c = ups::kern::pool_cover_t<std::int64_t>(pos, out, k, s, p, d, step);
                std::vector<std::int64_t> got;
                for (std::int64_t j = 0; j < c.count; ++j)
                  got.push_back(c.first + j * c.step);
                INFO("in " << in << " k " << k << " s " << s << " d " << d << " p " << p << " out "
                           << out << " pos " << pos);
                REQUIRE(got == want);
                const auto c32 = ups::kern::pool_cover_t<std::int32_t>(
                    static_cast<std::int32_t>(pos), static_cast<std::int32_t>(out),
                    static_cast<std::int32_t>(k), static_cast<std::int32_t>(s),
                    static_cast<std::int32_t>(p), static_cast<std::int32_t>(d),
                    static_cast<std::int32_t>(step));
                REQUIRE(c32.first == c.first);
                REQUIRE(c32.count == c.count);
                ++checked;
              }
            }
          }
        }
      }
    }
  }
  CHECK(checked > 10000);
}

// ---- max_pool_backward against a scatter oracle -----------------------------------------------

struct PoolConfig {
  Shape shape;
  ups::MaxPoolOptions o;
};

// Whether window o of one dim has a tap inside [0, in).
bool has_tap(std::int64_t o, std::int64_t in, std::int64_t k, std::int64_t s, std::int64_t p,
             std::int64_t d) {
  for (std::int64_t t = 0; t < k; ++t) {
    const std::int64_t x = o * s - p + t * d;
    if (x >= 0 && x < in) return true;
  }
  return false;
}

// grad_input by PyTorch's rule (grad_input[index] += grad_output over the outputs in order),
// skipping windows without an in-bounds tap. Sums in double: exact for the small integers used.
HostTensor scatter_oracle(const PoolConfig& cfg, const HostTensor& gout, const HostTensor& idx) {
  const Shape& in = cfg.shape;
  const int k = static_cast<int>(in.size()) - 2;
  const Shape& out = gout.shape();
  std::int64_t plane_in = 1, plane_out = 1;
  for (int j = 0; j < k; ++j) {
    plane_in *= in[2 + j];
    plane_out *= out[2 + j];
  }
  const auto opt = [&](const std::vector<std::int64_t>& v, int j, std::int64_t def) {
    return v.empty() ? def : v.size() == 1 ? v[0] : v[static_cast<std::size_t>(j)];
  };
  std::vector<double> acc(static_cast<std::size_t>(in[0] * in[1] * plane_in), 0.0);
  for (std::int64_t i = 0; i < gout.numel(); ++i) {
    const std::int64_t plane = i / plane_out;
    std::int64_t rem = i % plane_out;
    bool taps = true;
    for (int j = k - 1; j >= 0; --j) {
      const std::int64_t o = rem % out[2 + j];
      rem /= out[2 + j];
      const std::int64_t kk = opt(cfg.o.kernel_size, j, 1);
      const std::int64_t ss = opt(cfg.o.stride, j, kk);
      taps = taps &&
             has_tap(o, in[2 + j], kk, ss, opt(cfg.o.padding, j, 0), opt(cfg.o.dilation, j, 1));
    }
    if (!taps) continue;
    const auto v = static_cast<std::int64_t>(idx.get(i));
    REQUIRE(v >= 0);
    REQUIRE(v < plane_in);
    acc[static_cast<std::size_t>(plane * plane_in + v)] += gout.get(i);
  }
  HostTensor r(gout.dtype(), in);
  for (std::int64_t i = 0; i < r.numel(); ++i)
    r.set(i, acc[static_cast<std::size_t>(i)]);
  return r;
}

// Small integers (exact sums in every dtype; at most 27 terms of at most 7 stay below 256).
HostTensor small_ints(DType dt, const Shape& shape, std::uint64_t seed, bool non_negative) {
  HostTensor t(dt, shape);
  std::mt19937_64 rng(seed);
  for (std::int64_t i = 0; i < t.numel(); ++i)
    t.set(i, static_cast<double>(rng() % 8) - (non_negative ? 0.0 : 3.0));
  return t;
}

TEST_CASE("max_pool_backward equals a scatter oracle on random configurations",
          "[backward][max_pool]") {
  std::mt19937_64 rng(1234);
  const auto pick = [&](std::int64_t lo, std::int64_t hi) {
    return lo + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(hi - lo + 1));
  };
  int ran = 0;
  for (int trial = 0; trial < 400 && ran < 150; ++trial) {
    PoolConfig cfg;
    const int dims = static_cast<int>(pick(1, 3));
    cfg.shape = {pick(1, 2), pick(1, 3)};
    cfg.o.kernel_size.clear();
    cfg.o.stride.clear();
    cfg.o.padding.clear();
    cfg.o.dilation.clear();
    for (int j = 0; j < dims; ++j) {
      cfg.shape.push_back(pick(1, dims == 3 ? 6 : 9));
      const std::int64_t k = pick(1, 4), d = pick(1, 3);
      cfg.o.kernel_size.push_back(k);
      cfg.o.stride.push_back(pick(1, 3));
      cfg.o.dilation.push_back(d);
      cfg.o.padding.push_back(pick(0, std::min(k / 2, ((k - 1) * d + 1) / 2)));
    }
    cfg.o.ceil_mode = rng() % 2 == 0;
    Shape out;
    try {
      out = ups::max_pool_output_shape(cfg.shape, cfg.o);
    } catch (const ups::Error&) {
      continue;  // output too small
    }
    const DType dt = kAllTypes[ran % 7];
    const bool non_negative = dt == DType::kU8;
    const Layout l = rng() % 2 ? Layout::kChannelsLast : Layout::kContiguous;
    INFO("trial " << trial << " " << ups::shape_to_string(cfg.shape) << " " << ups::to_string(dt)
                  << " " << ups_test::to_string(l));
    // Forward on inputs with many ties (max_pool itself is checked against PyTorch goldens).
    const HostTensor x = small_ints(dt, cfg.shape, rng(), non_negative);
    HostTensor y(dt, out), idx(DType::kI64, out);
    const ups::Context cpu(ups::Device::kCPU);
    ups::max_pool(cpu, x.view(), y.view(), idx.view(), cfg.o);
    const HostTensor gout = small_ints(dt, out, rng(), non_negative);
    const HostTensor want = scatter_oracle(cfg, gout, idx);
    HostTensor gin(dt, cfg.shape, l);
    std::memset(gin.data(), 0xA5, gin.nbytes());
    ups::Context ctx(ups::Device::kCPU);
    ctx.set_num_threads(static_cast<int>(pick(1, 3)));
    ups::max_pool_backward(ctx, gout.to_layout(l).view(), idx.view(), gin.view(), cfg.o);
    CHECK(ups_test::compare_bitwise(gin, want) == "");
    ++ran;
  }
  CHECK(ran >= 150);
}

TEST_CASE("max_pool_backward ignores the index of a window without an in-bounds tap",
          "[backward][max_pool]") {
  // Input (1, 1, 2), kernel 2, padding 1, dilation 3: the only window has taps -1 and 2, none
  // inside; max_pool reports -inf and index 2 (outside the plane). Its gradient goes nowhere
  // (PyTorch drops it too, the index being outside the plane), and its index is not checked.
  ups::MaxPoolOptions o;
  o.kernel_size = {2};
  o.stride = {1};
  o.padding = {1};
  o.dilation = {3};
  const ups::Context cpu(ups::Device::kCPU);
  HostTensor x(DType::kF32, {1, 1, 2});
  x.set(0, 1.0);
  x.set(1, 2.0);
  REQUIRE(ups::max_pool_output_shape(x.shape(), o) == Shape{1, 1, 1});
  HostTensor y(DType::kF32, {1, 1, 1}), idx(DType::kI64, {1, 1, 1});
  ups::max_pool(cpu, x.view(), y.view(), idx.view(), o);
  REQUIRE(idx.get(0) == 2);
  HostTensor g(DType::kF32, {1, 1, 1});
  g.set(0, 5.0);
  for (double index : {2.0, 1.0, -7.0}) {
    idx.set(0, index);
    HostTensor gin(DType::kF32, {1, 1, 2});
    std::memset(gin.data(), 0xFF, gin.nbytes());
    REQUIRE_NOTHROW(ups::max_pool_backward(cpu, g.view(), idx.view(), gin.view(), o));
    CHECK(gin.get(0) == 0.0);
    CHECK(gin.get(1) == 0.0);
  }
}

// ---- determinism ------------------------------------------------------------------------------

// Runs `op` (which fills its output) 20 times for each thread count and determinism setting and
// checks every result bit for bit against the first.
template <class Op>
void check_deterministic(const Op& op, DType dt, const Shape& out_shape) {
  HostTensor first(dt, out_shape);
  {
    ups::Context ctx(ups::Device::kCPU);
    ctx.set_num_threads(1);
    op(ctx, first);
  }
  int runs = 0;
  for (int threads : {1, 2, 3, 8}) {
    for (bool det : {false, true}) {
      ups::Context ctx(ups::Device::kCPU);
      ctx.set_num_threads(threads);
      ctx.set_deterministic(det);
      for (int run = 0; run < 20; ++run) {
        HostTensor got(dt, out_shape);
        std::memset(got.data(), run % 2 ? 0xFF : 0x00, got.nbytes());
        op(ctx, got);
        INFO("threads " << threads << " deterministic " << det << " run " << run);
        REQUIRE(ups_test::compare_bitwise(got, first) == "");
        ++runs;
      }
    }
  }
  CHECK(runs == 160);
}

TEST_CASE("max_pool_backward is bit for bit the same across runs and thread counts",
          "[backward][max_pool][determinism]") {
  // Overlapping windows (kernel 3, stride 1) with ties: most elements sum several real-valued
  // gradients, so a different order of additions would show. 2 * 16 * 48 * 48 elements: several
  // chunks of the CPU loop.
  for (DType dt : {DType::kF32, DType::kF16, DType::kBF16, DType::kF64}) {
    INFO(ups::to_string(dt));
    const Shape in{2, 16, 48, 48};
    ups::MaxPoolOptions o;
    o.kernel_size = {3};
    o.stride = {1};
    o.padding = {1};
    const Shape out = ups::max_pool_output_shape(in, o);
    HostTensor x(dt, in);
    ups_test::fill_random(x, 5, -1, 1);
    for (std::int64_t i = 0; i < x.numel(); i += 3)
      x.set(i, 0.5);  // ties
    HostTensor y(dt, out), idx(DType::kI64, out), g(dt, out);
    ups::max_pool(ups::Context(ups::Device::kCPU), x.view(), y.view(), idx.view(), o);
    ups_test::fill_random(g, 6, -1, 1);
    check_deterministic(
        [&](const ups::Context& ctx, HostTensor& gin) {
          ups::max_pool_backward(ctx, g.view(), idx.view(), gin.view(), o);
        },
        dt, in);
  }
}

TEST_CASE("max_unpool_backward and the shuffles' backward are the same across runs and threads",
          "[backward][max_unpool][pixel_shuffle][determinism]") {
  const Shape in{2, 16, 40, 40};
  ups::MaxUnpoolOptions o;
  o.kernel_size = {2};
  const Shape out = ups::max_unpool_output_shape(in, o);
  HostTensor g(DType::kF32, out), idx(DType::kI64, in);
  ups_test::fill_random(g, 7, -1, 1);
  std::mt19937_64 rng(8);
  for (std::int64_t i = 0; i < idx.numel(); ++i)
    idx.set(i, static_cast<double>(rng() % 400));  // many duplicates
  check_deterministic(
      [&](const ups::Context& ctx, HostTensor& gin) {
        ups::max_unpool_backward(ctx, g.view(), idx.view(), gin.view(), o);
      },
      DType::kF32, in);
  const Shape ps_in{2, 36, 30, 30};
  const Shape ps_out = ups::pixel_shuffle_output_shape(ps_in, 3);
  HostTensor gs(DType::kF16, ps_out);
  ups_test::fill_random(gs, 9, -1, 1);
  check_deterministic(
      [&](const ups::Context& ctx, HostTensor& gin) {
        ups::pixel_shuffle_backward(ctx, gs.view(), gin.view(), 3);
      },
      DType::kF16, ps_in);
  HostTensor gu(DType::kF16, ps_in);
  ups_test::fill_random(gu, 10, -1, 1);
  check_deterministic(
      [&](const ups::Context& ctx, HostTensor& gin) {
        ups::pixel_unshuffle_backward(ctx, gu.view(), gin.view(), 3);
      },
      DType::kF16, ps_out);
}

// ---- errors -----------------------------------------------------------------------------------

template <class F>
std::string error_of(F&& f, ErrorCode* code = nullptr) {
  try {
    f();
  } catch (const ups::Error& e) {
    if (code != nullptr) *code = e.code();
    return e.what();
  }
  return "(no error)";
}

TEST_CASE("max_pool_backward validates shapes, dtypes and indices",
          "[backward][max_pool][errors]") {
  const ups::Context cpu(ups::Device::kCPU);
  ups::MaxPoolOptions o;
  o.kernel_size = {2};
  const Shape in{1, 2, 4, 4}, out{1, 2, 2, 2};
  HostTensor gin(DType::kF32, in), g(DType::kF32, out), idx(DType::kI64, out);
  // Valid indices: the top-left element of each window.
  for (std::int64_t i = 0; i < idx.numel(); ++i) {
    const std::int64_t oh = (i / 2) % 2, ow = i % 2;
    idx.set(i, static_cast<double>(oh * 2 * 4 + ow * 2));
  }
  ups_test::fill_random(g, 1);
  REQUIRE_NOTHROW(ups::max_pool_backward(cpu, g.view(), idx.view(), gin.view(), o));

  HostTensor g_bad(DType::kF32, {1, 2, 3, 2});
  CHECK(error_of([&] { ups::max_pool_backward(cpu, g_bad.view(), idx.view(), gin.view(), o); }) ==
        "max_pool_backward: expected grad_output of shape [1, 2, 2, 2] (the max_pool "
        "output shape for grad_input of shape [1, 2, 4, 4]) but got [1, 2, 3, 2]");
  HostTensor i_bad(DType::kI64, {1, 2, 2, 1});
  CHECK(error_of([&] { ups::max_pool_backward(cpu, g.view(), i_bad.view(), gin.view(), o); }) ==
        "max_pool_backward: expected indices of shape [1, 2, 2, 2] (the shape of "
        "grad_output) but got [1, 2, 2, 1]");
  HostTensor i32(DType::kI32, out);
  CHECK(error_of([&] { ups::max_pool_backward(cpu, g.view(), i32.view(), gin.view(), o); }) ==
        "max_pool_backward: indices must have dtype i64, but got i32");
  HostTensor g64(DType::kF64, out);
  CHECK(error_of([&] { ups::max_pool_backward(cpu, g64.view(), idx.view(), gin.view(), o); }) ==
        "max_pool_backward: grad_output has dtype f64 but grad_input has dtype f32");
  // grad_input is validated by the forward's rules (PyTorch's message).
  HostTensor gin_small(DType::kF32, {1, 2, 1, 4});
  ErrorCode code{};
  CHECK(error_of([&] { ups::max_pool_backward(cpu, g.view(), idx.view(), gin_small.view(), o); },
                 &code)
            .find("Output size is too small") != std::string::npos);
  CHECK(code == ErrorCode::kShapeMismatch);

  // Invalid indices: the one at the largest C-order position is named.
  HostTensor bad = idx;
  bad.set(1, 16);  // outside the 4x4 plane
  bad.set(5, -1);
  code = ErrorCode::kInternal;
  CHECK(
      error_of([&] { ups::max_pool_backward(cpu, g.view(), bad.view(), gin.view(), o); }, &code) ==
      "max_pool_backward: invalid max index -1 at position 5 of indices (C "
      "order): outside the input plane of size 4x4");
  CHECK(code == ErrorCode::kInvalidArgument);
  bad = idx;
  bad.set(2, 1);  // window (1, 0) covers rows 2-3, columns 0-1: position 1 is not in it
  CHECK(error_of([&] { ups::max_pool_backward(cpu, g.view(), bad.view(), gin.view(), o); }) ==
        "max_pool_backward: invalid max index 1 at position 2 of indices (C order): not an "
        "element of its pooling window");
  // On error grad_input is left untouched on the CPU.
  HostTensor untouched(DType::kF32, in);
  std::memset(untouched.data(), 0x5A, untouched.nbytes());
  const HostTensor before = untouched;
  CHECK_THROWS_AS(ups::max_pool_backward(cpu, g.view(), bad.view(), untouched.view(), o),
                  ups::Error);
  CHECK(ups_test::compare_bitwise(untouched, before) == "");
  // 1-D and 3-D planes in the message.
  ups::MaxPoolOptions o1;
  o1.kernel_size = {2};
  HostTensor gin1(DType::kF32, {1, 1, 6}), g1(DType::kF32, {1, 1, 3}), i1(DType::kI64, {1, 1, 3});
  i1.set(0, 0);
  i1.set(1, 2);
  i1.set(2, 9);
  CHECK(error_of([&] { ups::max_pool_backward(cpu, g1.view(), i1.view(), gin1.view(), o1); }) ==
        "max_pool_backward: invalid max index 9 at position 2 of indices (C order): outside the "
        "input plane of size 6");
  HostTensor gin3(DType::kF32, {1, 1, 2, 2, 2}), g3(DType::kF32, {1, 1, 1, 1, 1}),
      i3(DType::kI64, {1, 1, 1, 1, 1});
  i3.set(0, 8);
  CHECK(error_of([&] { ups::max_pool_backward(cpu, g3.view(), i3.view(), gin3.view(), o1); }) ==
        "max_pool_backward: invalid max index 8 at position 0 of indices (C order): outside the "
        "input plane of size 2x2x2");
  // Overlapping output is rejected.
  CHECK_THROWS_AS(ups::max_pool_backward(cpu, g.view(), idx.view(), g.view(), o), ups::Error);
}

// ---- the deferred index check of max_pool_backward ----------------------------------------------

// Whether max_pool_backward accepts index v of the window at position i of its (n, c) plane of
// the pooled shape `out`, by enumerating the window's taps: any index when the window has no
// in-bounds tap along some dim, else only the flat plane position of one of its in-bounds taps.
bool index_accepted(const PoolConfig& cfg, const Shape& out, std::int64_t i, std::int64_t v) {
  const Shape& in = cfg.shape;
  const int k = static_cast<int>(in.size()) - 2;
  const auto opt = [&](const std::vector<std::int64_t>& list, int j, std::int64_t def) {
    return list.empty() ? def : list.size() == 1 ? list[0] : list[static_cast<std::size_t>(j)];
  };
  std::int64_t oc[3] = {0, 0, 0}, plane = 1;
  std::int64_t rem = i;
  for (int j = k - 1; j >= 0; --j) {
    oc[j] = rem % out[2 + static_cast<std::size_t>(j)];
    rem /= out[2 + static_cast<std::size_t>(j)];
  }
  for (int j = 0; j < k; ++j)
    plane *= in[2 + static_cast<std::size_t>(j)];
  std::int64_t pos[3] = {0, 0, 0};
  std::int64_t r = v;
  for (int j = k - 1; j >= 0; --j) {
    pos[j] = r % in[2 + static_cast<std::size_t>(j)];
    r /= in[2 + static_cast<std::size_t>(j)];
  }
  bool tap_everywhere = true;
  for (int j = 0; j < k; ++j) {
    const std::int64_t kk = opt(cfg.o.kernel_size, j, 1), ss = opt(cfg.o.stride, j, kk);
    const std::int64_t pp = opt(cfg.o.padding, j, 0), dd = opt(cfg.o.dilation, j, 1);
    const std::int64_t n = in[2 + static_cast<std::size_t>(j)];
    if (!has_tap(oc[j], n, kk, ss, pp, dd)) return true;
    bool hit = false;
    for (std::int64_t t = 0; t < kk; ++t)
      hit = hit || oc[j] * ss - pp + t * dd == pos[j];
    tap_everywhere = tap_everywhere && hit;
  }
  return v >= 0 && v < plane && tap_everywhere;
}

// The synchronous check's message for index v at C-order position i, written out from the
// documented format.
std::string pool_index_message(const Shape& in, std::int64_t i, std::int64_t v) {
  std::int64_t plane = 1;
  std::string sizes;
  for (std::size_t j = 2; j < in.size(); ++j) {
    plane *= in[j];
    sizes += (j > 2 ? "x" : "") + std::to_string(in[j]);
  }
  return "max_pool_backward: invalid max index " + std::to_string(v) + " at position " +
         std::to_string(i) + " of indices (C order): " +
         (v < 0 || v >= plane ? "outside the input plane of size " + sizes
                              : std::string("not an element of its pooling window"));
}

// grad_input by PyTorch's rule over the windows whose index is accepted (the result the deferred
// check documents for invalid indices). Sums in double: exact for the small integers used.
HostTensor scatter_oracle_accepted(const PoolConfig& cfg, const HostTensor& gout,
                                   const HostTensor& idx) {
  const Shape& in = cfg.shape;
  const Shape& out = gout.shape();
  std::int64_t plane_in = 1, plane_out = 1;
  for (std::size_t j = 2; j < in.size(); ++j) {
    plane_in *= in[j];
    plane_out *= out[j];
  }
  std::vector<double> acc(static_cast<std::size_t>(in[0] * in[1] * plane_in), 0.0);
  for (std::int64_t i = 0; i < gout.numel(); ++i) {
    const auto v = static_cast<std::int64_t>(idx.get(i));
    // A window without an in-bounds tap is accepted whatever its index, and adds nothing.
    if (!index_accepted(cfg, out, i % plane_out, v) || index_accepted(cfg, out, i % plane_out, -1))
      continue;
    acc[static_cast<std::size_t>(i / plane_out * plane_in + v)] += gout.get(i);
  }
  HostTensor r(gout.dtype(), in);
  for (std::int64_t i = 0; i < r.numel(); ++i)
    r.set(i, acc[static_cast<std::size_t>(i)]);
  return r;
}

TEST_CASE("max_pool_backward's deferred check reports what the synchronous one throws",
          "[backward][max_pool][errors]") {
  std::mt19937_64 rng(4321);
  const auto pick = [&](std::int64_t lo, std::int64_t hi) {
    return lo + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(hi - lo + 1));
  };
  int ran = 0, failing = 0, window_errors = 0;
  for (int trial = 0; trial < 600 && ran < 200; ++trial) {
    PoolConfig cfg;
    const int dims = static_cast<int>(pick(1, 3));
    cfg.shape = {pick(1, 2), pick(1, 3)};
    cfg.o.kernel_size.clear();
    cfg.o.stride.clear();
    cfg.o.padding.clear();
    cfg.o.dilation.clear();
    for (int j = 0; j < dims; ++j) {
      cfg.shape.push_back(pick(1, dims == 3 ? 6 : 9));
      const std::int64_t k = pick(1, 4), d = pick(1, 3);
      cfg.o.kernel_size.push_back(k);
      cfg.o.stride.push_back(pick(1, 3));
      cfg.o.dilation.push_back(d);
      cfg.o.padding.push_back(pick(0, std::min(k / 2, ((k - 1) * d + 1) / 2)));
    }
    cfg.o.ceil_mode = rng() % 2 == 0;
    Shape out;
    try {
      out = ups::max_pool_output_shape(cfg.shape, cfg.o);
    } catch (const ups::Error&) {
      continue;  // output too small
    }
    const DType dt = kAllTypes[ran % 7];
    const bool non_negative = dt == DType::kU8;
    const Layout lg = rng() % 2 ? Layout::kChannelsLast : Layout::kContiguous;
    const Layout li = rng() % 2 ? Layout::kChannelsLast : Layout::kContiguous;
    const Layout lin = rng() % 2 ? Layout::kChannelsLast : Layout::kContiguous;
    INFO("trial " << trial << " " << ups::shape_to_string(cfg.shape) << " " << ups::to_string(dt)
                  << " layouts " << ups_test::to_string(lg) << " " << ups_test::to_string(li) << " "
                  << ups_test::to_string(lin));
    const ups::Context cpu(ups::Device::kCPU);
    const HostTensor x = small_ints(dt, cfg.shape, rng(), non_negative);
    HostTensor y(dt, out), idx(DType::kI64, out);
    ups::max_pool(cpu, x.view(), y.view(), idx.view(), cfg.o);
    // Corrupt up to four indices: below the plane, beyond it (far beyond too), or anywhere in
    // it (often a position outside the window). One trial in eight keeps them all valid.
    std::int64_t plane = 1;
    for (std::size_t j = 2; j < cfg.shape.size(); ++j)
      plane *= cfg.shape[j];
    const std::int64_t corrupt = rng() % 8 == 0 ? 0 : pick(1, 4);
    for (std::int64_t c = 0; c < corrupt; ++c) {
      const std::int64_t at = pick(0, idx.numel() - 1);
      switch (rng() % 4) {
        case 0:
          idx.set(at, static_cast<double>(-pick(1, 3)));
          break;
        case 1:
          idx.set(at, static_cast<double>(plane + pick(0, 3)));
          break;
        case 2:
          idx.set(at, static_cast<double>((std::int64_t(1) << 40) + pick(0, 5)));
          break;
        default:
          idx.set(at, static_cast<double>(pick(0, plane - 1)));
      }
    }
    // The expected report: the rejected index at the largest C-order position.
    std::int64_t plane_out = 1;
    for (std::size_t j = 2; j < out.size(); ++j)
      plane_out *= out[j];
    std::int64_t want_pos = -1;
    for (std::int64_t i = 0; i < idx.numel(); ++i) {
      if (!index_accepted(cfg, out, i % plane_out, static_cast<std::int64_t>(idx.get(i))))
        want_pos = i;
    }
    const std::string want =
        want_pos < 0
            ? "(no error)"
            : pool_index_message(cfg.shape, want_pos, static_cast<std::int64_t>(idx.get(want_pos)));
    const HostTensor gout = small_ints(dt, out, rng(), non_negative).to_layout(lg);
    const HostTensor idx_l = idx.to_layout(li);
    ups::Context ctx(ups::Device::kCPU);
    ctx.set_num_threads(static_cast<int>(pick(1, 3)));
    HostTensor gin(dt, cfg.shape, lin);
    CHECK(error_of([&] {
            ups::max_pool_backward(ctx, gout.view(), idx_l.view(), gin.view(), cfg.o);
          }) == want);
    ups::MaxPoolStatus status;
    std::memset(&status, 0x5c, sizeof(status));
    std::memset(gin.data(), 0xA5, gin.nbytes());
    REQUIRE_NOTHROW(
        ups::max_pool_backward(ctx, gout.view(), idx_l.view(), gin.view(), cfg.o, &status));
    CHECK(status.position == want_pos);
    CHECK(error_of([&] { ups::max_pool_check(ctx, &status); }) == want);
    // grad_input is written in full: the windows with an invalid index contribute nothing.
    CHECK(ups_test::compare_bitwise(gin, scatter_oracle_accepted(cfg, gout, idx)) == "");
    if (want_pos >= 0) ++failing;
    if (want.find("pooling window") != std::string::npos) ++window_errors;
    ++ran;
  }
  CHECK(ran >= 200);
  // Both kinds of message and clean runs were exercised.
  CHECK(failing >= 100);
  CHECK(window_errors >= 20);
  CHECK(ran - failing >= 20);
}

TEST_CASE("max_pool_backward's status record is reset by every call", "[backward][max_pool]") {
  const ups::Context cpu(ups::Device::kCPU);
  ups::MaxPoolOptions o;
  o.kernel_size = {2};
  const Shape in{1, 2, 4, 4}, out{1, 2, 2, 2};
  HostTensor gin(DType::kF32, in), g(DType::kF32, out), idx(DType::kI64, out);
  for (std::int64_t i = 0; i < idx.numel(); ++i) {
    const std::int64_t oh = (i / 2) % 2, ow = i % 2;
    idx.set(i, static_cast<double>(oh * 2 * 4 + ow * 2));
  }
  ups_test::fill_random(g, 3);
  HostTensor want(DType::kF32, in);
  ups::max_pool_backward(cpu, g.view(), idx.view(), want.view(), o);

  // A valid call initialises a record full of garbage to "no invalid index".
  ups::MaxPoolStatus status;
  std::memset(&status, 0x5c, sizeof(status));
  ups::max_pool_backward(cpu, g.view(), idx.view(), gin.view(), o, &status);
  CHECK(status.position == -1);
  CHECK_NOTHROW(ups::max_pool_check(cpu, &status));
  CHECK(ups_test::compare_bitwise(gin, want) == "");
  // An invalid call records its error; checking does not clear it.
  HostTensor bad = idx;
  bad.set(6, 3);  // window (1, 0) covers rows 2-3, columns 0-1
  const std::string msg =
      "max_pool_backward: invalid max index 3 at position 6 of indices (C order): not an "
      "element of its pooling window";
  CHECK_NOTHROW(ups::max_pool_backward(cpu, g.view(), bad.view(), gin.view(), o, &status));
  CHECK(status.position == 6);
  CHECK(status.index == 3);
  CHECK(error_of([&] { ups::max_pool_check(cpu, &status); }) == msg);
  CHECK(error_of([&] { ups::max_pool_check(cpu, &status); }) == msg);
  // The next call overwrites the record: errors are not accumulated across calls.
  ups::max_pool_backward(cpu, g.view(), idx.view(), gin.view(), o, &status);
  CHECK_NOTHROW(ups::max_pool_check(cpu, &status));
  // A record copied byte for byte reports the same (it is plain data).
  ups::max_pool_backward(cpu, g.view(), bad.view(), gin.view(), o, &status);
  ups::MaxPoolStatus copy;
  std::memcpy(&copy, &status, sizeof(copy));
  CHECK(error_of([&] { ups::max_pool_check(cpu, &copy); }) == msg);
  // An empty batch writes no tensor but still resets the record.
  const auto e_g =
      ups::TensorView::contiguous(nullptr, DType::kF32, ups::Device::kCPU, {0, 2, 2, 2});
  const auto e_i =
      ups::TensorView::contiguous(nullptr, DType::kI64, ups::Device::kCPU, {0, 2, 2, 2});
  const auto e_in =
      ups::TensorView::contiguous(nullptr, DType::kF32, ups::Device::kCPU, {0, 2, 4, 4});
  CHECK_NOTHROW(ups::max_pool_backward(cpu, e_g, e_i, e_in, o, &status));
  CHECK(status.position == -1);
  CHECK_NOTHROW(ups::max_pool_check(cpu, &status));
  CHECK_NOTHROW(ups::max_pool_backward(cpu, e_g, e_i, e_in, o));
  // A validation error throws at the call, whatever the status, and leaves the record alone.
  ups::max_pool_backward(cpu, g.view(), bad.view(), gin.view(), o, &status);
  HostTensor i32(DType::kI32, out);
  CHECK(error_of([&] {
          ups::max_pool_backward(cpu, g.view(), i32.view(), gin.view(), o, &status);
        }) == "max_pool_backward: indices must have dtype i64, but got i32");
  CHECK(error_of([&] { ups::max_pool_check(cpu, &status); }) == msg);
  ErrorCode code{};
  CHECK(error_of([&] { ups::max_pool_check(cpu, nullptr); }, &code) ==
        "max_pool_check: status must not be null");
  CHECK(code == ErrorCode::kInvalidArgument);
}

TEST_CASE("max_pool_backward's deferred check names 1-D and 3-D planes",
          "[backward][max_pool][errors]") {
  const ups::Context cpu(ups::Device::kCPU);
  ups::MaxPoolOptions o;
  o.kernel_size = {2};
  HostTensor gin1(DType::kF32, {1, 1, 6}), g1(DType::kF32, {1, 1, 3}), i1(DType::kI64, {1, 1, 3});
  i1.set(0, 0);
  i1.set(1, 2);
  i1.set(2, 9);
  ups::MaxPoolStatus status{};
  ups::max_pool_backward(cpu, g1.view(), i1.view(), gin1.view(), o, &status);
  CHECK(error_of([&] { ups::max_pool_check(cpu, &status); }) ==
        "max_pool_backward: invalid max index 9 at position 2 of indices (C order): outside the "
        "input plane of size 6");
  HostTensor gin3(DType::kF32, {1, 1, 2, 2, 2}), g3(DType::kF32, {1, 1, 1, 1, 1}),
      i3(DType::kI64, {1, 1, 1, 1, 1});
  i3.set(0, 8);
  ups::max_pool_backward(cpu, g3.view(), i3.view(), gin3.view(), o, &status);
  CHECK(error_of([&] { ups::max_pool_check(cpu, &status); }) ==
        "max_pool_backward: invalid max index 8 at position 0 of indices (C order): outside the "
        "input plane of size 2x2x2");
  i3.set(0, 7);
  ups::max_pool_backward(cpu, g3.view(), i3.view(), gin3.view(), o, &status);
  CHECK_NOTHROW(ups::max_pool_check(cpu, &status));
}

TEST_CASE("max_unpool_backward validates shapes and reports invalid indices like PyTorch",
          "[backward][max_unpool][errors]") {
  const ups::Context cpu(ups::Device::kCPU);
  ups::MaxUnpoolOptions o;
  o.kernel_size = {2};
  const Shape in{1, 2, 2, 2}, out{1, 2, 4, 4};
  HostTensor gin(DType::kF32, in), g(DType::kF32, out), idx(DType::kI64, in);
  ups_test::fill_random(g, 3);
  for (std::int64_t i = 0; i < idx.numel(); ++i)
    idx.set(i, static_cast<double>((i * 5) % 16));
  ups::max_unpool_backward(cpu, g.view(), idx.view(), gin.view(), o);
  for (std::int64_t i = 0; i < gin.numel(); ++i) {
    const std::int64_t plane = i / 4;
    CHECK(gin.get(i) == g.get(plane * 16 + (i * 5) % 16));
  }
  HostTensor g_bad(DType::kF32, {1, 2, 4, 5});
  CHECK(error_of([&] { ups::max_unpool_backward(cpu, g_bad.view(), idx.view(), gin.view(), o); }) ==
        "max_unpool_backward: expected grad_output of shape [1, 2, 4, 4] (the max_unpool "
        "output shape for grad_input of shape [1, 2, 2, 2]) but got [1, 2, 4, 5]");
  HostTensor i_bad(DType::kI64, {1, 2, 2, 1});
  CHECK(error_of([&] { ups::max_unpool_backward(cpu, g.view(), i_bad.view(), gin.view(), o); }) ==
        "Expected shape of indices to be same as that of the input tensor ([1, 2, 2, 2]) "
        "but got indices tensor with shape: [1, 2, 2, 1]");
  HostTensor g16(DType::kF16, out);
  CHECK(error_of([&] { ups::max_unpool_backward(cpu, g16.view(), idx.view(), gin.view(), o); }) ==
        "max_unpool_backward: grad_output has dtype f16 but grad_input has dtype f32");

  HostTensor bad = idx;
  bad.set(1, 16);
  bad.set(6, -3);
  const std::string msg = "Found an invalid max index: -3 (output volumes are of size 4x4)";
  ErrorCode code{};
  CHECK(error_of([&] { ups::max_unpool_backward(cpu, g.view(), bad.view(), gin.view(), o); },
                 &code) == msg);
  CHECK(code == ErrorCode::kInvalidArgument);
  // The forward reports the same message for the same indices.
  CHECK(error_of([&] { ups::max_unpool(cpu, gin.view(), bad.view(), g.view(), o); }) == msg);
  // Deferred check, and the elements with invalid indices are zero.
  ups::MaxUnpoolStatus status{};
  std::memset(gin.data(), 0xFF, gin.nbytes());
  REQUIRE_NOTHROW(ups::max_unpool_backward(cpu, g.view(), bad.view(), gin.view(), o, &status));
  CHECK(status.position == 6);
  CHECK(error_of([&] { ups::max_unpool_check(cpu, &status); }) == msg);
  CHECK(gin.get(1) == 0.0);
  CHECK(gin.get(6) == 0.0);
  CHECK(gin.get(0) == g.get(0));
}

TEST_CASE("pixel_shuffle_backward and pixel_unshuffle_backward name their tensors",
          "[backward][pixel_shuffle][errors]") {
  const ups::Context cpu(ups::Device::kCPU);
  HostTensor gin(DType::kF32, {1, 8, 3, 3}), g(DType::kF32, {1, 2, 6, 6});
  REQUIRE_NOTHROW(ups::pixel_shuffle_backward(cpu, g.view(), gin.view(), 2));
  HostTensor g_bad(DType::kF32, {1, 2, 6, 7});
  CHECK(error_of([&] { ups::pixel_shuffle_backward(cpu, g_bad.view(), gin.view(), 2); }) ==
        "pixel_shuffle_backward: expected grad_output of shape [1, 2, 6, 6] (the pixel_shuffle "
        "output shape for grad_input of shape [1, 8, 3, 3]) but got [1, 2, 6, 7]");
  HostTensor g64(DType::kF64, {1, 2, 6, 6});
  CHECK(error_of([&] { ups::pixel_shuffle_backward(cpu, g64.view(), gin.view(), 2); }) ==
        "pixel_shuffle_backward: grad_output has dtype f64 but grad_input has dtype f32");
  // grad_input is checked by the forward's rules first.
  HostTensor gin_bad(DType::kF32, {1, 7, 3, 3});
  CHECK(error_of([&] { ups::pixel_shuffle_backward(cpu, g.view(), gin_bad.view(), 2); }) ==
        "pixel_shuffle expects its input's 'channel' dimension to be divisible by the square of "
        "upscale_factor, but input.size(-3)=7 is not divisible by 4");
  CHECK_THROWS_AS(ups::pixel_shuffle_backward(cpu, g.view(), g.view(), 1), ups::Error);
  // unshuffle: grad_input (1, 2, 6, 6), grad_output (1, 8, 3, 3).
  CHECK(error_of([&] { ups::pixel_unshuffle_backward(cpu, g_bad.view(), g.view(), 2); }) ==
        "pixel_unshuffle_backward: expected grad_output of shape [1, 8, 3, 3] (the "
        "pixel_unshuffle output shape for grad_input of shape [1, 2, 6, 6]) but got "
        "[1, 2, 6, 7]");
  HostTensor g_odd(DType::kF32, {1, 2, 5, 6});
  CHECK(error_of([&] { ups::pixel_unshuffle_backward(cpu, gin.view(), g_odd.view(), 2); }) ==
        "pixel_unshuffle expects height to be divisible by downscale_factor, but "
        "input.size(-2)=5 is not divisible by 2");
  REQUIRE_NOTHROW(ups::pixel_unshuffle_backward(cpu, gin.view(), g.view(), 2));
}

}  // namespace
