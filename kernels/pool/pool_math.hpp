// Per-element bodies of ups::max_pool and ups::max_unpool, shared verbatim by the CPU backend
// (src/cpu/pool_cpu.cpp) and the CUDA kernels (kernels/pool/*.cu). The comments say where each
// rule comes from in PyTorch (ATen's DilatedMaxPool2d/3d and MaxUnpooling kernels).
#pragma once

#include <cstdint>

#include "common/hd.hpp"
#include "common/divmod.hpp"

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

struct PoolCoord {
  std::int64_t n, c, d, h, w;
};

// Coordinates of the idx-th element of an (n, c, s[0], s[1], s[2]) tensor in NCDHW order, or in
// NDHWC order when `channels_last` is set.
UPS_HD PoolCoord unravel_ncdhw(std::int64_t idx, std::int64_t c, const std::int64_t s[3],
                               bool channels_last, bool narrow) {
  PoolCoord o;
  DivMod qr;
  if (channels_last) {
    qr = divmod_hd(idx, c, narrow);
    o.c = qr.r;
    qr = divmod_hd(qr.q, s[2], narrow);
    o.w = qr.r;
    qr = divmod_hd(qr.q, s[1], narrow);
    o.h = qr.r;
    qr = divmod_hd(qr.q, s[0], narrow);
    o.d = qr.r;
    o.n = qr.q;
  } else {
    qr = divmod_hd(idx, s[2], narrow);
    o.w = qr.r;
    qr = divmod_hd(qr.q, s[1], narrow);
    o.h = qr.r;
    qr = divmod_hd(qr.q, s[0], narrow);
    o.d = qr.r;
    qr = divmod_hd(qr.q, c, narrow);
    o.c = qr.r;
    o.n = qr.q;
  }
  return o;
}

// One window dim: first tap at or after 0 and the end (exclusive) clipped to the input. This is
// ATen's `start = o * stride - pad; end = min(start + (k - 1) * dilation + 1, in);
// while (start < 0) start += dilation;`, with the loop in closed form.
struct PoolSpan {
  std::int64_t begin, end;
};

// Written so that no intermediate overflows int64 for any arguments the front end accepts (a
// dilation or stride near 2^63 included): the effective kernel (k - 1) * d + 1 fits int64 (the
// front end checks it), and begin + eff is formed only when it is below in.
UPS_HD PoolSpan pool_span(std::int64_t o, std::int64_t in, std::int64_t k, std::int64_t s,
                          std::int64_t p, std::int64_t d) {
  std::int64_t begin = o * s - p;
  const std::int64_t eff = (k - 1) * d + 1;
  const std::int64_t end = eff >= in - begin ? in : begin + eff;
  if (begin < 0) {
    // The first tap at or after 0: begin + ceil(-begin / d) * d.
    const std::int64_t r = (-begin) % d;
    begin = r == 0 ? 0 : d - r;
  }
  return {begin, end};
}

// Number of taps begin, begin + d, ... below end.
UPS_HD std::int64_t pool_taps(const PoolSpan& span, std::int64_t d) {
  return span.end > span.begin ? (span.end - span.begin - 1) / d + 1 : 0;
}

