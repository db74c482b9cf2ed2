// Index math and per-element bodies of ups::conv_transpose, shared verbatim by the CPU backend
// (src/cpu), the CUDA kernels (kernels/conv_transpose/conv_transpose.cu) and the tests, which run
// both bodies on the host as references.
//
// NOTE [ Which taps reach an output position ]
// Along one dim, input i and tap k land on output o = i * s - p + k * d. For a given o, with
// q = o + p >= 0, tap k contributes iff k * d == q (mod s) and i = (q - k * d) / s is in
// [0, in). With g = gcd(s, d) and m = s / g, a solution needs g | q, and then
//     k == (q / g) * inv(d / g) (mod m),
// where inv is the inverse of d / g modulo m (they are coprime). So the taps form the
// progression k0, k0 + m, k0 + 2m, ... and i falls by d / g per step. Visiting only these taps
// is the sub-pixel (phase) decomposition: no multiply by a stride-inserted zero is ever done.
#pragma once

#include <cstdint>

#include "common/hd.hpp"

namespace ups {
namespace kern {

// Every problem is normalised to three spatial dims (D, H, W): 1-D and 2-D inputs get leading
// unit dims with kernel 1, stride 1, padding 0, dilation 1 and stride-0 memory steps.
struct DeconvGeometry {
  std::int64_t n;
  std::int64_t groups, cin_g, cout_g;  // C_in = groups * cin_g, C_out = groups * cout_g
  std::int64_t in[3], out[3], k[3];
  std::int64_t stride[3], pad[3], dil[3];
  std::int64_t tap_gcd[3];     // gcd(stride, dilation)
  std::int64_t tap_inv[3];     // inverse of dilation / gcd modulo stride / gcd (0 when that is 1)
  std::int64_t src_stride[5];  // N, C_in, D, H, W (elements)
  std::int64_t dst_stride[5];  // N, C_out, D, H, W
  std::int64_t w_stride[5];    // C_in, C_out / groups, kD, kH, kW
  std::int64_t bias_stride;
  bool has_bias;
  bool dst_channels_last;  // gather: iterate outputs as N, D, H, W, C (coalesced stores)
  bool src_channels_last;  // scatter: iterate inputs as N, D, H, W, C (coalesced loads)
};

UPS_HD std::int64_t gcd_hd(std::int64_t a, std::int64_t b) {
  while (b != 0) {
    const std::int64_t t = a % b;
    a = b;
    b = t;
  }
  return a;
}

// x^-1 mod m for coprime x, m (m >= 1); 0 when m == 1.
UPS_HD std::int64_t mod_inverse_hd(std::int64_t x, std::int64_t m) {
  if (m == 1) return 0;
  std::int64_t r0 = m, r1 = x % m, t0 = 0, t1 = 1;
  while (r1 != 0) {
    const std::int64_t q = r0 / r1;
    const std::int64_t r2 = r0 - q * r1;
    r0 = r1;
    r1 = r2;
    const std::int64_t t2 = t0 - q * t1;
    t0 = t1;
    t1 = t2;
  }
  return t0 < 0 ? t0 + m : t0;
}

// Fills tap_gcd / tap_inv from stride and dil. Host-side, once per call.
inline void init_deconv_taps(DeconvGeometry& g) {
  for (int d = 0; d < 3; ++d) {
    g.tap_gcd[d] = gcd_hd(g.stride[d], g.dil[d]);
    g.tap_inv[d] = mod_inverse_hd(g.dil[d] / g.tap_gcd[d], g.stride[d] / g.tap_gcd[d]);
  }
}

// The taps that reach output position o along dim d: count of them, the first tap k0 and input
// index i0, and the steps (k grows by kstep, i falls by istep). See NOTE above.
struct TapWalk {
  std::int64_t k0, kstep, i0, istep, count;
};

UPS_HD TapWalk deconv_taps(const DeconvGeometry& g, int d, std::int64_t o) {
  TapWalk t{0, 1, 0, 1, 0};
  const std::int64_t s = g.stride[d], dil = g.dil[d], gg = g.tap_gcd[d];
  const std::int64_t q = o + g.pad[d];
  if (q % gg != 0) return t;
  const std::int64_t m = s / gg;
  const std::int64_t k0 = ((q / gg) % m) * g.tap_inv[d] % m;  // < m^2 < 2^62: stride < 2^31
  if (k0 >= g.k[d] || k0 * dil > q) return t;
  const std::int64_t i_first = (q - k0 * dil) / s;  // exact by construction
  const std::int64_t istep = dil / gg;
  // Skip the leading taps whose input index is past the end.
  const std::int64_t j0 = i_first >= g.in[d] ? (i_first - g.in[d]) / istep + 1 : 0;
  const std::int64_t j_end_k = (g.k[d] - k0 + m - 1) / m;  // k0 + j * m < K
  const std::int64_t j_end_i = i_first / istep + 1;        // i_first - j * istep >= 0
  const std::int64_t j_end = min_hd(j_end_k, j_end_i);
  if (j0 >= j_end) return t;
  t.k0 = k0 + j0 * m;
  t.kstep = m;
  t.i0 = i_first - j0 * istep;
  t.istep = istep;
  t.count = j_end - j0;
  return t;
}

struct DeconvCoord {
  std::int64_t n, c, d, h, w;
};

// Linear index -> (n, c, d, h, w) in N, C, D, H, W order, or N, D, H, W, C when channels_last.
UPS_HD DeconvCoord unravel_deconv(std::int64_t idx, std::int64_t c, const std::int64_t* sp,
                                  bool channels_last) {
  DeconvCoord o;
  if (channels_last) {
    o.c = idx % c;
    idx /= c;
    o.w = idx % sp[2];
    idx /= sp[2];
    o.h = idx % sp[1];
    idx /= sp[1];
    o.d = idx % sp[0];
    o.n = idx / sp[0];
  } else {
    o.w = idx % sp[2];
    idx /= sp[2];
    o.h = idx % sp[1];
    idx /= sp[1];
    o.d = idx % sp[0];
    idx /= sp[0];
    o.c = idx % c;
    o.n = idx / c;
  }
  return o;
}

// Output-stationary body: computes output element `idx` (in the iteration order chosen by
// dst_channels_last) from the taps that reach it, summing taps D, H, W outermost and C_in
// innermost, then adds the bias. One element is written by one caller, so any parallel loop
// over idx is race-free and the result does not depend on the schedule.
template <class T>
UPS_HD void deconv_gather_element(const DeconvGeometry& g, const T* __restrict__ src,
                                  const T* __restrict__ w, const T* __restrict__ bias,
                                  T* __restrict__ dst, std::int64_t idx) {
  using Acc = acc_t<T>;
  const DeconvCoord o = unravel_deconv(idx, g.groups * g.cout_g, g.out, g.dst_channels_last);
  const std::int64_t grp = o.c / g.cout_g;
  const std::int64_t col = o.c - grp * g.cout_g;
  const TapWalk td = deconv_taps(g, 0, o.d);
  const TapWalk th = deconv_taps(g, 1, o.h);
  const TapWalk tw = deconv_taps(g, 2, o.w);
  const std::int64_t* ss = g.src_stride;
  const std::int64_t* ws = g.w_stride;
  const T* sbase = src + o.n * ss[0] + grp * g.cin_g * ss[1];
  const T* wbase = w + grp * g.cin_g * ws[0] + col * ws[1];
  Acc acc = Acc(0);
  for (std::int64_t a = 0; a < td.count; ++a) {
    const std::int64_t kd = td.k0 + a * td.kstep, id = td.i0 - a * td.istep;
    for (std::int64_t b = 0; b < th.count; ++b) {
      const std::int64_t kh = th.k0 + b * th.kstep, ih = th.i0 - b * th.istep;
      for (std::int64_t c = 0; c < tw.count; ++c) {
        const std::int64_t kw = tw.k0 + c * tw.kstep, iw = tw.i0 - c * tw.istep;
        const T* sp = sbase + id * ss[2] + ih * ss[3] + iw * ss[4];
        const T* wp = wbase + kd * ws[2] + kh * ws[3] + kw * ws[4];
        for (std::int64_t ci = 0; ci < g.cin_g; ++ci) {
          acc += to_acc<Acc>(sp[ci * ss[1]]) * to_acc<Acc>(wp[ci * ws[0]]);
        }
      }
    }
  }
  if (g.has_bias) acc += to_acc<Acc>(bias[o.c * g.bias_stride]);
  const std::int64_t* ds = g.dst_stride;
  dst[o.n * ds[0] + o.c * ds[1] + o.d * ds[2] + o.h * ds[3] + o.w * ds[4]] = from_acc<T>(acc);
}

// Input-stationary body: input element `idx` (order chosen by src_channels_last) adds
// x * w[ci, col, k] to every output it reaches, through sink(n, co, od, oh, ow, value). The CUDA
// scatter kernel's sink is an atomicAdd; the tests' host sink is a plain add. Bias is not added.
template <class T, class Sink>
UPS_HD void deconv_scatter_element(const DeconvGeometry& g, const T* __restrict__ src,
                                   const T* __restrict__ w, Sink& sink, std::int64_t idx) {
  using Acc = acc_t<T>;
  const DeconvCoord i = unravel_deconv(idx, g.groups * g.cin_g, g.in, g.src_channels_last);
  const std::int64_t* ss = g.src_stride;
  const Acc x =
      to_acc<Acc>(src[i.n * ss[0] + i.c * ss[1] + i.d * ss[2] + i.h * ss[3] + i.w * ss[4]]);
  const std::int64_t grp = i.c / g.cin_g;
  const std::int64_t* ws = g.w_stride;
  for (std::int64_t col = 0; col < g.cout_g; ++col) {
    const std::int64_t co = grp * g.cout_g + col;
    const T* wp = w + i.c * ws[0] + col * ws[1];
    for (std::int64_t kd = 0; kd < g.k[0]; ++kd) {
      const std::int64_t od = i.d * g.stride[0] - g.pad[0] + kd * g.dil[0];
      if (od < 0 || od >= g.out[0]) continue;
      for (std::int64_t kh = 0; kh < g.k[1]; ++kh) {
        const std::int64_t oh = i.h * g.stride[1] - g.pad[1] + kh * g.dil[1];
        if (oh < 0 || oh >= g.out[1]) continue;
        for (std::int64_t kw = 0; kw < g.k[2]; ++kw) {
          const std::int64_t ow = i.w * g.stride[2] - g.pad[2] + kw * g.dil[2];
          if (ow < 0 || ow >= g.out[2]) continue;
          sink(i.n, co, od, oh, ow, x * to_acc<Acc>(wp[kd * ws[2] + kh * ws[3] + kw * ws[4]]));
        }
      }
    }
  }
}

// ---- backward (ups::conv_transpose_backward) ----
//
// The valid input range of one tap along dim d: inputs i in [lo, hi) land inside the output,
// o = i * stride - pad + k * dil in [0, out). Empty when lo >= hi.
struct TapRange {
  std::int64_t lo, hi;
};

UPS_HD TapRange deconv_tap_range(const DeconvGeometry& g, int d, std::int64_t k) {
  const std::int64_t shift = k * g.dil[d] - g.pad[d];  // o = i * s + shift
  const std::int64_t s = g.stride[d];
  // i >= ceil(-shift / s) and i <= floor((out - 1 - shift) / s), clipped to [0, in).
  std::int64_t lo = shift >= 0 ? 0 : (-shift + s - 1) / s;
  const std::int64_t top = g.out[d] - 1 - shift;
  std::int64_t hi = top < 0 ? 0 : top / s + 1;
  if (hi > g.in[d]) hi = g.in[d];
  if (lo > hi) lo = hi;
  return TapRange{lo, hi};
}

// Input-gradient body, a convolution forward of grad_output: grad_input element `idx` (in N,
// C_in, D, H, W order, or N, D, H, W, C_in when gx_channels_last) sums grad_output[n, co, o] *
// w[ci, col, k] over the taps k whose output o lies inside (D, H, W outermost) and the group's
// output channels (innermost). g.dst_stride holds grad_output's strides. One element per
// caller, fixed order: deterministic under any schedule.
template <class T>
UPS_HD void deconv_grad_input_element(const DeconvGeometry& g, const std::int64_t* gx_stride,
                                      bool gx_channels_last, const T* __restrict__ gy,
                                      const T* __restrict__ w, T* __restrict__ gx,
                                      std::int64_t idx) {
  using Acc = acc_t<T>;
  const DeconvCoord i = unravel_deconv(idx, g.groups * g.cin_g, g.in, gx_channels_last);
  const std::int64_t grp = i.c / g.cin_g;
  const std::int64_t* ds = g.dst_stride;
  const std::int64_t* ws = g.w_stride;
  const T* gbase = gy + i.n * ds[0] + grp * g.cout_g * ds[1];
  const T* wbase = w + i.c * ws[0];
  Acc acc = Acc(0);
  for (std::int64_t kd = 0; kd < g.k[0]; ++kd) {
    const std::int64_t od = i.d * g.stride[0] - g.pad[0] + kd * g.dil[0];
    if (od < 0 || od >= g.out[0]) continue;
    for (std::int64_t kh = 0; kh < g.k[1]; ++kh) {
      const std::int64_t oh = i.h * g.stride[1] - g.pad[1] + kh * g.dil[1];
      if (oh < 0 || oh >= g.out[1]) continue;
      for (std::int64_t kw = 0; kw < g.k[2]; ++kw) {
        const std::int64_t ow = i.w * g.stride[2] - g.pad[2] + kw * g.dil[2];
        if (ow < 0 || ow >= g.out[2]) continue;
        const T* gp = gbase + od * ds[2] + oh * ds[3] + ow * ds[4];
        const T* wp = wbase + kd * ws[2] + kh * ws[3] + kw * ws[4];
        for (std::int64_t col = 0; col < g.cout_g; ++col) {
          acc += to_acc<Acc>(gp[col * ds[1]]) * to_acc<Acc>(wp[col * ws[1]]);
        }
      }
    }
  }
  gx[i.n * gx_stride[0] + i.c * gx_stride[1] + i.d * gx_stride[2] + i.h * gx_stride[3] +
     i.w * gx_stride[4]] = from_acc<T>(acc);
}

// Weight-gradient body: the sum for grad_weight[ci, col, kd, kh, kw] over n, then the input
// positions inside the tap's range in D, H, W order, of input[n, ci, i] * grad_output[n, co, o].
// g.src_stride holds the input's strides and g.dst_stride grad_output's. The reference order;
// the fast paths sum the same terms in other fixed orders.
template <class T>
UPS_HD acc_t<T> deconv_grad_weight_sum(const DeconvGeometry& g, const T* __restrict__ x,
                                       const T* __restrict__ gy, std::int64_t ci, std::int64_t col,
                                       std::int64_t kd, std::int64_t kh, std::int64_t kw) {
  using Acc = acc_t<T>;
  const std::int64_t co = (ci / g.cin_g) * g.cout_g + col;
  const TapRange rd = deconv_tap_range(g, 0, kd);
  const TapRange rh = deconv_tap_range(g, 1, kh);
  const TapRange rw = deconv_tap_range(g, 2, kw);
  const std::int64_t* ss = g.src_stride;
  const std::int64_t* ds = g.dst_stride;
  Acc acc = Acc(0);
  for (std::int64_t n = 0; n < g.n; ++n) {
    const T* xn = x + n * ss[0] + ci * ss[1];
    const T* gn = gy + n * ds[0] + co * ds[1];
    for (std::int64_t id = rd.lo; id < rd.hi; ++id) {
      const std::int64_t od = id * g.stride[0] - g.pad[0] + kd * g.dil[0];
      for (std::int64_t ih = rh.lo; ih < rh.hi; ++ih) {
        const std::int64_t oh = ih * g.stride[1] - g.pad[1] + kh * g.dil[1];
        for (std::int64_t iw = rw.lo; iw < rw.hi; ++iw) {
          const std::int64_t ow = iw * g.stride[2] - g.pad[2] + kw * g.dil[2];
          acc += to_acc<Acc>(xn[id * ss[2] + ih * ss[3] + iw * ss[4]]) *
                 to_acc<Acc>(gn[od * ds[2] + oh * ds[3] + ow * ds[4]]);
        }
      }
    }
  }
  return acc;
}

// Bias-gradient body: the sum of grad_output[n, co, :] over n, then D, H, W.
template <class T>
UPS_HD acc_t<T> deconv_grad_bias_sum(const DeconvGeometry& g, const T* __restrict__ gy,
                                     std::int64_t co) {
  using Acc = acc_t<T>;
  const std::int64_t* ds = g.dst_stride;
  Acc acc = Acc(0);
  for (std::int64_t n = 0; n < g.n; ++n) {
    const T* gn = gy + n * ds[0] + co * ds[1];
    for (std::int64_t od = 0; od < g.out[0]; ++od) {
      for (std::int64_t oh = 0; oh < g.out[1]; ++oh) {
        for (std::int64_t ow = 0; ow < g.out[2]; ++ow) {
          acc += to_acc<Acc>(gn[od * ds[2] + oh * ds[3] + ow * ds[4]]);
        }
      }
    }
  }
  return acc;
}

}  // namespace kern
}  // namespace ups
