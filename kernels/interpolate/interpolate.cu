// CUDA backend of ups::interpolate.
//
// The tiled kernel has the output's shape: a block covers TX output columns, TY output rows and
// TZ planes (N * C * out_D); its threads first build the tap tables of its columns and rows, and
// of every D coordinate, in shared memory with the same per-coordinate functions as the CPU
// tables (kern::taps_at), then each thread computes its element of every plane it visits from
// those tables, in the order of operations of the per-element body (kern::interp_element_at):
// no index is unravelled, no tap or anti-aliasing weight is recomputed per element, and with
// 32-bit indices (every offset below 2^31) there is no 64-bit division: plane numbers split with
// precomputed multiply-shift division (kern::FastDivmod).
//
// Tensors with C innermost in both views (and enough channels) go to the channels-last kernel
// first (interpolate_cl.cu), whose warps run along C.
//
// The generic kernel runs the per-element body over a flat index; it stays for what the tiled
// kernel does not cover (windows too large for its shared tables, the f16/bf16 3-D area sums that
// round at every step) and as the reference the tests compare with.
//
// interpolate.cu is built with --fmad=false (CMakeLists.txt) and the CPU backend with
// -ffp-contract=off, so both backends round identically: the CUDA output equals the CPU output
// bit for bit (tests/gpu/).
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
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

// ---- the generic kernel

template <InterpKind K, class T>
__global__ void interp_kernel(kern::InterpParams<kern::acc_t<T>> params, const T* __restrict__ src,
                              T* __restrict__ dst, std::int64_t total) {
  const std::int64_t stride = static_cast<std::int64_t>(blockDim.x) * gridDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += stride) {
    kern::interp_element<K, T>(params, src, dst, i);
  }
}

// ---- the tiled kernel

template <class Acc>
struct TiledArgs {
  kern::InterpParams<Acc> p;
  int kx, ky, kz;                 // table widths: the most taps of one coordinate per dim
  std::int64_t planes;            // N * C * out_D
  std::int64_t tiles_y;           // ceil(out_H / blockDim.y)
  kern::FastDivmod div_d, div_c;  // plane -> (plane / out_D, d), then -> (n, c): 32-bit indices
  bool narrow;                    // every offset and size below 2^31 (the 32-bit variant)
};

// Bytes of shared memory a block of tx columns and ty rows needs for its tables.
template <class Acc, class Index>
std::size_t tiled_smem(int tx, int ty, std::int64_t out_d, int kx, int ky, int kz) {
  const std::size_t entries = static_cast<std::size_t>(tx) * kx +
                              static_cast<std::size_t>(ty) * ky +
                              static_cast<std::size_t>(out_d) * kz;
  const std::size_t counts = static_cast<std::size_t>(tx + ty + out_d);
  return entries * (sizeof(Acc) + sizeof(Index)) + counts * sizeof(int);
}

// sum_j x[j] * w[j] over n taps in tap order, from x[0] * w[0] (the bodies' sequential sums).
template <class T, class Acc, class Index>
__device__ __forceinline__ Acc row_sum(const T* __restrict__ row, std::int64_t stride,
                                       const Index* idx, const Acc* w, int n) {
  Acc acc = kern::to_acc<Acc>(row[idx[0] * stride]) * w[0];
  for (int j = 1; j < n; ++j)
    acc = acc + kern::to_acc<Acc>(row[idx[j] * stride]) * w[j];
  return acc;
}

