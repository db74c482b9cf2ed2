// Per-element bodies of ups::max_pool and ups::max_unpool, shared verbatim by the CPU backend
// (src/cpu/pool_cpu.cpp) and the CUDA kernels (kernels/pool/*.cu). The comments say where each
// rule comes from in PyTorch (ATen's DilatedMaxPool2d/3d and MaxUnpooling kernels).
#pragma once

#include <cstdint>

#include "common/divmod.hpp"
#include "common/hd.hpp"

namespace ups {
namespace kern {

// ---- element traits -----------------------------------------------------------------------------

// The value max pooling compares: f16 and bf16 compare in f32 (PyTorch's opmath type), every
// other type compares as itself (integers must not go through f32, which would merge values).
template <class T>
struct PoolKey {
  using type = T;
  UPS_HD static T of(T v) { return v; }
};
template <>
struct PoolKey<half_t> {
  using type = float;
  UPS_HD static float of(half_t v) { return half_to_float(v); }
};
template <>
struct PoolKey<bf16_t> {
  using type = float;
  UPS_HD static float of(bf16_t v) { return bf16_to_float(v); }
};

// The initial maximum: -inf for floating types, the lowest value for integers (ATen's
// numeric_limits<scalar_t>::lower_bound()).
template <class T>
struct PoolLowest;
template <>
struct PoolLowest<float> {
  UPS_HD static float get() { return bit_cast_hd<float>(0xff800000u); }
};
template <>
struct PoolLowest<double> {
  UPS_HD static double get() { return bit_cast_hd<double>(0xfff0000000000000ull); }
};
template <>
struct PoolLowest<half_t> {
  UPS_HD static half_t get() { return {0xfc00u}; }
};
template <>
struct PoolLowest<bf16_t> {
  UPS_HD static bf16_t get() { return {0xff80u}; }
};
template <>
struct PoolLowest<std::uint8_t> {
  UPS_HD static std::uint8_t get() { return 0; }
};
template <>
struct PoolLowest<std::int32_t> {
  UPS_HD static std::int32_t get() { return -2147483647 - 1; }
};
template <>
struct PoolLowest<std::int64_t> {
  UPS_HD static std::int64_t get() { return -9223372036854775807ll - 1; }
};

// The stored maximum. PyTorch's CPU kernel keeps the running maximum in the opmath type (f32)
// and converts it back, so a winning f16 NaN leaves quieted (bit 9 set, sign and payload kept:
// the IEEE conversion c10::Half performs on x86) and a bf16 NaN as 0x7fc0 (c10::BFloat16's
// conversion); every other value converts back to itself, so it is copied.
template <class T>
UPS_HD T pool_store(T v) {
  return v;
}
template <>
UPS_HD half_t pool_store<half_t>(half_t v) {
  const bool nan = (v.bits & 0x7c00u) == 0x7c00u && (v.bits & 0x03ffu) != 0;
  return nan ? half_t{static_cast<std::uint16_t>(v.bits | 0x0200u)} : v;
}
template <>
UPS_HD bf16_t pool_store<bf16_t>(bf16_t v) {
  const bool nan = (v.bits & 0x7f80u) == 0x7f80u && (v.bits & 0x007fu) != 0;
  return nan ? bf16_t{0x7fc0u} : v;
}

// ---- max_pool -----------------------------------------------------------------------------------

// Every input is normalised to five logical dims (N, C, D, H, W); 1-D and 2-D pooling get unit
// D (and H) dims with kernel 1, stride 1, padding 0 and dilation 1, so one body serves all ranks.
struct PoolGeometry {
  std::int64_t n, c;
  std::int64_t in[3];   // D, H, W
  std::int64_t out[3];  // D, H, W
  std::int64_t kernel[3], stride[3], pad[3], dilation[3];
  std::int64_t src_stride[5];  // N, C, D, H, W, in elements
  std::int64_t dst_stride[5];
  std::int64_t idx_stride[5];
  bool channels_last;  // iterate outputs as N, D, H, W, C so that stores are coalesced
  bool narrow;         // output elements < 2^32: see divmod_hd
};

template <class Index>
struct PoolCoordT {
  Index n, c, d, h, w;
};
using PoolCoord = PoolCoordT<std::int64_t>;

// The divisors of unravel_ncdhw in the body's index type (see Divider): C and the three spatial
// sizes.
template <class Index>
struct PoolDivs {
  Divider<Index> c, s[3];
};

template <class Index>
UPS_HD PoolDivs<Index> pool_divs(std::int64_t c, const std::int64_t s[3], bool narrow) {
  PoolDivs<Index> v;
  v.c = Divider<Index>(c > 0 ? c : 1, narrow);
  for (int d = 0; d < 3; ++d)
    v.s[d] = Divider<Index>(s[d] > 0 ? s[d] : 1, narrow);
  return v;
}

// Coordinates of the idx-th element of an (n, c, s[0], s[1], s[2]) tensor in NCDHW order, or in
// NDHWC order when `channels_last` is set.
template <class Index>
UPS_HD PoolCoordT<Index> unravel_ncdhw(Index idx, const PoolDivs<Index>& v, bool channels_last) {
  PoolCoordT<Index> o;
  Index q;
  if (channels_last) {
    v.c.divmod(idx, &q, &o.c);
    v.s[2].divmod(q, &q, &o.w);
    v.s[1].divmod(q, &q, &o.h);
    v.s[0].divmod(q, &o.n, &o.d);
  } else {
    v.s[2].divmod(idx, &q, &o.w);
    v.s[1].divmod(q, &q, &o.h);
    v.s[0].divmod(q, &q, &o.d);
    v.c.divmod(q, &o.n, &o.c);
  }
  return o;
}

UPS_HD PoolCoord unravel_ncdhw(std::int64_t idx, std::int64_t c, const std::int64_t s[3],
                               bool channels_last, bool narrow) {
  return unravel_ncdhw(idx, pool_divs<std::int64_t>(c, s, narrow), channels_last);
}

// One window dim: first tap at or after 0 and the end (exclusive) clipped to the input. This is
// ATen's `start = o * stride - pad; end = min(start + (k - 1) * dilation + 1, in);
// while (start < 0) start += dilation;`, with the loop in closed form.
template <class Index>
struct PoolSpanT {
  Index begin, end;
};
using PoolSpan = PoolSpanT<std::int64_t>;

// Written so that no intermediate overflows int64 for any arguments the front end accepts (a
// dilation or stride near 2^63 included): the effective kernel (k - 1) * d + 1 fits int64 (the
// front end checks it), and begin + eff is formed only when it is below in. The 32-bit variants
// (Index = int32_t) run only where (out - 1) * s + eff, in + p and p fit int32.
template <class Index>
UPS_HD PoolSpanT<Index> pool_span_t(Index o, Index in, Index k, Index s, Index p, Index d) {
  Index begin = o * s - p;
  const Index eff = (k - 1) * d + 1;
  const Index end = eff >= in - begin ? in : begin + eff;
  if (begin < 0) {
    // The first tap at or after 0: begin + ceil(-begin / d) * d.
    const Index r = (-begin) % d;
    begin = r == 0 ? 0 : d - r;
  }
  return {begin, end};
}

UPS_HD PoolSpan pool_span(std::int64_t o, std::int64_t in, std::int64_t k, std::int64_t s,
                          std::int64_t p, std::int64_t d) {
  return pool_span_t<std::int64_t>(o, in, k, s, p, d);
}

// Number of taps begin, begin + d, ... below end.
template <class Index>
UPS_HD Index pool_taps(const PoolSpanT<Index>& span, Index d) {
  return span.end > span.begin ? (span.end - span.begin - 1) / d + 1 : 0;
}

// The max_pool body: the output element at `o`, and its index.
//
// NOTE [max_pool ties, NaN and empty windows]. ATen scans the window in D, H, W order with
// `if (val > maxval || isnan(val))`, starting from maxval = lowest and maxindex = the first
// in-bounds tap. Hence: among equal maxima the first tap wins; a NaN always replaces the running
// maximum, so the *last* NaN of the window wins; a window whose taps are all -inf (or all the
// integer minimum) reports its first in-bounds tap; and a window with no in-bounds tap at all
// (possible with dilation > 1 and padding) reports lowest and the position the first tap would
// have had, which lies outside the plane. All of this is reproduced exactly.
template <class T, class Index>
UPS_HD void max_pool_at(const PoolGeometry& g, const PoolCoordT<Index>& o,
                        const T* __restrict__ src, T* __restrict__ dst,
                        std::int64_t* __restrict__ indices) {
  using Key = typename PoolKey<T>::type;
  const auto span = [&](int i, Index x) {
    return pool_span_t<Index>(x, static_cast<Index>(g.in[i]), static_cast<Index>(g.kernel[i]),
                              static_cast<Index>(g.stride[i]), static_cast<Index>(g.pad[i]),
                              static_cast<Index>(g.dilation[i]));
  };
  const PoolSpanT<Index> sd = span(0, o.d), sh = span(1, o.h), sw = span(2, o.w);
  const Index dil_d = static_cast<Index>(g.dilation[0]), dil_h = static_cast<Index>(g.dilation[1]),
              dil_w = static_cast<Index>(g.dilation[2]);
  const Index in_h = static_cast<Index>(g.in[1]), in_w = static_cast<Index>(g.in[2]);
  const std::int64_t* ss = g.src_stride;
  const T* plane = src + (o.n * static_cast<Index>(ss[0]) + o.c * static_cast<Index>(ss[1]));

  T best = PoolLowest<T>::get();
  Key best_key = PoolKey<T>::of(best);
  // Without an in-bounds tap this position lies outside the plane and may exceed int64 (a huge
  // dilation); it wraps as in ATen, whose int64 arithmetic is the same two's complement.
  std::int64_t best_index = static_cast<std::int64_t>(
      (static_cast<std::uint64_t>(sd.begin) * static_cast<std::uint64_t>(g.in[1]) +
       static_cast<std::uint64_t>(sh.begin)) *
          static_cast<std::uint64_t>(g.in[2]) +
      static_cast<std::uint64_t>(sw.begin));
  // Taps are counted rather than stepped past the end, where begin + k * dilation may overflow.
  const Index nd = pool_taps(sd, dil_d), nh = pool_taps(sh, dil_h), nw = pool_taps(sw, dil_w);
  for (Index td = 0; td < nd; ++td) {
    const Index d = sd.begin + td * dil_d;
    for (Index th = 0; th < nh; ++th) {
      const Index h = sh.begin + th * dil_h;
      const T* row = plane + (d * static_cast<Index>(ss[2]) + h * static_cast<Index>(ss[3]));
      for (Index tw = 0; tw < nw; ++tw) {
        const Index w = sw.begin + tw * dil_w;
        const T v = row[w * static_cast<Index>(ss[4])];
        const Key key = PoolKey<T>::of(v);
        if (key > best_key || key != key) {  // key != key: NaN (never true for integers)
          best = v;
          best_key = key;
          best_index = static_cast<std::int64_t>((d * in_h + h) * in_w + w);
        }
      }
    }
  }
  const std::int64_t* ds = g.dst_stride;
  const std::int64_t* is = g.idx_stride;
  dst[o.n * static_cast<Index>(ds[0]) + o.c * static_cast<Index>(ds[1]) +
      o.d * static_cast<Index>(ds[2]) + o.h * static_cast<Index>(ds[3]) +
      o.w * static_cast<Index>(ds[4])] = pool_store(best);
  indices[o.n * static_cast<Index>(is[0]) + o.c * static_cast<Index>(is[1]) +
          o.d * static_cast<Index>(is[2]) + o.h * static_cast<Index>(is[3]) +
          o.w * static_cast<Index>(is[4])] = best_index;
}

// The per-element body of max_pool at a flat index (in iteration order).
template <class T>
UPS_HD void max_pool_element(const PoolGeometry& g, const T* __restrict__ src, T* __restrict__ dst,
                             std::int64_t* __restrict__ indices, std::int64_t idx) {
  max_pool_at<T, std::int64_t>(g, unravel_ncdhw(idx, g.c, g.out, g.channels_last, g.narrow), src,
                               dst, indices);
}

// ---- max_pool backward --------------------------------------------------------------------------

// The gradient of max_pool as a gather: each grad_input element (n, c, d, h, w) sums, in
// increasing (od, oh, ow) order, grad_output of every output window that has (d, h, w) among its
// taps and whose index names (d, h, w). Every grad_input element is written by exactly one
// thread, with a fixed order of additions, so the result is deterministic. PyTorch's CPU kernel
// (cpu_max_pool_backward) scatters instead: grad_input[index] += grad_output, in increasing
// output order, which is the same set of terms added in the same order.
struct PoolBackwardGeometry {
  std::int64_t n, c;
  std::int64_t in[3];   // D, H, W of grad_input (the forward's input)
  std::int64_t out[3];  // D, H, W of grad_output and indices (the forward's output)
  std::int64_t kernel[3], stride[3], pad[3], dilation[3];
  // dilation / gcd(stride, dilation): along a dim, the windows whose taps include one input
  // position are this many apart.
  std::int64_t cover_step[3];
  std::int64_t gin_stride[5];   // N, C, D, H, W, in elements
  std::int64_t gout_stride[5];  // N, C, OD, OH, OW
  std::int64_t idx_stride[5];   // N, C, OD, OH, OW
  bool channels_last;           // iterate grad_input as N, D, H, W, C
  bool narrow;                  // every element count < 2^32: see divmod_hd
};

// The accumulator of the gradient sums: f16 and bf16 sum in f32 and round once at the end; f32
// and f64 in their own type; integers in uint64_t, which wraps (modulo 2^64, then the conversion
// back keeps the low bits: the sum modulo 2^bits, as two's complement wrapping would give).
template <class T>
struct PoolGradAcc {
  using type = std::uint64_t;
  UPS_HD static type in(T v) { return static_cast<type>(v); }
  UPS_HD static T out(type v) { return static_cast<T>(v); }
};
template <>
struct PoolGradAcc<float> {
  using type = float;
  UPS_HD static float in(float v) { return v; }
  UPS_HD static float out(float v) { return v; }
};
template <>
struct PoolGradAcc<double> {
  using type = double;
  UPS_HD static double in(double v) { return v; }
  UPS_HD static double out(double v) { return v; }
};
template <>
struct PoolGradAcc<half_t> {
  using type = float;
  UPS_HD static float in(half_t v) { return half_to_float(v); }
  UPS_HD static half_t out(float v) { return float_to_half(v); }
};
template <>
struct PoolGradAcc<bf16_t> {
  using type = float;
  UPS_HD static float in(bf16_t v) { return bf16_to_float(v); }
  UPS_HD static bf16_t out(float v) { return float_to_bf16(v); }
};

// Along one dim, the output windows o whose taps include input position p: o * stride - pad +
// t * dilation == p for some tap t in [0, kernel) and 0 <= o < out. They form the progression
// first, first + step, ..., of `count` terms (step = dilation / gcd(stride, dilation)).
template <class Index>
struct PoolCoverT {
  Index first, count, step;
};

// No intermediate overflows where pool_span_t does not: q = p + pad <= in + pad, reach =
// (kernel - 1) * dilation < the effective kernel, and o * stride <= q.
template <class Index>
UPS_HD PoolCoverT<Index> pool_cover_t(Index p, Index out, Index k, Index s, Index pad, Index d,
                                      Index step) {
  const Index q = p + pad;
  const Index reach = (k - 1) * d;
  // Windows [lo, hi] have their span [o * s, o * s + reach] (shifted by pad) around q.
  Index lo = q > reach ? (q - reach - 1) / s + 1 : 0;
  Index hi = q / s;
  if (hi > out - 1) hi = out - 1;
  if (d != 1) {
    // The first window of the run that has a tap at q: the residues of o * s modulo d repeat
    // with period `step`, so if none of the first `step` windows has one, none has.
    Index tries = 0;
    while (lo <= hi && tries < step && (q - lo * s) % d != 0) {
      ++lo;
      ++tries;
    }
    if (lo <= hi && (q - lo * s) % d != 0) lo = hi + 1;
  }
  const Index count = lo <= hi ? (hi - lo) / step + 1 : 0;
  return {lo, count, step};
}

// The grad_input element at p: the gather described above.
template <class T, class Index>
UPS_HD void max_pool_backward_at(const PoolBackwardGeometry& g, const PoolCoordT<Index>& p,
                                 const T* __restrict__ grad_output,
                                 const std::int64_t* __restrict__ indices,
                                 T* __restrict__ grad_input) {
  using Acc = PoolGradAcc<T>;
  const auto cover = [&](int i, Index x) {
    return pool_cover_t<Index>(x, static_cast<Index>(g.out[i]), static_cast<Index>(g.kernel[i]),
                               static_cast<Index>(g.stride[i]), static_cast<Index>(g.pad[i]),
                               static_cast<Index>(g.dilation[i]),
                               static_cast<Index>(g.cover_step[i]));
  };
  const PoolCoverT<Index> cd = cover(0, p.d), ch = cover(1, p.h), cw = cover(2, p.w);
  const std::int64_t target = static_cast<std::int64_t>(
      (p.d * static_cast<Index>(g.in[1]) + p.h) * static_cast<Index>(g.in[2]) + p.w);
  const std::int64_t* os = g.gout_stride;
  const std::int64_t* is = g.idx_stride;
  const T* go = grad_output + (p.n * static_cast<Index>(os[0]) + p.c * static_cast<Index>(os[1]));
  const std::int64_t* ix =
      indices + (p.n * static_cast<Index>(is[0]) + p.c * static_cast<Index>(is[1]));
  typename Acc::type sum = 0;
  for (Index jd = 0; jd < cd.count; ++jd) {
    const Index od = cd.first + jd * cd.step;
    for (Index jh = 0; jh < ch.count; ++jh) {
      const Index oh = ch.first + jh * ch.step;
      for (Index jw = 0; jw < cw.count; ++jw) {
        const Index ow = cw.first + jw * cw.step;
        const Index io = od * static_cast<Index>(is[2]) + oh * static_cast<Index>(is[3]) +
                         ow * static_cast<Index>(is[4]);
        if (ix[io] != target) continue;
        sum += Acc::in(go[od * static_cast<Index>(os[2]) + oh * static_cast<Index>(os[3]) +
                          ow * static_cast<Index>(os[4])]);
      }
    }
  }
  const std::int64_t* gs = g.gin_stride;
  grad_input[p.n * static_cast<Index>(gs[0]) + p.c * static_cast<Index>(gs[1]) +
             p.d * static_cast<Index>(gs[2]) + p.h * static_cast<Index>(gs[3]) +
             p.w * static_cast<Index>(gs[4])] = Acc::out(sum);
}

template <class T>
UPS_HD void max_pool_backward_element(const PoolBackwardGeometry& g,
                                      const T* __restrict__ grad_output,
                                      const std::int64_t* __restrict__ indices,
                                      T* __restrict__ grad_input, std::int64_t idx) {
  max_pool_backward_at<T, std::int64_t>(g, unravel_ncdhw(idx, g.c, g.in, g.channels_last, g.narrow),
                                        grad_output, indices, grad_input);
}

// Whether index v of the output window at o is one the backward pass accepts: a tap of that
// window (inside the input plane), or anything at all when the window has no in-bounds tap (its
// maximum is -inf whatever the input, so its gradient goes nowhere; PyTorch's CPU kernel would
// add it at whatever position the index names).
template <class Index>
UPS_HD bool max_pool_backward_index_ok(const PoolBackwardGeometry& g, const PoolCoordT<Index>& o,
                                       std::int64_t v) {
  const Index oc[3] = {o.d, o.h, o.w};
  PoolSpanT<Index> sp[3];
  for (int i = 0; i < 3; ++i) {
    sp[i] = pool_span_t<Index>(oc[i], static_cast<Index>(g.in[i]), static_cast<Index>(g.kernel[i]),
                               static_cast<Index>(g.stride[i]), static_cast<Index>(g.pad[i]),
                               static_cast<Index>(g.dilation[i]));
    if (pool_taps(sp[i], static_cast<Index>(g.dilation[i])) == 0) return true;
  }
  const std::int64_t plane = g.in[0] * g.in[1] * g.in[2];
  if (v < 0 || v >= plane) return false;
  // The plane (and so v) fits Index wherever the 32-bit variants run.
  const Index x = static_cast<Index>(v);
  const Index in_h = static_cast<Index>(g.in[1]), in_w = static_cast<Index>(g.in[2]);
  const Index pos[3] = {x / (in_h * in_w), (x / in_w) % in_h, x % in_w};
  for (int i = 0; i < 3; ++i) {
    const Index b = sp[i].begin, e = sp[i].end;
    if (pos[i] < b || pos[i] >= e || (pos[i] - b) % static_cast<Index>(g.dilation[i]) != 0) {
      return false;
    }
  }
  return true;
}

// The offset in indices, and the C-order position, of output window o.
template <class Index>
UPS_HD Index pool_backward_idx_offset(const PoolBackwardGeometry& g, const PoolCoordT<Index>& o) {
  const std::int64_t* is = g.idx_stride;
  return o.n * static_cast<Index>(is[0]) + o.c * static_cast<Index>(is[1]) +
         o.d * static_cast<Index>(is[2]) + o.h * static_cast<Index>(is[3]) +
         o.w * static_cast<Index>(is[4]);
}

template <class Index>
UPS_HD std::int64_t pool_backward_logical(const PoolBackwardGeometry& g,
                                          const PoolCoordT<Index>& o) {
  return (((static_cast<std::int64_t>(o.n) * g.c + o.c) * g.out[0] + o.d) * g.out[1] + o.h) *
             g.out[2] +
         o.w;
}

// The check of the output window at flat index idx (C order): -1, or its C-order position when
// its index is not accepted.
UPS_HD std::int64_t max_pool_backward_check_element(const PoolBackwardGeometry& g,
                                                    const std::int64_t* __restrict__ indices,
                                                    std::int64_t idx) {
  const PoolCoord o = unravel_ncdhw(idx, g.c, g.out, false, g.narrow);
  const std::int64_t v = indices[pool_backward_idx_offset(g, o)];
  return max_pool_backward_index_ok(g, o, v) ? -1 : idx;
}

// ---- max_unpool ---------------------------------------------------------------------------------

// Input (and indices) of logical shape (N, C, D, H, W); output (N, C, OD, OH, OW). An index is a
// flat position d * OH * OW + h * OW + w within its (n, c) output plane.
struct UnpoolGeometry {
  std::int64_t n, c;
  std::int64_t in[3];      // D, H, W of the input and the indices
  std::int64_t out[3];     // D, H, W of the output
  std::int64_t plane_in;   // in[0] * in[1] * in[2]
  std::int64_t plane_out;  // out[0] * out[1] * out[2]
  std::int64_t src_stride[5];
  std::int64_t idx_stride[5];
  std::int64_t dst_stride[5];
  bool channels_last;  // iterate inputs as N, D, H, W, C (coalesced reads of a channels-last src)
  bool narrow;         // input and output elements < 2^32: see divmod_hd
};

// The divisors of the unpool bodies in their index type: the input's unravel, and the output's
// W and H (an index names a flat position within an output plane).
template <class Index>
struct UnpoolDivs {
  PoolDivs<Index> in;
  Divider<Index> out_w, out_h;
};

template <class Index>
UPS_HD UnpoolDivs<Index> unpool_divs(const UnpoolGeometry& g) {
  UnpoolDivs<Index> v;
  v.in = pool_divs<Index>(g.c, g.in, g.narrow);
  v.out_w = Divider<Index>(g.out[2] > 0 ? g.out[2] : 1, g.narrow);
  v.out_h = Divider<Index>(g.out[1] > 0 ? g.out[1] : 1, g.narrow);
  return v;
}

// Where the idx-th input element (in iteration order) lives and which output plane it feeds.
template <class Index>
struct UnpoolSourceT {
  Index src_off, idx_off;
  Index dst_plane_off;  // offset of its (n, c) plane in the output
  Index plane;          // n * C + c
  Index pos;            // flat position within its input plane
};
using UnpoolSource = UnpoolSourceT<std::int64_t>;

template <class Index>
UPS_HD UnpoolSourceT<Index> unpool_source(const UnpoolGeometry& g, const UnpoolDivs<Index>& v,
                                          Index idx) {
  const PoolCoordT<Index> o = unravel_ncdhw(idx, v.in, g.channels_last);
  const auto off = [&](const std::int64_t* st) {
    return o.n * static_cast<Index>(st[0]) + o.c * static_cast<Index>(st[1]) +
           o.d * static_cast<Index>(st[2]) + o.h * static_cast<Index>(st[3]) +
           o.w * static_cast<Index>(st[4]);
  };
  UnpoolSourceT<Index> s;
  s.src_off = off(g.src_stride);
  s.idx_off = off(g.idx_stride);
  s.dst_plane_off =
      o.n * static_cast<Index>(g.dst_stride[0]) + o.c * static_cast<Index>(g.dst_stride[1]);
  s.plane = o.n * static_cast<Index>(g.c) + o.c;
  s.pos = (o.d * static_cast<Index>(g.in[1]) + o.h) * static_cast<Index>(g.in[2]) + o.w;
  return s;
}

UPS_HD UnpoolSource unpool_source(const UnpoolGeometry& g, std::int64_t idx) {
  return unpool_source(g, unpool_divs<std::int64_t>(g), idx);
}

// The logical (C-order) position of an input element, the unit in which a bad index is reported.
template <class Index>
UPS_HD std::int64_t unpool_logical(const UnpoolGeometry& g, const UnpoolSourceT<Index>& s) {
  return static_cast<std::int64_t>(s.plane) * g.plane_in + s.pos;
}

UPS_HD bool unpool_index_valid(const UnpoolGeometry& g, std::int64_t v) {
  return v >= 0 && v < g.plane_out;
}

// Offset within an output plane of the valid flat index v.
template <class Index>
UPS_HD Index unpool_target(const UnpoolGeometry& g, const UnpoolDivs<Index>& div, Index v) {
  Index q, w, d, h;
  div.out_w.divmod(v, &q, &w);
  div.out_h.divmod(q, &d, &h);
  return d * static_cast<Index>(g.dst_stride[2]) + h * static_cast<Index>(g.dst_stride[3]) +
         w * static_cast<Index>(g.dst_stride[4]);
}

UPS_HD std::int64_t unpool_target(const UnpoolGeometry& g, std::int64_t v) {
  return unpool_target(g, unpool_divs<std::int64_t>(g), v);
}

// The per-element body of max_unpool's scatter: copies input element `idx` (in iteration order)
// to the output position its index names. Returns -1, or the logical position of the element
// when its index is outside [0, plane_out) (nothing is written then). T is a storage type of the
// element's size: the op moves bits and never looks at values.
template <class T, class Index>
UPS_HD std::int64_t unpool_element_at(const UnpoolGeometry& g, const UnpoolDivs<Index>& div,
                                      const T* __restrict__ src,
                                      const std::int64_t* __restrict__ indices, T* __restrict__ dst,
                                      Index idx) {
  const UnpoolSourceT<Index> s = unpool_source(g, div, idx);
  const std::int64_t v = indices[s.idx_off];
  if (!unpool_index_valid(g, v)) return unpool_logical(g, s);
  dst[s.dst_plane_off + unpool_target(g, div, static_cast<Index>(v))] = src[s.src_off];
  return -1;
}

template <class T>
UPS_HD std::int64_t unpool_element(const UnpoolGeometry& g, const T* __restrict__ src,
                                   const std::int64_t* __restrict__ indices, T* __restrict__ dst,
                                   std::int64_t idx) {
  return unpool_element_at<T, std::int64_t>(g, unpool_divs<std::int64_t>(g), src, indices, dst,
                                            idx);
}

// The per-element body of max_unpool's backward pass, a gather: grad_input element `idx` (in
// iteration order; the geometry's src strides are grad_input's and its dst strides
// grad_output's) takes the grad_output element its index names. An invalid index writes zero
// and returns the element's logical position (never reading through it); otherwise -1.
template <class T, class Index>
UPS_HD std::int64_t unpool_backward_element_at(const UnpoolGeometry& g,
                                               const UnpoolDivs<Index>& div,
                                               const T* __restrict__ grad_output,
                                               const std::int64_t* __restrict__ indices,
                                               T* __restrict__ grad_input, Index idx) {
  const UnpoolSourceT<Index> s = unpool_source(g, div, idx);
  const std::int64_t v = indices[s.idx_off];
  if (!unpool_index_valid(g, v)) {
    grad_input[s.src_off] = T(0);
    return unpool_logical(g, s);
  }
  grad_input[s.src_off] =
      grad_output[s.dst_plane_off + unpool_target(g, div, static_cast<Index>(v))];
  return -1;
}

template <class T>
UPS_HD std::int64_t unpool_backward_element(const UnpoolGeometry& g,
                                            const T* __restrict__ grad_output,
                                            const std::int64_t* __restrict__ indices,
                                            T* __restrict__ grad_input, std::int64_t idx) {
  return unpool_backward_element_at<T, std::int64_t>(g, unpool_divs<std::int64_t>(g), grad_output,
                                                     indices, grad_input, idx);
}

// Deterministic resolution of duplicate indices: each output element has a claim slot that ends
// up holding 1 + the largest input position (within the plane) that names it; only that element
// writes. This is the "last position wins" result of PyTorch's sequential CPU loop.
template <class Index>
UPS_HD Index unpool_slot(const UnpoolGeometry& g, const UnpoolSourceT<Index>& s, Index v) {
  return s.plane * static_cast<Index>(g.plane_out) + v;
}

// Offset of element `idx` (C order over `sizes`) in a tensor with `strides`: used to zero-fill
// an output that is not dense. `sizes` are the divisors of the sizes, innermost first.
template <class Index>
UPS_HD Index strided_offset5(Index idx, const Divider<Index> sizes_inner_first[5],
                             const std::int64_t strides[5]) {
  Index off = 0;
  UPS_UNROLL
  for (int k = 0; k < 5; ++k) {
    Index q, r;
    sizes_inner_first[k].divmod(idx, &q, &r);
    off += r * static_cast<Index>(strides[4 - k]);
    idx = q;
  }
  return off;
}

UPS_HD std::int64_t strided_offset5(std::int64_t idx, const std::int64_t sizes[5],
                                    const std::int64_t strides[5], bool narrow) {
  Divider<std::int64_t> div[5];
  for (int k = 0; k < 5; ++k)
    div[k] = Divider<std::int64_t>(sizes[4 - k], narrow);
  return strided_offset5<std::int64_t>(idx, div, strides);
}

}  // namespace kern
}  // namespace ups
