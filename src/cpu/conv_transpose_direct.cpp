// The CPU backend's direct path of ups::conv_transpose for narrow layers (few channels per
// group: depthwise, a decoder's last layer to RGB, FSRCNN-like single-output layers), where a
// GEMM over C_in has too little depth to pay for im2col and col2im.
//
// Phase decomposition along W: the outputs ow = ow0 + j * stride of one phase (ow0 in
// [0, stride)) are reached by the same taps k0, k0 + m, ... (NOTE in deconv_math.hpp), from
// inputs i0 + j - t * istep. With each input row copied once into a zero-padded buffer, every
// phase of every output row is a handful of vector multiply-adds of contiguous input runs into a
// contiguous accumulator run (SIMD along j, Highway with run-time dispatch), with no
// per-element index arithmetic. The phases are then interleaved into the output row. D and H
// contribute the lists of (tap, input row) pairs of each output plane and row.
//
// Summation order per output element: input channels, then D taps, H taps, W taps, each in a
// fixed order depending on the problem alone; tasks own disjoint output channels. So the result
// is deterministic and the same for any thread count (it differs from the per-element
// reference in rounding only, which the tests bound).
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "conv_transpose_plan.hpp"
#include "cpu/parallel.hpp"
#include "dispatch.hpp"

// The plan is target-independent: compiled once, not per Highway target.
#ifndef UPS_CPU_CONV_TRANSPOSE_DIRECT_PLAN
#define UPS_CPU_CONV_TRANSPOSE_DIRECT_PLAN
namespace ups {
namespace detail {
namespace direct {

// One W phase: outputs ow0 + j * stride for j in [0, count), taps k0 + t * kstep for t in
// [0, taps), reading padded-row positions first + j - t * istep.
struct Phase {
  std::int64_t ow0, count, k0, kstep, taps, first, istep, offset;  // offset: in the acc row
};

// (tap, input index) pairs of one output coordinate along D or H.
struct TapList {
  std::vector<std::int64_t> start;  // per output coordinate, into k / i
  std::vector<std::int64_t> k, i;
};

struct Plan {
  std::vector<Phase> phases;
  std::int64_t left = 0, row = 0;  // zero columns before the input row; padded row length
  std::int64_t acc_row = 0;        // accumulator row length (phases back to back, + slack)
  TapList d, h;
};

TapList tap_list(const kern::DeconvGeometry& g, int dim) {
  TapList l;
  for (std::int64_t o = 0; o < g.out[dim]; ++o) {
    l.start.push_back(static_cast<std::int64_t>(l.k.size()));
    const kern::TapWalk t = kern::deconv_taps(g, dim, o);
    for (std::int64_t a = 0; a < t.count; ++a) {
      l.k.push_back(t.k0 + a * t.kstep);
      l.i.push_back(t.i0 - a * t.istep);
    }
  }
  l.start.push_back(static_cast<std::int64_t>(l.k.size()));
  return l;
}

Plan make_plan(const kern::DeconvGeometry& g, std::int64_t lanes) {
  Plan p;
  const std::int64_t s = g.stride[2], dil = g.dil[2], gg = g.tap_gcd[2], m = s / gg;
  const std::int64_t out_w = g.out[2], k_w = g.k[2], in_w = g.in[2];
  std::int64_t lo = 0, hi = in_w;  // padded range of input positions read
  std::int64_t offset = 0;
  for (std::int64_t ow0 = 0; ow0 < std::min(s, out_w); ++ow0) {
    Phase ph{};
    ph.ow0 = ow0;
    ph.count = (out_w - ow0 + s - 1) / s;
    ph.offset = offset;
    offset += (ph.count + lanes - 1) / lanes * lanes + lanes;
    const std::int64_t q = ow0 + g.pad[2];
    if (q % gg == 0) {
      const std::int64_t k0 = ((q / gg) % m) * g.tap_inv[2] % m;
      if (k0 < k_w) {
        ph.k0 = k0;
        ph.kstep = m;
        ph.taps = (k_w - k0 + m - 1) / m;
        ph.first = (q - k0 * dil) / s;  // exact: q == k0 * dil (mod s)
        ph.istep = dil / gg;
        lo = std::min(lo, ph.first - (ph.taps - 1) * ph.istep);
        hi = std::max(hi, ph.first + ph.count + lanes);  // whole vectors past the last output
      }
    }
    p.phases.push_back(ph);
  }
  p.left = -lo;
  p.row = hi - lo;
  p.acc_row = offset;
  p.d = tap_list(g, 0);
  p.h = tap_list(g, 1);
  return p;
}

}  // namespace direct
}  // namespace detail
}  // namespace ups
#endif  // UPS_CPU_CONV_TRANSPOSE_DIRECT_PLAN

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "cpu/conv_transpose_direct.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include "cpu/simd_convert-inl.h"

