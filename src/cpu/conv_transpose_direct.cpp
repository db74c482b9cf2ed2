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
#include <atomic>
#include <cstdint>
#include <cstring>
#include <new>
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

// The backward's view of W: grad_output rows split into `stride` phase rows (phase r holds
// outputs r, r + s, r + 2s, ...), each zero-padded so that tap kw of input iw reads phase
// rphase[kw] at position iw + shift[kw] + left, and no read leaves the row.
struct BackPlan {
  std::vector<std::int64_t> rphase, shift;     // per W tap
  std::int64_t phases = 1, left = 0, len = 0;  // padded phase-row length
  TapList d, h;  // per input coordinate: (tap, output index) pairs inside the output
};

// (tap, output index) pairs of every input coordinate along D or H.
TapList back_list(const kern::DeconvGeometry& g, int dim) {
  TapList l;
  for (std::int64_t i = 0; i < g.in[dim]; ++i) {
    l.start.push_back(static_cast<std::int64_t>(l.k.size()));
    for (std::int64_t k = 0; k < g.k[dim]; ++k) {
      const std::int64_t o = i * g.stride[dim] - g.pad[dim] + k * g.dil[dim];
      if (o < 0 || o >= g.out[dim]) continue;
      l.k.push_back(k);
      l.i.push_back(o);
    }
  }
  l.start.push_back(static_cast<std::int64_t>(l.k.size()));
  return l;
}

BackPlan make_back_plan(const kern::DeconvGeometry& g, std::int64_t lanes) {
  BackPlan b;
  const std::int64_t s = g.stride[2];
  b.phases = s;
  std::int64_t lo = 0, hi = 0;
  for (std::int64_t kw = 0; kw < g.k[2]; ++kw) {
    const std::int64_t c = kw * g.dil[2] - g.pad[2];              // ow = iw * s + c
    const std::int64_t q = c >= 0 ? c / s : -((-c + s - 1) / s);  // floor(c / s)
    b.rphase.push_back(c - q * s);
    b.shift.push_back(q);
    lo = std::min(lo, q);
    hi = std::max(hi, q);
  }
  const std::int64_t phase_count = (g.out[2] + s - 1) / s;
  b.left = -lo;
  // Reads reach iw + shift + lanes - 1 for iw up to in_w rounded up to whole vectors.
  const std::int64_t reach = (g.in[2] + lanes - 1) / lanes * lanes + hi;
  b.len = b.left + std::max(reach, phase_count) + lanes;
  b.d = back_list(g, 0);
  b.h = back_list(g, 1);
  return b;
}

// Rows of a layer with one input channel per group (depthwise, channel multipliers, the few-
// channel first layers of a decoder) take the row kernel DepthwiseImpl when W has stride 1 or 2
// and unit output stride: every term of an output row (D tap, H tap, W tap) is known before the
// row starts, so the row's loop is loads and multiply-adds alone.
constexpr std::int64_t kRowTermsMax = 32;  // terms of one phase of one output row

// The most (tap, input) pairs of any output coordinate of a tap list.
std::int64_t most_taps(const TapList& l) {
  std::int64_t m = 0;
  for (std::size_t o = 0; o + 1 < l.start.size(); ++o)
    m = std::max(m, l.start[o + 1] - l.start[o]);
  return m;
}

// Every output row's terms for RowsImpl, the same for every image and channel: per (D, H) output
// row and W phase, the input position of each term (from the start of the padded input buffer,
// for the phase's first output) and its weight's index in the packed [kd][kh][kw] weights. Built
// once per call, so that a row starts with table reads alone.
struct RowTable {
  std::vector<std::int64_t> start;  // per row and phase: into off / wk; (rows * phases + 1)
  std::vector<std::int64_t> off;
  std::vector<std::int32_t> wk;
  std::vector<std::int64_t> lo, hi;  // per row: the first and last input row it reads
  std::vector<std::int64_t> dst;     // per row: od * dst_stride[2] + oh * dst_stride[3]
};

RowTable row_table(const kern::DeconvGeometry& g, const Plan& p) {
  RowTable t;
  const std::int64_t phases = static_cast<std::int64_t>(p.phases.size());
  for (std::int64_t od = 0; od < g.out[0]; ++od) {
    for (std::int64_t oh = 0; oh < g.out[1]; ++oh) {
      std::int64_t lo = g.in[0] * g.in[1], hi = -1;
      for (std::int64_t q = 0; q < phases; ++q) {
        const Phase& ph = p.phases[static_cast<std::size_t>(q)];
        t.start.push_back(static_cast<std::int64_t>(t.off.size()));
        for (std::int64_t a = p.d.start[od]; a < p.d.start[od + 1]; ++a) {
          for (std::int64_t b = p.h.start[oh]; b < p.h.start[oh + 1]; ++b) {
            const std::int64_t ir = p.d.i[a] * g.in[1] + p.h.i[b];
            lo = std::min(lo, ir);
            hi = std::max(hi, ir);
            for (std::int64_t k = 0; k < ph.taps; ++k) {
              t.off.push_back(ir * p.row + p.left + ph.first - k * ph.istep);
              t.wk.push_back(static_cast<std::int32_t>((p.d.k[a] * g.k[1] + p.h.k[b]) * g.k[2] +
                                                       ph.k0 + k * ph.kstep));
            }
          }
        }
      }
      t.lo.push_back(lo);
      t.hi.push_back(hi);
      t.dst.push_back(od * g.dst_stride[2] + oh * g.dst_stride[3]);
    }
  }
  t.start.push_back(static_cast<std::int64_t>(t.off.size()));
  return t;
}

