// CPU tests of the index math of the tiled CUDA kernels of conv_transpose and its backward
// (kernels/conv_transpose/deconv_plan.hpp): the functions run here on the host, in both index
// types, exactly as the kernels' 32- and 64-bit variants call them, and are compared with the
// per-element reference bodies of deconv_math.hpp on random problems (strides, dilation, padding,
// output_padding, groups, 1-D to 3-D, contiguous and channels-last).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <random>
#include <set>
#include <tuple>
#include <type_traits>
#include <vector>

#include "common/divmod.hpp"
#include "conv_transpose/deconv_math.hpp"
#include "conv_transpose/deconv_plan.hpp"

using ups::kern::DeconvGeometry;

namespace {

// Strides of a dense (N, C, D, H, W) tensor, channels innermost when `cl`.
void dense_strides(const std::int64_t sizes[5], bool cl, std::int64_t out[5]) {
  const int order_c[5] = {4, 3, 2, 1, 0};   // innermost first: W, H, D, C, N
  const int order_cl[5] = {1, 4, 3, 2, 0};  // C, W, H, D, N
  const int* order = cl ? order_cl : order_c;
  std::int64_t s = 1;
  for (int k = 0; k < 5; ++k) {
    out[order[k]] = s;
    s *= sizes[order[k]];
  }
}

struct RandomGeometry {
  DeconvGeometry g{};
  std::int64_t src_numel = 0, dst_numel = 0, w_numel = 0;
  std::int64_t src_span = 0, dst_span = 0, w_span = 0;
};

RandomGeometry random_geometry(std::mt19937& rng) {
  RandomGeometry r;
  DeconvGeometry& g = r.g;
  const int sp = 1 + static_cast<int>(rng() % 3);
  g.n = 1 + rng() % 2;
  g.groups = 1 + rng() % 3;
  g.cin_g = 1 + rng() % 4;
  g.cout_g = 1 + rng() % 5;
  const std::int64_t lim = sp == 1 ? 19 : (sp == 2 ? 7 : 4);
  for (int d = 0; d < 3; ++d) {
    const bool real = d >= 3 - sp;
    if (!real) {
      g.in[d] = g.out[d] = g.k[d] = g.stride[d] = g.dil[d] = 1;
      g.pad[d] = 0;
      continue;
    }
    const std::int64_t s = 1 + rng() % 4, dil = 1 + rng() % 3, k = 1 + rng() % 5;
    const std::int64_t in = 1 + rng() % lim;
    std::int64_t p = rng() % 4;
    const std::int64_t op = rng() % std::max(s, dil);
    while (p > 0 && (in - 1) * s - 2 * p + dil * (k - 1) + op + 1 < 1)
      --p;
    g.in[d] = in;
    g.k[d] = k;
    g.stride[d] = s;
    g.dil[d] = dil;
    g.pad[d] = p;
    g.out[d] = (in - 1) * s - 2 * p + dil * (k - 1) + op + 1;
  }
  const std::int64_t src5[5] = {g.n, g.groups * g.cin_g, g.in[0], g.in[1], g.in[2]};
  const std::int64_t dst5[5] = {g.n, g.groups * g.cout_g, g.out[0], g.out[1], g.out[2]};
  const std::int64_t w5[5] = {g.groups * g.cin_g, g.cout_g, g.k[0], g.k[1], g.k[2]};
  g.src_channels_last = rng() % 2 == 0;
  g.dst_channels_last = rng() % 2 == 0;
  dense_strides(src5, g.src_channels_last, g.src_stride);
  dense_strides(dst5, g.dst_channels_last, g.dst_stride);
  dense_strides(w5, rng() % 2 == 0, g.w_stride);
  g.has_bias = rng() % 2 == 0;
  g.bias_stride = 1 + rng() % 2;
  ups::kern::init_deconv_taps(g);
  r.src_numel = r.dst_numel = r.w_numel = 1;
  for (int i = 0; i < 5; ++i) {
    r.src_numel *= src5[i];
    r.dst_numel *= dst5[i];
    r.w_numel *= w5[i];
  }
  return r;
}

// Small integers: every sum of products is exact in f64, whatever the order.
std::vector<double> integer_values(std::int64_t n, std::mt19937& rng) {
  std::vector<double> v(static_cast<std::size_t>(n));
  for (double& x : v)
    x = static_cast<double>(static_cast<int>(rng() % 17) - 8);
  return v;
}

std::vector<double> real_values(std::int64_t n, std::mt19937& rng) {
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  std::vector<double> v(static_cast<std::size_t>(n));
  for (double& x : v)
    x = u(rng);
  return v;
}

// dst offset of logical (n, c, d, h, w).
std::int64_t dst_offset(const DeconvGeometry& g, std::int64_t n, std::int64_t c, std::int64_t d,
                        std::int64_t h, std::int64_t w) {
  const std::int64_t* s = g.dst_stride;
  return n * s[0] + c * s[1] + d * s[2] + h * s[3] + w * s[4];
}

std::vector<double> reference_gather(const DeconvGeometry& g, std::int64_t dst_numel,
                                     const std::vector<double>& src, const std::vector<double>& w,
                                     const std::vector<double>& bias) {
  std::vector<double> out(static_cast<std::size_t>(dst_numel), 0.0);
  for (std::int64_t i = 0; i < dst_numel; ++i)
    ups::kern::deconv_gather_element<double>(g, src.data(), w.data(), bias.data(), out.data(), i);
  return out;
}

// The gather kernel's computation for every output element, on the host: the walk tables, the
// (n, channel tile, d) planes, the weight tile per chunk (deconv_wtile_entry) or global weights,
// and deconv_gather_chunk, in Index arithmetic.
template <class Index>
std::vector<double> tiled_gather(const DeconvGeometry& g, std::int64_t dst_numel,
                                 const std::vector<double>& src, const std::vector<double>& w,
                                 const std::vector<double>& bias, std::int64_t chunk, bool smem_w) {
  const bool narrow = std::is_same<Index, std::int32_t>::value;
  using ups::kern::Divider;
  std::vector<double> out(static_cast<std::size_t>(dst_numel), 0.0);
  const ups::kern::DeconvBlockShape shape =
      ups::kern::deconv_block_shape(g.groups * g.cout_g, g.out[2], g.out[1], g.dst_channels_last);
  const int tc = 1 << shape.bc;
  ups::kern::DeconvAxisT<Index> ax[3];
  for (int d = 0; d < 3; ++d)
    ax[d] = ups::kern::make_deconv_axis<Index>(g, d, narrow);
  const ups::kern::WalkSteps<Index> steps = ups::kern::walk_steps<Index>(ax);
  const ups::kern::DeconvWTile<Index> wt = ups::kern::make_deconv_wtile<Index>(g, tc, narrow);
  const Index cout = static_cast<Index>(g.groups * g.cout_g);
  const Index ctiles = (cout + tc - 1) / tc;
  const Index planes = static_cast<Index>(g.n) * ctiles * static_cast<Index>(g.out[0]);
  const Divider<Index> div_d(g.out[0], narrow), div_ct(ctiles, narrow);
  const Index cin_g = static_cast<Index>(g.cin_g);
  std::vector<double> tile;
  for (Index z = 0; z < planes; ++z) {
    Index rest, d, n, ct;
    div_d.divmod(z, &rest, &d);
    div_ct.divmod(rest, &n, &ct);
    const Index co0 = ct * tc;
    const ups::kern::TapWalkT<Index> td = ups::kern::deconv_walk<Index>(ax[0], d);
    for (Index h = 0; h < static_cast<Index>(g.out[1]); ++h) {
      const ups::kern::TapWalkT<Index> th = ups::kern::deconv_walk<Index>(ax[1], h);
      for (Index x = 0; x < static_cast<Index>(g.out[2]); ++x) {
        const ups::kern::TapWalkT<Index> tw = ups::kern::deconv_walk<Index>(ax[2], x);
        for (Index lc = 0; lc < tc && co0 + lc < cout; ++lc) {
          const Index co = co0 + lc;
          Index grp, col;
          wt.div_cout_g.divmod(co, &grp, &col);
          const double* sbase = src.data() + (n * g.src_stride[0] + grp * cin_g * g.src_stride[1]);
          double acc = 0;
          for (Index c0 = 0; c0 < cin_g; c0 += static_cast<Index>(chunk)) {
            const Index nci = std::min<Index>(static_cast<Index>(chunk), cin_g - c0);
            ups::kern::WeightStrides<Index> wsd;
            const double* wb;
            if (smem_w) {
              tile.assign(static_cast<std::size_t>(nci * tc * wt.taps), -99.0);
              for (Index e = 0; e < static_cast<Index>(tile.size()); ++e)
                tile[static_cast<std::size_t>(e)] =
                    ups::kern::deconv_wtile_entry<double, Index>(g, wt, w.data(), co0, c0, e);
              wsd = ups::kern::deconv_wtile_strides<Index>(g, wt);
              wb = tile.data() + lc;
            } else {
              wsd = {static_cast<Index>(g.w_stride[0]), static_cast<Index>(g.w_stride[2]),
                     static_cast<Index>(g.w_stride[3]), static_cast<Index>(g.w_stride[4])};
              wb = w.data() + ((grp * cin_g + c0) * g.w_stride[0] + col * g.w_stride[1]);
            }
            ups::kern::deconv_gather_chunk<double, Index>(
                acc, g, steps, td, th, tw, sbase + c0 * g.src_stride[1], wb, wsd, nci);
          }
          if (g.has_bias) acc += bias[static_cast<std::size_t>(co * g.bias_stride)];
          out[static_cast<std::size_t>(dst_offset(g, n, co, d, h, x))] = acc;
        }
      }
    }
  }
  return out;
}

// The scatter kernel's computation: every (input pixel, output channel, chunk) adds through the
// sink; bias added afterwards as fill_kernel does.
template <class Index>
std::vector<double> tiled_scatter(const DeconvGeometry& g, std::int64_t dst_numel,
                                  const std::vector<double>& src, const std::vector<double>& w,
                                  const std::vector<double>& bias, std::int64_t chunk) {
  const bool narrow = std::is_same<Index, std::int32_t>::value;
  std::vector<double> out(static_cast<std::size_t>(dst_numel), 0.0);
  if (g.has_bias) {
    for (std::int64_t n = 0; n < g.n; ++n)
      for (std::int64_t c = 0; c < g.groups * g.cout_g; ++c)
        for (std::int64_t d = 0; d < g.out[0]; ++d)
          for (std::int64_t h = 0; h < g.out[1]; ++h)
            for (std::int64_t x = 0; x < g.out[2]; ++x)
              out[static_cast<std::size_t>(dst_offset(g, n, c, d, h, x))] =
                  bias[static_cast<std::size_t>(c * g.bias_stride)];
  }
  const ups::kern::DeconvBlockShape shape =
      ups::kern::deconv_block_shape(g.groups * g.cout_g, g.in[2], g.in[1], g.src_channels_last);
  const int tc = 1 << shape.bc;
  const ups::kern::DeconvWTile<Index> wt = ups::kern::make_deconv_wtile<Index>(g, tc, narrow);
  const ups::kern::WeightStrides<Index> wsd = ups::kern::deconv_wtile_strides<Index>(g, wt);
  auto sink = [&](Index n, Index c, Index d, Index h, Index x, double v) {
    out[static_cast<std::size_t>(dst_offset(g, n, c, d, h, x))] += v;
  };
  const Index cout = static_cast<Index>(g.groups * g.cout_g);
  const Index cin_g = static_cast<Index>(g.cin_g);
  const std::int64_t* ss = g.src_stride;
  std::vector<double> tile;
  for (Index co0 = 0; co0 < cout; co0 += tc) {
    for (Index c0 = 0; c0 < cin_g; c0 += static_cast<Index>(chunk)) {
      const Index nci = std::min<Index>(static_cast<Index>(chunk), cin_g - c0);
      tile.assign(static_cast<std::size_t>(nci * tc * wt.taps), 0.0);
      for (Index e = 0; e < static_cast<Index>(tile.size()); ++e)
        tile[static_cast<std::size_t>(e)] =
            ups::kern::deconv_wtile_entry<double, Index>(g, wt, w.data(), co0, c0, e);
      for (Index lc = 0; lc < tc && co0 + lc < cout; ++lc) {
        const Index co = co0 + lc;
        Index grp, col;
        wt.div_cout_g.divmod(co, &grp, &col);
        for (Index n = 0; n < static_cast<Index>(g.n); ++n)
          for (Index d = 0; d < static_cast<Index>(g.in[0]); ++d)
            for (Index h = 0; h < static_cast<Index>(g.in[1]); ++h)
              for (Index x = 0; x < static_cast<Index>(g.in[2]); ++x) {
                const double* px = src.data() + (n * ss[0] + (grp * cin_g + c0) * ss[1] +
                                                 d * ss[2] + h * ss[3] + x * ss[4]);
                ups::kern::deconv_scatter_chunk<double, Index>(g, n, co, d, h, x, px,
                                                               tile.data() + lc, wsd, nci, sink);
              }
      }
    }
  }
  return out;
}

}  // namespace

