// CPU backend of ups::conv_transpose.
//
// `gemm`: for each (n, group, block of output channels) task, the input is swept in tiles of
// whole rows (or row chunks); per tile, col[co][k][p] = sum over ci of W[ci, co, k] * X[ci, p]
// is a small GEMM over C_in with the position p innermost (unit stride, vectorisable, four
// output channels per sweep of X), and col2im then adds col into a per-task accumulator of the
// output planes. Tasks own disjoint output channels, so threads never share an output element,
// and every element's summation order is fixed by the problem alone (not the thread count):
// results are deterministic and identical for any number of threads.
//
// `gather`: the shared per-output-element body (deconv_math.hpp) in a parallel loop; the
// reference the CUDA gather kernel also runs.
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

// The direct path's limit on input channels per group (measured: docs/benchmarks.md).
constexpr std::int64_t kDirectMaxCinG = 8;

template <class Acc>
struct Scratch {
  std::vector<Acc> out;    // [co in block][out position]
  std::vector<Acc> wpack;  // [co in block][tap][ci]
  std::vector<Acc> xt;     // [ci][tile position]
  std::vector<Acc> col;    // [4][tap][tile position]
};

// One input tile: rows [r0, r1) of the flattened (D, H) input rows, columns [w0, w1).
struct Tile {
  std::int64_t r0, r1, w0, w1;
};

