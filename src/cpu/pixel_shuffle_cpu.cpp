// CPU backend of ups::pixel_shuffle / ups::pixel_unshuffle.
//
// Both ops are copies: every output element is the input element that the shared index map of
// kernels/pixel_shuffle/shuffle_math.hpp names, moved as an unsigned integer of its size, so any
// loop that writes each output element once from that element is bit-exact.
//
// Fast paths (Highway SIMD, dispatched at run time), by layout:
//  - W innermost in both tensors (contiguous and other row layouts). An output row of the
//    shuffle interleaves r input rows: out[w * r + j] = in_j[w], where in_j is channel
//    (c * r + i) * r + j at row oh / r. The unshuffle is the inverse: an input row deinterleaves
//    into r output rows. r = 2, 3, 4 use Highway's StoreInterleaved / LoadInterleaved; other
//    factors a scalar loop.
//  - C innermost in both tensors (channels-last). Input pixel (h, w) of the shuffle holds the C
//    channels of the r * r output pixels (h * r + i, w * r + j), interleaved: output channel c of
//    sub-pixel k = i * r + j is input channel c * r^2 + k. So each input pixel's channel run is
//    deinterleaved by r^2 into r^2 output pixels (LoadInterleaved4 for r = 2), and the unshuffle
//    interleaves r^2 input pixels into one output pixel (StoreInterleaved4).
// Tasks are runs of whole rows. Outputs of 16 MiB and more are written with streaming stores.
// Other layouts copy a row at a time with the source offsets of
// shuffle_run (the odometer the CUDA fast path uses) when the output's innermost dim is W or C,
// and run the per-element body otherwise.
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "cpu/parallel.hpp"
#include "pixel_shuffle_plan.hpp"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "cpu/pixel_shuffle_cpu.cpp"
#include <hwy/cache_control.h>
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include "cpu/simd_convert-inl.h"