TEST_CASE("deconv_walk and deconv_tap_range_at match deconv_taps and deconv_tap_range",
          "[conv_transpose]") {
  std::mt19937 rng(99);
  for (int trial = 0; trial < 2000; ++trial) {
    DeconvGeometry g{};
    for (int a = 0; a < 3; ++a) {
      g.stride[a] = g.dil[a] = g.k[a] = g.in[a] = g.out[a] = 1;
      g.pad[a] = 0;
    }
    const std::int64_t s = 1 + rng() % 12, dil = 1 + rng() % 12, k = 1 + rng() % 9;
    const std::int64_t in = 1 + rng() % 11, pad = rng() % 14;
    g.stride[2] = s;
    g.dil[2] = dil;
    g.k[2] = k;
    g.in[2] = in;
    g.pad[2] = pad;
    g.out[2] = std::max<std::int64_t>(1, (in - 1) * s - 2 * pad + dil * (k - 1) + 1 + rng() % s);
    ups::kern::init_deconv_taps(g);
    REQUIRE(ups::kern::deconv_axes_fit_32(g));
    const auto a32 = ups::kern::make_deconv_axis<std::int32_t>(g, 2, true);
    const auto a64 = ups::kern::make_deconv_axis<std::int64_t>(g, 2, false);
    const std::int64_t reach = (in - 1) * s + dil * (k - 1) + 1 + s;  // past every output
    for (std::int64_t o = 0; o < reach; ++o) {
      const auto t = ups::kern::deconv_taps(g, 2, o);
      const auto w32 = ups::kern::deconv_walk<std::int32_t>(a32, static_cast<std::int32_t>(o));
      const auto w64 = ups::kern::deconv_walk<std::int64_t>(a64, o);
      INFO("s=" << s << " d=" << dil << " k=" << k << " in=" << in << " pad=" << pad << " o=" << o);
      REQUIRE(w32.count == t.count);
      REQUIRE(w64.count == t.count);
      if (t.count > 0) {
        REQUIRE(w32.k0 == t.k0);
        REQUIRE(w32.i0 == t.i0);
        REQUIRE(w64.k0 == t.k0);
        REQUIRE(w64.i0 == t.i0);
        REQUIRE(a32.m == t.kstep);
        REQUIRE(a32.istep == t.istep);
      }
    }
    const ups::kern::Divider<std::int32_t> ds32(s, true);
    const ups::kern::Divider<std::int64_t> ds64(s, false);
    for (std::int64_t kk = 0; kk < k; ++kk) {
      const auto r = ups::kern::deconv_tap_range(g, 2, kk);
      const auto r32 =
          ups::kern::deconv_tap_range_at<std::int32_t>(g, ds32, 2, static_cast<std::int32_t>(kk));
      const auto r64 = ups::kern::deconv_tap_range_at<std::int64_t>(g, ds64, 2, kk);
      REQUIRE(r32.lo == r.lo);
      REQUIRE(r32.hi == r.hi);
      REQUIRE(r64.lo == r.lo);
      REQUIRE(r64.hi == r.hi);
    }
  }
}

