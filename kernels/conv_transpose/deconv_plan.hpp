// The index math of the tiled CUDA kernels of ups::conv_transpose (conv_transpose.cu) and of its
// backward (conv_transpose_backward.cu), as host/device functions templated on the index type:
// std::int32_t in the kernels' 32-bit variants, where every division is a precomputed
// multiply-shift (kern::Divider<std::int32_t>), and std::int64_t in the 64-bit ones. The tests
// (tests/cpu/test_deconv_plan.cpp) run the same functions on the host and compare them with the
// per-element reference bodies of deconv_math.hpp.
//
// NOTE [ Tiled gather ]
// A block of the gather kernel covers TC output channels, TW output columns and TH output rows of
// one (n, d) plane. Its threads first tabulate the tap walks (deconv_math.hpp, NOTE [ Which taps
// reach an output position ]) of its TW columns and TH rows in shared memory with deconv_walk, a
// division-free form of deconv_taps, then, per chunk of C_in, copy the weights of the block's TC
// channels, every tap and the chunk's input channels into shared memory (deconv_wtile_load) and
// accumulate (deconv_gather_chunk). Each thread owns one output element and sums in a fixed order
// that depends on the problem alone: chunks of C_in outermost, then taps D, H, W, then C_in within
// the chunk. With one chunk (the common case) this is the order of deconv_gather_element.
#pragma once

#include <cstddef>
#include <cstdint>

#include "common/divmod.hpp"
#include "common/hd.hpp"
#include "conv_transpose/deconv_math.hpp"

