// Native CUDA kernels of ups::conv_transpose. All launches are stream-ordered.
//
// - gather: the tiled output-stationary kernel of NOTE [ Tiled gather ] (deconv_plan.hpp). The
//   grid has the output's shape: x covers columns, y rows (grid-stride), z the (n, channel tile,
//   d) planes (grid-stride). The tap walks of the block's columns and rows are tabulated once in
//   shared memory, and the weights of the block's channels per chunk of C_in are read from a
//   shared tile (from global memory when even one input channel's tile would not fit).
// - scatter: the input-stationary kernel with the same block shape over the input: a thread owns
//   one (input pixel, output channel) pair and adds one partial sum over the chunk's C_in per
//   reached output, so the lanes of a warp hold different channels (channels-last input) or
//   columns and their atomics hit different addresses.
// - fill, finish and add_bias: element-wise passes over dst in its own memory order (a
//   channels-last dst is written along C). The scatter's f32 accumulator (f16/bf16) is dense in
//   that same order, so finish reads and writes consecutively.
//
// Every kernel comes in a 32-bit index variant (every offset, size and loop count below 2^31:
// divisions are precomputed multiply-shifts, kern::Divider<int32_t>) and a 64-bit one, chosen per
// launch as in the other ops (src/cuda/launch.hpp; UPS_CUDA_WIDE_INDEX=1 forces the 64-bit ones).
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

#include "conv_transpose/deconv_math.hpp"
#include "conv_transpose/deconv_plan.hpp"
#include "conv_transpose_plan.hpp"
#include "cuda/cuda_check.hpp"
#include "cuda/launch.hpp"
#include "dispatch.hpp"