TEST_CASE("deconv block shapes give every thread one distinct lane", "[conv_transpose]") {
  for (std::int64_t c : {1, 3, 32, 100}) {
    for (std::int64_t cols : {1, 5, 64}) {
      for (std::int64_t rows : {1, 2, 300}) {
        for (bool cl : {false, true}) {
          const auto s = ups::kern::deconv_block_shape(c, cols, rows, cl);
          REQUIRE(s.bc + s.bw + s.bh == 8);
          REQUIRE(s.bc >= 0);
          REQUIRE(s.bw >= 0);
          REQUIRE(s.bh >= 0);
          std::set<std::tuple<int, int, int>> seen;
          for (int tid = 0; tid < 256; ++tid) {
            const auto l = ups::kern::deconv_lane(s, tid);
            REQUIRE(l.c < (1 << s.bc));
            REQUIRE(l.w < (1 << s.bw));
            REQUIRE(l.h < (1 << s.bh));
            seen.insert({l.c, l.w, l.h});
          }
          REQUIRE(seen.size() == 256);
          // The fastest axis of a warp: channels for channels-last, else columns.
          const auto l1 = ups::kern::deconv_lane(s, 1);
          if (cl && s.bc > 0) REQUIRE(l1.c == 1);
          if (!cl && s.bw > 0) REQUIRE(l1.w == 1);
        }
      }
    }
  }
}