bool rows_fit(const kern::DeconvGeometry& g, const Plan& p) {
  if (g.cin_g != 1 || g.dst_stride[4] != 1) return false;
  if (g.stride[2] > 2 || static_cast<std::int64_t>(p.phases.size()) != g.stride[2]) return false;
  std::int64_t wt = 0;
  for (const Phase& ph : p.phases)
    wt = std::max(wt, ph.taps);
  return most_taps(p.d) * most_taps(p.h) * wt <= kRowTermsMax;
}

}  // namespace direct
}  // namespace detail
}  // namespace ups
#endif  // UPS_CPU_CONV_TRANSPOSE_DIRECT_PLAN

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "cpu/conv_transpose_direct.cpp"
#include <hwy/aligned_allocator.h>
#include <hwy/cache_control.h>
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
  const bool stream = static_cast<double>(cp.dst_numel) * sizeof(T) >= 16.0 * (1 << 20);

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
    // The task's weights in the accumulation type: wpk[c][ci][kd][kh][kw].
    const std::int64_t k_all = g.k[0] * g.k[1] * g.k[2];
    std::vector<Acc> wpk(static_cast<std::size_t>(nc * g.cin_g * k_all));
    for (std::int64_t c = 0; c < nc; ++c) {
      for (std::int64_t ci = 0; ci < g.cin_g; ++ci) {
        for (std::int64_t k = 0; k < k_all; ++k) {
          const std::int64_t kd = k / (g.k[1] * g.k[2]), kh = (k / g.k[2]) % g.k[1],
                             kw = k % g.k[2];
          wpk[static_cast<std::size_t>((c * g.cin_g + ci) * k_all + k)] =
              kern::to_acc<Acc>(w[(grp * g.cin_g + ci) * ws[0] + (c0 + c) * ws[1] + kd * ws[2] +
                                  kh * ws[3] + kw * ws[4]]);
        }
      }
    }
    // Two phases interleaved (aligned for the streaming path's loads).
    hwy::AlignedFreeUniquePtr<Acc[]> pair_buf = hwy::AllocateAligned<Acc>(2 * lanes);
    std::vector<std::int64_t> fused_done(static_cast<std::size_t>(nc), 0);
    Acc* pair = pair_buf.get();
    for (std::int64_t od = 0; od < g.out[0]; ++od) {
      for (std::int64_t oh = 0; oh < g.out[1]; ++oh) {
        // Each vector of outputs sums all its terms in registers (input channels, D taps, H
        // taps, W taps, in that order) and is stored once.
        for (std::int64_t c = 0; c < nc; ++c) {
          Acc* arow = acc.data() + c * plan.acc_row;
          const Acc* wc = wpk.data() + c * g.cin_g * k_all;
          // Stride 2 along W (decoder up-sampling): both phases' sums for 2 * lanes outputs each
          // stay in registers and are interleaved straight into the output row, with no pass
          // through the accumulator row. The rest of the row takes the general path below.
          std::int64_t fused = 0;
          if constexpr (std::is_same_v<T, Acc>) {
            if (interleave2) {
              const direct::Phase& p0 = plan.phases[0];
              const direct::Phase& p1 = plan.phases[1];
              const std::int64_t co = grp * g.cout_g + c0 + c;
              const auto vb = hn::Set(
                  d, bias != nullptr ? kern::to_acc<Acc>(bias[co * g.bias_stride]) : Acc(0));
              T* orow = dst + n * ds[0] + co * ds[1] + od * ds[2] + oh * ds[3];
              const std::int64_t lim = std::min(p0.count, p1.count);
              for (; fused + 2 * lanes <= lim && 2 * (fused + 2 * lanes) <= g.out[2];
                   fused += 2 * lanes) {
                auto e0 = vb, e1 = vb, o0 = vb, o1 = vb;
                for (std::int64_t ci = 0; ci < g.cin_g; ++ci) {
                  for (std::int64_t a = plan.d.start[od]; a < plan.d.start[od + 1]; ++a) {
                    for (std::int64_t b = plan.h.start[oh]; b < plan.h.start[oh + 1]; ++b) {
                      const Acc* xs =
                          xp.data() +
                          (ci * in_rows + plan.d.i[a] * g.in[1] + plan.h.i[b]) * plan.row +
                          plan.left + fused;
                      const Acc* wk =
                          wc + ((ci * g.k[0] + plan.d.k[a]) * g.k[1] + plan.h.k[b]) * g.k[2];
                      for (std::int64_t t = 0; t < p0.taps; ++t) {
                        const auto wv = hn::Set(d, wk[p0.k0 + t * p0.kstep]);
                        const Acc* x = xs + p0.first - t * p0.istep;
                        e0 = hn::MulAdd(wv, hn::LoadU(d, x), e0);
                        e1 = hn::MulAdd(wv, hn::LoadU(d, x + lanes), e1);
                      }
                      for (std::int64_t t = 0; t < p1.taps; ++t) {
                        const auto wv = hn::Set(d, wk[p1.k0 + t * p1.kstep]);
                        const Acc* x = xs + p1.first - t * p1.istep;
                        o0 = hn::MulAdd(wv, hn::LoadU(d, x), o0);
                        o1 = hn::MulAdd(wv, hn::LoadU(d, x + lanes), o1);
                      }
                    }
                  }
                }
                T* out = orow + 2 * fused;
                if (stream && reinterpret_cast<std::uintptr_t>(out) % (sizeof(Acc) * lanes) == 0) {
                  hn::StoreInterleaved2(e0, o0, d, pair);
                  hn::Stream(hn::Load(d, pair), d, out);
                  hn::Stream(hn::Load(d, pair + lanes), d, out + lanes);
                  hn::StoreInterleaved2(e1, o1, d, pair);
                  hn::Stream(hn::Load(d, pair), d, out + 2 * lanes);
                  hn::Stream(hn::Load(d, pair + lanes), d, out + 3 * lanes);
                } else {
                  hn::StoreInterleaved2(e0, o0, d, out);
                  hn::StoreInterleaved2(e1, o1, d, out + 2 * lanes);
                }
              }
            }
          }
          fused_done[static_cast<std::size_t>(c)] = fused;
          for (const direct::Phase& ph : plan.phases) {
            Acc* ap = arow + ph.offset;
            // Four vectors at a time: independent sums hide the multiply-add latency.
            auto terms = [&](std::int64_t j, auto&& fma) {
              for (std::int64_t ci = 0; ci < g.cin_g; ++ci) {
                for (std::int64_t a = plan.d.start[od]; a < plan.d.start[od + 1]; ++a) {
                  for (std::int64_t b = plan.h.start[oh]; b < plan.h.start[oh + 1]; ++b) {
                    const Acc* xs =
                        xp.data() +
                        (ci * in_rows + plan.d.i[a] * g.in[1] + plan.h.i[b]) * plan.row +
                        plan.left + ph.first + j;
                    const Acc* wk =
                        wc + ((ci * g.k[0] + plan.d.k[a]) * g.k[1] + plan.h.k[b]) * g.k[2] + ph.k0;
                    for (std::int64_t t = 0; t < ph.taps; ++t)
                      fma(hn::Set(d, wk[t * ph.kstep]), xs - t * ph.istep);
                  }
                }
              }
            };
            std::int64_t j = fused;
            for (; j + 4 * lanes <= ph.count; j += 4 * lanes) {
              auto s0 = hn::Zero(d), s1 = hn::Zero(d), s2 = hn::Zero(d), s3 = hn::Zero(d);
              terms(j, [&](const auto& wv, const Acc* x) {
                s0 = hn::MulAdd(wv, hn::LoadU(d, x), s0);
                s1 = hn::MulAdd(wv, hn::LoadU(d, x + lanes), s1);
                s2 = hn::MulAdd(wv, hn::LoadU(d, x + 2 * lanes), s2);
                s3 = hn::MulAdd(wv, hn::LoadU(d, x + 3 * lanes), s3);
              });
              hn::StoreU(s0, d, ap + j);
              hn::StoreU(s1, d, ap + j + lanes);
              hn::StoreU(s2, d, ap + j + 2 * lanes);
              hn::StoreU(s3, d, ap + j + 3 * lanes);
            }
            for (; j < ph.count; j += lanes) {
              auto s0 = hn::Zero(d);
              terms(j, [&](const auto& wv, const Acc* x) {
                s0 = hn::MulAdd(wv, hn::LoadU(d, x), s0);
              });
              hn::StoreU(s0, d, ap + j);
            }
          }
        }
        for (std::int64_t c = 0; c < nc; ++c) {
          const std::int64_t co = grp * g.cout_g + c0 + c;
          const Acc bv = bias != nullptr ? kern::to_acc<Acc>(bias[co * g.bias_stride]) : Acc(0);
          const Acc* arow = acc.data() + c * plan.acc_row;
          T* orow = dst + n * ds[0] + co * ds[1] + od * ds[2] + oh * ds[3];
          // Outputs [0, 2 * done) are written (by the fused loop, then the interleaving loop).
          std::int64_t done = fused_done[static_cast<std::size_t>(c)];
          if (interleave2) {
            const Acc* a0 = arow + plan.phases[0].offset;
            const Acc* a1 = arow + plan.phases[1].offset;
            const auto vb = hn::Set(d, bv);
            for (; 2 * (done + lanes) <= g.out[2]; done += lanes) {
              const auto e = hn::Add(hn::LoadU(d, a0 + done), vb);
              const auto o = hn::Add(hn::LoadU(d, a1 + done), vb);
              if constexpr (std::is_same_v<T, Acc>) {
                T* out = orow + 2 * done;
                if (stream && reinterpret_cast<std::uintptr_t>(out) % (sizeof(Acc) * lanes) == 0) {
                  // Outputs larger than the caches: skip the read-for-ownership of each line.
                  hn::StoreInterleaved2(e, o, d, pair);
                  hn::Stream(hn::Load(d, pair), d, out);
                  hn::Stream(hn::Load(d, pair + lanes), d, out + lanes);
                } else {
                  hn::StoreInterleaved2(e, o, d, out);
                }
              } else {
                hn::StoreInterleaved2(e, o, d, pair);
                StoreAcc(d, hn::LoadU(d, pair), orow + 2 * done);
                StoreAcc(d, hn::LoadU(d, pair + lanes), orow + 2 * done + lanes);
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
    if (stream) hwy::FlushStream();
  });
}

// a0 b0 a1 b1 ... as two vectors, in registers (zip: the lane permutation that interleaves the
// lower halves of a and b once they are concatenated).
template <class D, class V, class I>
HWY_INLINE void Zip2(D d, V a, V b, I zip, V& lo, V& hi) {
#if HWY_TARGET == HWY_SCALAR
  (void)d;
  (void)zip;
  lo = a;
  hi = b;
#else
  lo = hn::TableLookupLanes(hn::ConcatLowerLower(d, b, a), zip);
  hi = hn::TableLookupLanes(hn::ConcatUpperUpper(d, b, a), zip);
#endif
}

// One input channel per group, W stride 1 or 2 (direct::rows_fit). A task is a block of output
// rows of one (image, group): it copies the input rows those rows read into a zero-padded buffer
// of its worker (allocated once per call), then, for each output channel of the group, builds
// each output row's terms (input position and weight, for every D, H and W tap of each W phase)
// and runs the row in vectors of 2 * lanes outputs per phase with every sum in registers. With
// stride 2 the two phases are interleaved on their way to the output; outputs larger than
// the caches are written with streaming stores. Summation order per output element: D taps, H
// taps, W taps, as in DirectImpl, so results do not depend on the thread count.
template <class T>
void RowsImpl(const ConvTransposePlan& cp, const direct::Plan& plan, int threads) {
  using Acc = kern::acc_t<T>;
  const hn::ScalableTag<Acc> d;
  const std::int64_t lanes = static_cast<std::int64_t>(hn::Lanes(d));
  const kern::DeconvGeometry& g = cp.g;
  const T* src = static_cast<const T*>(cp.src);
  const T* w = static_cast<const T*>(cp.weight);
  const T* bias = static_cast<const T*>(cp.bias);
  T* dst = static_cast<T*>(cp.dst);
  const std::int64_t* ss = g.src_stride;
  const std::int64_t* ws = g.w_stride;
  const std::int64_t* ds = g.dst_stride;
  const std::int64_t s = g.stride[2];
  const std::int64_t out_w = g.out[2], out_rows = g.out[0] * g.out[1];
  const std::int64_t planes = g.n * g.groups;
  const double work = static_cast<double>(cp.dst_numel);
  if (work < 1e5) threads = 1;
  // Blocks of rows when there are fewer planes than a few per thread, so that threads balance.
  const std::int64_t want = 8 * static_cast<std::int64_t>(threads);
  const std::int64_t blocks =
      threads > 1 && planes < want ? std::min(out_rows, (want + planes - 1) / planes) : 1;
  const std::int64_t block_rows = (out_rows + blocks - 1) / blocks;
  const bool stream = static_cast<double>(cp.dst_numel) * sizeof(T) >= 16.0 * (1 << 20);
  const std::int64_t in_rows = g.in[0] * g.in[1];
  const int workers =
      static_cast<int>(std::max<std::int64_t>(1, std::min<std::int64_t>(threads, planes * blocks)));
  struct Scratch {
    std::vector<Acc> xp;  // input rows, zero-padded (the padding is never written)
    std::vector<Acc> wk;  // one output channel's weights, [kd][kh][kw]
    hwy::AlignedFreeUniquePtr<Acc[]> pair;
  };
  const direct::RowTable rt = direct::row_table(g, plan);
  // Lane permutation that interleaves the lower (or upper) halves of two vectors, once they are
  // concatenated: a0 b0 a1 b1 ...
  using TI = hwy::MakeSigned<Acc>;
  HWY_ALIGN TI zip_lanes[HWY_MAX_BYTES / sizeof(Acc)] = {};
  for (std::int64_t i = 0; i < lanes; ++i)
    zip_lanes[i] = static_cast<TI>(i % 2 == 0 ? i / 2 : lanes / 2 + i / 2);
  const auto zip = hn::SetTableIndices(d, zip_lanes);
  const std::int64_t k_all = g.k[0] * g.k[1] * g.k[2];
  std::vector<Scratch> scratch(static_cast<std::size_t>(workers));

  for (Scratch& sc : scratch) {
    sc.xp.assign(static_cast<std::size_t>(in_rows * plan.row), Acc(0));
    sc.wk.resize(static_cast<std::size_t>(k_all));
    sc.pair = hwy::AllocateAligned<Acc>(static_cast<std::size_t>(4 * lanes));
    if (!sc.pair) throw std::bad_alloc();
  }

  // Allocates nothing and throws nothing.
  auto run = [&](int worker, std::int64_t task) {
    Scratch& sc = scratch[static_cast<std::size_t>(worker)];
    Acc* pair = sc.pair.get();
    const std::int64_t blk = task % blocks, plane = task / blocks;
    const std::int64_t grp = plane % g.groups, n = plane / g.groups;
    const std::int64_t r0 = blk * block_rows, r1 = std::min(out_rows, r0 + block_rows);
    if (r0 >= r1) return;
    // The input rows the block reads: [lo, hi] of the flattened (D, H) input rows.
    std::int64_t lo = in_rows, hi = -1;
    for (std::int64_t r = r0; r < r1; ++r) {
      lo = std::min(lo, rt.lo[static_cast<std::size_t>(r)]);
      hi = std::max(hi, rt.hi[static_cast<std::size_t>(r)]);
    }
    const T* xc = src + n * ss[0] + grp * ss[1];
    for (std::int64_t ir = lo; ir <= hi; ++ir) {
      const T* xr = xc + (ir / g.in[1]) * ss[2] + (ir % g.in[1]) * ss[3];
      Acc* row = sc.xp.data() + ir * plan.row + plan.left;
      if (ss[4] == 1) {
        std::int64_t i = 0;
        for (; i + lanes <= g.in[2]; i += lanes)
          hn::StoreU(LoadAcc(d, xr + i), d, row + i);
        for (; i < g.in[2]; ++i)
          row[i] = kern::to_acc<Acc>(xr[i]);
      } else {
        for (std::int64_t i = 0; i < g.in[2]; ++i)
          row[i] = kern::to_acc<Acc>(xr[i * ss[4]]);
      }
    }
    const Acc* xp = sc.xp.data();
    Acc* wk = sc.wk.data();
    for (std::int64_t c = 0; c < g.cout_g; ++c) {
      const std::int64_t co = grp * g.cout_g + c;
      const T* wc = w + grp * ws[0] + c * ws[1];
      for (std::int64_t k = 0; k < k_all; ++k) {
        const std::int64_t kd = k / (g.k[1] * g.k[2]), kh = (k / g.k[2]) % g.k[1], kw = k % g.k[2];
        wk[k] = kern::to_acc<Acc>(wc[kd * ws[2] + kh * ws[3] + kw * ws[4]]);
      }
      const auto vb =
          hn::Set(d, bias != nullptr ? kern::to_acc<Acc>(bias[co * g.bias_stride]) : Acc(0));
      T* const oplane = dst + n * ds[0] + co * ds[1];
      for (std::int64_t r = r0; r < r1; ++r) {
        // The row's terms per phase: input positions (for output j = 0) and weights.
        const Acc* tp[2][direct::kRowTermsMax];
        Acc tw[2][direct::kRowTermsMax];
        std::int64_t nt[2];
        for (std::int64_t q = 0; q < s; ++q) {
          const std::int64_t b = rt.start[static_cast<std::size_t>(r * s + q)];
          nt[q] = rt.start[static_cast<std::size_t>(r * s + q + 1)] - b;
          for (std::int64_t t = 0; t < nt[q]; ++t) {
            tp[q][t] = xp + rt.off[static_cast<std::size_t>(b + t)];
            tw[q][t] = wk[rt.wk[static_cast<std::size_t>(b + t)]];
          }
        }
        T* orow = oplane + rt.dst[static_cast<std::size_t>(r)];
        // Streaming stores need whole aligned vectors: every 2 * lanes outputs from the row's
        // start are, if the row's start is.
        const bool stream_row =
            stream && reinterpret_cast<std::uintptr_t>(orow) % (sizeof(Acc) * lanes) == 0;
        // Writes 2 * lanes outputs from a and b (interleaved with stride 2, in turn with 1).
        auto put = [&](const auto& a, const auto& b, T* out) {
          auto v0 = a, v1 = b;
          if (s == 2) Zip2(d, a, b, zip, v0, v1);
          if constexpr (std::is_same_v<T, Acc>) {
            if (stream_row) {
              hn::Stream(v0, d, out);
              hn::Stream(v1, d, out + lanes);
            } else {
              hn::StoreU(v0, d, out);
              hn::StoreU(v1, d, out + lanes);
            }
          } else {
            StoreAcc(d, v0, out);
            StoreAcc(d, v1, out + lanes);
          }
        };
        // The row's loops, with term counts known at compile time where they are common (the
        // counts are std::integral_constant then, and the loops over terms unroll with every
        // weight held in a register) or at run time.
        auto row2 = [&](auto n0, auto n1) {
          // Phase 0 holds outputs 0, 2, 4, ..., phase 1 outputs 1, 3, 5, ...
          const std::int64_t full = out_w / 2;  // output pairs
          std::int64_t j = 0;
          for (; j + 2 * lanes <= full; j += 2 * lanes) {
            auto e0 = vb, e1 = vb, o0 = vb, o1 = vb;
            for (std::int64_t t = 0; t < n0; ++t) {
              const auto wv = hn::Set(d, tw[0][t]);
              e0 = hn::MulAdd(wv, hn::LoadU(d, tp[0][t] + j), e0);
              e1 = hn::MulAdd(wv, hn::LoadU(d, tp[0][t] + j + lanes), e1);
            }
            for (std::int64_t t = 0; t < n1; ++t) {
              const auto wv = hn::Set(d, tw[1][t]);
              o0 = hn::MulAdd(wv, hn::LoadU(d, tp[1][t] + j), o0);
              o1 = hn::MulAdd(wv, hn::LoadU(d, tp[1][t] + j + lanes), o1);
            }
            put(e0, o0, orow + 2 * j);
            put(e1, o1, orow + 2 * j + 2 * lanes);
          }
          // The rest of the row, one vector per phase: reads stay inside the padded row
          // (direct::make_plan keeps whole vectors past each phase's last output).
          for (; 2 * j < out_w; j += lanes) {
            auto e = vb, o = vb;
            for (std::int64_t t = 0; t < n0; ++t)
              e = hn::MulAdd(hn::Set(d, tw[0][t]), hn::LoadU(d, tp[0][t] + j), e);
            for (std::int64_t t = 0; t < n1; ++t)
              o = hn::MulAdd(hn::Set(d, tw[1][t]), hn::LoadU(d, tp[1][t] + j), o);
            hn::StoreInterleaved2(e, o, d, pair);
            const std::int64_t m = std::min(2 * lanes, out_w - 2 * j);
            for (std::int64_t q = 0; q < m; ++q)
              orow[2 * j + q] = kern::from_acc<T>(pair[q]);
          }
        };
        auto row1 = [&](auto n0) {
          std::int64_t j = 0;
          for (; j + 2 * lanes <= out_w; j += 2 * lanes) {
            auto s0 = vb, s1 = vb;
            for (std::int64_t t = 0; t < n0; ++t) {
              const auto wv = hn::Set(d, tw[0][t]);
              s0 = hn::MulAdd(wv, hn::LoadU(d, tp[0][t] + j), s0);
              s1 = hn::MulAdd(wv, hn::LoadU(d, tp[0][t] + j + lanes), s1);
            }
            put(s0, s1, orow + j);
          }
          for (; j < out_w; j += lanes) {
            auto s0 = vb;
            for (std::int64_t t = 0; t < n0; ++t)
              s0 = hn::MulAdd(hn::Set(d, tw[0][t]), hn::LoadU(d, tp[0][t] + j), s0);
            hn::Store(s0, d, pair);
            const std::int64_t m = std::min(lanes, out_w - j);
            for (std::int64_t q = 0; q < m; ++q)
              orow[j + q] = kern::from_acc<T>(pair[q]);
          }
        };
        using C1 = std::integral_constant<std::int64_t, 1>;
        using C2 = std::integral_constant<std::int64_t, 2>;
        using C4 = std::integral_constant<std::int64_t, 4>;
        using C9 = std::integral_constant<std::int64_t, 9>;
        if (s == 2) {
          // k4 s2 (2 x 2 taps per phase), k2 s2 and k3 s2 interiors (1 or 2 x 2), k2 s2 (1).
          if (nt[0] == 4 && nt[1] == 4) {
            row2(C4{}, C4{});
          } else if (nt[0] == 2 && nt[1] == 2) {
            row2(C2{}, C2{});
          } else if (nt[0] == 1 && nt[1] == 1) {
            row2(C1{}, C1{});
          } else {
            row2(nt[0], nt[1]);
          }
        } else {
          if (nt[0] == 9) {
            row1(C9{});
          } else if (nt[0] == 4) {
            row1(C4{});
          } else {
            row1(nt[0]);
          }
        }
      }
    }
  };
  const std::int64_t count = planes * blocks;
  std::atomic<std::int64_t> next{0};
  fork_join(workers, [&](int worker) {
    for (std::int64_t t = next++; t < count; t = next++)
      run(worker, t);
    // Streaming stores are weakly ordered: one fence per worker, after its last task, makes
    // them visible before the call returns (a fence per task would wait for each plane's
    // stores to drain before the next plane's input is read).
    if (stream) hwy::FlushStream();
  });
}

// grad_output of channel co, split into phase rows: out[(row * phases + r) * len + left + j] =
// gy[co, row, j * s + r] (zero outside).
template <class T, class Acc>
void split_phases(const kern::DeconvGeometry& g, const direct::BackPlan& b, const T* gy,
                  std::int64_t n, std::int64_t co, Acc* out) {
  const std::int64_t* ds = g.dst_stride;
  const std::int64_t rows = g.out[0] * g.out[1];
  const std::int64_t s = b.phases;
  for (std::int64_t row = 0; row < rows; ++row) {
    const T* src =
        gy + n * ds[0] + co * ds[1] + (row / g.out[1]) * ds[2] + (row % g.out[1]) * ds[3];
    for (std::int64_t r = 0; r < s; ++r) {
      Acc* ph = out + (row * s + r) * b.len;
      const std::int64_t count = r < g.out[2] ? (g.out[2] - r + s - 1) / s : 0;
      std::fill(ph, ph + b.left, Acc(0));
      const T* sr = src + r * ds[4];
      const std::int64_t step = s * ds[4];
      Acc* dst = ph + b.left;
      for (std::int64_t j = 0; j < count; ++j)
        dst[j] = kern::to_acc<Acc>(sr[j * step]);
      std::fill(dst + count, ph + b.len, Acc(0));
    }
  }
}

template <class T>
void BackwardImpl(const ConvTransposeBackwardPlan& bp, int threads) {
  using Acc = kern::acc_t<T>;
  const hn::ScalableTag<Acc> d;
  const std::int64_t lanes = static_cast<std::int64_t>(hn::Lanes(d));
  const ConvTransposePlan& cp = bp.fwd;
  const kern::DeconvGeometry& g = cp.g;
  const direct::BackPlan b = direct::make_back_plan(g, lanes);
  const T* x = static_cast<const T*>(cp.src);
  const T* w = static_cast<const T*>(cp.weight);
  const T* gy = static_cast<const T*>(cp.dst);
  const std::int64_t* ss = g.src_stride;
  const std::int64_t* ws = g.w_stride;
  const std::int64_t out_rows = g.out[0] * g.out[1];
  const std::int64_t in_rows = g.in[0] * g.in[1];
  const std::int64_t plane = out_rows * b.phases * b.len;  // one channel's phase rows
  const std::int64_t in_w = g.in[2];
  const std::int64_t vec_w = (in_w + lanes - 1) / lanes * lanes;
  const double work = static_cast<double>(cp.src_numel) * static_cast<double>(g.cout_g);
  if (work < 1e5) threads = 1;

  if (bp.grad_input != nullptr && cp.src_numel > 0) {
    T* gx = static_cast<T*>(bp.grad_input);
    const std::int64_t* xs = bp.gx_stride;
    run_tasks(g.n * g.groups, threads, [&](int, std::int64_t task) {
      const std::int64_t grp = task % g.groups, n = task / g.groups;
      std::vector<Acc> ph(static_cast<std::size_t>(g.cout_g * plane));
      for (std::int64_t c = 0; c < g.cout_g; ++c)
        split_phases(g, b, gy, n, grp * g.cout_g + c, ph.data() + c * plane);
      std::vector<Acc> acc(static_cast<std::size_t>(g.cin_g * vec_w));
      for (std::int64_t r = 0; r < in_rows; ++r) {
        const std::int64_t id = r / g.in[1], ih = r % g.in[1];
        std::fill(acc.begin(), acc.end(), Acc(0));
        for (std::int64_t c = 0; c < g.cout_g; ++c) {
          for (std::int64_t a = b.d.start[id]; a < b.d.start[id + 1]; ++a) {
            for (std::int64_t e = b.h.start[ih]; e < b.h.start[ih + 1]; ++e) {
              const Acc* rows = ph.data() + c * plane +
                                (b.d.i[a] * g.out[1] + b.h.i[e]) * b.phases * b.len + b.left;
              for (std::int64_t ci = 0; ci < g.cin_g; ++ci) {
                const T* wk = w + (grp * g.cin_g + ci) * ws[0] + c * ws[1] + b.d.k[a] * ws[2] +
                              b.h.k[e] * ws[3];
                Acc* ar = acc.data() + ci * vec_w;
                for (std::int64_t kw = 0; kw < g.k[2]; ++kw) {
                  const auto wv = hn::Set(d, kern::to_acc<Acc>(wk[kw * ws[4]]));
                  const Acc* src = rows + b.rphase[kw] * b.len + b.shift[kw];
                  for (std::int64_t j = 0; j < in_w; j += lanes) {
                    hn::StoreU(hn::MulAdd(wv, hn::LoadU(d, src + j), hn::LoadU(d, ar + j)), d,
                               ar + j);
                  }
                }
              }
            }
          }
        }
        for (std::int64_t ci = 0; ci < g.cin_g; ++ci) {
          T* out = gx + n * xs[0] + (grp * g.cin_g + ci) * xs[1] + id * xs[2] + ih * xs[3];
          const Acc* ar = acc.data() + ci * vec_w;
          std::int64_t j = 0;
          if (xs[4] == 1) {
            for (; j + lanes <= in_w; j += lanes)
              StoreAcc(d, hn::LoadU(d, ar + j), out + j);
          }
          for (; j < in_w; ++j)
            out[j * xs[4]] = kern::from_acc<T>(ar[j]);
        }
      }
    });
  }

  if (bp.grad_weight != nullptr) {
    T* gw = static_cast<T*>(bp.grad_weight);
    const std::int64_t* os = bp.gw_stride;
    const std::int64_t taps = g.k[0] * g.k[1] * g.k[2];
    // One task per (group, output channel): every weight's sum runs over n, then input rows, in
    // that order, with one vector of partial sums per weight: the same for any thread count.
    run_tasks(g.groups * g.cout_g, threads, [&](int, std::int64_t task) {
      const std::int64_t grp = task / g.cout_g, c = task % g.cout_g;
      const std::int64_t co = grp * g.cout_g + c;
      std::vector<Acc> ph(static_cast<std::size_t>(plane));
      std::vector<Acc> xrow(static_cast<std::size_t>(vec_w));
      std::vector<Acc> part(static_cast<std::size_t>(g.cin_g * taps * lanes), Acc(0));
      for (std::int64_t n = 0; n < g.n; ++n) {
        split_phases(g, b, gy, n, co, ph.data());
        for (std::int64_t ci = 0; ci < g.cin_g; ++ci) {
          const T* xc = x + n * ss[0] + (grp * g.cin_g + ci) * ss[1];
          for (std::int64_t r = 0; r < in_rows; ++r) {
            const std::int64_t id = r / g.in[1], ih = r % g.in[1];
            const T* xr = xc + id * ss[2] + ih * ss[3];
            for (std::int64_t i = 0; i < in_w; ++i)
              xrow[static_cast<std::size_t>(i)] = kern::to_acc<Acc>(xr[i * ss[4]]);
            for (std::int64_t i = in_w; i < vec_w; ++i)
              xrow[static_cast<std::size_t>(i)] = Acc(0);
            for (std::int64_t a = b.d.start[id]; a < b.d.start[id + 1]; ++a) {
              for (std::int64_t e = b.h.start[ih]; e < b.h.start[ih + 1]; ++e) {
                const Acc* rows =
                    ph.data() + (b.d.i[a] * g.out[1] + b.h.i[e]) * b.phases * b.len + b.left;
                const std::int64_t t0 = (b.d.k[a] * g.k[1] + b.h.k[e]) * g.k[2];
                for (std::int64_t kw = 0; kw < g.k[2]; ++kw) {
                  const Acc* src = rows + b.rphase[kw] * b.len + b.shift[kw];
                  Acc* pv = part.data() + (ci * taps + t0 + kw) * lanes;
                  auto sum = hn::LoadU(d, pv);
                  for (std::int64_t j = 0; j < vec_w; j += lanes)
                    sum = hn::MulAdd(hn::LoadU(d, xrow.data() + j), hn::LoadU(d, src + j), sum);
                  hn::StoreU(sum, d, pv);
                }
              }
            }
          }
        }
      }
      for (std::int64_t ci = 0; ci < g.cin_g; ++ci) {
        for (std::int64_t t = 0; t < taps; ++t) {
          const std::int64_t kd = t / (g.k[1] * g.k[2]), kh = (t / g.k[2]) % g.k[1],
                             kw = t % g.k[2];
          const Acc v =
              hn::GetLane(hn::SumOfLanes(d, hn::LoadU(d, part.data() + (ci * taps + t) * lanes)));
          gw[(grp * g.cin_g + ci) * os[0] + c * os[1] + kd * os[2] + kh * os[3] + kw * os[4]] =
              kern::from_acc<T>(v);
        }
      }
    });
  }
}

void Backward(const ConvTransposeBackwardPlan& p, int threads) {
  dispatch_float(p.fwd.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    BackwardImpl<T>(p, threads);
  });
}

void Direct(const ConvTransposePlan& p, int threads) {
  dispatch_float(p.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const hn::ScalableTag<kern::acc_t<T>> d;
    const direct::Plan plan = direct::make_plan(p.g, static_cast<std::int64_t>(hn::Lanes(d)));
    if (direct::rows_fit(p.g, plan)) {
      RowsImpl<T>(p, plan, threads);
    } else {
      DirectImpl<T>(p, threads);
    }
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
HWY_EXPORT(Backward);

void conv_transpose_backward_cpu_direct(const ConvTransposeBackwardPlan& p, int threads) {
  HWY_DYNAMIC_DISPATCH(Backward)(p, threads);
}

void conv_transpose_cpu_direct(const ConvTransposePlan& p, int threads) {
  HWY_DYNAMIC_DISPATCH(Direct)(p, threads);
}

}  // namespace detail
}  // namespace ups
#endif  // HWY_ONCE
