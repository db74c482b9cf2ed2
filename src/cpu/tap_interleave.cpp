// The data-movement passes of conv_transpose's planar matmul paths for layers whose kernel
// equals the stride (U-Net up-convolutions, src/onednn/conv_transpose_onednn.cpp):
//
// - forward: output row (n, co, d * kD + kd, h * kH + kh) interleaves, over kw, image n's
//   product rows (co, tap (kd, kh, kw)) at input row (d, h), plus the bias;
// - backward: the inverse, G[(co * taps + tap) * pixels + (d, h, w)] = grad_output[n, co,
//   d * kD + kd, h * kH + kh, w * kW + kw], with each grad_output row's sum for grad_bias.
//
// With unit W strides and kW <= 4 every row moves as whole vectors (Highway's interleaved loads
// and stores, with run-time dispatch); other layouts take the element loops. The values written
// are those of the element loops: the forward adds the bias in f32 and rounds once, the
// backward copies bits. A row's sum for grad_bias is formed as 16 partial sums (element i goes
// to partial i mod 16, partials in order, then the tail in order), the same on every SIMD target
// and for every thread count.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "check.hpp"
#include "conv_transpose_plan.hpp"
#include "cpu/parallel.hpp"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "cpu/tap_interleave.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include "cpu/simd_convert-inl.h"