template <class T>
void gemm_impl(const ConvTransposePlan& p, int threads) {
  using Acc = kern::acc_t<T>;
  const kern::DeconvGeometry& g = p.g;
  const T* src = static_cast<const T*>(p.src);
  const T* w = static_cast<const T*>(p.weight);
  const T* bias = static_cast<const T*>(p.bias);
  T* dst = static_cast<T*>(p.dst);

  const std::int64_t taps = g.k[0] * g.k[1] * g.k[2];
  const std::int64_t in_rows = g.in[0] * g.in[1], in_w = g.in[2];
  const std::int64_t out_sp = g.out[0] * g.out[1] * g.out[2];
  const std::int64_t cin_g = g.cin_g, cout_g = g.cout_g;

  // Tile positions: col (4 x taps x P) about 512 KiB and the packed input (cin_g x P) about
  // 1 MiB, so that both stay in L2. Depends only on the problem, never on the thread count.
  const std::int64_t by_col = (std::int64_t(1) << 15) / std::max<std::int64_t>(taps, 1);
  const std::int64_t by_x = (std::int64_t(1) << 18) / std::max<std::int64_t>(cin_g, 1);
  const std::int64_t target =
      std::max<std::int64_t>(16, std::min<std::int64_t>(4096, std::min(by_col, by_x)));
  std::vector<Tile> tiles;
  if (in_w >= target) {
    for (std::int64_t r = 0; r < in_rows; ++r) {
      for (std::int64_t c = 0; c < in_w; c += target)
        tiles.push_back({r, r + 1, c, std::min(in_w, c + target)});
    }
  } else {
    const std::int64_t rows = std::max<std::int64_t>(1, target / in_w);
    for (std::int64_t r = 0; r < in_rows; r += rows)
      tiles.push_back({r, std::min(in_rows, r + rows), 0, in_w});
  }
  std::int64_t max_tile = 0;
  for (const Tile& t : tiles)
    max_tile = std::max(max_tile, (t.r1 - t.r0) * (t.w1 - t.w0));

  // Small problems run on the calling thread: spawning costs tens of microseconds.
  const double macs = static_cast<double>(g.n) * static_cast<double>(g.groups * cin_g) *
                      static_cast<double>(cout_g) * static_cast<double>(taps) *
                      static_cast<double>(in_rows * in_w);
  if (macs < 2e5) threads = 1;

  // Output-channel blocks: the accumulator is at most 8 MiB per thread, and there are enough
  // tasks to keep the threads busy.
  std::int64_t cb = std::max<std::int64_t>(
      1, std::min<std::int64_t>(cout_g, (std::int64_t(8) << 20) /
                                            static_cast<std::int64_t>(sizeof(Acc)) /
                                            std::max<std::int64_t>(out_sp, 1)));
  const std::int64_t outer = g.n * g.groups;
  while (cb > 1 && outer * ((cout_g + cb - 1) / cb) < 2 * static_cast<std::int64_t>(threads)) {
    cb = (cb + 1) / 2;
  }
  const std::int64_t blocks = (cout_g + cb - 1) / cb;
  const std::int64_t ntasks = outer * blocks;

  std::vector<Scratch<Acc>> scratch(static_cast<std::size_t>(std::max(threads, 1)));
  const std::int64_t* ss = g.src_stride;
  const std::int64_t* ws = g.w_stride;
  const std::int64_t* ds = g.dst_stride;
  const bool x_channels_inner = ss[1] == 1;

  run_tasks(ntasks, threads, [&](int worker, std::int64_t task) {
    Scratch<Acc>& s = scratch[static_cast<std::size_t>(worker)];
    const std::int64_t blk = task % blocks;
    const std::int64_t grp = (task / blocks) % g.groups;
    const std::int64_t n = task / blocks / g.groups;
    const std::int64_t co0 = blk * cb;
    const std::int64_t nco = std::min(cout_g, co0 + cb) - co0;
    const std::int64_t ci0 = grp * cin_g;

    s.out.assign(static_cast<std::size_t>(nco * out_sp), Acc(0));
    if (bias != nullptr) {
      for (std::int64_t c = 0; c < nco; ++c) {
        const Acc b = kern::to_acc<Acc>(bias[(grp * cout_g + co0 + c) * g.bias_stride]);
        std::fill(s.out.begin() + c * out_sp, s.out.begin() + (c + 1) * out_sp, b);
      }
    }
    s.wpack.resize(static_cast<std::size_t>(nco * taps * cin_g));
    for (std::int64_t c = 0; c < nco; ++c) {
      for (std::int64_t k = 0; k < taps; ++k) {
        const std::int64_t kd = k / (g.k[1] * g.k[2]), kh = (k / g.k[2]) % g.k[1], kw = k % g.k[2];
        const T* wp = w + ci0 * ws[0] + (co0 + c) * ws[1] + kd * ws[2] + kh * ws[3] + kw * ws[4];
        Acc* dstw = s.wpack.data() + (c * taps + k) * cin_g;
        for (std::int64_t ci = 0; ci < cin_g; ++ci)
          dstw[ci] = kern::to_acc<Acc>(wp[ci * ws[0]]);
      }
    }
    s.xt.resize(static_cast<std::size_t>(cin_g * max_tile));
    s.col.resize(static_cast<std::size_t>(4 * taps * max_tile));

    const T* xn = src + n * ss[0] + ci0 * ss[1];
    for (const Tile& tile : tiles) {
      const std::int64_t tw = tile.w1 - tile.w0;
      const std::int64_t pt = (tile.r1 - tile.r0) * tw;
      // Pack the tile as [ci][p] in the accumulation type (converts f16/bf16 once).
      Acc* xt = s.xt.data();
      for (std::int64_t r = tile.r0; r < tile.r1; ++r) {
        const std::int64_t id = r / g.in[1], ih = r % g.in[1];
        const T* row = xn + id * ss[2] + ih * ss[3];
        const std::int64_t pbase = (r - tile.r0) * tw;
        if (x_channels_inner) {
          for (std::int64_t iw = tile.w0; iw < tile.w1; ++iw) {
            const T* px = row + iw * ss[4];
            for (std::int64_t ci = 0; ci < cin_g; ++ci) {
              xt[ci * pt + pbase + iw - tile.w0] = kern::to_acc<Acc>(px[ci]);
            }
          }
        } else {
          for (std::int64_t ci = 0; ci < cin_g; ++ci) {
            const T* pc = row + ci * ss[1];
            Acc* xr = xt + ci * pt + pbase;
            for (std::int64_t iw = tile.w0; iw < tile.w1; ++iw) {
              xr[iw - tile.w0] = kern::to_acc<Acc>(pc[iw * ss[4]]);
            }
          }
        }
      }

      for (std::int64_t c4 = 0; c4 < nco; c4 += 4) {
        const std::int64_t nb = std::min<std::int64_t>(4, nco - c4);
        // GEMM: col[b][k][p] = sum_ci wpack[c4 + b][k][ci] * xt[ci][p].
        for (std::int64_t k = 0; k < taps; ++k) {
          Acc* cols[4];
          const Acc* wv[4];
          for (std::int64_t b = 0; b < nb; ++b) {
            cols[b] = s.col.data() + (b * taps + k) * pt;
            std::fill(cols[b], cols[b] + pt, Acc(0));
            wv[b] = s.wpack.data() + ((c4 + b) * taps + k) * cin_g;
          }
          for (std::int64_t ci = 0; ci < cin_g; ++ci) {
            const Acc* __restrict__ xr = xt + ci * pt;
            if (nb == 4) {
              Acc* __restrict__ a0 = cols[0];
              Acc* __restrict__ a1 = cols[1];
              Acc* __restrict__ a2 = cols[2];
              Acc* __restrict__ a3 = cols[3];
              const Acc w0 = wv[0][ci], w1 = wv[1][ci], w2 = wv[2][ci], w3 = wv[3][ci];
              for (std::int64_t q = 0; q < pt; ++q) {
                const Acc x = xr[q];
                a0[q] += w0 * x;
                a1[q] += w1 * x;
                a2[q] += w2 * x;
                a3[q] += w3 * x;
              }
            } else {
              for (std::int64_t b = 0; b < nb; ++b) {
                Acc* __restrict__ a = cols[b];
                const Acc wb = wv[b][ci];
                for (std::int64_t q = 0; q < pt; ++q)
                  a[q] += wb * xr[q];
              }
            }
          }
        }
        // col2im: scatter col into the task's output planes (owned by this task only).
        for (std::int64_t b = 0; b < nb; ++b) {
          Acc* plane = s.out.data() + (c4 + b) * out_sp;
          for (std::int64_t k = 0; k < taps; ++k) {
            const std::int64_t kd = k / (g.k[1] * g.k[2]), kh = (k / g.k[2]) % g.k[1],
                               kw = k % g.k[2];
            const Acc* crow = s.col.data() + (b * taps + k) * pt;
            const std::int64_t wshift = kw * g.dil[2] - g.pad[2];  // ow = iw * s + wshift
            const std::int64_t lo_num = -wshift;
            std::int64_t lo = lo_num <= 0 ? 0 : (lo_num + g.stride[2] - 1) / g.stride[2];
            const std::int64_t hi_num = g.out[2] - 1 - wshift;
            if (hi_num < 0) continue;
            std::int64_t hi = std::min(in_w - 1, hi_num / g.stride[2]);
            lo = std::max(lo, tile.w0);
            hi = std::min(hi, tile.w1 - 1);
            if (lo > hi) continue;
            for (std::int64_t r = tile.r0; r < tile.r1; ++r) {
              const std::int64_t id = r / g.in[1], ih = r % g.in[1];
              const std::int64_t od = id * g.stride[0] - g.pad[0] + kd * g.dil[0];
              if (od < 0 || od >= g.out[0]) continue;
              const std::int64_t oh = ih * g.stride[1] - g.pad[1] + kh * g.dil[1];
              if (oh < 0 || oh >= g.out[1]) continue;
              const Acc* cr = crow + (r - tile.r0) * tw;
              Acc* orow = plane + (od * g.out[1] + oh) * g.out[2];
              for (std::int64_t iw = lo; iw <= hi; ++iw) {
                orow[iw * g.stride[2] + wshift] += cr[iw - tile.w0];
              }
            }
          }
        }
      }
    }

    for (std::int64_t c = 0; c < nco; ++c) {
      const Acc* plane = s.out.data() + c * out_sp;
      T* dn = dst + n * ds[0] + (grp * cout_g + co0 + c) * ds[1];
      for (std::int64_t od = 0; od < g.out[0]; ++od) {
        for (std::int64_t oh = 0; oh < g.out[1]; ++oh) {
          const Acc* pr = plane + (od * g.out[1] + oh) * g.out[2];
          T* dr = dn + od * ds[2] + oh * ds[3];
          for (std::int64_t ow = 0; ow < g.out[2]; ++ow)
            dr[ow * ds[4]] = kern::from_acc<T>(pr[ow]);
        }
      }
    }
  });
}

}  // namespace

bool conv_transpose_direct_preferred(const ConvTransposePlan& p) {
  // Few input channels per group leave the GEMM too shallow to pay for im2col and col2im.
  return p.g.cin_g <= kDirectMaxCinG;
}

void conv_transpose_cpu_gemm(const ConvTransposePlan& p, int threads) {
  if (conv_transpose_direct_preferred(p)) {
    conv_transpose_cpu_direct(p, threads);
    return;
  }
  dispatch_float(p.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    gemm_impl<T>(p, threads);
  });
}

void conv_transpose_cpu_gather(const ConvTransposePlan& p, int threads) {
  dispatch_float(p.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* src = static_cast<const T*>(p.src);
    const T* w = static_cast<const T*>(p.weight);
    const T* bias = static_cast<const T*>(p.bias);
    T* dst = static_cast<T*>(p.dst);
    parallel_for(p.dst_numel, threads, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t i = begin; i < end; ++i)
        kern::deconv_gather_element<T>(p.g, src, w, bias, dst, i);
    });
  });
}

}  // namespace detail
}  // namespace ups