// The per-element body of max_pool: output element `idx` (in iteration order) and its index.
//
// NOTE [max_pool ties, NaN and empty windows]. ATen scans the window in D, H, W order with
// `if (val > maxval || isnan(val))`, starting from maxval = lowest and maxindex = the first
// in-bounds tap. Hence: among equal maxima the first tap wins; a NaN always replaces the running
// maximum, so the *last* NaN of the window wins; a window whose taps are all -inf (or all the
// integer minimum) reports its first in-bounds tap; and a window with no in-bounds tap at all
// (possible with dilation > 1 and padding) reports lowest and the position the first tap would
// have had, which lies outside the plane. All of this is reproduced exactly.
template <class T>
UPS_HD void max_pool_element(const PoolGeometry& g, const T* __restrict__ src, T* __restrict__ dst,
                             std::int64_t* __restrict__ indices, std::int64_t idx) {
  using Key = typename PoolKey<T>::type;
  const PoolCoord o = unravel_ncdhw(idx, g.c, g.out, g.channels_last, g.narrow);
  const PoolSpan sd = pool_span(o.d, g.in[0], g.kernel[0], g.stride[0], g.pad[0], g.dilation[0]);
  const PoolSpan sh = pool_span(o.h, g.in[1], g.kernel[1], g.stride[1], g.pad[1], g.dilation[1]);
  const PoolSpan sw = pool_span(o.w, g.in[2], g.kernel[2], g.stride[2], g.pad[2], g.dilation[2]);
  const T* plane = src + o.n * g.src_stride[0] + o.c * g.src_stride[1];

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
  const std::int64_t nd = pool_taps(sd, g.dilation[0]), nh = pool_taps(sh, g.dilation[1]),
                     nw = pool_taps(sw, g.dilation[2]);
  for (std::int64_t td = 0; td < nd; ++td) {
    const std::int64_t d = sd.begin + td * g.dilation[0];
    for (std::int64_t th = 0; th < nh; ++th) {
      const std::int64_t h = sh.begin + th * g.dilation[1];
      const T* row = plane + d * g.src_stride[2] + h * g.src_stride[3];
      for (std::int64_t tw = 0; tw < nw; ++tw) {
        const std::int64_t w = sw.begin + tw * g.dilation[2];
        const T v = row[w * g.src_stride[4]];
        const Key key = PoolKey<T>::of(v);
        if (key > best_key || key != key) {  // key != key: NaN (never true for integers)
          best = v;
          best_key = key;
          best_index = (d * g.in[1] + h) * g.in[2] + w;
        }
      }
    }
  }
  dst[o.n * g.dst_stride[0] + o.c * g.dst_stride[1] + o.d * g.dst_stride[2] +
      o.h * g.dst_stride[3] + o.w * g.dst_stride[4]] = pool_store(best);
  indices[o.n * g.idx_stride[0] + o.c * g.idx_stride[1] + o.d * g.idx_stride[2] +
          o.h * g.idx_stride[3] + o.w * g.idx_stride[4]] = best_index;
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

// Where the idx-th input element (in iteration order) lives and which output plane it feeds.
struct UnpoolSource {
  std::int64_t src_off, idx_off;
  std::int64_t dst_plane_off;  // offset of its (n, c) plane in the output
  std::int64_t plane;          // n * C + c
  std::int64_t pos;            // flat position within its input plane
};

UPS_HD UnpoolSource unpool_source(const UnpoolGeometry& g, std::int64_t idx) {
  const PoolCoord o = unravel_ncdhw(idx, g.c, g.in, g.channels_last, g.narrow);
  UnpoolSource s;
  s.src_off = o.n * g.src_stride[0] + o.c * g.src_stride[1] + o.d * g.src_stride[2] +
              o.h * g.src_stride[3] + o.w * g.src_stride[4];
  s.idx_off = o.n * g.idx_stride[0] + o.c * g.idx_stride[1] + o.d * g.idx_stride[2] +
              o.h * g.idx_stride[3] + o.w * g.idx_stride[4];
  s.dst_plane_off = o.n * g.dst_stride[0] + o.c * g.dst_stride[1];
  s.plane = o.n * g.c + o.c;
  s.pos = (o.d * g.in[1] + o.h) * g.in[2] + o.w;
  return s;
}

// The logical (C-order) position of an input element, the unit in which a bad index is reported.
UPS_HD std::int64_t unpool_logical(const UnpoolGeometry& g, const UnpoolSource& s) {
  return s.plane * g.plane_in + s.pos;
}

UPS_HD bool unpool_index_valid(const UnpoolGeometry& g, std::int64_t v) {
  return v >= 0 && v < g.plane_out;
}

// Offset within an output plane of the valid flat index v.
UPS_HD std::int64_t unpool_target(const UnpoolGeometry& g, std::int64_t v) {
  const DivMod hw = divmod_hd(v, g.out[2], g.narrow);
  const DivMod dh = divmod_hd(hw.q, g.out[1], g.narrow);
  return dh.q * g.dst_stride[2] + dh.r * g.dst_stride[3] + hw.r * g.dst_stride[4];
}

// The per-element body of max_unpool's scatter: copies input element `idx` (in iteration order)
// to the output position its index names. Returns -1, or the logical position of the element
// when its index is outside [0, plane_out) (nothing is written then). T is a storage type of the
// element's size: the op moves bits and never looks at values.
template <class T>
UPS_HD std::int64_t unpool_element(const UnpoolGeometry& g, const T* __restrict__ src,
                                   const std::int64_t* __restrict__ indices, T* __restrict__ dst,
                                   std::int64_t idx) {
  const UnpoolSource s = unpool_source(g, idx);
  const std::int64_t v = indices[s.idx_off];
  if (!unpool_index_valid(g, v)) return unpool_logical(g, s);
  dst[s.dst_plane_off + unpool_target(g, v)] = src[s.src_off];
  return -1;
}

// Deterministic resolution of duplicate indices: each output element has a claim slot that ends
// up holding 1 + the largest input position (within the plane) that names it; only that element
// writes. This is the "last position wins" result of PyTorch's sequential CPU loop.
UPS_HD std::int64_t unpool_slot(const UnpoolGeometry& g, const UnpoolSource& s, std::int64_t v) {
  return s.plane * g.plane_out + v;
}

// Offset of element `idx` (C order over `sizes`) in a tensor with `strides`: used to zero-fill
// an output that is not dense.
UPS_HD std::int64_t strided_offset5(std::int64_t idx, const std::int64_t sizes[5],
                                    const std::int64_t strides[5], bool narrow) {
  std::int64_t off = 0;
  for (int d = 4; d >= 0; --d) {
    const DivMod qr = divmod_hd(idx, sizes[d], narrow);
    off += qr.r * strides[d];
    idx = qr.q;
  }
  return off;
}

}  // namespace kern
}  // namespace ups