namespace ups {
namespace kern {

// The tap walk of one output coordinate; the steps are per dim (DeconvAxisT::m, ::istep).
template <class Index>
struct TapWalkT {
  Index k0, i0, count;
};

// One spatial dim's constants for deconv_walk (see NOTE [ Which taps reach an output position ]).
template <class Index>
struct DeconvAxisT {
  Index in, k, pad, dil;
  Index m;      // stride / gcd(stride, dilation): the tap step
  Index istep;  // dilation / gcd: the input step
  Index inv;    // tap_inv
  Divider<Index> div_s, div_g, div_m, div_istep;
};

template <class Index>
UPS_HD DeconvAxisT<Index> make_deconv_axis(const DeconvGeometry& g, int d, bool narrow) {
  DeconvAxisT<Index> a;
  a.in = static_cast<Index>(g.in[d]);
  a.k = static_cast<Index>(g.k[d]);
  a.pad = static_cast<Index>(g.pad[d]);
  a.dil = static_cast<Index>(g.dil[d]);
  a.m = static_cast<Index>(g.stride[d] / g.tap_gcd[d]);
  a.istep = static_cast<Index>(g.dil[d] / g.tap_gcd[d]);
  a.inv = static_cast<Index>(g.tap_inv[d]);
  a.div_s = Divider<Index>(g.stride[d], narrow);
  a.div_g = Divider<Index>(g.tap_gcd[d], narrow);
  a.div_m = Divider<Index>(g.stride[d] / g.tap_gcd[d], narrow);
  a.div_istep = Divider<Index>(g.dil[d] / g.tap_gcd[d], narrow);
  return a;
}

// Whether deconv_walk and the tiled kernels' per-dim arithmetic fit int32 for every dim: every
// dividend (o + pad, k0 * inv < m^2, tap and input indices) stays below 2^31.
inline bool deconv_axes_fit_32(const DeconvGeometry& g) {
  constexpr std::int64_t kLim = std::int64_t(1) << 30;
  for (int d = 0; d < 3; ++d) {
    const std::int64_t m = g.stride[d] / g.tap_gcd[d];
    if (m > 46340) return false;  // m^2 < 2^31
    if (g.out[d] + 2 * g.pad[d] + g.stride[d] >= kLim || g.in[d] >= kLim || g.k[d] >= kLim ||
        g.dil[d] >= kLim || g.in[d] * g.stride[d] + g.k[d] * g.dil[d] >= kLim) {
      return false;
    }
  }
  return true;
}

// deconv_taps(g, d, o) without a division: the same walk (same k0, i0 and count; count 0 when no
// tap reaches o).
template <class Index>
UPS_HD TapWalkT<Index> deconv_walk(const DeconvAxisT<Index>& a, Index o) {
  TapWalkT<Index> t{0, 0, 0};
  const Index q = o + a.pad;
  Index qg, r;
  a.div_g.divmod(q, &qg, &r);
  if (r != 0) return t;
  Index k0, unused;
  a.div_m.divmod(qg, &unused, &k0);
  a.div_m.divmod(k0 * a.inv, &unused, &k0);
  if (k0 >= a.k) return t;
  // k0 < k and k * dil is bounded (deconv_axes_fit_32), so the product cannot overflow.
  const Index kd = k0 * a.dil;
  if (kd > q) return t;
  Index i_first;
  a.div_s.divmod(q - kd, &i_first, &r);  // exact by construction
  Index j0 = 0;
  if (i_first >= a.in) {
    a.div_istep.divmod(i_first - a.in, &j0, &r);
    j0 += 1;
  }
  Index j_end_k, j_end_i;
  a.div_m.divmod(a.k - k0 + a.m - 1, &j_end_k, &r);
  a.div_istep.divmod(i_first, &j_end_i, &r);
  j_end_i += 1;
  const Index j_end = min_hd(j_end_k, j_end_i);
  if (j0 >= j_end) return t;
  t.k0 = k0 + j0 * a.m;
  t.i0 = i_first - j0 * a.istep;
  t.count = j_end - j0;
  return t;
}

// How a block's 256 threads split into (channel, column, row) lanes: sizes are powers of two,
// 2^bc * 2^bw * 2^bh = 256. With `channels_fastest` consecutive threads take consecutive
// channels (channels-last tensors: coalesced loads and stores along C), else consecutive columns.
struct DeconvBlockShape {
  int bc, bw, bh;
  bool channels_fastest;
};

inline int ceil_log2_hd(std::int64_t v) {
  int b = 0;
  while ((std::int64_t(1) << b) < v)
    ++b;
  return b;
}

// 256 threads (2^8) over `channels` x `cols` x `rows`: the fastest axis takes up to 32 lanes (a
// warp), the next what it can use, the slowest the rest.
inline DeconvBlockShape deconv_block_shape(std::int64_t channels, std::int64_t cols,
                                           std::int64_t rows, bool channels_fastest) {
  DeconvBlockShape s{0, 0, 0, channels_fastest};
  if (channels_fastest) {
    s.bc = ceil_log2_hd(channels) < 5 ? ceil_log2_hd(channels) : 5;
    s.bw = ceil_log2_hd(cols) < 8 - s.bc ? ceil_log2_hd(cols) : 8 - s.bc;
    s.bh = 8 - s.bc - s.bw;
  } else {
    s.bw = ceil_log2_hd(cols) < 5 ? ceil_log2_hd(cols) : 5;
    s.bh = ceil_log2_hd(rows) < 8 - s.bw ? ceil_log2_hd(rows) : 8 - s.bw;
    s.bc = 8 - s.bw - s.bh;
  }
  return s;
}

struct DeconvLane {
  int c, w, h;
};

UPS_HD DeconvLane deconv_lane(const DeconvBlockShape& s, int tid) {
  DeconvLane l;
  if (s.channels_fastest) {
    l.c = tid & ((1 << s.bc) - 1);
    l.w = (tid >> s.bc) & ((1 << s.bw) - 1);
    l.h = tid >> (s.bc + s.bw);
  } else {
    l.w = tid & ((1 << s.bw) - 1);
    l.h = (tid >> s.bw) & ((1 << s.bh) - 1);
    l.c = tid >> (s.bw + s.bh);
  }
  return l;
}

// The weight tile of one block and one chunk of C_in: tile[(ci * taps + tap) * tc + lc] holds
// weight[group(co) * cin_g + c0 + ci, co % cout_g, kd, kh, kw] for co = co0 + lc and
// tap = (kd * kH + kh) * kW + kw (0 past C_out). Channels innermost: lanes that hold consecutive
// channels read consecutive words (no bank conflicts).
template <class Index>
struct DeconvWTile {
  Index taps;  // kD * kH * kW
  int tc;      // channels per block
  Divider<Index> div_taps, div_tc, div_kw, div_kh, div_cout_g;
};

template <class Index>
UPS_HD DeconvWTile<Index> make_deconv_wtile(const DeconvGeometry& g, int tc, bool narrow) {
  DeconvWTile<Index> t;
  t.taps = static_cast<Index>(g.k[0] * g.k[1] * g.k[2]);
  t.tc = tc;
  t.div_taps = Divider<Index>(g.k[0] * g.k[1] * g.k[2], narrow);
  t.div_tc = Divider<Index>(tc, narrow);
  t.div_kw = Divider<Index>(g.k[2], narrow);
  t.div_kh = Divider<Index>(g.k[1], narrow);
  t.div_cout_g = Divider<Index>(g.cout_g, narrow);
  return t;
}

// The value of tile entry e (e < nci * tc * taps) for channels co0.. and input channels c0..:
// the cooperative load runs it for e = tid, tid + 256, ...
template <class T, class Index>
UPS_HD T deconv_wtile_entry(const DeconvGeometry& g, const DeconvWTile<Index>& t,
                            const T* __restrict__ w, Index co0, Index c0, Index e) {
  Index rest, tap, ci, lc, kd, kh, kw, grp, col;
  t.div_tc.divmod(e, &rest, &lc);
  t.div_taps.divmod(rest, &ci, &tap);
  const Index co = co0 + lc;
  if (co >= static_cast<Index>(g.groups * g.cout_g)) return T{};
  t.div_kw.divmod(tap, &rest, &kw);
  t.div_kh.divmod(rest, &kd, &kh);
  t.div_cout_g.divmod(co, &grp, &col);
  const std::int64_t* ws = g.w_stride;
  return w[(grp * static_cast<Index>(g.cin_g) + c0 + ci) * static_cast<Index>(ws[0]) +
           col * static_cast<Index>(ws[1]) + kd * static_cast<Index>(ws[2]) +
           kh * static_cast<Index>(ws[3]) + kw * static_cast<Index>(ws[4])];
}

// Strides of a weight operand as the chunk bodies read it: element (ci, kd, kh, kw) of the
// thread's output channel is at base[ci * c + kd * d + kh * h + kw * w].
template <class Index>
struct WeightStrides {
  Index c, d, h, w;
};

// The tile's strides for lane lc (base: tile + lc).
template <class Index>
UPS_HD WeightStrides<Index> deconv_wtile_strides(const DeconvGeometry& g,
                                                 const DeconvWTile<Index>& t) {
  const Index tc = static_cast<Index>(t.tc);
  return WeightStrides<Index>{tc * t.taps, static_cast<Index>(g.k[1] * g.k[2]) * tc,
                              static_cast<Index>(g.k[2]) * tc, tc};
}

// The tap and input steps of the three dims' walks (DeconvAxisT::m and ::istep).
template <class Index>
struct WalkSteps {
  Index k[3], i[3];
};

template <class Index>
UPS_HD WalkSteps<Index> walk_steps(const DeconvAxisT<Index>* ax) {
  return WalkSteps<Index>{{ax[0].m, ax[1].m, ax[2].m}, {ax[0].istep, ax[1].istep, ax[2].istep}};
}

// Adds to acc the chunk's terms for one output element: src points at input channel c0 of the
// element's (n, group), wt at (c0, tap 0) of its output channel; taps D, H, W outermost, then
// the chunk's nci input channels, as deconv_gather_element.
template <class T, class Index>
UPS_HD void deconv_gather_chunk(acc_t<T>& acc, const DeconvGeometry& g, const WalkSteps<Index>& st,
                                const TapWalkT<Index>& td, const TapWalkT<Index>& th,
                                const TapWalkT<Index>& tw, const T* __restrict__ src,
                                const T* __restrict__ wt, const WeightStrides<Index>& wsd,
                                Index nci) {
  using Acc = acc_t<T>;
  const std::int64_t* ss = g.src_stride;
  const Index s1 = static_cast<Index>(ss[1]), s2 = static_cast<Index>(ss[2]),
              s3 = static_cast<Index>(ss[3]), s4 = static_cast<Index>(ss[4]);
  for (Index a = 0; a < td.count; ++a) {
    const Index kd = td.k0 + a * st.k[0], id = td.i0 - a * st.i[0];
    for (Index b = 0; b < th.count; ++b) {
      const Index kh = th.k0 + b * st.k[1], ih = th.i0 - b * st.i[1];
      for (Index c = 0; c < tw.count; ++c) {
        const Index kw = tw.k0 + c * st.k[2], iw = tw.i0 - c * st.i[2];
        const T* sp = src + (id * s2 + ih * s3 + iw * s4);
        const T* wp = wt + (kd * wsd.d + kh * wsd.h + kw * wsd.w);
        for (Index ci = 0; ci < nci; ++ci)
          acc += to_acc<Acc>(sp[ci * s1]) * to_acc<Acc>(wp[ci * wsd.c]);
      }
    }
  }
}

// Adds, for one input pixel (n, id, ih, iw) and one output channel co, the chunk's terms
// sum_ci x[ci] * w[ci, col, k] of every tap k whose output lies inside, through
// sink(n, co, od, oh, ow, value): the scatter kernel's lanes hold different output channels
// (channels-last) or columns, so a warp's atomics go to different addresses. src points at input
// channel c0 of (n, group(co)) at the pixel; wt at (c0, tap 0) of co.
template <class T, class Index, class Sink>
UPS_HD void deconv_scatter_chunk(const DeconvGeometry& g, Index n, Index co, Index id, Index ih,
                                 Index iw, const T* __restrict__ src, const T* __restrict__ wt,
                                 const WeightStrides<Index>& wsd, Index nci, const Sink& sink) {
  using Acc = acc_t<T>;
  const Index s1 = static_cast<Index>(g.src_stride[1]);
  const Index k0 = static_cast<Index>(g.k[0]), k1 = static_cast<Index>(g.k[1]),
              k2 = static_cast<Index>(g.k[2]);
  const Index o0 = static_cast<Index>(g.out[0]), o1 = static_cast<Index>(g.out[1]),
              o2 = static_cast<Index>(g.out[2]);
  const Index bd = id * static_cast<Index>(g.stride[0]) - static_cast<Index>(g.pad[0]);
  const Index bh = ih * static_cast<Index>(g.stride[1]) - static_cast<Index>(g.pad[1]);
  const Index bw = iw * static_cast<Index>(g.stride[2]) - static_cast<Index>(g.pad[2]);
  const Index d0 = static_cast<Index>(g.dil[0]), d1 = static_cast<Index>(g.dil[1]),
              d2 = static_cast<Index>(g.dil[2]);
  for (Index kd = 0; kd < k0; ++kd) {
    const Index od = bd + kd * d0;
    if (od < 0 || od >= o0) continue;
    for (Index kh = 0; kh < k1; ++kh) {
      const Index oh = bh + kh * d1;
      if (oh < 0 || oh >= o1) continue;
      for (Index kw = 0; kw < k2; ++kw) {
        const Index ow = bw + kw * d2;
        if (ow < 0 || ow >= o2) continue;
        const T* wp = wt + (kd * wsd.d + kh * wsd.h + kw * wsd.w);
        Acc v = Acc(0);
        for (Index ci = 0; ci < nci; ++ci)
          v += to_acc<Acc>(src[ci * s1]) * to_acc<Acc>(wp[ci * wsd.c]);
        sink(n, co, od, oh, ow, v);
      }
    }
  }
}

// Channels of C_in per weight tile: as many as fit `budget` bytes for tc channels and every tap
// (at least 1; 0 when even one does not fit). A function of the problem and the dtype only, so
// the summation order does not depend on the device.
inline std::int64_t deconv_chunk(const DeconvGeometry& g, int tc, std::size_t elem_bytes,
                                 std::size_t budget) {
  const std::int64_t per_ci = static_cast<std::int64_t>(tc) * g.k[0] * g.k[1] * g.k[2] *
                              static_cast<std::int64_t>(elem_bytes);
  const std::int64_t fit = static_cast<std::int64_t>(budget) / per_ci;
  return fit < g.cin_g ? fit : g.cin_g;
}

// ---- element-wise passes in the memory order of dst (fill, finish, add_bias)

// dst's five dims (N, C, D, H, W) sorted by decreasing |stride| (ties in logical order), so that
// consecutive indices walk memory forward: a channels-last dst gets coalesced stores.
template <class Index>
struct DeconvMemOrder {
  Divider<Index> size[5];  // innermost first
  Index stride[5];         // dst strides, innermost first
  Index dense[5];          // dense strides of dst's memory order for each logical dim N..W
  int cpos;                // position of C in size[] / stride[]
};

template <class Index>
UPS_HD DeconvMemOrder<Index> make_deconv_mem_order(const DeconvGeometry& g, bool narrow) {
  const std::int64_t sizes[5] = {g.n, g.groups * g.cout_g, g.out[0], g.out[1], g.out[2]};
  int perm[5] = {0, 1, 2, 3, 4};  // outermost first
  auto mag = [&](int i) {
    const std::int64_t s = g.dst_stride[i];
    return sizes[i] <= 1 ? std::int64_t(-1) : (s < 0 ? -s : s);
  };
  for (int i = 1; i < 5; ++i) {  // stable insertion sort by decreasing |stride|
    const int v = perm[i];
    int j = i;
    while (j > 0 && mag(perm[j - 1]) < mag(v)) {
      perm[j] = perm[j - 1];
      --j;
    }
    perm[j] = v;
  }
  DeconvMemOrder<Index> o;
  std::int64_t dense = 1;
  for (int k = 0; k < 5; ++k) {
    const int dim = perm[4 - k];
    o.size[k] = Divider<Index>(sizes[dim] > 0 ? sizes[dim] : 1, narrow);
    o.stride[k] = static_cast<Index>(g.dst_stride[dim]);
    o.dense[dim] = static_cast<Index>(dense);
    dense *= sizes[dim];
    if (dim == 1) o.cpos = k;
  }
  return o;
}

// The dst offset of the idx-th element in memory order, and its channel.
template <class Index>
UPS_HD Index deconv_mem_offset(const DeconvMemOrder<Index>& o, Index idx, Index* channel) {
  Index off = 0;
  UPS_UNROLL
  for (int k = 0; k < 5; ++k) {
    Index q, r;
    o.size[k].divmod(idx, &q, &r);
    off += r * o.stride[k];
    if (k == o.cpos) *channel = r;
    idx = q;
  }
  return off;
}

// ---- backward

// deconv_tap_range in Index arithmetic with the stride's precomputed divider.
template <class Index>
struct TapRangeT {
  Index lo, hi;
};

template <class Index>
UPS_HD TapRangeT<Index> deconv_tap_range_at(const DeconvGeometry& g, const Divider<Index>& div_s,
                                            int d, Index k) {
  const Index shift = k * static_cast<Index>(g.dil[d]) - static_cast<Index>(g.pad[d]);
  const Index s = static_cast<Index>(g.stride[d]);
  Index lo = 0, hi = 0, r;
  if (shift < 0) div_s.divmod(-shift + s - 1, &lo, &r);
  const Index top = static_cast<Index>(g.out[d]) - 1 - shift;
  if (top >= 0) {
    div_s.divmod(top, &hi, &r);
    hi += 1;
  }
  if (hi > static_cast<Index>(g.in[d])) hi = static_cast<Index>(g.in[d]);
  if (lo > hi) lo = hi;
  return TapRangeT<Index>{lo, hi};
}

// grad_input, a convolution of grad_output

// grad_input element (n, ci, id, ih, iw): deconv_grad_input_element's sum in its order, in Index
// arithmetic, returned unrounded. gy_base points at grad_output (n, group's first channel);
// w_base at weight (ci, 0, 0, 0, 0).
template <class T, class Index>
UPS_HD acc_t<T> deconv_grad_input_at(const DeconvGeometry& g, const T* __restrict__ gy_base,
                                     const T* __restrict__ w_base, Index id, Index ih, Index iw) {
  using Acc = acc_t<T>;
  const std::int64_t* ds = g.dst_stride;
  const std::int64_t* ws = g.w_stride;
  const Index g1 = static_cast<Index>(ds[1]), g2 = static_cast<Index>(ds[2]),
              g3 = static_cast<Index>(ds[3]), g4 = static_cast<Index>(ds[4]);
  const Index w1 = static_cast<Index>(ws[1]), w2 = static_cast<Index>(ws[2]),
              w3 = static_cast<Index>(ws[3]), w4 = static_cast<Index>(ws[4]);
  const Index cout_g = static_cast<Index>(g.cout_g);
  const Index bd = id * static_cast<Index>(g.stride[0]) - static_cast<Index>(g.pad[0]);
  const Index bh = ih * static_cast<Index>(g.stride[1]) - static_cast<Index>(g.pad[1]);
  const Index bw = iw * static_cast<Index>(g.stride[2]) - static_cast<Index>(g.pad[2]);
  Acc acc = Acc(0);
  for (Index kd = 0; kd < static_cast<Index>(g.k[0]); ++kd) {
    const Index od = bd + kd * static_cast<Index>(g.dil[0]);
    if (od < 0 || od >= static_cast<Index>(g.out[0])) continue;
    for (Index kh = 0; kh < static_cast<Index>(g.k[1]); ++kh) {
      const Index oh = bh + kh * static_cast<Index>(g.dil[1]);
      if (oh < 0 || oh >= static_cast<Index>(g.out[1])) continue;
      for (Index kw = 0; kw < static_cast<Index>(g.k[2]); ++kw) {
        const Index ow = bw + kw * static_cast<Index>(g.dil[2]);
        if (ow < 0 || ow >= static_cast<Index>(g.out[2])) continue;
        const T* gp = gy_base + (od * g2 + oh * g3 + ow * g4);
        const T* wp = w_base + (kd * w2 + kh * w3 + kw * w4);
        for (Index col = 0; col < cout_g; ++col)
          acc += to_acc<Acc>(gp[col * g1]) * to_acc<Acc>(wp[col * w1]);
      }
    }
  }
  return acc;
}

}  // namespace kern
}  // namespace ups