TEST_CASE("the tiled gather and scatter bodies match deconv_gather_element", "[conv_transpose]") {
  std::mt19937 rng(2024);
  for (int trial = 0; trial < 120; ++trial) {
    const RandomGeometry r = random_geometry(rng);
    const DeconvGeometry& g = r.g;
    INFO("trial " << trial << " groups " << g.groups << " cin_g " << g.cin_g << " cout_g "
                  << g.cout_g << " in " << g.in[0] << "x" << g.in[1] << "x" << g.in[2] << " k "
                  << g.k[0] << "x" << g.k[1] << "x" << g.k[2] << " s " << g.stride[2] << " d "
                  << g.dil[2] << " p " << g.pad[2] << " cl " << g.src_channels_last
                  << g.dst_channels_last);
    // Integer data: any summation order is exact.
    const auto src = integer_values(r.src_numel, rng);
    const auto w = integer_values(r.w_numel, rng);
    const auto bias = integer_values(2 * g.groups * g.cout_g, rng);
    const auto ref = reference_gather(g, r.dst_numel, src, w, bias);
    const std::int64_t chunk = 1 + static_cast<std::int64_t>(rng() % g.cin_g);
    REQUIRE(tiled_gather<std::int32_t>(g, r.dst_numel, src, w, bias, chunk, true) == ref);
    REQUIRE(tiled_gather<std::int64_t>(g, r.dst_numel, src, w, bias, chunk, true) == ref);
    REQUIRE(tiled_gather<std::int32_t>(g, r.dst_numel, src, w, bias, g.cin_g, false) == ref);
    REQUIRE(tiled_scatter<std::int32_t>(g, r.dst_numel, src, w, bias, chunk) == ref);
    REQUIRE(tiled_scatter<std::int64_t>(g, r.dst_numel, src, w, bias, g.cin_g) == ref);

    // Real data with one chunk: the reference's order exactly, so the same bits.
    const auto rsrc = real_values(r.src_numel, rng);
    const auto rw = real_values(r.w_numel, rng);
    const auto rbias = real_values(2 * g.groups * g.cout_g, rng);
    const auto rref = reference_gather(g, r.dst_numel, rsrc, rw, rbias);
    REQUIRE(tiled_gather<std::int32_t>(g, r.dst_numel, rsrc, rw, rbias, g.cin_g, true) == rref);
    REQUIRE(tiled_gather<std::int64_t>(g, r.dst_numel, rsrc, rw, rbias, g.cin_g, false) == rref);
  }
}