HWY_BEFORE_NAMESPACE();
namespace ups {
namespace detail {
namespace HWY_NAMESPACE {

// Runs body(begin, end) over [0, n) in at most `threads` contiguous chunks. On OpenMP where the
// build has it: these passes run between oneDNN's OpenMP regions, whose threads keep spinning for
// a while after each region, and the threads of a second pool would compete with them for the
// same cores.
template <class Body>
void ForChunks(std::int64_t n, int threads, Body&& body) {
#ifdef _OPENMP
  const int chunks =
      static_cast<int>(std::max<std::int64_t>(1, std::min<std::int64_t>(threads, n)));
#pragma omp parallel for schedule(static) num_threads(chunks)
  for (int c = 0; c < chunks; ++c) {
    const std::int64_t b = n * c / chunks, e = n * (c + 1) / chunks;
    if (b < e) body(b, e);
  }
#else
  parallel_for(n, threads, 1, body);
#endif
}

// The unsigned lane type that moves a T's bits.
template <class T>
using Bits = std::conditional_t<sizeof(T) == 2, std::uint16_t,
                                std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>>;

// out[x * k + j] = src[j][x] for x < w, j < k (k in 1..4), bit copies.
template <class U>
void InterleaveBits(const U* const* src, std::int64_t k, std::int64_t w, U* out) {
  const hn::ScalableTag<U> du;
  const std::int64_t lanes = static_cast<std::int64_t>(hn::Lanes(du));
  std::int64_t x = 0;
  switch (k) {
    case 1:
      std::memcpy(out, src[0], static_cast<std::size_t>(w) * sizeof(U));
      return;
    case 2:
      for (; x + lanes <= w; x += lanes)
        hn::StoreInterleaved2(hn::LoadU(du, src[0] + x), hn::LoadU(du, src[1] + x), du,
                              out + 2 * x);
      break;
    case 3:
      for (; x + lanes <= w; x += lanes)
        hn::StoreInterleaved3(hn::LoadU(du, src[0] + x), hn::LoadU(du, src[1] + x),
                              hn::LoadU(du, src[2] + x), du, out + 3 * x);
      break;
    default:
      for (; x + lanes <= w; x += lanes)
        hn::StoreInterleaved4(hn::LoadU(du, src[0] + x), hn::LoadU(du, src[1] + x),
                              hn::LoadU(du, src[2] + x), hn::LoadU(du, src[3] + x), du,
                              out + 4 * x);
      break;
  }
  for (; x < w; ++x)
    for (std::int64_t j = 0; j < k; ++j)
      out[x * k + j] = src[j][x];
}

// dst[j][x] = row[x * k + j] for x < w, j < k (k in 1..4), bit copies.
template <class U>
void DeinterleaveBits(const U* row, std::int64_t k, std::int64_t w, U* const* dst) {
  const hn::ScalableTag<U> du;
  const std::int64_t lanes = static_cast<std::int64_t>(hn::Lanes(du));
  std::int64_t x = 0;
  switch (k) {
    case 1:
      std::memcpy(dst[0], row, static_cast<std::size_t>(w) * sizeof(U));
      return;
    case 2:
      for (; x + lanes <= w; x += lanes) {
        hn::Vec<decltype(du)> a, b;
        hn::LoadInterleaved2(du, row + 2 * x, a, b);
        hn::StoreU(a, du, dst[0] + x);
        hn::StoreU(b, du, dst[1] + x);
      }
      break;
    case 3:
      for (; x + lanes <= w; x += lanes) {
        hn::Vec<decltype(du)> a, b, c;
        hn::LoadInterleaved3(du, row + 3 * x, a, b, c);
        hn::StoreU(a, du, dst[0] + x);
        hn::StoreU(b, du, dst[1] + x);
        hn::StoreU(c, du, dst[2] + x);
      }
      break;
    default:
      for (; x + lanes <= w; x += lanes) {
        hn::Vec<decltype(du)> a, b, c, e;
        hn::LoadInterleaved4(du, row + 4 * x, a, b, c, e);
        hn::StoreU(a, du, dst[0] + x);
        hn::StoreU(b, du, dst[1] + x);
        hn::StoreU(c, du, dst[2] + x);
        hn::StoreU(e, du, dst[3] + x);
      }
      break;
  }
  for (; x < w; ++x)
    for (std::int64_t j = 0; j < k; ++j)
      dst[j][x] = row[x * k + j];
}

// out[x * k + j] = from_acc(src[j][x] + b) for x < w, j < k (k in 1..4): f32 sums, T output.
template <class T>
void InterleaveBias(const float* const* src, std::int64_t k, std::int64_t w, float b, T* out) {
  const hn::ScalableTag<float> d;
  const std::int64_t lanes = static_cast<std::int64_t>(hn::Lanes(d));
  const auto vb = hn::Set(d, b);
  HWY_ALIGN float buf[4 * HWY_MAX_BYTES / sizeof(float)];
  std::int64_t x = 0;
  for (; x + lanes <= w; x += lanes) {
    const auto a0 = hn::Add(hn::LoadU(d, src[0] + x), vb);
    if (k == 1) {
      StoreAcc(d, a0, out + x);
      continue;
    }
    const auto a1 = hn::Add(hn::LoadU(d, src[1] + x), vb);
    T* o = out + k * x;
    float* to = std::is_same_v<T, float> ? reinterpret_cast<float*>(o) : buf;
    if (k == 2) {
      hn::StoreInterleaved2(a0, a1, d, to);
    } else if (k == 3) {
      hn::StoreInterleaved3(a0, a1, hn::Add(hn::LoadU(d, src[2] + x), vb), d, to);
    } else {
      hn::StoreInterleaved4(a0, a1, hn::Add(hn::LoadU(d, src[2] + x), vb),
                            hn::Add(hn::LoadU(d, src[3] + x), vb), d, to);
    }
    if constexpr (!std::is_same_v<T, float>) {
      for (std::int64_t j = 0; j < k; ++j)
        StoreAcc(d, hn::Load(d, buf + j * lanes), o + j * lanes);
    }
  }
  for (; x < w; ++x)
    for (std::int64_t j = 0; j < k; ++j)
      out[x * k + j] = kern::from_acc<T>(src[j][x] + b);
}

// The sum of row[0, len) in f32: partial q holds the elements i = q (mod 16) of the whole
// 16-element chunks, in order; then the partials in order, then the tail in order.
template <class T>
float RowSum(const T* row, std::int64_t len) {
  const hn::ScalableTag<float> d;
  constexpr std::int64_t kParts = 16;
  const std::int64_t lanes = static_cast<std::int64_t>(hn::Lanes(d));
  HWY_ALIGN float part[kParts] = {};
  std::int64_t i = 0;
  if (lanes >= 4 && lanes <= kParts && kParts % lanes == 0) {
    const std::int64_t nv = kParts / lanes;  // 1, 2 or 4 vectors of partials
    auto s0 = hn::Zero(d), s1 = hn::Zero(d), s2 = hn::Zero(d), s3 = hn::Zero(d);
    for (; i + kParts <= len; i += kParts) {
      s0 = hn::Add(s0, LoadAcc(d, row + i));
      if (nv > 1) s1 = hn::Add(s1, LoadAcc(d, row + i + lanes));
      if (nv > 2) {
        s2 = hn::Add(s2, LoadAcc(d, row + i + 2 * lanes));
        s3 = hn::Add(s3, LoadAcc(d, row + i + 3 * lanes));
      }
    }
    hn::Store(s0, d, part);
    if (nv > 1) hn::Store(s1, d, part + lanes);
    if (nv > 2) {
      hn::Store(s2, d, part + 2 * lanes);
      hn::Store(s3, d, part + 3 * lanes);
    }
  }
  for (; i + kParts <= len; i += kParts)
    for (std::int64_t q = 0; q < kParts; ++q)
      part[q] += kern::to_acc<float>(row[i + q]);
  float sum = 0.0f;
  for (std::int64_t q = 0; q < kParts; ++q)
    sum += part[q];
  for (; i < len; ++i)
    sum += kern::to_acc<float>(row[i]);
  return sum;
}

template <class T>
void InterleaveImpl(const ConvTransposePlan& p, std::int64_t n, const void* prod_bytes,
                    int threads) {
  const kern::DeconvGeometry& g = p.g;
  const std::int64_t taps = g.k[0] * g.k[1] * g.k[2], px = g.in[0] * g.in[1] * g.in[2];
  const std::int64_t rows = g.cout_g * g.in[0] * g.k[0] * g.in[1] * g.k[1];
  const std::int64_t kw_n = g.k[2], w_n = g.in[2];
  T* dst = static_cast<T*>(p.dst);
  const T* bias = static_cast<const T*>(p.bias);
  const std::int64_t* ds = g.dst_stride;
  const bool vec = ds[4] == 1 && kw_n <= 4;
  ForChunks(rows, threads, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t r = begin; r < end; ++r) {
      std::int64_t q = r;
      const std::int64_t kh = q % g.k[1];
      q /= g.k[1];
      const std::int64_t h = q % g.in[1];
      q /= g.in[1];
      const std::int64_t kd = q % g.k[0];
      q /= g.k[0];
      const std::int64_t d = q % g.in[0];
      q /= g.in[0];
      const std::int64_t co = q;
      T* out = dst + n * ds[0] + co * ds[1] + (d * g.k[0] + kd) * ds[2] + (h * g.k[1] + kh) * ds[3];
      // Product row of tap kw: (co, tap) at input row (d, h).
      auto at = [&](std::int64_t kw) {
        const std::int64_t t = (kd * g.k[1] + kh) * kw_n + kw;
        return (co * taps + t) * px + (d * g.in[1] + h) * w_n;
      };
      if (bias != nullptr) {
        const float* prod = static_cast<const float*>(prod_bytes);
        const float b = kern::to_acc<float>(bias[co * g.bias_stride]);
        if (vec) {
          const float* src[4] = {};
          for (std::int64_t kw = 0; kw < kw_n; ++kw)
            src[kw] = prod + at(kw);
          InterleaveBias<T>(src, kw_n, w_n, b, out);
        } else {
          for (std::int64_t kw = 0; kw < kw_n; ++kw)
            for (std::int64_t x = 0; x < w_n; ++x)
              out[(x * kw_n + kw) * ds[4]] = kern::from_acc<T>(prod[at(kw) + x] + b);
        }
      } else {
        const T* prod = static_cast<const T*>(prod_bytes);
        if (vec) {
          using U = Bits<T>;
          const U* src[4] = {};
          for (std::int64_t kw = 0; kw < kw_n; ++kw)
            src[kw] = reinterpret_cast<const U*>(prod + at(kw));
          InterleaveBits<U>(src, kw_n, w_n, reinterpret_cast<U*>(out));
        } else {
          for (std::int64_t kw = 0; kw < kw_n; ++kw)
            for (std::int64_t x = 0; x < w_n; ++x)
              out[(x * kw_n + kw) * ds[4]] = prod[at(kw) + x];
        }
      }
    }
  });
}

template <class T>
void DeinterleaveImpl(const ConvTransposePlan& p, std::int64_t n, void* g_bytes, double* bias_sum,
                      int threads) {
  const kern::DeconvGeometry& g = p.g;
  const std::int64_t taps = g.k[0] * g.k[1] * g.k[2], px = g.in[0] * g.in[1] * g.in[2];
  const std::int64_t kw_n = g.k[2], w_n = g.in[2];
  const T* gy = static_cast<const T*>(p.dst);
  T* G = static_cast<T*>(g_bytes);
  const std::int64_t* ds = g.dst_stride;
  const bool vec = ds[4] == 1 && kw_n <= 4;
  using U = Bits<T>;
  ForChunks(g.cout_g, threads, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t co = begin; co < end; ++co) {
      double total = 0.0;
      for (std::int64_t d = 0; d < g.in[0]; ++d) {
        for (std::int64_t kd = 0; kd < g.k[0]; ++kd) {
          for (std::int64_t h = 0; h < g.in[1]; ++h) {
            for (std::int64_t kh = 0; kh < g.k[1]; ++kh) {
              const T* row = gy + n * ds[0] + co * ds[1] + (d * g.k[0] + kd) * ds[2] +
                             (h * g.k[1] + kh) * ds[3];
              U* to[4] = {};
              for (std::int64_t kw = 0; kw < kw_n && kw < 4; ++kw) {
                const std::int64_t t = (kd * g.k[1] + kh) * kw_n + kw;
                to[kw] = reinterpret_cast<U*>(G + (co * taps + t) * px + (d * g.in[1] + h) * w_n);
              }
              if (vec) {
                DeinterleaveBits<U>(reinterpret_cast<const U*>(row), kw_n, w_n, to);
                if (bias_sum != nullptr) total += RowSum(row, w_n * kw_n);
              } else {
                float sum = 0.0f;
                for (std::int64_t kw = 0; kw < kw_n; ++kw) {
                  const std::int64_t t = (kd * g.k[1] + kh) * kw_n + kw;
                  T* v = G + (co * taps + t) * px + (d * g.in[1] + h) * w_n;
                  for (std::int64_t x = 0; x < w_n; ++x)
                    v[x] = row[(x * kw_n + kw) * ds[4]];
                }
                if (bias_sum != nullptr) {
                  for (std::int64_t x = 0; x < w_n * kw_n; ++x)
                    sum += kern::to_acc<float>(row[x * ds[4]]);
                  total += sum;
                }
              }
            }
          }
        }
      }
      if (bias_sum != nullptr) bias_sum[co] += total;
    }
  });
}