HWY_BEFORE_NAMESPACE();
namespace ups {
namespace detail {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Outputs at least this large are written with streaming stores (where a vector's destination
// is aligned): an output far beyond the caches then skips the read-for-ownership of every line,
// a third of the memory traffic of a copy.
constexpr std::size_t kStreamBytes = std::size_t(16) << 20;

#if HWY_TARGET != HWY_SCALAR
// Highway's StoreInterleaved2/3/4 of the vectors v at out; with kStream through an aligned
// buffer, so that the stores to out can stream (see StoreVec).
template <bool kStream, class D, class... V>
HWY_INLINE void StoreInterleaved(D d, hn::TFromD<D>* HWY_RESTRICT out, V... v) {
  constexpr std::size_t kR = sizeof...(V);
  if constexpr (!kStream) {
    if constexpr (kR == 2) {
      hn::StoreInterleaved2(v..., d, out);
    } else if constexpr (kR == 3) {
      hn::StoreInterleaved3(v..., d, out);
    } else {
      hn::StoreInterleaved4(v..., d, out);
    }
  } else {
    using U = hn::TFromD<D>;
    HWY_ALIGN U buf[kR * HWY_LANES(U)];
    StoreInterleaved<false>(d, buf, v...);
    const std::size_t n = hn::Lanes(d);
    for (std::size_t k = 0; k < kR; ++k)
      StoreVec<true>(d, hn::Load(d, buf + k * n), out + k * n);
  }
}
#endif

// ---- rows ----------------------------------------------------------------------------------

// out[w * r + j] = in[j * in_step + w] for w < n, j < r.
template <bool kStream, class U>
void interleave_row(const U* HWY_RESTRICT in, std::int64_t in_step, std::int64_t r, std::int64_t n,
                    U* HWY_RESTRICT out) {
  if (r == 1) {
    std::memcpy(out, in, static_cast<std::size_t>(n) * sizeof(U));
    return;
  }
  std::int64_t w = 0;
#if HWY_TARGET != HWY_SCALAR
  const hn::ScalableTag<U> d;
  const auto lanes = static_cast<std::int64_t>(hn::Lanes(d));
  const U* HWY_RESTRICT in1 = in + in_step;
  if (r == 2) {
    for (; w + lanes <= n; w += lanes)
      StoreInterleaved<kStream>(d, out + 2 * w, hn::LoadU(d, in + w), hn::LoadU(d, in1 + w));
  } else if (r == 3) {
    const U* HWY_RESTRICT in2 = in1 + in_step;
    for (; w + lanes <= n; w += lanes) {
      StoreInterleaved<kStream>(d, out + 3 * w, hn::LoadU(d, in + w), hn::LoadU(d, in1 + w),
                                hn::LoadU(d, in2 + w));
    }
  } else if (r == 4) {
    const U* HWY_RESTRICT in2 = in1 + in_step;
    const U* HWY_RESTRICT in3 = in2 + in_step;
    for (; w + lanes <= n; w += lanes) {
      StoreInterleaved<kStream>(d, out + 4 * w, hn::LoadU(d, in + w), hn::LoadU(d, in1 + w),
                                hn::LoadU(d, in2 + w), hn::LoadU(d, in3 + w));
    }
  }
#endif
  // The rest, one source row at a time: sequential reads, stores r elements apart into a row
  // that stays in the cache.
  for (std::int64_t j = 0; j < r; ++j) {
    const U* HWY_RESTRICT src = in + j * in_step;
    for (std::int64_t x = w; x < n; ++x)
      out[x * r + j] = src[x];
  }
}

// out[j * out_step + w] = in[w * r + j] for w < n, j < r.
template <bool kStream, class U>
void deinterleave_row(const U* HWY_RESTRICT in, std::int64_t r, std::int64_t n, U* HWY_RESTRICT out,
                      std::int64_t out_step) {
  if (r == 1) {
    std::memcpy(out, in, static_cast<std::size_t>(n) * sizeof(U));
    return;
  }
  std::int64_t w = 0;
#if HWY_TARGET != HWY_SCALAR
  const hn::ScalableTag<U> d;
  const auto lanes = static_cast<std::int64_t>(hn::Lanes(d));
  U* HWY_RESTRICT out1 = out + out_step;
  if (r == 2) {
    for (; w + lanes <= n; w += lanes) {
      hn::Vec<decltype(d)> v0, v1;
      hn::LoadInterleaved2(d, in + 2 * w, v0, v1);
      StoreVec<kStream>(d, v0, out + w);
      StoreVec<kStream>(d, v1, out1 + w);
    }
  } else if (r == 3) {
    U* HWY_RESTRICT out2 = out1 + out_step;
    for (; w + lanes <= n; w += lanes) {
      hn::Vec<decltype(d)> v0, v1, v2;
      hn::LoadInterleaved3(d, in + 3 * w, v0, v1, v2);
      StoreVec<kStream>(d, v0, out + w);
      StoreVec<kStream>(d, v1, out1 + w);
      StoreVec<kStream>(d, v2, out2 + w);
    }
  } else if (r == 4) {
    U* HWY_RESTRICT out2 = out1 + out_step;
    U* HWY_RESTRICT out3 = out2 + out_step;
    for (; w + lanes <= n; w += lanes) {
      hn::Vec<decltype(d)> v0, v1, v2, v3;
      hn::LoadInterleaved4(d, in + 4 * w, v0, v1, v2, v3);
      StoreVec<kStream>(d, v0, out + w);
      StoreVec<kStream>(d, v1, out1 + w);
      StoreVec<kStream>(d, v2, out2 + w);
      StoreVec<kStream>(d, v3, out3 + w);
    }
  }
#endif
  for (std::int64_t j = 0; j < r; ++j) {
    U* HWY_RESTRICT dst = out + j * out_step;
    for (std::int64_t x = w; x < n; ++x)
      dst[x] = in[x * r + j];
  }
}

// ---- channels-last pixels ------------------------------------------------------------------

// out_k[c] = in[c * r^2 + k] for c < n, sub-pixel k = i * r + j < r^2 at
// out + i * row_step + j * px_step.
template <bool kStream, class U>
void deinterleave_pixel(const U* HWY_RESTRICT in, std::int64_t r, std::int64_t n,
                        U* HWY_RESTRICT out, std::int64_t row_step, std::int64_t px_step) {
  if (r == 1) {
    std::memcpy(out, in, static_cast<std::size_t>(n) * sizeof(U));
    return;
  }
  std::int64_t c = 0;
#if HWY_TARGET != HWY_SCALAR
  if (r == 2) {
    const hn::ScalableTag<U> d;
    const auto lanes = static_cast<std::int64_t>(hn::Lanes(d));
    U* HWY_RESTRICT o01 = out + px_step;
    U* HWY_RESTRICT o10 = out + row_step;
    U* HWY_RESTRICT o11 = o10 + px_step;
    for (; c + lanes <= n; c += lanes) {
      hn::Vec<decltype(d)> v0, v1, v2, v3;
      hn::LoadInterleaved4(d, in + 4 * c, v0, v1, v2, v3);
      StoreVec<kStream>(d, v0, out + c);
      StoreVec<kStream>(d, v1, o01 + c);
      StoreVec<kStream>(d, v2, o10 + c);
      StoreVec<kStream>(d, v3, o11 + c);
    }
  }
#endif
  const std::int64_t rr = r * r;
  for (std::int64_t i = 0; i < r; ++i) {
    for (std::int64_t j = 0; j < r; ++j) {
      const U* HWY_RESTRICT src = in + i * r + j;
      U* HWY_RESTRICT dst = out + i * row_step + j * px_step;
      for (std::int64_t x = c; x < n; ++x)
        dst[x] = src[x * rr];
    }
  }
}

// out[c * r^2 + k] = in_k[c] for c < n, sub-pixel k = i * r + j < r^2 at
// in + i * row_step + j * px_step.
template <bool kStream, class U>
void interleave_pixel(const U* HWY_RESTRICT in, std::int64_t row_step, std::int64_t px_step,
                      std::int64_t r, std::int64_t n, U* HWY_RESTRICT out) {
  if (r == 1) {
    std::memcpy(out, in, static_cast<std::size_t>(n) * sizeof(U));
    return;
  }
  std::int64_t c = 0;
#if HWY_TARGET != HWY_SCALAR
  if (r == 2) {
    const hn::ScalableTag<U> d;
    const auto lanes = static_cast<std::int64_t>(hn::Lanes(d));
    const U* HWY_RESTRICT i01 = in + px_step;
    const U* HWY_RESTRICT i10 = in + row_step;
    const U* HWY_RESTRICT i11 = i10 + px_step;
    for (; c + lanes <= n; c += lanes) {
      StoreInterleaved<kStream>(d, out + 4 * c, hn::LoadU(d, in + c), hn::LoadU(d, i01 + c),
                                hn::LoadU(d, i10 + c), hn::LoadU(d, i11 + c));
    }
  }
#endif
  const std::int64_t rr = r * r;
  for (std::int64_t i = 0; i < r; ++i) {
    for (std::int64_t j = 0; j < r; ++j) {
      const U* HWY_RESTRICT src = in + i * row_step + j * px_step;
      U* HWY_RESTRICT dst = out + i * r + j;
      for (std::int64_t x = c; x < n; ++x)
        dst[x * rr] = src[x];
    }
  }
}

// ---- dispatch ------------------------------------------------------------------------------

// Which fast path applies: W innermost in both tensors, C innermost in both, or neither.
enum class Layout { kRows, kChannelsLast, kOther };

// A dim of one element may have any stride.
inline bool unit_step(std::int64_t size, std::int64_t stride) {
  return size == 1 || stride == 1;
}

// The input's sizes of the five logical dims.
inline void input_sizes(const kern::ShuffleGeometry& g, std::int64_t in[5]) {
  const std::int64_t r = g.r;
  in[0] = g.out_size[0];
  in[1] = g.out_size[1];
  if (g.unshuffle) {
    in[2] = g.out_size[2] / (r * r);
    in[3] = g.out_size[3] * r;
    in[4] = g.out_size[4] * r;
  } else {
    in[2] = g.out_size[2] * r * r;
    in[3] = g.out_size[3] / r;
    in[4] = g.out_size[4] / r;
  }
}

inline Layout layout_of(const kern::ShuffleGeometry& g, const std::int64_t in[5]) {
  if (unit_step(g.out_size[4], g.dst_stride[4]) && unit_step(in[4], g.src_stride[4])) {
    return Layout::kRows;
  }
  if (unit_step(g.out_size[2], g.dst_stride[2]) && unit_step(in[2], g.src_stride[2])) {
    return Layout::kChannelsLast;
  }
  return Layout::kOther;
}

// Splits `rows` rows of `row_elems` elements each into tasks of whole rows.
template <class Body>
void for_rows(std::int64_t rows, std::int64_t row_elems, int threads, Body&& body) {
  const std::int64_t grain =
      std::max<std::int64_t>(1, 16384 / std::max<std::int64_t>(row_elems, 1));
  parallel_for(rows, threads, grain, std::forward<Body>(body));
}

template <bool kStream, class U>
void run_fast(const kern::ShuffleGeometry& g, const std::int64_t in[5], Layout layout, const U* src,
              U* dst, int threads) {
  const std::int64_t r = g.r;
  const std::int64_t* o = g.out_size;
  const std::int64_t* ss = g.src_stride;
  const std::int64_t* ds = g.dst_stride;
  if (layout == Layout::kRows && !g.unshuffle) {
    // One output row (l0, l1, oc, oh) per item.
    for_rows(o[0] * o[1] * o[2] * o[3], o[4], threads, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t row = begin; row < end; ++row) {
        const std::int64_t oh = row % o[3], t = row / o[3];
        const std::int64_t oc = t % o[2], l = t / o[2];
        const std::int64_t l0 = l / o[1], l1 = l % o[1];
        const std::int64_t ih = oh / r, i = oh % r;
        const U* s = src + l0 * ss[0] + l1 * ss[1] + (oc * r + i) * r * ss[2] + ih * ss[3];
        U* d = dst + l0 * ds[0] + l1 * ds[1] + oc * ds[2] + oh * ds[3];
        interleave_row<kStream>(s, ss[2], r, in[4], d);
      }
    });
  } else if (layout == Layout::kRows) {
    // One input row (l0, l1, c, ih) per item, into r output rows.
    for_rows(in[0] * in[1] * in[2] * in[3], in[4], threads,
             [&](std::int64_t begin, std::int64_t end) {
               for (std::int64_t row = begin; row < end; ++row) {
                 const std::int64_t ih = row % in[3], t = row / in[3];
                 const std::int64_t c = t % in[2], l = t / in[2];
                 const std::int64_t l0 = l / in[1], l1 = l % in[1];
                 const std::int64_t oh = ih / r, i = ih % r;
                 const U* s = src + l0 * ss[0] + l1 * ss[1] + c * ss[2] + ih * ss[3];
                 U* d = dst + l0 * ds[0] + l1 * ds[1] + (c * r + i) * r * ds[2] + oh * ds[3];
                 deinterleave_row<kStream>(s, r, o[4], d, ds[2]);
               }
             });
  } else if (!g.unshuffle) {
    // One input row (l0, l1, h) of pixels per item, into r output rows of pixels.
    for_rows(
        in[0] * in[1] * in[3], in[4] * in[2], threads, [&](std::int64_t begin, std::int64_t end) {
          for (std::int64_t row = begin; row < end; ++row) {
            const std::int64_t h = row % in[3], l = row / in[3];
            const std::int64_t l0 = l / in[1], l1 = l % in[1];
            const U* s = src + l0 * ss[0] + l1 * ss[1] + h * ss[3];
            U* d = dst + l0 * ds[0] + l1 * ds[1] + h * r * ds[3];
            for (std::int64_t w = 0; w < in[4]; ++w)
              deinterleave_pixel<kStream>(s + w * ss[4], r, o[2], d + w * r * ds[4], ds[3], ds[4]);
          }
        });
  } else {
    // One output row (l0, l1, oh) of pixels per item, from r input rows of pixels.
    for_rows(o[0] * o[1] * o[3], o[4] * o[2], threads, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t row = begin; row < end; ++row) {
        const std::int64_t oh = row % o[3], l = row / o[3];
        const std::int64_t l0 = l / o[1], l1 = l % o[1];
        const U* s = src + l0 * ss[0] + l1 * ss[1] + oh * r * ss[3];
        U* d = dst + l0 * ds[0] + l1 * ds[1] + oh * ds[3];
        for (std::int64_t w = 0; w < o[4]; ++w)
          interleave_pixel<kStream>(s + w * r * ss[4], ss[3], ss[4], r, in[2], d + w * ds[4]);
      }
    });
  }
}

