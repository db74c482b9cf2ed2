// Index map of ups::pixel_shuffle and ups::pixel_unshuffle, shared verbatim by the CPU backend
// (src/cpu/pixel_shuffle_cpu.cpp) and the CUDA kernels (kernels/pixel_shuffle/pixel_shuffle.cu).
// Both ops are pure copies, so every backend and every kernel variant is bit-exact.
#pragma once

#include <cstdint>

#include "common/hd.hpp"
#include "pool/divmod.hpp"

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

struct ShuffleCoord {
  std::int64_t o[5];  // output coordinates (L0, L1, C, H, W)
};

// Output coordinates of the idx-th element in iteration order.
UPS_HD ShuffleCoord shuffle_unravel(const ShuffleGeometry& g, std::int64_t idx) {
  ShuffleCoord c{{0, 0, 0, 0, 0}};
  for (int k = 4; k >= 0; --k) {
    const int d = g.order[k];
    const DivMod qr = divmod_hd(idx, g.out_size[d], g.narrow);
    idx = qr.q;
    // Selects rather than c.o[d] = ...: a run-time index would move the coordinates to local
    // memory on the GPU.
    for (int e = 0; e < 5; ++e)
      c.o[e] = d == e ? qr.r : c.o[e];
  }
  return c;
}

UPS_HD std::int64_t shuffle_dst_offset(const ShuffleGeometry& g, const ShuffleCoord& c) {
  return c.o[0] * g.dst_stride[0] + c.o[1] * g.dst_stride[1] + c.o[2] * g.dst_stride[2] +
         c.o[3] * g.dst_stride[3] + c.o[4] * g.dst_stride[4];
}

// Input offset of the output element at `c`.
UPS_HD std::int64_t shuffle_src_offset(const ShuffleGeometry& g, const ShuffleCoord& c) {
  const std::int64_t r = g.r;
  std::int64_t ic, ih, iw;
  if (g.unshuffle) {
    const DivMod c_sub = divmod_hd(c.o[2], r * r, g.narrow);
    const DivMod i_j = divmod_hd(c_sub.r, r, g.narrow);
    ic = c_sub.q;
    ih = c.o[3] * r + i_j.q;
    iw = c.o[4] * r + i_j.r;
  } else {
    const DivMod h_i = divmod_hd(c.o[3], r, g.narrow);
    const DivMod w_j = divmod_hd(c.o[4], r, g.narrow);
    ih = h_i.q;
    iw = w_j.q;
    ic = (c.o[2] * r + h_i.r) * r + w_j.r;
  }
  return c.o[0] * g.src_stride[0] + c.o[1] * g.src_stride[1] + ic * g.src_stride[2] +
         ih * g.src_stride[3] + iw * g.src_stride[4];
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
struct ShuffleRun {
  std::int64_t offset;     // source offset of the current element
  std::int64_t digit[2];   // the bounded digits
  std::int64_t radix[2];   // 0 when the digit is unused
  std::int64_t stride[3];  // source offset step of each digit; [2] is the unbounded top digit

  UPS_HD void next() {
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

UPS_HD ShuffleRun shuffle_run(const ShuffleGeometry& g, const ShuffleCoord& c, int inner) {
  const std::int64_t r = g.r;
  const std::int64_t* ss = g.src_stride;
  ShuffleRun run{shuffle_src_offset(g, c), {0, 0}, {0, 0}, {0, 0, 0}};
  if (inner == 4 && !g.unshuffle) {
    run.radix[0] = r;
    run.digit[0] = divmod_hd(c.o[4], r, g.narrow).r;
    run.stride[0] = ss[2];
    run.stride[2] = ss[4];
  } else if (inner == 4) {
    run.stride[2] = r * ss[4];
  } else if (!g.unshuffle) {
    run.stride[2] = r * r * ss[2];
  } else {
    const DivMod i_j = divmod_hd(divmod_hd(c.o[2], r * r, g.narrow).r, r, g.narrow);
    run.radix[0] = r;
    run.digit[0] = i_j.r;
    run.stride[0] = ss[4];
    run.radix[1] = r;
    run.digit[1] = i_j.q;
    run.stride[1] = ss[3];
    run.stride[2] = ss[2];
  }
  return run;
}

// The per-element body: copies output element `idx` (in iteration order) from its source. T is
// a storage type of the element's size.
template <class T>
UPS_HD void shuffle_element(const ShuffleGeometry& g, const T* __restrict__ src,
                            T* __restrict__ dst, std::int64_t idx) {
  const ShuffleCoord c = shuffle_unravel(g, idx);
  dst[shuffle_dst_offset(g, c)] = src[shuffle_src_offset(g, c)];
}

}  // namespace kern
}  // namespace ups
