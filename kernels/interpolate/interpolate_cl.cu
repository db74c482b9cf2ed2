// CUDA backend of ups::interpolate for channels-last tensors (C innermost in both views).
//
// The tiled kernel (interpolate.cu) puts neighbouring threads on neighbouring output columns,
// which lie C elements apart in a channels-last tensor. This kernel puts the threads of a warp
// along C instead: x over groups of V channels (one 16-byte load or store per tap where C, the
// strides and the pointers allow, else V = 1), y over output columns, z over output rows
// (N * out_D * out_H). A block holds the tap tables of its columns, and of the row it is on, in
// shared memory, built with kern::taps_at as the CPU tables are; each output is formed with the
// per-element body's operations in its order, so the result equals the CPU backend's bit for
// bit. Like interpolate.cu it is built with --fmad=false (CMakeLists.txt), and its 32-bit index
// variant (every offset below 2^31) divides row numbers with kern::FastDivmod.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "common/fast_divmod.hpp"
#include "cuda/cuda_check.hpp"
#include "cuda/launch.hpp"
#include "interpolate/interp_cuda.cuh"
#include "interpolate/interp_math.hpp"
#include "interpolate/interp_taps.hpp"
#include "interpolate_plan.hpp"

namespace ups {
namespace detail {
namespace {

using interp_cuda::kBlock;
using interp_cuda::max_taps;
using interp_cuda::Rules;
using interp_cuda::small_rule;
using kern::InterpKind;
using kern::TapRule;

// ---- the channels-last kernel

// With C innermost in both tensors, the tiled kernel's neighbouring threads (neighbouring output
// columns) would touch addresses C elements apart. This kernel puts the threads of a warp along
// C instead: x over groups of V channels (one 16-byte load or store per tap where the tensors
// allow, else V = 1), y over output columns, z over output rows (N * out_D * out_H). A block
// holds the tap tables of its columns, and of the row it is on, in shared memory.
template <class Acc>
struct ClArgs {
  kern::InterpParams<Acc> p;
  int kx, ky, kz;
  std::int64_t rows;              // N * out_D * out_H
  std::int64_t cvecs;             // C / V
  kern::FastDivmod div_h, div_d;  // row -> (row / out_H, h), then -> (n, d): 32-bit indices
};

// V consecutive elements at p: one 16-byte access when V * sizeof(T) == 16 (p aligned).
template <class T, int V>
__device__ __forceinline__ void load_pack(const T* __restrict__ p, T (&x)[V]) {
  if constexpr (V * sizeof(T) == 16) {
    const uint4 bits = *reinterpret_cast<const uint4*>(p);
    static_assert(sizeof(x) == sizeof(bits), "a pack is 16 bytes");
    memcpy(x, &bits, 16);
  } else {
#pragma unroll
    for (int l = 0; l < V; ++l)
      x[l] = p[l];
  }
}

template <class T, int V>
__device__ __forceinline__ void store_pack(T* __restrict__ p, const T (&x)[V]) {
  if constexpr (V * sizeof(T) == 16) {
    uint4 bits;
    memcpy(&bits, x, 16);
    *reinterpret_cast<uint4*>(p) = bits;
  } else {
#pragma unroll
    for (int l = 0; l < V; ++l)
      p[l] = x[l];
  }
}

// acc[l] = sum_j x_j[l] * w[j] over the n taps of a row, from x_0 * w[0] (row_sum, V lanes).
template <class T, class Acc, int V, class Index>
__device__ __forceinline__ void row_sum_pack(const T* __restrict__ row, Index stride,
                                             const Index* idx, const Acc* w, int n, Acc (&acc)[V]) {
  T x[V];
  load_pack<T, V>(row + idx[0] * stride, x);
#pragma unroll
  for (int l = 0; l < V; ++l)
    acc[l] = kern::to_acc<Acc>(x[l]) * w[0];
  for (int j = 1; j < n; ++j) {
    load_pack<T, V>(row + idx[j] * stride, x);
#pragma unroll
    for (int l = 0; l < V; ++l)
      acc[l] = acc[l] + kern::to_acc<Acc>(x[l]) * w[j];
  }
}

template <InterpKind K, class T, int V, class Index>
__global__ void interp_cl_kernel(const ClArgs<kern::acc_t<T>> a, const T* __restrict__ src,
                                 T* __restrict__ dst) {
  using Acc = kern::acc_t<T>;
  using R = Rules<K>;
  constexpr bool kNarrow = std::is_same_v<Index, std::int32_t>;
  const kern::InterpParams<Acc>& p = a.p;
  const kern::InterpGeometry& g = p.g;
  const int tx = blockDim.x, ty = blockDim.y;
  const bool small = K == InterpKind::kBilinear && p.small_2d_output;

  // Shared tables as in the tiled kernel: ty columns, one row and one D coordinate.
  extern __shared__ __align__(16) unsigned char smem[];
  const std::size_t entries = static_cast<std::size_t>(ty * a.kx + a.ky + a.kz);
  unsigned char* wbase = sizeof(Acc) >= sizeof(Index) ? smem : smem + entries * sizeof(Index);
  unsigned char* ibase = sizeof(Acc) >= sizeof(Index) ? smem + entries * sizeof(Acc) : smem;
  Acc* xw = reinterpret_cast<Acc*>(wbase);
  Acc* yw = xw + ty * a.kx;
  Acc* zw = yw + a.ky;
  Index* xi = reinterpret_cast<Index*>(ibase);
  Index* yi = xi + ty * a.kx;
  Index* zi = yi + a.ky;
  int* xn = reinterpret_cast<int*>(smem + entries * (sizeof(Acc) + sizeof(Index)));
  int* yn = xn + ty;
  int* zn = yn + 1;

  const int tid = threadIdx.y * tx + threadIdx.x;
  const int nthreads = tx * ty;
  const std::int64_t col0 = static_cast<std::int64_t>(blockIdx.y) * ty;
  for (int i = tid; i < ty; i += nthreads) {
    if (col0 + i < g.out[2]) {
      xn[i] = small ? kern::taps_at<small_rule<K>(R::kX), T>(p, 2, col0 + i, xi + i * a.kx,
                                                             xw + i * a.kx, a.kx, kNarrow)
                    : kern::taps_at<R::kX, T>(p, 2, col0 + i, xi + i * a.kx, xw + i * a.kx, a.kx,
                                              kNarrow);
    }
  }
  const Index cv = static_cast<Index>(blockIdx.x) * tx + threadIdx.x;
  const Index ow = static_cast<Index>(col0) + threadIdx.y;
  const bool active = cv < static_cast<Index>(a.cvecs) && ow < static_cast<Index>(g.out[2]);
  const Index* xidx = xi + threadIdx.y * a.kx;
  const Acc* xwt = xw + threadIdx.y * a.kx;
  const std::int64_t* ss = g.src_stride;
  const std::int64_t* ds = g.dst_stride;
  const Index s2 = static_cast<Index>(ss[2]), s3 = static_cast<Index>(ss[3]),
              s4 = static_cast<Index>(ss[4]);
#pragma unroll 1
  for (Index row = blockIdx.z; row < static_cast<Index>(a.rows);
       row += static_cast<Index>(gridDim.z)) {
    // row = (n * out_D + d) * out_H + h
    Index n, d, h;
    if constexpr (kNarrow) {
      std::uint32_t nd, hh, nn, dd;
      a.div_h.divmod(static_cast<std::uint32_t>(row), &nd, &hh);
      a.div_d.divmod(nd, &nn, &dd);
      n = static_cast<Index>(nn);
      d = static_cast<Index>(dd);
      h = static_cast<Index>(hh);
    } else {
      h = row % g.out[1];
      const std::int64_t nd = row / g.out[1];
      d = nd % g.out[0];
      n = nd / g.out[0];
    }
    __syncthreads();  // the column tables are written; the previous row's are no longer read
    if (tid == 0) {
      yn[0] = small ? kern::taps_at<small_rule<K>(R::kY), T>(p, 1, h, yi, yw, a.ky, kNarrow)
                    : kern::taps_at<R::kY, T>(p, 1, h, yi, yw, a.ky, kNarrow);
      zn[0] = kern::taps_at<R::kZ, T>(p, 0, d, zi, zw, a.kz, kNarrow);
    }
    __syncthreads();
    if (!active) continue;
    const Index c0 = cv * V;
    const T* plane = src + (static_cast<Index>(ss[0]) * n + c0);
    T* out = dst + (static_cast<Index>(ds[0]) * n + c0 + static_cast<Index>(ds[2]) * d +
                    static_cast<Index>(ds[3]) * h + static_cast<Index>(ds[4]) * ow);
    const int cx = xn[threadIdx.y], cy = yn[0], cz = zn[0];
    T res[V];
    if constexpr (K == InterpKind::kNearest || K == InterpKind::kNearestExact) {
      load_pack<T, V>(plane + zi[0] * s2 + yi[0] * s3 + xidx[0] * s4, res);
    } else if constexpr (K == InterpKind::kArea) {
      Acc sum[V];
#pragma unroll
      for (int l = 0; l < V; ++l)
        sum[l] = Acc(0);
      for (int i = 0; i < cz; ++i) {
        for (int j = 0; j < cy; ++j) {
          const T* r = plane + zi[i] * s2 + yi[j] * s3;
          for (int k = 0; k < cx; ++k) {
            T x[V];
            load_pack<T, V>(r + xidx[k] * s4, x);
#pragma unroll
            for (int l = 0; l < V; ++l)
              sum[l] += kern::to_acc<Acc>(x[l]);
          }
        }
      }
#pragma unroll
      for (int l = 0; l < V; ++l)
        res[l] = kern::from_acc<T>(sum[l] / static_cast<Acc>(cz) / static_cast<Acc>(cy) /
                                   static_cast<Acc>(cx));
    } else if constexpr (K == InterpKind::kLinear) {
      Acc acc[V];
      row_sum_pack<T, Acc, V>(plane, s4, xidx, xwt, cx, acc);
#pragma unroll
      for (int l = 0; l < V; ++l)
        res[l] = kern::from_acc<T>(acc[l]);
    } else if constexpr (K == InterpKind::kTrilinear) {
      Acc acc[V], v[V], rs[V];
      for (int i = 0; i < cz; ++i) {
        const T* sub = plane + zi[i] * s2;
        row_sum_pack<T, Acc, V>(sub + yi[0] * s3, s4, xidx, xwt, cx, rs);
#pragma unroll
        for (int l = 0; l < V; ++l)
          v[l] = rs[l] * yw[0];
        for (int j = 1; j < cy; ++j) {
          row_sum_pack<T, Acc, V>(sub + yi[j] * s3, s4, xidx, xwt, cx, rs);
#pragma unroll
          for (int l = 0; l < V; ++l)
            v[l] = v[l] + rs[l] * yw[j];
        }
#pragma unroll
        for (int l = 0; l < V; ++l)
          acc[l] = i == 0 ? v[l] * zw[0] : acc[l] + v[l] * zw[i];
      }
#pragma unroll
      for (int l = 0; l < V; ++l)
        res[l] = kern::from_acc<T>(acc[l]);
    } else {  // bilinear, bicubic and the anti-aliasing kinds: H over W
      Acc acc[V];
      if (K == InterpKind::kBilinear && small) {
        // x00 * w00 + x01 * w01 + x10 * w10 + x11 * w11, wab = wy_a * wx_b.
        T x00[V], x01[V], x10[V], x11[V];
        const T* r0 = plane + yi[0] * s3;
        const T* r1 = plane + yi[1] * s3;
        load_pack<T, V>(r0 + xidx[0] * s4, x00);
        load_pack<T, V>(r0 + xidx[1] * s4, x01);
        load_pack<T, V>(r1 + xidx[0] * s4, x10);
        load_pack<T, V>(r1 + xidx[1] * s4, x11);
#pragma unroll
        for (int l = 0; l < V; ++l) {
          Acc v = kern::to_acc<Acc>(x00[l]) * (yw[0] * xwt[0]);
          v += kern::to_acc<Acc>(x01[l]) * (yw[0] * xwt[1]);
          v += kern::to_acc<Acc>(x10[l]) * (yw[1] * xwt[0]);
          v += kern::to_acc<Acc>(x11[l]) * (yw[1] * xwt[1]);
          acc[l] = v;
        }
      } else {
        Acc rs[V];
        row_sum_pack<T, Acc, V>(plane + yi[0] * s3, s4, xidx, xwt, cx, rs);
#pragma unroll
        for (int l = 0; l < V; ++l)
          acc[l] = rs[l] * yw[0];
        for (int j = 1; j < cy; ++j) {
          row_sum_pack<T, Acc, V>(plane + yi[j] * s3, s4, xidx, xwt, cx, rs);
#pragma unroll
          for (int l = 0; l < V; ++l)
            acc[l] = acc[l] + rs[l] * yw[j];
        }
      }
#pragma unroll
      for (int l = 0; l < V; ++l)
        res[l] = kern::from_acc<T>(acc[l]);
    }
    store_pack<T, V>(out, res);
  }
}

// Launches the channels-last kernel with V elements per access; false when the tensors do not
// have C innermost, C is too small to fill a warp's accesses, or its tables would not fit.
template <InterpKind K, class T, int V>
bool launch_cl_v(const kern::InterpParams<kern::acc_t<T>>& p, const T* src, T* dst,
                 StreamHandle stream) {
  using Acc = kern::acc_t<T>;
  using R = Rules<K>;
  const kern::InterpGeometry& g = p.g;
  const bool small = K == InterpKind::kBilinear && p.small_2d_output;
  ClArgs<Acc> a{};
  a.p = p;
  a.kx = small ? 2 : max_taps<R::kX, T>(p, 2);
  a.ky = small ? 2 : max_taps<R::kY, T>(p, 1);
  a.kz = max_taps<R::kZ, T>(p, 0);
  a.rows = g.n * g.out[0] * g.out[1];
  a.cvecs = g.c / V;
  if (a.rows == 0 || g.out[2] == 0 || a.cvecs == 0) return true;

  int tx = 1;
  while (tx < 32 && tx < a.cvecs)
    tx *= 2;
  int ty = 1;
  while (tx * ty < kBlock && ty < g.out[2])
    ty *= 2;
  const std::int64_t gx = (a.cvecs + tx - 1) / tx;
  const std::int64_t gy = (g.out[2] + ty - 1) / ty;
  const std::int64_t gz = std::min<std::int64_t>(a.rows, 65535);
  if (gx > kIndex32Max || gy > 65535) return false;

  const bool narrow =
      interp_cuda::views_fit_32(g) && loop_fits_32(a.rows, gz) && gx * tx <= kIndex32Max;
  const std::size_t entries = static_cast<std::size_t>(ty) * a.kx + a.ky + a.kz;
  const std::size_t smem =
      entries * (sizeof(Acc) + (narrow ? sizeof(std::int32_t) : sizeof(std::int64_t))) +
      static_cast<std::size_t>(ty + 2) * sizeof(int);
  if (smem > 48 * 1024) return false;

  const dim3 grid(static_cast<unsigned>(gx), static_cast<unsigned>(gy), static_cast<unsigned>(gz));
  const dim3 block(static_cast<unsigned>(tx), static_cast<unsigned>(ty), 1);
  if (narrow) {
    a.div_h = kern::FastDivmod(static_cast<std::uint32_t>(g.out[1]));
    a.div_d = kern::FastDivmod(static_cast<std::uint32_t>(g.out[0]));
    interp_cl_kernel<K, T, V, std::int32_t><<<grid, block, smem, stream>>>(a, src, dst);
  } else {
    interp_cl_kernel<K, T, V, std::int64_t><<<grid, block, smem, stream>>>(a, src, dst);
  }
  UPS_CUDA_CHECK(cudaGetLastError());
  return true;
}

// Whether a channels-last view allows V-element accesses: C and every other stride multiples of
// V, and the data 16-byte aligned.
template <int V, class T>
bool packs_fit(const kern::InterpGeometry& g, const T* src, const T* dst) {
  if (g.c % V != 0) return false;
  if (reinterpret_cast<std::uintptr_t>(src) % (V * sizeof(T)) != 0 ||
      reinterpret_cast<std::uintptr_t>(dst) % (V * sizeof(T)) != 0) {
    return false;
  }
  for (int d : {0, 2, 3, 4}) {
    if (g.src_stride[d] % V != 0 || g.dst_stride[d] % V != 0) return false;
  }
  return true;
}

template <InterpKind K, class T>
bool launch_cl(const kern::InterpParams<kern::acc_t<T>>& p, const T* src, T* dst,
               StreamHandle stream) {
  const kern::InterpGeometry& g = p.g;
  if (K == InterpKind::kArea && kern::IsHalfLike<T>::value && p.area_sum_in_element_type) {
    return false;
  }
  // C innermost in both tensors, and enough of it for whole sectors of a warp's accesses.
  if (g.src_stride[1] != 1 || g.dst_stride[1] != 1 || g.c * sizeof(T) < 32) return false;
  constexpr int kV = static_cast<int>(16 / sizeof(T));
  if constexpr (kV > 1) {
    if (packs_fit<kV>(g, src, dst)) return launch_cl_v<K, T, kV>(p, src, dst, stream);
  }
  return launch_cl_v<K, T, 1>(p, src, dst, stream);
}
}  // namespace

bool interpolate_cuda_channels_last(const InterpolatePlan& plan, const void* src, void* dst,
                                    StreamHandle stream) {
  bool done = false;
  dispatch_interp(plan, [&](auto kind_tag, auto type_tag) {
    constexpr kern::InterpKind K = decltype(kind_tag)::value;
    using T = typename decltype(type_tag)::type;
    const auto params = kern::make_interp_params<kern::acc_t<T>>(plan.geometry, plan.user_scale,
                                                                 plan.align_corners);
    done = launch_cl<K, T>(params, static_cast<const T*>(src), static_cast<T*>(dst), stream);
  });
  return done;
}

}  // namespace detail
}  // namespace ups