template <InterpKind K, class T, class Index>
__global__ void interp_tiled_kernel(const TiledArgs<kern::acc_t<T>> a, const T* __restrict__ src,
                                    T* __restrict__ dst) {
  using Acc = kern::acc_t<T>;
  using R = Rules<K>;
  // The 32-bit variant: every size and offset is below 2^31.
  constexpr bool kNarrow = std::is_same_v<Index, std::int32_t>;
  const kern::InterpParams<Acc>& p = a.p;
  const kern::InterpGeometry& g = p.g;
  const int tx = blockDim.x, ty = blockDim.y;
  const bool small = K == InterpKind::kBilinear && p.small_2d_output;

  // Shared tables: the wider of weights and indices first (each array then stays aligned), then
  // counts.
  extern __shared__ __align__(16) unsigned char smem[];
  const std::size_t entries = static_cast<std::size_t>(tx * a.kx + ty * a.ky + g.out[0] * a.kz);
  unsigned char* wbase = sizeof(Acc) >= sizeof(Index) ? smem : smem + entries * sizeof(Index);
  unsigned char* ibase = sizeof(Acc) >= sizeof(Index) ? smem + entries * sizeof(Acc) : smem;
  Acc* xw = reinterpret_cast<Acc*>(wbase);
  Acc* yw = xw + tx * a.kx;
  Acc* zw = yw + ty * a.ky;
  Index* xi = reinterpret_cast<Index*>(ibase);
  Index* yi = xi + tx * a.kx;
  Index* zi = yi + ty * a.ky;
  int* xn = reinterpret_cast<int*>(smem + entries * (sizeof(Acc) + sizeof(Index)));
  int* yn = xn + tx;
  int* zn = yn + ty;

  const int tid = (threadIdx.z * ty + threadIdx.y) * tx + threadIdx.x;
  const int nthreads = tx * ty * blockDim.z;
  const std::int64_t x0 = static_cast<std::int64_t>(blockIdx.x) * tx;
  for (int i = tid; i < tx; i += nthreads) {
    if (x0 + i < g.out[2]) {
      xn[i] = small ? kern::taps_at<small_rule<K>(R::kX), T>(p, 2, x0 + i, xi + i * a.kx,
                                                             xw + i * a.kx, a.kx, kNarrow)
                    : kern::taps_at<R::kX, T>(p, 2, x0 + i, xi + i * a.kx, xw + i * a.kx, a.kx,
                                              kNarrow);
    }
  }
  // Loops count in Index and do not unroll: a trip count would need a 64-bit division.
#pragma unroll 1
  for (Index i = tid; i < static_cast<Index>(g.out[0]); i += nthreads)
    zn[i] = kern::taps_at<R::kZ, T>(p, 0, i, zi + i * a.kz, zw + i * a.kz, a.kz, kNarrow);

  const std::int64_t tiles_y = a.tiles_y;
  const std::int64_t* ss = g.src_stride;
  const std::int64_t* ds = g.dst_stride;
#pragma unroll 1
  for (Index tile = blockIdx.y; tile < static_cast<Index>(tiles_y); tile += gridDim.y) {
    const std::int64_t y0 = tile * ty;
    __syncthreads();  // the previous tile's rows are no longer read
    for (int i = tid; i < ty; i += nthreads) {
      if (y0 + i < g.out[1]) {
        yn[i] = small ? kern::taps_at<small_rule<K>(R::kY), T>(p, 1, y0 + i, yi + i * a.ky,
                                                               yw + i * a.ky, a.ky, kNarrow)
                      : kern::taps_at<R::kY, T>(p, 1, y0 + i, yi + i * a.ky, yw + i * a.ky, a.ky,
                                                kNarrow);
      }
    }
    __syncthreads();
    const std::int64_t x = x0 + threadIdx.x, y = y0 + threadIdx.y;
    if (x >= g.out[2] || y >= g.out[1]) continue;
    const Index* xidx = xi + threadIdx.x * a.kx;
    const Acc* xwt = xw + threadIdx.x * a.kx;
    const int cx = xn[threadIdx.x];
    const Index* yidx = yi + threadIdx.y * a.ky;
    const Acc* ywt = yw + threadIdx.y * a.ky;
    const int cy = yn[threadIdx.y];
#pragma unroll 1
    for (Index z = static_cast<Index>(blockIdx.z) * blockDim.z + threadIdx.z;
         z < static_cast<Index>(a.planes); z += static_cast<Index>(gridDim.z * blockDim.z)) {
      // plane z = ((n * C) + c) * out_D + d
      Index n, c, d;
      if constexpr (std::is_same_v<Index, std::int32_t>) {
        std::uint32_t nc, dd, nn, cc;
        a.div_d.divmod(static_cast<std::uint32_t>(z), &nc, &dd);
        a.div_c.divmod(nc, &nn, &cc);
        n = static_cast<Index>(nn);
        c = static_cast<Index>(cc);
        d = static_cast<Index>(dd);
      } else {
        d = z % g.out[0];
        const std::int64_t nc = z / g.out[0];
        c = nc % g.c;
        n = nc / g.c;
      }
      const T* plane = src + (static_cast<Index>(ss[0]) * n + static_cast<Index>(ss[1]) * c);
      T* out = dst + (static_cast<Index>(ds[0]) * n + static_cast<Index>(ds[1]) * c +
                      static_cast<Index>(ds[2]) * d + static_cast<Index>(ds[3]) * y +
                      static_cast<Index>(ds[4]) * x);
      const Index* zidx = zi + d * a.kz;
      const Acc* zwt = zw + d * a.kz;
      const Index s2 = static_cast<Index>(ss[2]), s3 = static_cast<Index>(ss[3]),
                  s4 = static_cast<Index>(ss[4]);

      if constexpr (K == InterpKind::kNearest || K == InterpKind::kNearestExact) {
        *out = plane[zidx[0] * s2 + yidx[0] * s3 + xidx[0] * s4];
      } else if constexpr (K == InterpKind::kArea) {
        // Sum from 0 in (d, h, w) order, then divide by the D, H and W counts in turn.
        const int cz = zn[d];
        Acc sum = Acc(0);
        for (int i = 0; i < cz; ++i) {
          for (int j = 0; j < cy; ++j) {
            const T* row = plane + zidx[i] * s2 + yidx[j] * s3;
            for (int k = 0; k < cx; ++k)
              sum += kern::to_acc<Acc>(row[xidx[k] * s4]);
          }
        }
        *out = kern::from_acc<T>(sum / static_cast<Acc>(cz) / static_cast<Acc>(cy) /
                                 static_cast<Acc>(cx));
      } else if constexpr (K == InterpKind::kLinear) {
        *out = kern::from_acc<T>(row_sum(plane, s4, xidx, xwt, cx));
      } else if constexpr (K == InterpKind::kTrilinear) {
        const int cz = zn[d];
        Acc acc = Acc(0);
        for (int i = 0; i < cz; ++i) {
          const T* sub = plane + zidx[i] * s2;
          Acc v = row_sum(sub + yidx[0] * s3, s4, xidx, xwt, cx) * ywt[0];
          for (int j = 1; j < cy; ++j)
            v = v + row_sum(sub + yidx[j] * s3, s4, xidx, xwt, cx) * ywt[j];
          acc = i == 0 ? v * zwt[0] : acc + v * zwt[i];
        }
        *out = kern::from_acc<T>(acc);
      } else {  // bilinear, bicubic and the anti-aliasing kinds: H over W
        if (K == InterpKind::kBilinear && small) {
          // x00 * w00 + x01 * w01 + x10 * w10 + x11 * w11, wab = wy_a * wx_b.
          const T* r0 = plane + yidx[0] * s3;
          const T* r1 = plane + yidx[1] * s3;
          Acc v = kern::to_acc<Acc>(r0[xidx[0] * s4]) * (ywt[0] * xwt[0]);
          v += kern::to_acc<Acc>(r0[xidx[1] * s4]) * (ywt[0] * xwt[1]);
          v += kern::to_acc<Acc>(r1[xidx[0] * s4]) * (ywt[1] * xwt[0]);
          v += kern::to_acc<Acc>(r1[xidx[1] * s4]) * (ywt[1] * xwt[1]);
          *out = kern::from_acc<T>(v);
        } else {
          Acc acc = row_sum(plane + yidx[0] * s3, s4, xidx, xwt, cx) * ywt[0];
          for (int j = 1; j < cy; ++j)
            acc = acc + row_sum(plane + yidx[j] * s3, s4, xidx, xwt, cx) * ywt[j];
          *out = kern::from_acc<T>(acc);
        }
      }
    }
  }
}

