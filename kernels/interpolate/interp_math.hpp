// Index math and per-element bodies of ups::interpolate, shared verbatim by the CPU backend
// (src/cpu) and the CUDA kernels (kernels/interpolate/interpolate.cu). docs/semantics.md derives
// every formula; the comments here say where each one comes from in PyTorch.
#pragma once

#include <cstdint>

#include "common/hd.hpp"

namespace ups {
namespace kern {

// Every input is normalised to five logical dims (N, C, D, H, W); 1-D and 2-D inputs get unit
// D (and H) dims with stride 0, so one body serves every rank.
struct InterpGeometry {
  std::int64_t n, c;
  std::int64_t in[3];          // D, H, W
  std::int64_t out[3];         // D, H, W
  std::int64_t src_stride[5];  // N, C, D, H, W, in elements
  std::int64_t dst_stride[5];
  bool dst_channels_last;  // iterate outputs as N, D, H, W, C so that stores are coalesced
  // Spatial dims of the caller's tensor (1, 2 or 3). PyTorch's CPU backend picks different
  // kernels, with different rounding, for 1-D, 2-D and 3-D inputs, and a padded unit dim cannot
  // be told from a real one of size 1.
  int spatial_dims;
};

// Kernel arguments: the geometry plus the per-dim scales, computed once on the host by
// make_interp_params so that no element recomputes them.
template <class Acc>
struct InterpParams {
  InterpGeometry g;
  Acc scale[3];            // area_pixel_compute_scale in the accumulation type
  float nearest_scale[3];  // compute_scales_value<float>, for the 2-D nearest kernel
  bool align_corners;
  // ATen's _use_channels_last_kernel_2d for a contiguous input: 2-D outputs with H + W <= 128
  // go to PyTorch's channels-last kernels (nearest with the 1x/2x special cases and an f32
  // scale; bilinear with f32 weights that are never rounded to the element type); larger ones
  // to the generic separable-weights kernel.
  bool small_2d_output;
  // PyTorch's 3-D adaptive average pooling sums f16/bf16 in the element type itself, except for
  // a 1x1x1 output, which it computes as a mean (accumulated in f32).
  bool area_sum_in_element_type;
  // 1.0 / out per dim, for area windows computed without 64-bit division (adaptive_window).
  double inv_out[3];
};

// f16 and bf16 storage types. PyTorch's CPU kernels round some intermediates (interpolation
// weights, 3-D area sums) to these types; the bodies below do the same to match them.
template <class T>
struct IsHalfLike {
  static constexpr bool value = false;
};
template <>
struct IsHalfLike<half_t> {
  static constexpr bool value = true;
};
template <>
struct IsHalfLike<bf16_t> {
  static constexpr bool value = true;
};

// Rounds @p v to the storage type T and back when T is f16 or bf16 (PyTorch stores its weight
// tables in the element type); the identity otherwise.
template <class T, class Acc>
UPS_HD Acc round_to_storage(Acc v) {
  if constexpr (IsHalfLike<T>::value) {
    return to_acc<Acc>(from_acc<T>(v));
  } else {
    return v;
  }
}

// PyTorch's compute_scales_value: a given scale factor s drives the math as 1/s, else in/out.
template <class Acc>
UPS_HD Acc compute_scales_value(double user_scale, std::int64_t in, std::int64_t out) {
  return user_scale > 0.0 ? static_cast<Acc>(1.0 / user_scale)
                          : static_cast<Acc>(in) / static_cast<Acc>(out);
}

// PyTorch's area_pixel_compute_scale.
template <class Acc>
UPS_HD Acc area_pixel_compute_scale(std::int64_t in, std::int64_t out, bool align_corners,
                                    double user_scale) {
  if (align_corners) {
    return out > 1 ? static_cast<Acc>(in - 1) / static_cast<Acc>(out - 1) : Acc(0);
  }
  return compute_scales_value<Acc>(user_scale, in, out);
}

// PyTorch's area_pixel_compute_source_index: half-pixel centres unless align_corners; negative
// positions clamp to 0 except for cubic, whose taps are clamped one by one instead.
template <class Acc>
UPS_HD Acc area_pixel_compute_source_index(Acc scale, std::int64_t dst, bool align_corners,
                                           bool cubic) {
  if (align_corners) return scale * static_cast<Acc>(dst);
  const Acc src = scale * (static_cast<Acc>(dst) + Acc(0.5)) - Acc(0.5);
  return (!cubic && src < Acc(0)) ? Acc(0) : src;
}

// "nearest" (PyTorch's nearest_idx, CPU): the 1x and 2x special cases matter, because for a
// scale factor such as 2.05 they give a different index from the general formula. PyTorch's CPU
// backend applies them only where it uses this function: 2-D outputs with H + W <= 128
// (InterpParams::small_2d_output); everything else goes through nearest_index_general.
UPS_HD std::int64_t nearest_index(std::int64_t dst, std::int64_t in, std::int64_t out,
                                  float scale) {
  if (out == in) return dst;
  if (out == 2 * in) return dst >> 1;
  const std::int64_t src = static_cast<std::int64_t>(floorf(static_cast<float>(dst) * scale));
  return min_hd(src, in - 1);
}

// "nearest-exact": (dst + 0.5) * scale is formed in f64 and rounded to f32 before floorf, as in
// PyTorch's nearest_neighbor_exact_compute_source_index (nearest_exact_idx; 2-D small outputs).
UPS_HD std::int64_t nearest_exact_index(std::int64_t dst, std::int64_t in, float scale) {
  const double pos = (static_cast<double>(dst) + 0.5) * static_cast<double>(scale);
  const std::int64_t src = static_cast<std::int64_t>(floorf(static_cast<float>(pos)));
  return min_hd(src, in - 1);
}

// The same two rules as PyTorch's generic CPU kernel computes them (HelperInterpNearest and
// HelperInterpNearestExact in UpSampleKernel.cpp), which serves 1-D and 3-D inputs and 2-D
// outputs with H + W > 128: no 1x/2x special cases, and the scale in the accumulation type
// (f64 for f64 tensors), with the position rounded to f32 by floorf.
template <class Acc>
UPS_HD std::int64_t nearest_index_general(std::int64_t dst, std::int64_t in, Acc scale) {
  const Acc pos = scale * static_cast<Acc>(dst);
  return min_hd(static_cast<std::int64_t>(floorf(static_cast<float>(pos))), in - 1);
}
// PyTorch forms max(scale * (dst + 0.5) - 0.5, 0) + 0.5; without fused multiply-adds that is
// exactly scale * (dst + 0.5) rounded once (subtracting and re-adding 0.5 is exact), and a
// negative position floors to 0 either way.
template <class Acc>
UPS_HD std::int64_t nearest_exact_index_general(std::int64_t dst, std::int64_t in, Acc scale) {
  const Acc pos = scale * (static_cast<Acc>(dst) + Acc(0.5));
  return min_hd(static_cast<std::int64_t>(floorf(static_cast<float>(pos))), in - 1);
}

template <class Acc>
struct LinearTaps {
  std::int64_t i0, i1;
  Acc w0, w1;
};

// Two-tap linear weights along one dim (PyTorch's compute_source_index_and_lambda).
template <class Acc>
UPS_HD LinearTaps<Acc> linear_taps(Acc scale, std::int64_t dst, std::int64_t in, std::int64_t out,
                                   bool align_corners) {
  if (out == in) return {dst, dst, Acc(1), Acc(0)};
  const Acc real = area_pixel_compute_source_index(scale, dst, align_corners, false);
  const std::int64_t i0 = min_hd(static_cast<std::int64_t>(floor(real)), in - 1);
  const Acc w1 = min_hd(max_hd(real - static_cast<Acc>(i0), Acc(0)), Acc(1));
  return {i0, i0 + (i0 < in - 1 ? 1 : 0), Acc(1) - w1, w1};
}

// linear_taps with PyTorch's generic-kernel storage: lambda1 is stored in the element type and
// lambda0 = T(1) - lambda1 is computed from the stored value (compute_source_index_and_lambda
// with f16/bf16 weight tables). The identity for f32 and f64.
template <class T, class Acc>
UPS_HD LinearTaps<Acc> rounded_linear_taps(Acc scale, std::int64_t dst, std::int64_t in,
                                           std::int64_t out, bool align_corners) {
  LinearTaps<Acc> t = linear_taps(scale, dst, in, out, align_corners);
  if constexpr (IsHalfLike<T>::value) {
    t.w1 = round_to_storage<T>(t.w1);
    t.w0 = round_to_storage<T>(Acc(1) - t.w1);
  }
  return t;
}

// Keys cubic convolution weights with A = -0.75 (OpenCV's and PyTorch's bicubic).
template <class Acc>
UPS_HD Acc cubic_convolution1(Acc x, Acc a) {
  return ((a + Acc(2)) * x - (a + Acc(3))) * x * x + Acc(1);
}
template <class Acc>
UPS_HD Acc cubic_convolution2(Acc x, Acc a) {
  return ((a * x - Acc(5) * a) * x + Acc(8) * a) * x - Acc(4) * a;
}

template <class Acc>
struct CubicTaps {
  std::int64_t i[4];
  Acc w[4];
};

template <class Acc>
UPS_HD CubicTaps<Acc> cubic_taps(Acc scale, std::int64_t dst, std::int64_t in, bool align_corners) {
  const Acc real = area_pixel_compute_source_index(scale, dst, align_corners, true);
  // PyTorch's guard_index_and_lambda: the index never passes in - 1 and t stays in [0, 1].
  const std::int64_t i = min_hd(static_cast<std::int64_t>(floor(real)), in - 1);
  const Acc t = min_hd(max_hd(real - static_cast<Acc>(i), Acc(0)), Acc(1));
  const Acc a = Acc(-0.75);
  CubicTaps<Acc> taps;
  // get_cubic_upsample_coefficients: the last argument is (1 - t) + 1, rounded twice, not 2 - t.
  const Acc t1 = Acc(1) - t;
  taps.w[0] = cubic_convolution2(t + Acc(1), a);
  taps.w[1] = cubic_convolution1(t, a);
  taps.w[2] = cubic_convolution1(t1, a);
  taps.w[3] = cubic_convolution2(t1 + Acc(1), a);
  for (int k = 0; k < 4; ++k)
    taps.i[k] = max_hd(min_hd(i - 1 + k, in - 1), std::int64_t(0));
  return taps;
}

// Adaptive average pooling windows ("area"), integer-exact as in ATen's AdaptivePooling.h.
// 128-bit unsigned integers (a GCC/Clang/nvcc extension, also on the device).
__extension__ typedef unsigned __int128 u128;

// True when a * b is not a multiple of c, given q = floor(a * b / c).
UPS_HD bool mul_div_rem_nonzero(std::int64_t a, std::int64_t b, std::int64_t c, std::int64_t q) {
  return static_cast<u128>(a) * static_cast<u128>(b) != static_cast<u128>(q) * static_cast<u128>(c);
}

// ATen forms (dst % out) * in and (dst + 1) * in in int64, which overflows once in * out exceeds
// 2^63 (an area resize of a 6.4e9-element row, which fits on one GPU). The same integers are
// computed here through a 128-bit product when the 64-bit one would overflow.
UPS_HD std::int64_t mul_div_floor(std::int64_t a, std::int64_t b, std::int64_t c) {
  if (b == 0 || a <= INT64_MAX / b) return a * b / c;
  return static_cast<std::int64_t>(static_cast<u128>(a) * static_cast<u128>(b) /
                                   static_cast<u128>(c));
}
UPS_HD std::int64_t adaptive_start(std::int64_t dst, std::int64_t out, std::int64_t in) {
  return (dst / out) * in + mul_div_floor(dst % out, in, out);
}
UPS_HD std::int64_t adaptive_end(std::int64_t dst, std::int64_t out, std::int64_t in) {
  // 1 + ((dst + 1) * in - 1) / out == ceil((dst + 1) * in / out) for positive sizes.
  const std::int64_t q = mul_div_floor(dst + 1, in, out);
  return q + (mul_div_rem_nonzero(dst + 1, in, out, q) ? 1 : 0);
}

// adaptive_start and adaptive_end of dst < out without a 64-bit division, for in and out below
// 2^31 (every product then fits 63 bits): the quotient of dst * in by out from a double estimate
// (inv_out = 1.0 / out), which is exact or one off, corrected with exact products.
UPS_HD void adaptive_window(std::int64_t dst, std::int64_t out, std::int64_t in, double inv_out,
                            std::int64_t* start, std::int64_t* end) {
  auto quotient = [&](std::int64_t a) {  // floor(a * in / out)
    const std::int64_t prod = a * in;
    std::int64_t q = static_cast<std::int64_t>(static_cast<double>(prod) * inv_out);
    if (q * out > prod) --q;
    if ((q + 1) * out <= prod) ++q;
    return q;
  };
  *start = quotient(dst);
  const std::int64_t q = quotient(dst + 1);
  *end = q + (q * out != (dst + 1) * in ? 1 : 0);
}

// Pillow-style anti-aliasing filters (PyTorch's upsample_antialias): a triangle of support 1 for
// bilinear and Keys cubic with a = -0.5 (Pillow's choice, not -0.75) for bicubic.
template <class Acc>
UPS_HD Acc aa_filter(Acc x, bool cubic) {
  x = x < Acc(0) ? -x : x;
  if (!cubic) return x < Acc(1) ? Acc(1) - x : Acc(0);
  const Acc a = Acc(-0.5);
  if (x < Acc(1)) return cubic_convolution1(x, a);
  if (x < Acc(2)) return cubic_convolution2(x, a);
  return Acc(0);
}

// The input window of one anti-aliased output position along one dim. Weights are evaluated on
// demand (weight(j)) instead of being stored, so a large downscale needs no buffer of any size.
template <class Acc>
struct AaWindow {
  std::int64_t xmin, xsize;
  Acc center, invscale, total;
  bool cubic;
  // PyTorch's _compute_indices_min_size_weights_aa: the filter argument adds 0.5 and scales in
  // f64 (double literals) before it is rounded to Acc, and each weight is divided by the sum.
  // Both backends compute it so (in f64 on the device too: backends read weights from per-dim
  // tables built once per call, so the f64 cost is per output coordinate, not per element), and
  // neither contracts a*b+c (the interpolate .cu files are built with --fmad=false, the CPU sources
  // with -ffp-contract=off), so both round every step identically.
  UPS_HD Acc raw_weight(std::int64_t j) const {
    const Acc x =
        static_cast<Acc>((static_cast<double>(static_cast<Acc>(j + xmin) - center) + 0.5) *
                         static_cast<double>(invscale));
    return aa_filter(x, cubic);
  }
  UPS_HD Acc weight(std::int64_t j) const { return raw_weight(j) / total; }
};

template <class Acc>
UPS_HD AaWindow<Acc> aa_window(Acc scale, std::int64_t dst, std::int64_t in, bool cubic) {
  const Acc interp_size = cubic ? Acc(4) : Acc(2);
  const Acc support = scale >= Acc(1) ? interp_size * Acc(0.5) * scale : interp_size * Acc(0.5);
  AaWindow<Acc> w;
  w.cubic = cubic;
  w.center = scale * (static_cast<Acc>(dst) + Acc(0.5));
  w.invscale = scale >= Acc(1) ? Acc(1) / scale : Acc(1);
  // PyTorch adds the 0.5 in f64 (a double literal), so the truncation sees no second rounding.
  w.xmin = max_hd(static_cast<std::int64_t>(static_cast<double>(w.center - support) + 0.5),
                  std::int64_t(0));
  w.xsize =
      min_hd(static_cast<std::int64_t>(static_cast<double>(w.center + support) + 0.5), in) - w.xmin;
  w.total = Acc(1);
  Acc total = Acc(0);
  for (std::int64_t j = 0; j < w.xsize; ++j)
    total += w.raw_weight(j);
  // Pillow and PyTorch leave the weights unnormalised when they sum to zero.
  w.total = total != Acc(0) ? total : Acc(1);
  return w;
}

// PyTorch's separable anti-aliasing skips a dim whose size does not change (even when a scale
// factor other than 1 was given), so that dim is an exact copy.
template <class Acc>
UPS_HD AaWindow<Acc> aa_identity_window(std::int64_t dst) {
  AaWindow<Acc> w;
  w.xmin = dst;
  w.xsize = 1;
  w.center = Acc(0);
  w.invscale = Acc(0);  // weight(0) = filter(0) = 1 for both filters
  w.total = Acc(1);
  w.cubic = false;
  return w;
}

// PyTorch's Lanczos-3 filter (mode "lanczos", HelperInterpLanczos, taken from Pillow):
// sinc(x) * sinc(x / 3) for |x| < 3. PyTorch evaluates sinc(x) in the element's scalar type and
// sinc(x / 3.0) in f64 (x / 3.0 is a double), multiplies in f64 and rounds the product to Acc.
template <class S>
UPS_HD S sinc_filter(S x) {
  if (x == S(0)) return S(1);
  x *= static_cast<S>(3.14159265358979323846);
#if defined(__CUDA_ARCH__)
  return sin(x) / x;
#else
  return std::sin(x) / x;  // sinf for f32, as PyTorch's std::sin
#endif
}
template <class Acc>
UPS_HD Acc lanczos3_filter(Acc x) {
  x = x < Acc(0) ? -x : x;
  if (x < Acc(3))
    return static_cast<Acc>(static_cast<double>(sinc_filter(x)) *
                            sinc_filter(static_cast<double>(x) / 3.0));
  return Acc(0);
}

// The taps of anti-aliased output coordinate `dst` along one dim for any filter of half-width
// `half` (PyTorch's _compute_indices_min_size_weights_aa with interp_size = 2 * half: 1 for the
// triangle, 2 for Keys' cubic, 3 for Lanczos-3): the window [xmin, xmin + xsize) and its
// normalised weights, written to w[0, xsize). `w` has room for aa_max_taps(scale, half) weights,
// the bound PyTorch clips xsize to. Returns xsize.
template <class Acc>
UPS_HD Acc aa_support(Acc scale, Acc half) {
  return scale >= Acc(1) ? half * scale : half;
}
template <class Acc>
UPS_HD std::int64_t aa_max_taps(Acc scale, Acc half) {
#if defined(__CUDA_ARCH__)
  return static_cast<std::int64_t>(ceil(aa_support(scale, half))) * 2 + 1;
#else
  return static_cast<std::int64_t>(std::ceil(aa_support(scale, half))) * 2 + 1;
#endif
}
template <class Acc, class Filter>
UPS_HD std::int64_t aa_taps(Acc scale, Acc half, std::int64_t dst, std::int64_t in, Filter filter,
                            std::int64_t* xmin, Acc* w) {
  const Acc support = aa_support(scale, half);
  const Acc center = scale * (static_cast<Acc>(dst) + Acc(0.5));
  const Acc invscale = scale >= Acc(1) ? Acc(1) / scale : Acc(1);
  // PyTorch adds the 0.5 in f64 (a double literal), so the truncation sees no second rounding.
  const std::int64_t lo = max_hd(
      static_cast<std::int64_t>(static_cast<double>(center - support) + 0.5), std::int64_t(0));
  std::int64_t size =
      min_hd(static_cast<std::int64_t>(static_cast<double>(center + support) + 0.5), in) - lo;
  size = max_hd(min_hd(size, aa_max_taps(scale, half)), std::int64_t(0));
  Acc total = Acc(0);
  for (std::int64_t j = 0; j < size; ++j) {
    w[j] = filter(static_cast<Acc>((static_cast<double>(static_cast<Acc>(j + lo) - center) + 0.5) *
                                   static_cast<double>(invscale)));
    total += w[j];
  }
  // Pillow and PyTorch leave the weights unnormalised when they sum to zero.
  if (total != Acc(0)) {
    for (std::int64_t j = 0; j < size; ++j)
      w[j] /= total;
  }
  *xmin = lo;
  return size;
}

enum class InterpKind : int {
  kNearest,
  kNearestExact,
  kLinear,     // 1-D (W)
  kBilinear,   // 2-D (H, W)
  kTrilinear,  // 3-D (D, H, W)
  kBicubic,    // 2-D
  kArea,
  kAaBilinear,
  kAaBicubic,
};

// Host-side set-up of the kernel arguments (scales per dim).
template <class Acc>
inline InterpParams<Acc> make_interp_params(const InterpGeometry& g, const double user_scale[3],
                                            bool align_corners) {
  InterpParams<Acc> p;
  p.g = g;
  p.align_corners = align_corners;
  for (int d = 0; d < 3; ++d) {
    p.scale[d] = area_pixel_compute_scale<Acc>(g.in[d], g.out[d], align_corners, user_scale[d]);
    p.nearest_scale[d] = compute_scales_value<float>(user_scale[d], g.in[d], g.out[d]);
    p.inv_out[d] = g.out[d] > 0 ? 1.0 / static_cast<double>(g.out[d]) : 0.0;
  }
  p.small_2d_output = g.spatial_dims == 2 && g.out[1] + g.out[2] <= 128;
  p.area_sum_in_element_type =
      g.spatial_dims == 3 && !(g.out[0] == 1 && g.out[1] == 1 && g.out[2] == 1);
  return p;
}

// Output coordinates of the idx-th output element in iteration order (NCDHW, or NDHWC when the
// output is channels-last, so that consecutive indices touch consecutive addresses).
struct Coord5 {
  std::int64_t n, c, d, h, w;
};

UPS_HD Coord5 unravel_output(const InterpGeometry& g, std::int64_t idx) {
  Coord5 o;
  if (g.dst_channels_last) {
    o.c = idx % g.c;
    idx /= g.c;
    o.w = idx % g.out[2];
    idx /= g.out[2];
    o.h = idx % g.out[1];
    idx /= g.out[1];
    o.d = idx % g.out[0];
    o.n = idx / g.out[0];
  } else {
    o.w = idx % g.out[2];
    idx /= g.out[2];
    o.h = idx % g.out[1];
    idx /= g.out[1];
    o.d = idx % g.out[0];
    idx /= g.out[0];
    o.c = idx % g.c;
    o.n = idx / g.c;
  }
  return o;
}

// The per-element body: computes the output element at coordinates `o` and stores it. Both
// backends run exactly this function: the CUDA kernel through interp_element, the CPU backend
// directly, walking the coordinates row by row instead of dividing an index per element.
template <InterpKind K, class T>
UPS_HD void interp_element_at(const InterpParams<acc_t<T>>& p, const T* __restrict__ src,
                              T* __restrict__ dst, const Coord5& o) {
  using Acc = acc_t<T>;
  const InterpGeometry& g = p.g;
  const T* plane = src + o.n * g.src_stride[0] + o.c * g.src_stride[1];
  const std::int64_t* ss = g.src_stride + 2;  // D, H, W strides
  T* out = dst + o.n * g.dst_stride[0] + o.c * g.dst_stride[1] + o.d * g.dst_stride[2] +
           o.h * g.dst_stride[3] + o.w * g.dst_stride[4];

  if constexpr (K == InterpKind::kNearest || K == InterpKind::kNearestExact) {
    std::int64_t id, ih, iw;
    if (p.small_2d_output) {
      // PyTorch's channels-last 2-D kernel (nearest_idx / nearest_exact_idx, f32 scale).
      id = 0;
      if constexpr (K == InterpKind::kNearest) {
        ih = nearest_index(o.h, g.in[1], g.out[1], p.nearest_scale[1]);
        iw = nearest_index(o.w, g.in[2], g.out[2], p.nearest_scale[2]);
      } else {
        ih = nearest_exact_index(o.h, g.in[1], p.nearest_scale[1]);
        iw = nearest_exact_index(o.w, g.in[2], p.nearest_scale[2]);
      }
    } else if constexpr (K == InterpKind::kNearest) {
      id = nearest_index_general(o.d, g.in[0], p.scale[0]);
      ih = nearest_index_general(o.h, g.in[1], p.scale[1]);
      iw = nearest_index_general(o.w, g.in[2], p.scale[2]);
    } else {
      id = nearest_exact_index_general(o.d, g.in[0], p.scale[0]);
      ih = nearest_exact_index_general(o.h, g.in[1], p.scale[1]);
      iw = nearest_exact_index_general(o.w, g.in[2], p.scale[2]);
    }
    *out = plane[id * ss[0] + ih * ss[1] + iw * ss[2]];  // a copy: bit-exact for every dtype
  } else if constexpr (K == InterpKind::kLinear) {
    const auto x = rounded_linear_taps<T>(p.scale[2], o.w, g.in[2], g.out[2], p.align_corners);
    const Acc v = to_acc<Acc>(plane[x.i0 * ss[2]]) * x.w0 + to_acc<Acc>(plane[x.i1 * ss[2]]) * x.w1;
    *out = from_acc<T>(v);
  } else if constexpr (K == InterpKind::kBilinear) {
    if (p.small_2d_output) {
      // PyTorch's channels-last bilinear kernel: weights stay in the accumulation type and the
      // four corner products are summed left to right.
      const auto y = linear_taps(p.scale[1], o.h, g.in[1], g.out[1], p.align_corners);
      const auto x = linear_taps(p.scale[2], o.w, g.in[2], g.out[2], p.align_corners);
      const T* r0 = plane + y.i0 * ss[1];
      const T* r1 = plane + y.i1 * ss[1];
      const Acc w00 = y.w0 * x.w0, w01 = y.w0 * x.w1, w10 = y.w1 * x.w0, w11 = y.w1 * x.w1;
      Acc v = to_acc<Acc>(r0[x.i0 * ss[2]]) * w00;
      v += to_acc<Acc>(r0[x.i1 * ss[2]]) * w01;
      v += to_acc<Acc>(r1[x.i0 * ss[2]]) * w10;
      v += to_acc<Acc>(r1[x.i1 * ss[2]]) * w11;
      *out = from_acc<T>(v);
    } else {
      // PyTorch's generic kernel: one dim at a time, weights stored in the element type.
      const auto y = rounded_linear_taps<T>(p.scale[1], o.h, g.in[1], g.out[1], p.align_corners);
      const auto x = rounded_linear_taps<T>(p.scale[2], o.w, g.in[2], g.out[2], p.align_corners);
      const T* r0 = plane + y.i0 * ss[1];
      const T* r1 = plane + y.i1 * ss[1];
      const Acc v0 = to_acc<Acc>(r0[x.i0 * ss[2]]) * x.w0 + to_acc<Acc>(r0[x.i1 * ss[2]]) * x.w1;
      const Acc v1 = to_acc<Acc>(r1[x.i0 * ss[2]]) * x.w0 + to_acc<Acc>(r1[x.i1 * ss[2]]) * x.w1;
      *out = from_acc<T>(v0 * y.w0 + v1 * y.w1);
    }
  } else if constexpr (K == InterpKind::kTrilinear) {
    // PyTorch's generic kernel (its channels-last one serves only channels-last inputs with more
    // than 3 channels).
    const auto z = rounded_linear_taps<T>(p.scale[0], o.d, g.in[0], g.out[0], p.align_corners);
    const auto y = rounded_linear_taps<T>(p.scale[1], o.h, g.in[1], g.out[1], p.align_corners);
    const auto x = rounded_linear_taps<T>(p.scale[2], o.w, g.in[2], g.out[2], p.align_corners);
    Acc vz[2];
    for (int a = 0; a < 2; ++a) {
      const T* s = plane + (a ? z.i1 : z.i0) * ss[0];
      const T* r0 = s + y.i0 * ss[1];
      const T* r1 = s + y.i1 * ss[1];
      const Acc v0 = to_acc<Acc>(r0[x.i0 * ss[2]]) * x.w0 + to_acc<Acc>(r0[x.i1 * ss[2]]) * x.w1;
      const Acc v1 = to_acc<Acc>(r1[x.i0 * ss[2]]) * x.w0 + to_acc<Acc>(r1[x.i1 * ss[2]]) * x.w1;
      vz[a] = v0 * y.w0 + v1 * y.w1;
    }
    *out = from_acc<T>(vz[0] * z.w0 + vz[1] * z.w1);
  } else if constexpr (K == InterpKind::kBicubic) {
    auto y = cubic_taps(p.scale[1], o.h, g.in[1], p.align_corners);
    auto x = cubic_taps(p.scale[2], o.w, g.in[2], p.align_corners);
    for (int k = 0; k < 4; ++k) {  // PyTorch stores the coefficients in the element type
      y.w[k] = round_to_storage<T>(y.w[k]);
      x.w[k] = round_to_storage<T>(x.w[k]);
    }
    Acc acc = Acc(0);
    for (int a = 0; a < 4; ++a) {
      const T* r = plane + y.i[a] * ss[1];
      Acc row = to_acc<Acc>(r[x.i[0] * ss[2]]) * x.w[0];
      for (int b = 1; b < 4; ++b)
        row += to_acc<Acc>(r[x.i[b] * ss[2]]) * x.w[b];
      acc = a == 0 ? row * y.w[0] : acc + row * y.w[a];
    }
    *out = from_acc<T>(acc);
  } else if constexpr (K == InterpKind::kArea) {
    const std::int64_t d0 = adaptive_start(o.d, g.out[0], g.in[0]);
    const std::int64_t d1 = adaptive_end(o.d, g.out[0], g.in[0]);
    const std::int64_t h0 = adaptive_start(o.h, g.out[1], g.in[1]);
    const std::int64_t h1 = adaptive_end(o.h, g.out[1], g.in[1]);
    const std::int64_t w0 = adaptive_start(o.w, g.out[2], g.in[2]);
    const std::int64_t w1 = adaptive_end(o.w, g.out[2], g.in[2]);
    if (IsHalfLike<T>::value && p.area_sum_in_element_type) {
      // PyTorch's 3-D kernel for f16/bf16: every partial sum and every division is rounded to
      // the element type (c10::Half / c10::BFloat16 arithmetic).
      Acc sum = Acc(0);
      for (std::int64_t d = d0; d < d1; ++d) {
        for (std::int64_t h = h0; h < h1; ++h) {
          const T* r = plane + d * ss[0] + h * ss[1];
          for (std::int64_t w = w0; w < w1; ++w) {
            sum = round_to_storage<T>(sum + to_acc<Acc>(r[w * ss[2]]));
          }
        }
      }
      sum = round_to_storage<T>(sum / round_to_storage<T>(static_cast<Acc>(d1 - d0)));
      sum = round_to_storage<T>(sum / round_to_storage<T>(static_cast<Acc>(h1 - h0)));
      sum = round_to_storage<T>(sum / round_to_storage<T>(static_cast<Acc>(w1 - w0)));
      *out = from_acc<T>(sum);
    } else {
      Acc sum = Acc(0);
      for (std::int64_t d = d0; d < d1; ++d) {
        for (std::int64_t h = h0; h < h1; ++h) {
          const T* r = plane + d * ss[0] + h * ss[1];
          for (std::int64_t w = w0; w < w1; ++w)
            sum += to_acc<Acc>(r[w * ss[2]]);
        }
      }
      // Divided one dim at a time, as ATen's adaptive_avg_pool kernels do.
      *out = from_acc<T>(sum / static_cast<Acc>(d1 - d0) / static_cast<Acc>(h1 - h0) /
                         static_cast<Acc>(w1 - w0));
    }
  } else {  // kAaBilinear, kAaBicubic
    constexpr bool kCubic = K == InterpKind::kAaBicubic;
    const auto y = g.in[1] == g.out[1] ? aa_identity_window<Acc>(o.h)
                                       : aa_window(p.scale[1], o.h, g.in[1], kCubic);
    const auto x = g.in[2] == g.out[2] ? aa_identity_window<Acc>(o.w)
                                       : aa_window(p.scale[2], o.w, g.in[2], kCubic);
    // PyTorch resamples W first (into an f32 or f64 buffer: it has no f16/bf16 kernel here, so
    // 16-bit types simply keep their row sums in f32), then H, in this order of operations.
    Acc acc = Acc(0);
    for (std::int64_t a = 0; a < y.xsize; ++a) {
      const T* r = plane + (y.xmin + a) * ss[1] + x.xmin * ss[2];
      Acc row = to_acc<Acc>(r[0]) * x.weight(0);
      for (std::int64_t b = 1; b < x.xsize; ++b)
        row += to_acc<Acc>(r[b * ss[2]]) * x.weight(b);
      acc = a == 0 ? row * y.weight(0) : acc + row * y.weight(a);
    }
    *out = from_acc<T>(acc);
  }
}

// The per-element body by iteration index: computes output element `idx` (in iteration order).
template <InterpKind K, class T>
UPS_HD void interp_element(const InterpParams<acc_t<T>>& p, const T* __restrict__ src,
                           T* __restrict__ dst, std::int64_t idx) {
  interp_element_at<K, T>(p, src, dst, unravel_output(p.g, idx));
}

}  // namespace kern
}  // namespace ups