HWY_BEFORE_NAMESPACE();
namespace ups {
namespace detail {
namespace HWY_NAMESPACE {

template <class T>
void DirectImpl(const ConvTransposePlan& cp, int threads) {
  using Acc = kern::acc_t<T>;
  const hn::ScalableTag<Acc> d;
  const std::int64_t lanes = static_cast<std::int64_t>(hn::Lanes(d));
  const kern::DeconvGeometry& g = cp.g;
  const direct::Plan plan = direct::make_plan(g, lanes);
  const T* src = static_cast<const T*>(cp.src);
  const T* w = static_cast<const T*>(cp.weight);
  const T* bias = static_cast<const T*>(cp.bias);
  T* dst = static_cast<T*>(cp.dst);
  const std::int64_t* ss = g.src_stride;
  const std::int64_t* ws = g.w_stride;
  const std::int64_t* ds = g.dst_stride;
  const std::int64_t in_rows = g.in[0] * g.in[1];
  // Output channels per task: all of the group's when few, so that each input run loaded serves
  // them all; blocks of 8 otherwise.
  const std::int64_t cb = std::min<std::int64_t>(g.cout_g, 8);
  const std::int64_t blocks = (g.cout_g + cb - 1) / cb;
  const std::int64_t tasks = g.n * g.groups * blocks;
  const double work = static_cast<double>(cp.dst_numel) * static_cast<double>(g.cin_g);
  if (work < 1e5) threads = 1;
  const bool unit_w = ds[4] == 1;
  const bool interleave2 = unit_w && g.stride[2] == 2 && plan.phases.size() == 2;

  run_tasks(tasks, threads, [&](int, std::int64_t task) {
    const std::int64_t blk = task % blocks;
    const std::int64_t grp = (task / blocks) % g.groups;
    const std::int64_t n = task / blocks / g.groups;
    const std::int64_t c0 = blk * cb, nc = std::min(g.cout_g, c0 + cb) - c0;
    // The group's input rows, zero-padded, in the accumulation type.
    std::vector<Acc> xp(static_cast<std::size_t>(g.cin_g * in_rows * plan.row), Acc(0));
    for (std::int64_t ci = 0; ci < g.cin_g; ++ci) {
      const T* xc = src + n * ss[0] + (grp * g.cin_g + ci) * ss[1];
      for (std::int64_t r = 0; r < in_rows; ++r) {
        const T* xr = xc + (r / g.in[1]) * ss[2] + (r % g.in[1]) * ss[3];
        Acc* row = xp.data() + (ci * in_rows + r) * plan.row + plan.left;
        for (std::int64_t i = 0; i < g.in[2]; ++i)
          row[i] = kern::to_acc<Acc>(xr[i * ss[4]]);
      }
    }
    std::vector<Acc> acc(static_cast<std::size_t>(nc * plan.acc_row));
    std::vector<Acc> pair(static_cast<std::size_t>(2 * lanes));  // two phases interleaved
    for (std::int64_t od = 0; od < g.out[0]; ++od) {
      for (std::int64_t oh = 0; oh < g.out[1]; ++oh) {
        std::fill(acc.begin(), acc.end(), Acc(0));
        for (std::int64_t ci = 0; ci < g.cin_g; ++ci) {
          for (std::int64_t a = plan.d.start[od]; a < plan.d.start[od + 1]; ++a) {
            for (std::int64_t b = plan.h.start[oh]; b < plan.h.start[oh + 1]; ++b) {
              const std::int64_t kd = plan.d.k[a], kh = plan.h.k[b];
              const Acc* xrow = xp.data() +
                                (ci * in_rows + plan.d.i[a] * g.in[1] + plan.h.i[b]) * plan.row +
                                plan.left;
              const T* wrow = w + (grp * g.cin_g + ci) * ws[0] + kd * ws[2] + kh * ws[3];
              for (std::int64_t c = 0; c < nc; ++c) {
                const T* wc = wrow + (c0 + c) * ws[1];
                Acc* arow = acc.data() + c * plan.acc_row;
                for (const direct::Phase& ph : plan.phases) {
                  Acc* ap = arow + ph.offset;
                  for (std::int64_t t = 0; t < ph.taps; ++t) {
                    const auto wv =
                        hn::Set(d, kern::to_acc<Acc>(wc[(ph.k0 + t * ph.kstep) * ws[4]]));
                    const Acc* xs = xrow + ph.first - t * ph.istep;
                    for (std::int64_t j = 0; j < ph.count; j += lanes) {
                      hn::StoreU(hn::MulAdd(wv, hn::LoadU(d, xs + j), hn::LoadU(d, ap + j)), d,
                                 ap + j);
                    }
                  }
                }
              }
            }
          }
        }
        for (std::int64_t c = 0; c < nc; ++c) {
          const std::int64_t co = grp * g.cout_g + c0 + c;
          const Acc bv = bias != nullptr ? kern::to_acc<Acc>(bias[co * g.bias_stride]) : Acc(0);
          const Acc* arow = acc.data() + c * plan.acc_row;
          T* orow = dst + n * ds[0] + co * ds[1] + od * ds[2] + oh * ds[3];
          std::int64_t done = 0;  // outputs [0, 2 * done) written by the interleaving loop
          if (interleave2) {
            const Acc* a0 = arow + plan.phases[0].offset;
            const Acc* a1 = arow + plan.phases[1].offset;
            const auto vb = hn::Set(d, bv);
            for (; 2 * (done + lanes) <= g.out[2]; done += lanes) {
              const auto e = hn::Add(hn::LoadU(d, a0 + done), vb);
              const auto o = hn::Add(hn::LoadU(d, a1 + done), vb);
              if constexpr (std::is_same_v<T, Acc>) {
                hn::StoreInterleaved2(e, o, d, orow + 2 * done);
              } else {
                hn::StoreInterleaved2(e, o, d, pair.data());
                StoreAcc(d, hn::LoadU(d, pair.data()), orow + 2 * done);
                StoreAcc(d, hn::LoadU(d, pair.data() + lanes), orow + 2 * done + lanes);
              }
            }
          }
          for (const direct::Phase& ph : plan.phases) {
            const Acc* ap = arow + ph.offset;
            // The interleaving loop wrote outputs [0, 2 * done): j < done in both phases.
            for (std::int64_t j = done; j < ph.count; ++j) {
              orow[(ph.ow0 + j * g.stride[2]) * ds[4]] = kern::from_acc<T>(ap[j] + bv);
            }
          }
        }
      }
    }
  });
}

void Direct(const ConvTransposePlan& p, int threads) {
  dispatch_float(p.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    DirectImpl<T>(p, threads);
  });
}

}  // namespace HWY_NAMESPACE
}  // namespace detail
}  // namespace ups
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace ups {
namespace detail {

HWY_EXPORT(Direct);

void conv_transpose_cpu_direct(const ConvTransposePlan& p, int threads) {
  HWY_DYNAMIC_DISPATCH(Direct)(p, threads);
}

}  // namespace detail
}  // namespace ups
#endif  // HWY_ONCE
