// CPU backend of ups::conv_transpose_backward.
//
// `gemm` (the default):
// - grad_input is a convolution of grad_output: per task (n, group, block of input channels) and
//   tile of input positions, im2col gathers col[tap][co][p] = grad_output[co, o(p, tap)] (0 where
//   the tap falls outside), and a GEMM over (tap, co) accumulates four input channels per sweep
//   with the position p innermost (unit stride, vectorisable).
// - grad_weight: per task (group, block of output channels), for every n and tile in order, the
//   tile of the input (packed [ci][p]) is dotted with each im2col row of the block; each dot
//   product sums eight interleaved partial sums, combined in a fixed order.
// - grad_bias: per output channel, row sums with the same eight partial sums.
// Tasks own disjoint outputs and every sum's order is fixed by the problem (tiles and blocks
// depend on shapes only), so results are deterministic and the same for any thread count.
//
// `gather`: the per-element reference bodies of deconv_math.hpp in parallel loops.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "check.hpp"
#include "conv_transpose_plan.hpp"
#include "cpu/parallel.hpp"
#include "dispatch.hpp"

namespace ups {
namespace detail {
namespace {

// Sum of n values at p, p + step, ... in eight interleaved partial sums, then a fixed tree: the
// order depends on n alone, and the eight lanes let the compiler vectorise the unit-step case.
template <class Acc, class T>
Acc row_sum(const T* p, std::int64_t n, std::int64_t step) {
  Acc part[8] = {Acc(0), Acc(0), Acc(0), Acc(0), Acc(0), Acc(0), Acc(0), Acc(0)};
  std::int64_t i = 0;
  if (step == 1) {
    for (; i + 8 <= n; i += 8) {
      for (int l = 0; l < 8; ++l)
        part[l] += kern::to_acc<Acc>(p[i + l]);
    }
  } else {
    for (; i + 8 <= n; i += 8) {
      for (int l = 0; l < 8; ++l)
        part[l] += kern::to_acc<Acc>(p[(i + l) * step]);
    }
  }
  for (int l = 0; i < n; ++i, ++l)
    part[l] += kern::to_acc<Acc>(p[i * step]);
  return ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
}

// Dot product of two unit-stride rows with the same lane structure as row_sum.
template <class Acc>
Acc dot8(const Acc* __restrict__ a, const Acc* __restrict__ b, std::int64_t n) {
  Acc part[8] = {Acc(0), Acc(0), Acc(0), Acc(0), Acc(0), Acc(0), Acc(0), Acc(0)};
  std::int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int l = 0; l < 8; ++l)
      part[l] += a[i + l] * b[i + l];
  }
  for (int l = 0; i < n; ++i, ++l)
    part[l] += a[i] * b[i];
  return ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
}

// One tile of input positions: rows [r0, r1) of the flattened (D, H) input rows, columns
// [w0, w1).
struct Tile {
  std::int64_t r0, r1, w0, w1;
};

// Tiles of about `target` positions (whole rows, or chunks of one long row).
std::vector<Tile> make_tiles(const kern::DeconvGeometry& g, std::int64_t target) {
  const std::int64_t rows = g.in[0] * g.in[1], w = g.in[2];
  std::vector<Tile> tiles;
  if (w >= target) {
    for (std::int64_t r = 0; r < rows; ++r) {
      for (std::int64_t c = 0; c < w; c += target)
        tiles.push_back({r, r + 1, c, std::min(w, c + target)});
    }
  } else {
    const std::int64_t step = std::max<std::int64_t>(1, target / std::max<std::int64_t>(w, 1));
    for (std::int64_t r = 0; r < rows; r += step)
      tiles.push_back({r, std::min(rows, r + step), 0, w});
  }
  return tiles;
}

std::int64_t tile_target(std::int64_t row_count) {
  // col (row_count x P) about 512 KiB of f32, so that it stays in L2 with the operands.
  return std::max<std::int64_t>(
      16,
      std::min<std::int64_t>(4096, (std::int64_t(1) << 17) / std::max<std::int64_t>(row_count, 1)));
}

// im2col of one tile for output channels [c0, c0 + nc) of group grp:
// col[(c * taps + tap) * pt + p] = grad_output[n, grp * cout_g + c0 + c, o(p, tap)], or 0.
template <class T, class Acc>
void im2col(const kern::DeconvGeometry& g, const T* gy, std::int64_t n, std::int64_t grp,
            std::int64_t c0, std::int64_t nc, const Tile& t, Acc* col) {
  const std::int64_t taps = g.k[0] * g.k[1] * g.k[2];
  const std::int64_t tw = t.w1 - t.w0, pt = (t.r1 - t.r0) * tw;
  const std::int64_t* ds = g.dst_stride;
  std::fill(col, col + nc * taps * pt, Acc(0));
  for (std::int64_t tap = 0; tap < taps; ++tap) {
    const std::int64_t kd = tap / (g.k[1] * g.k[2]), kh = (tap / g.k[2]) % g.k[1],
                       kw = tap % g.k[2];
    const kern::TapRange rw = kern::deconv_tap_range(g, 2, kw);
    const std::int64_t lo = std::max(rw.lo, t.w0), hi = std::min(rw.hi, t.w1);
    if (lo >= hi) continue;
    const std::int64_t wshift = kw * g.dil[2] - g.pad[2];
    for (std::int64_t r = t.r0; r < t.r1; ++r) {
      const std::int64_t id = r / g.in[1], ih = r % g.in[1];
      const std::int64_t od = id * g.stride[0] - g.pad[0] + kd * g.dil[0];
      if (od < 0 || od >= g.out[0]) continue;
      const std::int64_t oh = ih * g.stride[1] - g.pad[1] + kh * g.dil[1];
      if (oh < 0 || oh >= g.out[1]) continue;
      const T* grow = gy + n * ds[0] + (grp * g.cout_g + c0) * ds[1] + od * ds[2] + oh * ds[3];
      const std::int64_t pbase = (r - t.r0) * tw - t.w0;
      for (std::int64_t c = 0; c < nc; ++c) {
        const T* gc = grow + c * ds[1];
        Acc* crow = col + (c * taps + tap) * pt + pbase;
        for (std::int64_t iw = lo; iw < hi; ++iw)
          crow[iw] = kern::to_acc<Acc>(gc[(iw * g.stride[2] + wshift) * ds[4]]);
      }
    }
  }
}

template <class T>
void grad_input_gemm(const ConvTransposeBackwardPlan& b, int threads) {
  using Acc = kern::acc_t<T>;
  const kern::DeconvGeometry& g = b.fwd.g;
  const T* gy = static_cast<const T*>(b.fwd.dst);
  const T* w = static_cast<const T*>(b.fwd.weight);
  T* gx = static_cast<T*>(b.grad_input);
  const std::int64_t taps = g.k[0] * g.k[1] * g.k[2];
  const std::int64_t rows = taps * g.cout_g;  // GEMM depth
  const std::vector<Tile> tiles = make_tiles(g, tile_target(rows));
  std::int64_t max_tile = 0;
  for (const Tile& t : tiles)
    max_tile = std::max(max_tile, (t.r1 - t.r0) * (t.w1 - t.w0));

  const double macs = static_cast<double>(g.n) * static_cast<double>(g.groups * g.cin_g) *
                      static_cast<double>(rows) * static_cast<double>(g.in[0] * g.in[1] * g.in[2]);
  if (macs < 2e5) threads = 1;
  // Input-channel blocks, only as many as the threads need: each block repeats the im2col.
  std::int64_t cb = g.cin_g;
  const std::int64_t outer = g.n * g.groups;
  while (cb > 4 && outer * ((g.cin_g + cb - 1) / cb) < 2 * static_cast<std::int64_t>(threads))
    cb = (cb + 1) / 2;
  const std::int64_t blocks = (g.cin_g + cb - 1) / cb;

  struct Scratch {
    std::vector<Acc> col, wpack, acc;
  };
  std::vector<Scratch> scratch(static_cast<std::size_t>(std::max(threads, 1)));
  const std::int64_t* ws = g.w_stride;
  const std::int64_t* xs = b.gx_stride;

  run_tasks(outer * blocks, threads, [&](int worker, std::int64_t task) {
    Scratch& s = scratch[static_cast<std::size_t>(worker)];
    const std::int64_t blk = task % blocks;
    const std::int64_t grp = (task / blocks) % g.groups;
    const std::int64_t n = task / blocks / g.groups;
    const std::int64_t ci0 = grp * g.cin_g + blk * cb;
    const std::int64_t nci = std::min(g.cin_g, (blk + 1) * cb) - blk * cb;
    // wpack[ci][c * taps + tap] = weight[ci, c, tap], the same row order as col.
    s.wpack.resize(static_cast<std::size_t>(nci * rows));
    for (std::int64_t ci = 0; ci < nci; ++ci) {
      for (std::int64_t c = 0; c < g.cout_g; ++c) {
        for (std::int64_t tap = 0; tap < taps; ++tap) {
          const std::int64_t kd = tap / (g.k[1] * g.k[2]), kh = (tap / g.k[2]) % g.k[1],
                             kw = tap % g.k[2];
          s.wpack[static_cast<std::size_t>(ci * rows + c * taps + tap)] = kern::to_acc<Acc>(
              w[(ci0 + ci) * ws[0] + c * ws[1] + kd * ws[2] + kh * ws[3] + kw * ws[4]]);
        }
      }
    }
    s.col.resize(static_cast<std::size_t>(rows * max_tile));
    s.acc.resize(static_cast<std::size_t>(4 * max_tile));
    for (const Tile& t : tiles) {
      const std::int64_t tw = t.w1 - t.w0, pt = (t.r1 - t.r0) * tw;
      im2col<T, Acc>(g, gy, n, grp, 0, g.cout_g, t, s.col.data());
      for (std::int64_t c4 = 0; c4 < nci; c4 += 4) {
        const std::int64_t nb = std::min<std::int64_t>(4, nci - c4);
        Acc* a[4];
        for (std::int64_t j = 0; j < 4; ++j)
          a[j] = s.acc.data() + j * max_tile;
        std::fill(s.acc.begin(), s.acc.begin() + 4 * max_tile, Acc(0));
        const Acc* w0 = s.wpack.data() + (c4 + 0) * rows;
        const Acc* w1 = s.wpack.data() + (c4 + std::min<std::int64_t>(1, nb - 1)) * rows;
        const Acc* w2 = s.wpack.data() + (c4 + std::min<std::int64_t>(2, nb - 1)) * rows;
        const Acc* w3 = s.wpack.data() + (c4 + std::min<std::int64_t>(3, nb - 1)) * rows;
        for (std::int64_t r = 0; r < rows; ++r) {
          const Acc* __restrict__ cr = s.col.data() + r * pt;
          Acc* __restrict__ a0 = a[0];
          Acc* __restrict__ a1 = a[1];
          Acc* __restrict__ a2 = a[2];
          Acc* __restrict__ a3 = a[3];
          const Acc v0 = w0[r], v1 = w1[r], v2 = w2[r], v3 = w3[r];
          for (std::int64_t q = 0; q < pt; ++q) {
            const Acc x = cr[q];
            a0[q] += v0 * x;
            a1[q] += v1 * x;
            a2[q] += v2 * x;
            a3[q] += v3 * x;
          }
        }
        for (std::int64_t j = 0; j < nb; ++j) {
          T* gxc = gx + n * xs[0] + (ci0 + c4 + j) * xs[1];
          for (std::int64_t r = t.r0; r < t.r1; ++r) {
            const std::int64_t id = r / g.in[1], ih = r % g.in[1];
            T* row = gxc + id * xs[2] + ih * xs[3];
            const Acc* ar = a[j] + (r - t.r0) * tw - t.w0;
            for (std::int64_t iw = t.w0; iw < t.w1; ++iw)
              row[iw * xs[4]] = kern::from_acc<T>(ar[iw]);
          }
        }
      }
    }
  });
}

template <class T>
void grad_weight_gemm(const ConvTransposeBackwardPlan& b, int threads) {
  using Acc = kern::acc_t<T>;
  const kern::DeconvGeometry& g = b.fwd.g;
  const T* x = static_cast<const T*>(b.fwd.src);
  const T* gy = static_cast<const T*>(b.fwd.dst);
  T* gw = static_cast<T*>(b.grad_weight);
  const std::int64_t taps = g.k[0] * g.k[1] * g.k[2];

  const double macs = static_cast<double>(g.n) * static_cast<double>(g.groups * g.cin_g) *
                      static_cast<double>(g.cout_g * taps) *
                      static_cast<double>(g.in[0] * g.in[1] * g.in[2]);
  if (macs < 2e5) threads = 1;
  // Output-channel blocks: the order of each weight's sum does not depend on the blocking.
  std::int64_t cb = std::max<std::int64_t>(1, std::min<std::int64_t>(g.cout_g, 16));
  while (cb > 1 && g.groups * ((g.cout_g + cb - 1) / cb) < 2 * static_cast<std::int64_t>(threads))
    cb = (cb + 1) / 2;
  const std::int64_t blocks = (g.cout_g + cb - 1) / cb;
  const std::vector<Tile> tiles = make_tiles(g, tile_target(cb * taps + g.cin_g));
  std::int64_t max_tile = 0;
  for (const Tile& t : tiles)
    max_tile = std::max(max_tile, (t.r1 - t.r0) * (t.w1 - t.w0));

  struct Scratch {
    std::vector<Acc> col, xt, acc;
  };
  std::vector<Scratch> scratch(static_cast<std::size_t>(std::max(threads, 1)));
  const std::int64_t* ss = g.src_stride;
  const std::int64_t* os = b.gw_stride;

  run_tasks(g.groups * blocks, threads, [&](int worker, std::int64_t task) {
    Scratch& s = scratch[static_cast<std::size_t>(worker)];
    const std::int64_t blk = task % blocks;
    const std::int64_t grp = task / blocks;
    const std::int64_t c0 = blk * cb;
    const std::int64_t nc = std::min(g.cout_g, c0 + cb) - c0;
    const std::int64_t ci0 = grp * g.cin_g;
    // acc[(c * taps + tap) * cin_g + ci]
    s.acc.assign(static_cast<std::size_t>(nc * taps * g.cin_g), Acc(0));
    s.col.resize(static_cast<std::size_t>(nc * taps * max_tile));
    s.xt.resize(static_cast<std::size_t>(g.cin_g * max_tile));
    for (std::int64_t n = 0; n < g.n; ++n) {
      for (const Tile& t : tiles) {
        const std::int64_t tw = t.w1 - t.w0, pt = (t.r1 - t.r0) * tw;
        im2col<T, Acc>(g, gy, n, grp, c0, nc, t, s.col.data());
        for (std::int64_t ci = 0; ci < g.cin_g; ++ci) {
          const T* xc = x + n * ss[0] + (ci0 + ci) * ss[1];
          Acc* xr = s.xt.data() + ci * pt;
          for (std::int64_t r = t.r0; r < t.r1; ++r) {
            const std::int64_t id = r / g.in[1], ih = r % g.in[1];
            const T* row = xc + id * ss[2] + ih * ss[3];
            Acc* dst = xr + (r - t.r0) * tw - t.w0;
            for (std::int64_t iw = t.w0; iw < t.w1; ++iw)
              dst[iw] = kern::to_acc<Acc>(row[iw * ss[4]]);
          }
        }
        for (std::int64_t row = 0; row < nc * taps; ++row) {
          const Acc* cr = s.col.data() + row * pt;
          Acc* acc = s.acc.data() + row * g.cin_g;
          for (std::int64_t ci = 0; ci < g.cin_g; ++ci)
            acc[ci] += dot8(s.xt.data() + ci * pt, cr, pt);
        }
      }
    }
    for (std::int64_t c = 0; c < nc; ++c) {
      for (std::int64_t tap = 0; tap < taps; ++tap) {
        const std::int64_t kd = tap / (g.k[1] * g.k[2]), kh = (tap / g.k[2]) % g.k[1],
                           kw = tap % g.k[2];
        const Acc* acc = s.acc.data() + (c * taps + tap) * g.cin_g;
        T* out = gw + (c0 + c) * os[1] + kd * os[2] + kh * os[3] + kw * os[4];
        for (std::int64_t ci = 0; ci < g.cin_g; ++ci)
          out[(ci0 + ci) * os[0]] = kern::from_acc<T>(acc[ci]);
      }
    }
  });
}

template <class T>
void grad_bias_rows(const ConvTransposeBackwardPlan& b, int threads) {
  using Acc = kern::acc_t<T>;
  const kern::DeconvGeometry& g = b.fwd.g;
  const T* gy = static_cast<const T*>(b.fwd.dst);
  T* gb = static_cast<T*>(b.grad_bias);
  const std::int64_t cout = g.groups * g.cout_g;
  const std::int64_t* ds = g.dst_stride;
  if (static_cast<double>(b.fwd.dst_numel) < 1e5) threads = 1;
  parallel_for(cout, threads, 1, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t co = begin; co < end; ++co) {
      Acc acc = Acc(0);
      for (std::int64_t n = 0; n < g.n; ++n) {
        for (std::int64_t od = 0; od < g.out[0]; ++od) {
          for (std::int64_t oh = 0; oh < g.out[1]; ++oh) {
            acc += row_sum<Acc>(gy + n * ds[0] + co * ds[1] + od * ds[2] + oh * ds[3], g.out[2],
                                ds[4]);
          }
        }
      }
      gb[co * b.gb_stride] = kern::from_acc<T>(acc);
    }
  });
}