void Interleave(const ConvTransposePlan& p, std::int64_t n, const void* prod, int threads) {
  if (p.dtype == DType::kBF16) {
    InterleaveImpl<kern::bf16_t>(p, n, prod, threads);
  } else {
    InterleaveImpl<float>(p, n, prod, threads);
  }
}

void Deinterleave(const ConvTransposePlan& p, std::int64_t n, void* G, double* bias_sum,
                  int threads) {
  if (p.dtype == DType::kBF16) {
    DeinterleaveImpl<kern::bf16_t>(p, n, G, bias_sum, threads);
  } else {
    DeinterleaveImpl<float>(p, n, G, bias_sum, threads);
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace detail
}  // namespace ups
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace ups {
namespace detail {

HWY_EXPORT(Interleave);
HWY_EXPORT(Deinterleave);

void conv_transpose_interleave_taps(const ConvTransposePlan& p, std::int64_t n, const void* prod,
                                    int threads) {
  UPS_CHECK(p.dtype == DType::kF32 || p.dtype == DType::kBF16, ErrorCode::kInternal,
            "conv_transpose_interleave_taps: f32 or bf16 only");
  HWY_DYNAMIC_DISPATCH(Interleave)(p, n, prod, threads);
}

void conv_transpose_deinterleave_taps(const ConvTransposePlan& p, std::int64_t n, void* G,
                                      double* bias_sum, int threads) {
  UPS_CHECK(p.dtype == DType::kF32 || p.dtype == DType::kBF16, ErrorCode::kInternal,
            "conv_transpose_deinterleave_taps: f32 or bf16 only");
  HWY_DYNAMIC_DISPATCH(Deinterleave)(p, n, G, bias_sum, threads);
}

}  // namespace detail
}  // namespace ups
#endif  // HWY_ONCE
