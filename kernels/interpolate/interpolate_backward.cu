// CUDA backend of ups::interpolate_backward: one thread per grad_input element, gathering from
// grad_output through the transposed tap tables of kernels/interpolate/interp_backward.hpp.
//
// The host builds the three tables (for every input coordinate of a dim, the outputs that read
// it and their weights), copies them into the call's scratch on the stream, and launches a grid
// shaped like grad_input: x over input columns, y over input rows, z over (N, C, in_D) planes.
// Each thread forms
//
//     sum_od wz * (sum_oh wy * (sum_ow wx * grad_output[od, oh, ow]))
//
// with every sum from 0 in list order, and a dim whose table is the identity passing its value
// through: the CPU backend's operations in its order. Built with --fmad=false (CMakeLists.txt),
// so both backends round alike and agree bit for bit. No atomics: deterministic.
#include <cuda_runtime.h>

#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "common/fast_divmod.hpp"
#include "cuda/cuda_check.hpp"
#include "cuda/launch.hpp"
#include "cuda/scratch.hpp"
#include "interpolate/interp_backward.hpp"
#include "interpolate/interp_cuda.cuh"
#include "interpolate_plan.hpp"

namespace ups {
namespace detail {
namespace {

using kern::InterpKind;

// One transposed table on the device.
template <class Acc>
struct DevInv {
  const std::int64_t* start;
  const std::int64_t* out;
  const Acc* w;
  bool identity;
};

template <class Acc>
struct BackwardArgs {
  kern::InterpGeometry g;
  DevInv<Acc> t[3];        // D, H, W
  std::int64_t planes;     // N * C * in_D
  kern::FastDivmod div_d;  // plane -> (plane / in_D, z): 32-bit indices
  kern::FastDivmod div_c;  // -> (n, c)
};

// sum_ow wx * grad_output[.., ow] over the W list of x, from 0.
template <class T, class Acc, class Index>
__device__ __forceinline__ Acc w_sum(const DevInv<Acc>& t, Index x, const T* __restrict__ row,
                                     Index stride) {
  Acc acc = Acc(0);
  for (Index e = static_cast<Index>(t.start[x]); e < static_cast<Index>(t.start[x + 1]); ++e)
    acc = acc + t.w[e] * kern::to_acc<Acc>(row[static_cast<Index>(t.out[e]) * stride]);
  return acc;
}

// The H level for output plane od: sum_oh wy * w_sum(..), or w_sum of row y for the identity.
template <class T, class Acc, class Index>
__device__ __forceinline__ Acc h_sum(const BackwardArgs<Acc>& a, Index y, Index x,
                                     const T* __restrict__ plane, Index s3, Index s4) {
  const DevInv<Acc>& ty = a.t[1];
  if (ty.identity) return w_sum<T, Acc, Index>(a.t[2], x, plane + y * s3, s4);
  Acc acc = Acc(0);
  for (Index e = static_cast<Index>(ty.start[y]); e < static_cast<Index>(ty.start[y + 1]); ++e)
    acc = acc +
          ty.w[e] * w_sum<T, Acc, Index>(a.t[2], x, plane + static_cast<Index>(ty.out[e]) * s3, s4);
  return acc;
}

template <class T, class Index>
__global__ void interp_backward_kernel(const BackwardArgs<kern::acc_t<T>> a,
                                       const T* __restrict__ go, T* __restrict__ gi) {
  using Acc = kern::acc_t<T>;
  const kern::InterpGeometry& g = a.g;
  const Index x = static_cast<Index>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (x >= static_cast<Index>(g.in[2])) return;
  const std::int64_t* gs = g.dst_stride;  // grad_output
  const std::int64_t* is = g.src_stride;  // grad_input
  const Index s2 = static_cast<Index>(gs[2]), s3 = static_cast<Index>(gs[3]),
              s4 = static_cast<Index>(gs[4]);
  const DevInv<Acc>& tz = a.t[0];
#pragma unroll 1
  for (Index y = static_cast<Index>(blockIdx.y) * blockDim.y + threadIdx.y;
       y < static_cast<Index>(g.in[1]); y += static_cast<Index>(gridDim.y) * blockDim.y) {
#pragma unroll 1
    for (Index p = static_cast<Index>(blockIdx.z); p < static_cast<Index>(a.planes);
         p += static_cast<Index>(gridDim.z)) {
      Index n, c, z;
      if constexpr (std::is_same_v<Index, std::int32_t>) {
        std::uint32_t nc, zz, nn, cc;
        a.div_d.divmod(static_cast<std::uint32_t>(p), &nc, &zz);
        a.div_c.divmod(nc, &nn, &cc);
        n = static_cast<Index>(nn);
        c = static_cast<Index>(cc);
        z = static_cast<Index>(zz);
      } else {
        z = p % g.in[0];
        const std::int64_t nc = p / g.in[0];
        c = nc % g.c;
        n = nc / g.c;
      }
      const T* base = go + (static_cast<Index>(gs[0]) * n + static_cast<Index>(gs[1]) * c);
      Acc v;
      if (tz.identity) {
        v = h_sum<T, Acc, Index>(a, y, x, base + z * s2, s3, s4);
      } else {
        v = Acc(0);
        for (Index e = static_cast<Index>(tz.start[z]); e < static_cast<Index>(tz.start[z + 1]);
             ++e)
          v = v + tz.w[e] * h_sum<T, Acc, Index>(a, y, x, base + static_cast<Index>(tz.out[e]) * s2,
                                                 s3, s4);
      }
      gi[static_cast<Index>(is[0]) * n + static_cast<Index>(is[1]) * c +
         static_cast<Index>(is[2]) * z + static_cast<Index>(is[3]) * y +
         static_cast<Index>(is[4]) * x] = kern::from_acc<T>(v);
    }
  }
}

// The tables' layout in scratch: per dim start, out, w, each segment 16-byte aligned.
template <class Acc>
struct Layout {
  std::size_t start_off[3], out_off[3], w_off[3];
  std::size_t bytes = 0;
};

inline std::size_t align16(std::size_t v) {
  return (v + 15) / 16 * 16;
}

template <class Acc>
Layout<Acc> layout_of(const kern::InvTable<Acc> (&t)[3]) {
  Layout<Acc> l;
  std::size_t off = 0;
  for (int d = 0; d < 3; ++d) {
    l.start_off[d] = off;
    off = align16(off + t[d].start.size() * sizeof(std::int64_t));
    l.out_off[d] = off;
    off = align16(off + t[d].out.size() * sizeof(std::int64_t));
    l.w_off[d] = off;
    off = align16(off + t[d].w.size() * sizeof(Acc));
  }
  l.bytes = off;
  return l;
}

template <InterpKind K, class T>
std::size_t workspace(const InterpolatePlan& plan) {
  using Acc = kern::acc_t<T>;
  const auto p = kern::make_interp_params<Acc>(plan.geometry, plan.user_scale, plan.align_corners);
  const auto tables = kern::make_backward_tables<K, Acc>(p);
  return layout_of<Acc>(tables.dim).bytes;
}

template <InterpKind K, class T>
void run(const Context& ctx, const InterpolatePlan& plan, const T* go, T* gi) {
  using Acc = kern::acc_t<T>;
  const kern::InterpGeometry& g = plan.geometry;
  const auto p = kern::make_interp_params<Acc>(g, plan.user_scale, plan.align_corners);
  const auto tables = kern::make_backward_tables<K, Acc>(p);
  const Layout<Acc> l = layout_of<Acc>(tables.dim);

  // The tables in one host block, copied with one call.
  std::vector<unsigned char> host(l.bytes, 0);
  for (int d = 0; d < 3; ++d) {
    const kern::InvTable<Acc>& t = tables.dim[d];
    std::memcpy(host.data() + l.start_off[d], t.start.data(),
                t.start.size() * sizeof(std::int64_t));
    std::memcpy(host.data() + l.out_off[d], t.out.data(), t.out.size() * sizeof(std::int64_t));
    std::memcpy(host.data() + l.w_off[d], t.w.data(), t.w.size() * sizeof(Acc));
  }
  Scratch scratch(ctx, l.bytes, "interpolate_backward",
                  " (interpolate_backward_workspace_size gives the size)");
  unsigned char* dev = scratch.get();
  // Pageable memory: the copy is staged before the call returns, so `host` may go.
  UPS_CUDA_CHECK(cudaMemcpyAsync(dev, host.data(), l.bytes, cudaMemcpyHostToDevice, ctx.stream()));

  BackwardArgs<Acc> a{};
  a.g = g;
  for (int d = 0; d < 3; ++d) {
    a.t[d].start = reinterpret_cast<const std::int64_t*>(dev + l.start_off[d]);
    a.t[d].out = reinterpret_cast<const std::int64_t*>(dev + l.out_off[d]);
    a.t[d].w = reinterpret_cast<const Acc*>(dev + l.w_off[d]);
    a.t[d].identity = tables.dim[d].identity;
  }
  a.planes = g.n * g.c * g.in[0];

  const int tx = 32, ty = 8;
  const std::int64_t gx = (g.in[2] + tx - 1) / tx;
  const std::int64_t gy = std::min<std::int64_t>((g.in[1] + ty - 1) / ty, 65535);
  const std::int64_t gz = std::min<std::int64_t>(a.planes, 65535);
  UPS_CHECK(gx <= kIndex32Max, ErrorCode::kInvalidArgument, "interpolate_backward: input width ",
            g.in[2], " is too large for one CUDA grid");
  bool narrow = interp_cuda::views_fit_32(g) && loop_fits_32(a.planes, gz) &&
                loop_fits_32(g.in[1], gy * ty) && gx * tx <= kIndex32Max;
  for (int d = 0; d < 3; ++d)
    narrow = narrow && static_cast<std::int64_t>(tables.dim[d].out.size()) <= kIndex32Max;
  const dim3 grid(static_cast<unsigned>(gx), static_cast<unsigned>(gy), static_cast<unsigned>(gz));
  const dim3 block(tx, ty, 1);
  if (narrow) {
    a.div_d = kern::FastDivmod(static_cast<std::uint32_t>(g.in[0]));
    a.div_c = kern::FastDivmod(static_cast<std::uint32_t>(g.c));
    interp_backward_kernel<T, std::int32_t><<<grid, block, 0, ctx.stream()>>>(a, go, gi);
  } else {
    interp_backward_kernel<T, std::int64_t><<<grid, block, 0, ctx.stream()>>>(a, go, gi);
  }
  UPS_CUDA_CHECK(cudaGetLastError());
  // Scratch's destructor enqueues the release after the kernel.
}

}  // namespace

std::size_t interpolate_backward_cuda_workspace(const InterpolatePlan& plan) {
  std::size_t need = 0;
  dispatch_interp(plan, [&](auto kind_tag, auto type_tag) {
    constexpr InterpKind K = decltype(kind_tag)::value;
    using T = typename decltype(type_tag)::type;
    if constexpr (!std::is_same_v<T, std::uint8_t>) need = workspace<K, T>(plan);
  });
  return need == 0 ? 0 : scratch_footprint(need);
}

void interpolate_backward_cuda(const Context& ctx, const InterpolatePlan& plan,
                               const void* grad_out, void* grad_in) {
  dispatch_interp(plan, [&](auto kind_tag, auto type_tag) {
    constexpr InterpKind K = decltype(kind_tag)::value;
    using T = typename decltype(type_tag)::type;
    if constexpr (std::is_same_v<T, std::uint8_t>) {
      fail(ErrorCode::kInternal, "interpolate_backward: u8 reached the CUDA backend");
    } else {
      run<K, T>(ctx, plan, static_cast<const T*>(grad_out), static_cast<T*>(grad_in));
    }
  });
}

}  // namespace detail
}  // namespace ups