namespace ups {
namespace detail {
namespace {

constexpr int kBlock = 256;
// Blocks per SM the tiled kernels are compiled for: two allow 128 registers a thread. Without a
// minimum, ptxas aims at full occupancy and spills.
constexpr int kTiledMinBlocks = 2;
// Shared memory for one weight tile: below the 48 KiB a block gets without opting in, with room
// for the tap tables.
constexpr std::size_t kWeightTileBytes = 32 * 1024;

// Arguments of the tiled gather and scatter kernels. "Space" is the output for gather and the
// input for scatter: columns, rows and (n, channel tile, d) planes of it.
template <class Index>
struct TiledArgs {
  kern::DeconvGeometry g;
  kern::DeconvAxisT<Index> ax[3];  // gather only
  kern::DeconvWTile<Index> wt;
  kern::WeightStrides<Index> tile_strides;
  kern::DeconvBlockShape shape;
  Index chunk;     // input channels per weight tile (cin_g when the weights stay in global memory)
  bool smem_w;     // the weights come from the shared tile
  Index planes;    // N * channel tiles * D of the space
  Index tiles_h;   // ceil(H of the space / rows per block)
  Index space[3];  // D, H, W of the space
  kern::Divider<Index> div_d, div_ct;  // plane -> (rest, d), rest -> (n, channel tile)
  std::size_t wtile_bytes;             // offset of the tap tables in shared memory
};

// Where plane z of the space and the thread's lane put the thread: the helpers below take and
// return small structs by value (no lambdas capturing locals: those kept locals in local memory).
template <class Index>
struct PlanePos {
  Index n, d, ct, co0, co, grp, col;
};

template <class Index>
__device__ __forceinline__ PlanePos<Index> plane_pos(const TiledArgs<Index>& a, Index z, int lc) {
  PlanePos<Index> p;
  Index rest;
  a.div_d.divmod(z, &rest, &p.d);
  a.div_ct.divmod(rest, &p.n, &p.ct);
  p.co0 = p.ct << a.shape.bc;
  p.co = p.co0 + lc;
  const Index cout = static_cast<Index>(a.g.groups * a.g.cout_g);
  a.wt.div_cout_g.divmod(p.co < cout ? p.co : Index(0), &p.grp, &p.col);
  return p;
}

// Fills the shared weight tile for channels co0.. and input channels c0.. (every thread calls it).
template <class T, class Index>
__device__ __forceinline__ void load_wtile(const TiledArgs<Index>& a, const T* __restrict__ w,
                                           T* wtile, int tid, Index co0, Index c0, Index nci) {
  __syncthreads();  // every thread is done with the previous tile
  const Index entries = nci * (Index(1) << a.shape.bc) * a.wt.taps;
#pragma unroll 1
  for (Index e = tid; e < entries; e += kBlock)
    wtile[e] = kern::deconv_wtile_entry<T, Index>(a.g, a.wt, w, co0, c0, e);
  __syncthreads();
}

// The chunk's weights of the thread's output channel: the shared tile, or global memory.
template <class T, class Index>
__device__ __forceinline__ const T* chunk_weights(const TiledArgs<Index>& a,
                                                  const T* __restrict__ w, const T* wtile, int lc,
                                                  const PlanePos<Index>& p, Index c0,
                                                  kern::WeightStrides<Index>* wsd) {
  if (a.smem_w) {
    *wsd = a.tile_strides;
    return wtile + lc;
  }
  const std::int64_t* ws = a.g.w_stride;
  *wsd = kern::WeightStrides<Index>{static_cast<Index>(ws[0]), static_cast<Index>(ws[2]),
                                    static_cast<Index>(ws[3]), static_cast<Index>(ws[4])};
  return w + ((p.grp * static_cast<Index>(a.g.cin_g) + c0) * static_cast<Index>(ws[0]) +
              p.col * static_cast<Index>(ws[1]));
}

template <class T, class Index>
__global__ void __launch_bounds__(kBlock, kTiledMinBlocks)
    gather_tiled_kernel(const TiledArgs<Index> a, const T* __restrict__ src,
                        const T* __restrict__ w, const T* __restrict__ bias, T* __restrict__ dst) {
  using Acc = kern::acc_t<T>;
  const kern::DeconvGeometry& g = a.g;
  extern __shared__ __align__(16) unsigned char smem[];
  T* wtile = reinterpret_cast<T*>(smem);
  auto* wtab = reinterpret_cast<kern::TapWalkT<Index>*>(smem + a.wtile_bytes);
  auto* htab = wtab + (1 << a.shape.bw);
  const int tid = static_cast<int>(threadIdx.x);
  const kern::DeconvLane lane = kern::deconv_lane(a.shape, tid);
  const Index x0 = static_cast<Index>(blockIdx.x) << a.shape.bw;
  if (tid < (1 << a.shape.bw) && x0 + tid < a.space[2])
    wtab[tid] = kern::deconv_walk<Index>(a.ax[2], x0 + tid);
  const Index x = x0 + lane.w;
  const Index cout = static_cast<Index>(g.groups * g.cout_g);
  const Index cin_g = static_cast<Index>(g.cin_g);
  const bool one_chunk = a.chunk >= cin_g;
  const std::int64_t* ss = g.src_stride;
  const std::int64_t* ds = g.dst_stride;
  const kern::WalkSteps<Index> steps = kern::walk_steps<Index>(a.ax);
#pragma unroll 1
  for (Index ty = blockIdx.y; ty < a.tiles_h; ty += static_cast<Index>(gridDim.y)) {
    const Index h0 = ty << a.shape.bh;
    __syncthreads();  // the previous rows' table is no longer read
    if (tid < (1 << a.shape.bh) && h0 + tid < a.space[1])
      htab[tid] = kern::deconv_walk<Index>(a.ax[1], h0 + tid);
    __syncthreads();
    const Index h = h0 + lane.h;
    const bool in_plane = x < a.space[2] && h < a.space[1];
    Index loaded = -1;  // the channel tile in wtile when there is one chunk
#pragma unroll 1
    for (Index z = blockIdx.z; z < a.planes; z += static_cast<Index>(gridDim.z)) {
      const PlanePos<Index> p = plane_pos(a, z, lane.c);
      const bool active = in_plane && p.co < cout;
      const kern::TapWalkT<Index> td = kern::deconv_walk<Index>(a.ax[0], p.d);
      const T* sbase =
          src + (p.n * static_cast<Index>(ss[0]) + p.grp * cin_g * static_cast<Index>(ss[1]));
      Acc acc = Acc(0);
#pragma unroll 1
      for (Index c0 = 0; c0 < cin_g; c0 += a.chunk) {
        const Index nci = cin_g - c0 < a.chunk ? cin_g - c0 : a.chunk;
        if (a.smem_w && (!one_chunk || loaded != p.ct)) {
          load_wtile<T, Index>(a, w, wtile, tid, p.co0, c0, nci);
          loaded = p.ct;
        }
        kern::WeightStrides<Index> wsd;
        const T* wb = chunk_weights<T, Index>(a, w, wtile, lane.c, p, c0, &wsd);
        if (active) {
          kern::deconv_gather_chunk<T, Index>(acc, g, steps, td, htab[lane.h], wtab[lane.w],
                                              sbase + c0 * static_cast<Index>(ss[1]), wb, wsd, nci);
        }
      }
      if (!active) continue;
      if (g.has_bias) acc += kern::to_acc<Acc>(bias[p.co * static_cast<Index>(g.bias_stride)]);
      dst[p.n * static_cast<Index>(ds[0]) + p.co * static_cast<Index>(ds[1]) +
          p.d * static_cast<Index>(ds[2]) + h * static_cast<Index>(ds[3]) +
          x * static_cast<Index>(ds[4])] = kern::from_acc<T>(acc);
    }
  }
}

// atomicAdd straight into dst (f32, f64: native atomics, sm_60 and newer).
template <class T, class Index>
struct DirectSink {
  T* dst;
  Index s[5];
  __device__ void operator()(Index n, Index c, Index d, Index h, Index w, T v) const {
    atomicAdd(dst + (n * s[0] + c * s[1] + d * s[2] + h * s[3] + w * s[4]), v);
  }
};

// atomicAdd into a dense f32 accumulator in dst's memory order (f16, bf16). Accumulating in f32
// keeps the f32-accumulation contract: 16-bit atomics would round after every add.
template <class Index>
struct F32Sink {
  float* acc;
  Index s[5];
  __device__ void operator()(Index n, Index c, Index d, Index h, Index w, float v) const {
    atomicAdd(acc + (n * s[0] + c * s[1] + d * s[2] + h * s[3] + w * s[4]), v);
  }
};

template <class T, class Sink, class Index>
__global__ void __launch_bounds__(kBlock, kTiledMinBlocks)
    scatter_tiled_kernel(const TiledArgs<Index> a, const T* __restrict__ src,
                         const T* __restrict__ w, const Sink sink) {
  const kern::DeconvGeometry& g = a.g;
  extern __shared__ __align__(16) unsigned char smem[];
  T* wtile = reinterpret_cast<T*>(smem);
  const int tid = static_cast<int>(threadIdx.x);
  const kern::DeconvLane lane = kern::deconv_lane(a.shape, tid);
  const Index x = (static_cast<Index>(blockIdx.x) << a.shape.bw) + lane.w;
  const Index cout = static_cast<Index>(g.groups * g.cout_g);
  const Index cin_g = static_cast<Index>(g.cin_g);
  const bool one_chunk = a.chunk >= cin_g;
  const std::int64_t* ss = g.src_stride;
  Index loaded = -1;
#pragma unroll 1
  for (Index ty = blockIdx.y; ty < a.tiles_h; ty += static_cast<Index>(gridDim.y)) {
    const Index h = (ty << a.shape.bh) + lane.h;
    const bool in_plane = x < a.space[2] && h < a.space[1];
#pragma unroll 1
    for (Index z = blockIdx.z; z < a.planes; z += static_cast<Index>(gridDim.z)) {
      const PlanePos<Index> p = plane_pos(a, z, lane.c);
      const bool active = in_plane && p.co < cout;
      const T* px =
          src + (p.n * static_cast<Index>(ss[0]) + p.grp * cin_g * static_cast<Index>(ss[1]) +
                 p.d * static_cast<Index>(ss[2]) + h * static_cast<Index>(ss[3]) +
                 x * static_cast<Index>(ss[4]));
#pragma unroll 1
      for (Index c0 = 0; c0 < cin_g; c0 += a.chunk) {
        const Index nci = cin_g - c0 < a.chunk ? cin_g - c0 : a.chunk;
        if (a.smem_w && (!one_chunk || loaded != p.ct)) {
          load_wtile<T, Index>(a, w, wtile, tid, p.co0, c0, nci);
          loaded = p.ct;
        }
        kern::WeightStrides<Index> wsd;
        const T* wb = chunk_weights<T, Index>(a, w, wtile, lane.c, p, c0, &wsd);
        if (active) {
          kern::deconv_scatter_chunk<T, Index>(
              g, p.n, p.co, p.d, h, x, px + c0 * static_cast<Index>(ss[1]), wb, wsd, nci, sink);
        }
      }
    }
  }
}

// Grid-stride loops over `total` items counting in Index.
#define UPS_GRID_LOOP(i, total)                                                                  \
  _Pragma("unroll 1") for (Index i =                                                             \
                               static_cast<Index>(blockIdx.x) * static_cast<Index>(blockDim.x) + \
                               static_cast<Index>(threadIdx.x);                                  \
                           i < (total);                                                          \
                           i += static_cast<Index>(blockDim.x) * static_cast<Index>(gridDim.x))

// dst = bias (or 0) before the scatter's atomics.
template <class T, class Index>
__global__ void __launch_bounds__(kBlock)
    fill_kernel(kern::DeconvMemOrder<Index> mo, const T* __restrict__ bias, Index bias_stride,
                T* __restrict__ dst, Index total) {
  UPS_GRID_LOOP(i, total) {
    Index ch = 0;
    const Index off = kern::deconv_mem_offset<Index>(mo, i, &ch);
    dst[off] = bias != nullptr ? bias[ch * bias_stride] : T{};
  }
}

// dst = convert(acc + bias) after the f32-accumulated scatter; acc is dense in dst's memory order.
template <class T, class Index>
__global__ void __launch_bounds__(kBlock)
    finish_kernel(kern::DeconvMemOrder<Index> mo, const float* __restrict__ acc,
                  const T* __restrict__ bias, Index bias_stride, T* __restrict__ dst, Index total) {
  UPS_GRID_LOOP(i, total) {
    Index ch = 0;
    const Index off = kern::deconv_mem_offset<Index>(mo, i, &ch);
    float v = acc[i];
    if (bias != nullptr) v += kern::to_acc<float>(bias[ch * bias_stride]);
    dst[off] = kern::from_acc<T>(v);
  }
}

// dst += bias (after cuDNN). For f16/bf16 the sum is formed in f32 and rounded once more.
template <class T, class Index>
__global__ void __launch_bounds__(kBlock)
    add_bias_kernel(kern::DeconvMemOrder<Index> mo, const T* __restrict__ bias, Index bias_stride,
                    T* __restrict__ dst, Index total) {
  using Acc = kern::acc_t<T>;
  UPS_GRID_LOOP(i, total) {
    Index ch = 0;
    const Index off = kern::deconv_mem_offset<Index>(mo, i, &ch);
    dst[off] =
        kern::from_acc<T>(kern::to_acc<Acc>(dst[off]) + kern::to_acc<Acc>(bias[ch * bias_stride]));
  }
}

#undef UPS_GRID_LOOP

// True when dst's elements exactly tile a contiguous byte range starting at dst (some
// permutation of a packed layout with positive strides): then cudaMemsetAsync can zero it.
bool dense_from_base(const TensorView& v) {
  std::vector<std::pair<std::int64_t, std::int64_t>> dims;  // stride, size
  for (int i = 0; i < v.ndim; ++i) {
    if (v.sizes[i] > 1) dims.emplace_back(v.strides[i], v.sizes[i]);
  }
  std::sort(dims.begin(), dims.end());
  std::int64_t expected = 1;
  for (const auto& d : dims) {
    if (d.first != expected) return false;
    expected *= d.second;
  }
  return true;
}

// Whether the operands' offsets and element counts allow the 32-bit variants (before the
// per-launch loop checks).
bool operands_fit_32(const ConvTransposePlan& p) {
  if (cuda_wide_index()) return false;
  const kern::DeconvGeometry& g = p.g;
  if (!kern::deconv_axes_fit_32(g)) return false;
  const std::int64_t src5[5] = {g.n, g.groups * g.cin_g, g.in[0], g.in[1], g.in[2]};
  const std::int64_t dst5[5] = {g.n, g.groups * g.cout_g, g.out[0], g.out[1], g.out[2]};
  const std::int64_t w5[5] = {g.groups * g.cin_g, g.cout_g, g.k[0], g.k[1], g.k[2]};
  const std::int64_t bias1[1] = {g.groups * g.cout_g};
  const std::int64_t bstride[1] = {g.bias_stride};
  return offset_span(src5, g.src_stride, 5) <= kIndex32Max &&
         offset_span(dst5, g.dst_stride, 5) <= kIndex32Max &&
         offset_span(w5, g.w_stride, 5) <= kIndex32Max &&
         offset_span(bias1, bstride, 1) <= kIndex32Max && p.dst_numel <= kIndex32Max &&
         p.src_numel <= kIndex32Max;
}

// The launch of a tiled kernel over `space` (D, H, W) with `channels` = C_out.
struct TiledLaunch {
  dim3 grid;
  std::int64_t planes, tiles_h;
  kern::DeconvBlockShape shape;
  std::int64_t chunk;
  bool smem_w;
  std::size_t smem;
  std::size_t wtile_bytes;
};

TiledLaunch plan_tiled(const kern::DeconvGeometry& g, const std::int64_t space[3],
                       bool channels_fastest, std::size_t elem_bytes, std::size_t table_bytes) {
  TiledLaunch l{};
  const std::int64_t cout = g.groups * g.cout_g;
  l.shape = kern::deconv_block_shape(cout, space[2], space[1], channels_fastest);
  const std::int64_t tc = std::int64_t(1) << l.shape.bc;
  const std::int64_t ctiles = (cout + tc - 1) / tc;
  l.planes = g.n * ctiles * space[0];
  l.tiles_h = (space[1] + (std::int64_t(1) << l.shape.bh) - 1) >> l.shape.bh;
  const std::int64_t gx = (space[2] + (std::int64_t(1) << l.shape.bw) - 1) >> l.shape.bw;
  l.grid = dim3(static_cast<unsigned>(gx),
                static_cast<unsigned>(std::min<std::int64_t>(l.tiles_h, 65535)),
                static_cast<unsigned>(std::min<std::int64_t>(l.planes, 65535)));
  l.chunk = kern::deconv_chunk(g, static_cast<int>(tc), elem_bytes, kWeightTileBytes);
  l.smem_w = l.chunk > 0;
  if (!l.smem_w) l.chunk = g.cin_g;
  l.wtile_bytes =
      l.smem_w ? static_cast<std::size_t>(l.chunk * tc * g.k[0] * g.k[1] * g.k[2]) * elem_bytes : 0;
  l.wtile_bytes = (l.wtile_bytes + 15) / 16 * 16;
  l.smem = l.wtile_bytes + table_bytes;
  return l;
}

template <class Index>
TiledArgs<Index> tiled_args(const kern::DeconvGeometry& g, const TiledLaunch& l,
                            const std::int64_t space[3], bool narrow) {
  TiledArgs<Index> a{};
  a.g = g;
  for (int d = 0; d < 3; ++d) {
    a.ax[d] = kern::make_deconv_axis<Index>(g, d, narrow);
    a.space[d] = static_cast<Index>(space[d]);
  }
  const int tc = 1 << l.shape.bc;
  a.wt = kern::make_deconv_wtile<Index>(g, tc, narrow);
  a.tile_strides = kern::deconv_wtile_strides<Index>(g, a.wt);
  a.shape = l.shape;
  a.chunk = static_cast<Index>(l.chunk);
  a.smem_w = l.smem_w;
  a.planes = static_cast<Index>(l.planes);
  a.tiles_h = static_cast<Index>(l.tiles_h);
  a.div_d = kern::Divider<Index>(space[0], narrow);
  a.div_ct = kern::Divider<Index>((g.groups * g.cout_g + tc - 1) / tc, narrow);
  a.wtile_bytes = l.wtile_bytes;
  return a;
}

bool tiled_fits_32(const ConvTransposePlan& p, const TiledLaunch& l) {
  return operands_fit_32(p) && loop_fits_32(l.planes, l.grid.z) &&
         loop_fits_32(l.tiles_h, l.grid.y);
}

template <class T, class Index>
void gather_as(const ConvTransposePlan& p, const TiledLaunch& l, bool narrow, StreamHandle stream) {
  const TiledArgs<Index> a = tiled_args<Index>(p.g, l, p.g.out, narrow);
  gather_tiled_kernel<T, Index><<<l.grid, kBlock, l.smem, stream>>>(
      a, static_cast<const T*>(p.src), static_cast<const T*>(p.weight),
      static_cast<const T*>(p.bias), static_cast<T*>(p.dst));
  UPS_CUDA_CHECK(cudaGetLastError());
}

template <class T>
void launch_gather(const ConvTransposePlan& p, StreamHandle stream) {
  if (p.dst_numel == 0) return;
  const kern::DeconvGeometry& g = p.g;
  const kern::DeconvBlockShape s =
      kern::deconv_block_shape(g.groups * g.cout_g, g.out[2], g.out[1], g.dst_channels_last);
  // The tap tables of the block's columns and rows, in the wider index type.
  const std::size_t tables =
      ((std::size_t(1) << s.bw) + (std::size_t(1) << s.bh)) * sizeof(kern::TapWalkT<std::int64_t>);
  const TiledLaunch l = plan_tiled(g, g.out, g.dst_channels_last, sizeof(T), tables);
  if (tiled_fits_32(p, l)) {
    gather_as<T, std::int32_t>(p, l, true, stream);
  } else {
    gather_as<T, std::int64_t>(p, l, false, stream);
  }
}

template <class T, class Index>
void launch_scatter_as(const ConvTransposePlan& p, const TiledLaunch& l, bool narrow,
                       void* workspace, StreamHandle stream) {
  const kern::DeconvGeometry& g = p.g;
  const TiledArgs<Index> a = tiled_args<Index>(g, l, g.in, narrow);
  const kern::DeconvMemOrder<Index> mo = kern::make_deconv_mem_order<Index>(g, narrow);
  const T* bias = static_cast<const T*>(p.bias);
  const T* src = static_cast<const T*>(p.src);
  const T* w = static_cast<const T*>(p.weight);
  T* dst = static_cast<T*>(p.dst);
  const Index total = static_cast<Index>(p.dst_numel);
  const Index bstride = static_cast<Index>(g.bias_stride);
  const unsigned out_grid = grid_for(p.dst_numel, kBlock);
  if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
    if (bias == nullptr && dense_from_base(p.dst_view)) {
      UPS_CUDA_CHECK(
          cudaMemsetAsync(dst, 0, static_cast<std::size_t>(p.dst_numel) * sizeof(T), stream));
    } else {
      fill_kernel<T, Index><<<out_grid, kBlock, 0, stream>>>(mo, bias, bstride, dst, total);
      UPS_CUDA_CHECK(cudaGetLastError());
    }
    DirectSink<T, Index> sink{dst, {}};
    for (int i = 0; i < 5; ++i)
      sink.s[i] = static_cast<Index>(g.dst_stride[i]);
    scatter_tiled_kernel<T, DirectSink<T, Index>, Index>
        <<<l.grid, kBlock, l.smem, stream>>>(a, src, w, sink);
    UPS_CUDA_CHECK(cudaGetLastError());
  } else {
    float* acc = static_cast<float*>(workspace);
    UPS_CHECK(acc != nullptr, ErrorCode::kInternal, "scatter needs its f32 workspace");
    UPS_CUDA_CHECK(
        cudaMemsetAsync(acc, 0, static_cast<std::size_t>(p.dst_numel) * sizeof(float), stream));
    F32Sink<Index> sink{acc, {}};
    for (int i = 0; i < 5; ++i)
      sink.s[i] = mo.dense[i];
    scatter_tiled_kernel<T, F32Sink<Index>, Index>
        <<<l.grid, kBlock, l.smem, stream>>>(a, src, w, sink);
    UPS_CUDA_CHECK(cudaGetLastError());
    finish_kernel<T, Index><<<out_grid, kBlock, 0, stream>>>(mo, acc, bias, bstride, dst, total);
    UPS_CUDA_CHECK(cudaGetLastError());
  }
}

template <class T>
void launch_scatter(const ConvTransposePlan& p, void* workspace, StreamHandle stream) {
  if (p.dst_numel == 0) return;
  const kern::DeconvGeometry& g = p.g;
  const TiledLaunch l = plan_tiled(g, g.in, g.src_channels_last, sizeof(T), 0);
  const std::int64_t step = std::int64_t(grid_for(p.dst_numel, kBlock)) * kBlock;
  if (tiled_fits_32(p, l) && loop_fits_32(p.dst_numel, step)) {
    launch_scatter_as<T, std::int32_t>(p, l, true, workspace, stream);
  } else {
    launch_scatter_as<T, std::int64_t>(p, l, false, workspace, stream);
  }
}

template <class T, class Index>
void add_bias_as(const ConvTransposePlan& p, bool narrow, StreamHandle stream) {
  add_bias_kernel<T, Index><<<grid_for(p.dst_numel, kBlock), kBlock, 0, stream>>>(
      kern::make_deconv_mem_order<Index>(p.g, narrow), static_cast<const T*>(p.bias),
      static_cast<Index>(p.g.bias_stride), static_cast<T*>(p.dst), static_cast<Index>(p.dst_numel));
  UPS_CUDA_CHECK(cudaGetLastError());
}

}  // namespace

void deconv_gather_cuda(const ConvTransposePlan& p, StreamHandle stream) {
  dispatch_float(p.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    launch_gather<T>(p, stream);
  });
}

std::size_t deconv_scatter_workspace(const ConvTransposePlan& p) {
  if (p.dtype == DType::kF16 || p.dtype == DType::kBF16) {
    return static_cast<std::size_t>(p.dst_numel) * sizeof(float);
  }
  return 0;
}

void deconv_scatter_cuda(const ConvTransposePlan& p, void* workspace, StreamHandle stream) {
  dispatch_float(p.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    launch_scatter<T>(p, workspace, stream);
  });
}

void deconv_add_bias_cuda(const ConvTransposePlan& p, StreamHandle stream) {
  if (p.bias == nullptr || p.dst_numel == 0) return;
  const std::int64_t step = std::int64_t(grid_for(p.dst_numel, kBlock)) * kBlock;
  const bool narrow = operands_fit_32(p) && loop_fits_32(p.dst_numel, step);
  dispatch_float(p.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (narrow) {
      add_bias_as<T, std::int32_t>(p, true, stream);
    } else {
      add_bias_as<T, std::int64_t>(p, false, stream);
    }
  });
}

}  // namespace detail
}  // namespace ups
