// Index map of ups::pixel_shuffle and ups::pixel_unshuffle, shared verbatim by the CPU backend
// (src/cpu/pixel_shuffle_cpu.cpp) and the CUDA kernels (kernels/pixel_shuffle/pixel_shuffle.cu).
// Both ops are pure copies, so every backend and every kernel variant is bit-exact.
#pragma once

#include <cstdint>

#include "common/divmod.hpp"
#include "common/hd.hpp"

namespace ups {
namespace kern {

// Five logical dims (L0, L1, C, H, W): up to two leading dims, padded with unit dims of stride 0.
//   shuffle:   out[l0, l1, c, h*r + i, w*r + j] = in[l0, l1, (c*r + i)*r + j, h, w]
//   unshuffle: out[l0, l1, (c*r + i)*r + j, h, w] = in[l0, l1, c, h*r + i, w*r + j]
// (PyTorch's pixel_shuffle / pixel_unshuffle, aten/src/ATen/native/PixelShuffle.cpp.)
struct ShuffleGeometry {
  std::int64_t out_size[5];
  std::int64_t dst_stride[5];
  std::int64_t src_stride[5];  // strides of the input's five logical dims
  std::int64_t r;
  bool unshuffle;
  bool narrow;  // every index fits 32 bits (output elements < 2^32): see divmod_hd
  // Output dims in iteration order, outermost first: the output's memory order, so that
  // consecutive iterations store to consecutive addresses whatever the layout.
  int order[5];
};

// The divisors of the index map in the body's index type (see Divider): the output sizes in
// iteration order, r and r * r. Built once per call on the host for the CUDA kernels.
template <class Index>
struct ShuffleDivs {
  Divider<Index> size[5];  // size[k]: out_size[order[k]]
  Divider<Index> r, r2;
};

template <class Index>
UPS_HD ShuffleDivs<Index> shuffle_divs(const ShuffleGeometry& g) {
  ShuffleDivs<Index> v;
  for (int k = 0; k < 5; ++k) {
    const std::int64_t n = g.out_size[g.order[k]];
    v.size[k] = Divider<Index>(n > 0 ? n : 1, g.narrow);
  }
  v.r = Divider<Index>(g.r, g.narrow);
  v.r2 = Divider<Index>(g.r * g.r, g.narrow);
  return v;
}

template <class Index>
struct ShuffleCoordT {
  Index o[5];  // output coordinates (L0, L1, C, H, W)
};
using ShuffleCoord = ShuffleCoordT<std::int64_t>;

// Output coordinates of the idx-th element in iteration order.
template <class Index>
UPS_HD ShuffleCoordT<Index> shuffle_unravel(const ShuffleGeometry& g, const ShuffleDivs<Index>& v,
                                            Index idx) {
  ShuffleCoordT<Index> c{{0, 0, 0, 0, 0}};
  UPS_UNROLL
  for (int k = 4; k >= 0; --k) {
    const int d = g.order[k];
    Index q, r;
    v.size[k].divmod(idx, &q, &r);
    idx = q;
    // Selects rather than c.o[d] = ...: a run-time index would move the coordinates to local
    // memory on the GPU.
    UPS_UNROLL
    for (int e = 0; e < 5; ++e)
      c.o[e] = d == e ? r : c.o[e];
  }
  return c;
}

template <class Index>
UPS_HD Index shuffle_dst_offset(const ShuffleGeometry& g, const ShuffleCoordT<Index>& c) {
  const std::int64_t* s = g.dst_stride;
  return c.o[0] * static_cast<Index>(s[0]) + c.o[1] * static_cast<Index>(s[1]) +
         c.o[2] * static_cast<Index>(s[2]) + c.o[3] * static_cast<Index>(s[3]) +
         c.o[4] * static_cast<Index>(s[4]);
}

// Input offset of the output element at `c`.
template <class Index>
UPS_HD Index shuffle_src_offset(const ShuffleGeometry& g, const ShuffleDivs<Index>& v,
                                const ShuffleCoordT<Index>& c) {
  const Index r = v.r.value();
  Index ic, ih, iw;
  if (g.unshuffle) {
    Index c_q, c_r, i, j;
    v.r2.divmod(c.o[2], &c_q, &c_r);
    v.r.divmod(c_r, &i, &j);
    ic = c_q;
    ih = c.o[3] * r + i;
    iw = c.o[4] * r + j;
  } else {
    Index i, j;
    v.r.divmod(c.o[3], &ih, &i);
    v.r.divmod(c.o[4], &iw, &j);
    ic = (c.o[2] * r + i) * r + j;
  }
  const std::int64_t* s = g.src_stride;
  return c.o[0] * static_cast<Index>(s[0]) + c.o[1] * static_cast<Index>(s[1]) +
         ic * static_cast<Index>(s[2]) + ih * static_cast<Index>(s[3]) +
         iw * static_cast<Index>(s[4]);
}

// Source offsets of the output elements c, c + e, c + 2e, ... where e steps output dim `inner`
// (2 = C or 4 = W) by one, for the CUDA fast path, which stores runs of consecutive elements.
// One decomposition at the start, then carries instead of a division per element; the offsets
// are exactly those of shuffle_src_offset (tests/cpu/test_pixel_shuffle.cpp compares them). The
// input coordinate moves like an odometer whose digits have radix r (0: unbounded):
//   shuffle,   inner W: ow -> (iw, j) = (ow / r, ow % r), ic = ... + j      digits j | iw
//   unshuffle, inner W: iw = ow * r + j                                      iw += r
//   shuffle,   inner C: ic = oc * r^2 + i * r + j                            ic += r^2
//   unshuffle, inner C: oc -> (c, i, j): ic = c, ih = oh * r + i, iw = ow * r + j
//                                                                            digits j | i | c
template <class Index>
struct ShuffleRunT {
  Index offset;     // source offset of the current element
  Index digit[2];   // the bounded digits
  Index radix[2];   // 0 when the digit is unused
  Index stride[3];  // source offset step of each digit; [2] is the unbounded top digit