TEST_CASE("deconv_mem_order walks dst in memory order", "[conv_transpose]") {
  std::mt19937 rng(5);
  for (int trial = 0; trial < 60; ++trial) {
    const RandomGeometry r = random_geometry(rng);
    DeconvGeometry g = r.g;
    if (trial % 3 == 2) {  // a padded (non-dense) dst: every stride doubled
      for (std::int64_t& s : g.dst_stride)
        s *= 2;
    }
    const auto mo32 = ups::kern::make_deconv_mem_order<std::int32_t>(g, true);
    const auto mo64 = ups::kern::make_deconv_mem_order<std::int64_t>(g, false);
    std::set<std::int64_t> offsets;
    std::int64_t prev = -1;
    for (std::int64_t i = 0; i < r.dst_numel; ++i) {
      std::int32_t c32 = -1;
      std::int64_t c64 = -1;
      const std::int64_t o32 =
          ups::kern::deconv_mem_offset<std::int32_t>(mo32, static_cast<std::int32_t>(i), &c32);
      const std::int64_t o64 = ups::kern::deconv_mem_offset<std::int64_t>(mo64, i, &c64);
      REQUIRE(o32 == o64);
      REQUIRE(c32 == c64);
      REQUIRE(o32 > prev);  // forward through memory
      prev = o32;
      offsets.insert(o32);
      // The channel, and the dense accumulator index of that element, agree with the offset.
      const std::int64_t* ds = g.dst_stride;
      const std::int64_t sizes[5] = {g.n, g.groups * g.cout_g, g.out[0], g.out[1], g.out[2]};
      std::int64_t rest = o32, coord[5] = {0, 0, 0, 0, 0};
      int order[5] = {0, 1, 2, 3, 4};
      std::sort(order, order + 5, [&](int a, int b) { return ds[a] > ds[b]; });
      for (int k = 0; k < 5; ++k) {
        const int dim = order[k];
        if (sizes[dim] == 1) continue;
        coord[dim] = rest / ds[dim];
        rest -= coord[dim] * ds[dim];
      }
      REQUIRE(coord[1] == c64);
      std::int64_t dense = 0;
      for (int k = 0; k < 5; ++k)
        dense += coord[k] * mo64.dense[k];
      REQUIRE(dense == i);
    }
    REQUIRE(static_cast<std::int64_t>(offsets.size()) == r.dst_numel);
  }
}