// ---- launch

// Launches the tiled kernel; false when its tables would not fit in shared memory.
template <InterpKind K, class T>
bool launch_tiled(const kern::InterpParams<kern::acc_t<T>>& p, const T* src, T* dst,
                  StreamHandle stream) {
  using Acc = kern::acc_t<T>;
  using R = Rules<K>;
  const kern::InterpGeometry& g = p.g;
  if (K == InterpKind::kArea && kern::IsHalfLike<T>::value && p.area_sum_in_element_type) {
    return false;  // every partial sum rounds to the element type: the generic kernel
  }
  const bool small = K == InterpKind::kBilinear && p.small_2d_output;
  TiledArgs<Acc> a{};
  a.p = p;
  a.kx = small ? 2 : max_taps<R::kX, T>(p, 2);
  a.ky = small ? 2 : max_taps<R::kY, T>(p, 1);
  a.kz = max_taps<R::kZ, T>(p, 0);
  a.planes = g.n * g.c * g.out[0];
  if (a.planes == 0 || g.out[1] == 0 || g.out[2] == 0) return true;

  // Block shape: columns first (coalesced stores), then rows, then planes, 256 threads.
  int tx = 1;
  while (tx < 32 && tx < g.out[2])
    tx *= 2;
  int ty = 1;
  while (tx * ty < kBlock && ty < g.out[1])
    ty *= 2;
  int tz = 1;
  while (tx * ty * tz < kBlock && tz < a.planes)
    tz *= 2;
  a.tiles_y = (g.out[1] + ty - 1) / ty;
  const std::int64_t gx = (g.out[2] + tx - 1) / tx;
  const std::int64_t gy = std::min<std::int64_t>(a.tiles_y, 65535);
  const std::int64_t gz = std::min<std::int64_t>((a.planes + tz - 1) / tz, 65535);
  if (gx > kIndex32Max) return false;

  // The 32-bit variant: every offset of both views, every input size (tap indices) and both
  // grid-stride loops (rows of tiles, planes) in int32.
  a.narrow = interp_cuda::views_fit_32(g) && loop_fits_32(a.planes, gz * tz) &&
             loop_fits_32(a.tiles_y, gy);

  const std::size_t smem = a.narrow
                               ? tiled_smem<Acc, std::int32_t>(tx, ty, g.out[0], a.kx, a.ky, a.kz)
                               : tiled_smem<Acc, std::int64_t>(tx, ty, g.out[0], a.kx, a.ky, a.kz);
  if (smem > 48 * 1024) return false;

  const dim3 grid(static_cast<unsigned>(gx), static_cast<unsigned>(gy), static_cast<unsigned>(gz));
  const dim3 block(static_cast<unsigned>(tx), static_cast<unsigned>(ty), static_cast<unsigned>(tz));
  if (a.narrow) {
    a.div_d = kern::FastDivmod(static_cast<std::uint32_t>(g.out[0]));
    a.div_c = kern::FastDivmod(static_cast<std::uint32_t>(g.c));
    interp_tiled_kernel<K, T, std::int32_t><<<grid, block, smem, stream>>>(a, src, dst);
  } else {
    interp_tiled_kernel<K, T, std::int64_t><<<grid, block, smem, stream>>>(a, src, dst);
  }
  UPS_CUDA_CHECK(cudaGetLastError());
  return true;
}

}  // namespace

void interpolate_cuda(const InterpolatePlan& plan, const void* src, void* dst,
                      StreamHandle stream) {
  if (plan.total == 0) return;
  if (interpolate_cuda_channels_last(plan, src, dst, stream)) return;
  dispatch_interp(plan, [&](auto kind_tag, auto type_tag) {
    constexpr kern::InterpKind K = decltype(kind_tag)::value;
    using T = typename decltype(type_tag)::type;
    const auto params = kern::make_interp_params<kern::acc_t<T>>(plan.geometry, plan.user_scale,
                                                                 plan.align_corners);
    const T* s = static_cast<const T*>(src);
    T* d = static_cast<T*>(dst);
    if (launch_tiled<K, T>(params, s, d, stream)) return;
    interp_kernel<K, T>
        <<<grid_for(plan.total, kBlock), kBlock, 0, stream>>>(params, s, d, plan.total);
    UPS_CUDA_CHECK(cudaGetLastError());
  });
}

}  // namespace detail
}  // namespace ups