  UPS_HD void next() {
    UPS_UNROLL
    for (int k = 0; k < 2; ++k) {
      if (radix[k] == 0) break;
      offset += stride[k];
      if (++digit[k] < radix[k]) return;
      digit[k] = 0;
      offset -= radix[k] * stride[k];
    }
    offset += stride[2];
  }
};
using ShuffleRun = ShuffleRunT<std::int64_t>;

template <class Index>
UPS_HD ShuffleRunT<Index> shuffle_run(const ShuffleGeometry& g, const ShuffleDivs<Index>& v,
                                      const ShuffleCoordT<Index>& c, int inner) {
  const Index r = v.r.value();
  const Index s2 = static_cast<Index>(g.src_stride[2]), s3 = static_cast<Index>(g.src_stride[3]),
              s4 = static_cast<Index>(g.src_stride[4]);
  ShuffleRunT<Index> run{shuffle_src_offset(g, v, c), {0, 0}, {0, 0}, {0, 0, 0}};
  Index q, rem;
  if (inner == 4 && !g.unshuffle) {
    run.radix[0] = r;
    v.r.divmod(c.o[4], &q, &rem);
    run.digit[0] = rem;
    run.stride[0] = s2;
    run.stride[2] = s4;
  } else if (inner == 4) {
    run.stride[2] = r * s4;
  } else if (!g.unshuffle) {
    run.stride[2] = r * r * s2;
  } else {
    v.r2.divmod(c.o[2], &q, &rem);
    Index i, j;
    v.r.divmod(rem, &i, &j);
    run.radix[0] = r;
    run.digit[0] = j;
    run.stride[0] = s4;
    run.radix[1] = r;
    run.digit[1] = i;
    run.stride[1] = s3;
    run.stride[2] = s2;
  }
  return run;
}

// The per-element body at a flat index of the body's index type.
template <class T, class Index>
UPS_HD void shuffle_element_at(const ShuffleGeometry& g, const ShuffleDivs<Index>& v,
                               const T* __restrict__ src, T* __restrict__ dst, Index idx) {
  const ShuffleCoordT<Index> c = shuffle_unravel(g, v, idx);
  dst[shuffle_dst_offset(g, c)] = src[shuffle_src_offset(g, v, c)];
}

// ---- the 64-bit forms the CPU backend and the reference use

UPS_HD ShuffleCoord shuffle_unravel(const ShuffleGeometry& g, std::int64_t idx) {
  return shuffle_unravel(g, shuffle_divs<std::int64_t>(g), idx);
}

UPS_HD std::int64_t shuffle_src_offset(const ShuffleGeometry& g, const ShuffleCoord& c) {
  return shuffle_src_offset(g, shuffle_divs<std::int64_t>(g), c);
}

UPS_HD ShuffleRun shuffle_run(const ShuffleGeometry& g, const ShuffleCoord& c, int inner) {
  return shuffle_run(g, shuffle_divs<std::int64_t>(g), c, inner);
}

// The per-element body: copies output element `idx` (in iteration order) from its source. T is
// a storage type of the element's size.
template <class T>
UPS_HD void shuffle_element(const ShuffleGeometry& g, const T* __restrict__ src,
                            T* __restrict__ dst, std::int64_t idx) {
  shuffle_element_at<T, std::int64_t>(g, shuffle_divs<std::int64_t>(g), src, dst, idx);
}

}  // namespace kern
}  // namespace ups