template <class T>
void backward_gather(const ConvTransposeBackwardPlan& b, int threads) {
  const kern::DeconvGeometry& g = b.fwd.g;
  const T* x = static_cast<const T*>(b.fwd.src);
  const T* w = static_cast<const T*>(b.fwd.weight);
  const T* gy = static_cast<const T*>(b.fwd.dst);
  if (b.grad_input != nullptr) {
    T* gx = static_cast<T*>(b.grad_input);
    parallel_for(b.fwd.src_numel, threads, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t i = begin; i < end; ++i)
        kern::deconv_grad_input_element<T>(g, b.gx_stride, b.gx_channels_last, gy, w, gx, i);
    });
  }
  if (b.grad_weight != nullptr) {
    T* gw = static_cast<T*>(b.grad_weight);
    const std::int64_t taps = g.k[0] * g.k[1] * g.k[2];
    const std::int64_t count = g.groups * g.cin_g * g.cout_g * taps;
    parallel_for(count, threads, 1, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t e = begin; e < end; ++e) {
        const std::int64_t tap = e % taps, c = (e / taps) % g.cout_g, ci = e / taps / g.cout_g;
        const std::int64_t kd = tap / (g.k[1] * g.k[2]), kh = (tap / g.k[2]) % g.k[1],
                           kw = tap % g.k[2];
        const auto v = kern::deconv_grad_weight_sum<T>(g, x, gy, ci, c, kd, kh, kw);
        gw[ci * b.gw_stride[0] + c * b.gw_stride[1] + kd * b.gw_stride[2] + kh * b.gw_stride[3] +
           kw * b.gw_stride[4]] = kern::from_acc<T>(v);
      }
    });
  }
  if (b.grad_bias != nullptr) {
    T* gb = static_cast<T*>(b.grad_bias);
    parallel_for(g.groups * g.cout_g, threads, 1, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t co = begin; co < end; ++co)
        gb[co * b.gb_stride] = kern::from_acc<T>(kern::deconv_grad_bias_sum<T>(g, gy, co));
    });
  }
}

}  // namespace

void conv_transpose_backward_cpu(const ConvTransposeBackwardPlan& p, bool gather, int threads) {
  dispatch_float(p.fwd.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (gather) {
      backward_gather<T>(p, threads);
      return;
    }
    if (conv_transpose_direct_preferred(p.fwd)) {
      if (p.grad_input != nullptr || p.grad_weight != nullptr) {
        conv_transpose_backward_cpu_direct(p, threads);
      }
    } else {
      if (p.grad_input != nullptr && p.fwd.src_numel > 0) grad_input_gemm<T>(p, threads);
      if (p.grad_weight != nullptr) grad_weight_gemm<T>(p, threads);
    }
    if (p.grad_bias != nullptr) grad_bias_rows<T>(p, threads);
  });
}

}  // namespace detail
}  // namespace ups