TEST_CASE("deconv_grad_input_at matches deconv_grad_input_element", "[conv_transpose]") {
  std::mt19937 rng(77);
  for (int trial = 0; trial < 80; ++trial) {
    const RandomGeometry r = random_geometry(rng);
    const DeconvGeometry& g = r.g;
    const auto gy = real_values(r.dst_numel, rng);  // grad_output in dst's layout
    const auto w = real_values(r.w_numel, rng);
    const std::int64_t src5[5] = {g.n, g.groups * g.cin_g, g.in[0], g.in[1], g.in[2]};
    std::int64_t gxs[5];
    const bool gx_cl = rng() % 2 == 0;
    dense_strides(src5, gx_cl, gxs);
    std::vector<double> ref(static_cast<std::size_t>(r.src_numel), 0.0), got = ref;
    for (std::int64_t i = 0; i < r.src_numel; ++i)
      ups::kern::deconv_grad_input_element<double>(g, gxs, gx_cl, gy.data(), w.data(), ref.data(),
                                                   i);
    for (std::int64_t n = 0; n < g.n; ++n)
      for (std::int64_t c = 0; c < g.groups * g.cin_g; ++c)
        for (std::int64_t d = 0; d < g.in[0]; ++d)
          for (std::int64_t h = 0; h < g.in[1]; ++h)
            for (std::int64_t x = 0; x < g.in[2]; ++x) {
              const std::int64_t grp = c / g.cin_g;
              const double* gbase =
                  gy.data() + n * g.dst_stride[0] + grp * g.cout_g * g.dst_stride[1];
              const double* wbase = w.data() + c * g.w_stride[0];
              const double v32 = ups::kern::deconv_grad_input_at<double, std::int32_t>(
                  g, gbase, wbase, static_cast<std::int32_t>(d), static_cast<std::int32_t>(h),
                  static_cast<std::int32_t>(x));
              const double v64 =
                  ups::kern::deconv_grad_input_at<double, std::int64_t>(g, gbase, wbase, d, h, x);
              REQUIRE(v32 == v64);
              got[static_cast<std::size_t>(n * gxs[0] + c * gxs[1] + d * gxs[2] + h * gxs[3] +
                                           x * gxs[4])] = v32;
            }
    REQUIRE(got == ref);
  }
}