// The fast paths; false when the layout has none.
bool PixelShuffleFast(const PixelShufflePlan& plan, const void* src, void* dst, int threads) {
  const kern::ShuffleGeometry& g = plan.geometry;
  std::int64_t in[5];
  input_sizes(g, in);
  const Layout layout = layout_of(g, in);
  if (layout == Layout::kOther) return false;
  dispatch_by_size(plan.dtype, [&](auto type_tag) {
    using U = typename decltype(type_tag)::type;
    const U* s = static_cast<const U*>(src);
    U* d = static_cast<U*>(dst);
    if (static_cast<std::size_t>(plan.total) * sizeof(U) >= kStreamBytes) {
      run_fast<true>(g, in, layout, s, d, threads);
    } else {
      run_fast<false>(g, in, layout, s, d, threads);
    }
  });
  return true;
}

}  // namespace HWY_NAMESPACE
}  // namespace detail
}  // namespace ups
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace ups {
namespace detail {

HWY_EXPORT(PixelShuffleFast);

void pixel_shuffle_cpu(const PixelShufflePlan& plan, const void* src, void* dst, int threads) {
  if (plan.total == 0) return;
  if (HWY_DYNAMIC_DISPATCH(PixelShuffleFast)(plan, src, dst, threads)) return;
  // The fallback: the output in its memory order. When its innermost dim is W or C, a row at a
  // time: one shuffle_unravel per row, then the source offsets of the row from shuffle_run
  // instead of five divisions per element (the offsets are checked against shuffle_src_offset
  // by tests/cpu/test_pixel_shuffle.cpp). Other layouts run the per-element body.
  dispatch_by_size(plan.dtype, [&](auto type_tag) {
    using T = typename decltype(type_tag)::type;
    const kern::ShuffleGeometry& g = plan.geometry;
    const T* s = static_cast<const T*>(src);
    T* d = static_cast<T*>(dst);
    const int inner = g.order[4];
    if (inner != 2 && inner != 4) {
      parallel_for(plan.total, threads, [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t i = begin; i < end; ++i)
          kern::shuffle_element<T>(g, s, d, i);
      });
      return;
    }
    const std::int64_t row = g.out_size[inner];
    const std::int64_t step = g.dst_stride[inner];
    parallel_for(plan.total, threads, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t i = begin; i < end;) {
        const kern::ShuffleCoord c = kern::shuffle_unravel(g, i);
        const std::int64_t n = std::min(row - c.o[inner], end - i);
        kern::ShuffleRun run = kern::shuffle_run(g, c, inner);
        T* out = d + kern::shuffle_dst_offset(g, c);
        for (std::int64_t k = 0; k < n; ++k) {
          out[k * step] = s[run.offset];
          run.next();
        }
        i += n;
      }
    });
  });
}

}  // namespace detail
}  // namespace ups
#endif  // HWY_ONCE
