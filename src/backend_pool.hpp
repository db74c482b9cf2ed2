// The interface between the validating front ends of the pooling family and pixel shuffle
// (src/pool.cpp, src/pixel_shuffle.cpp) and their backends (src/cpu, kernels/pool,
// kernels/pixel_shuffle). Everything here has been validated before it is called.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "backend.hpp"
#include "check.hpp"
#include "common/hd.hpp"
#include "pixel_shuffle/shuffle_math.hpp"
#include "pool/pool_math.hpp"
#include "ups/context.hpp"
#include "ups/max_unpool.hpp"
#include "ups/tensor.hpp"

namespace ups {
namespace detail {

template <class T>
struct PoolTypeTag {
  using type = T;
};

// Calls f(PoolTypeTag<T>{}) with T the storage type of `dtype`, for every dtype: max_pool
// compares values, so it needs the real element type.
template <class F>
decltype(auto) dispatch_all_types(DType dtype, F&& f) {
  switch (dtype) {
    case DType::kF32:
      return f(PoolTypeTag<float>{});
    case DType::kF64:
      return f(PoolTypeTag<double>{});
    case DType::kF16:
      return f(PoolTypeTag<kern::half_t>{});
    case DType::kBF16:
      return f(PoolTypeTag<kern::bf16_t>{});
    case DType::kU8:
      return f(PoolTypeTag<std::uint8_t>{});
    case DType::kI32:
      return f(PoolTypeTag<std::int32_t>{});
    case DType::kI64:
      return f(PoolTypeTag<std::int64_t>{});
  }
  fail(ErrorCode::kUnsupportedDType, concat("unsupported dtype ", to_string(dtype)));
}

// Calls f(PoolTypeTag<U>{}) with U the unsigned integer of `dtype`'s size. Ops that only move
// bits (max_unpool, pixel shuffle) instantiate one body per element size instead of per dtype.
template <class F>
decltype(auto) dispatch_by_size(DType dtype, F&& f) {
  switch (dtype_size(dtype)) {
    case 1:
      return f(PoolTypeTag<std::uint8_t>{});
    case 2:
      return f(PoolTypeTag<std::uint16_t>{});
    case 4:
      return f(PoolTypeTag<std::uint32_t>{});
    case 8:
      return f(PoolTypeTag<std::uint64_t>{});
    default:
      break;
  }
  fail(ErrorCode::kUnsupportedDType, concat("unsupported dtype ", to_string(dtype)));
}

// ---- max_pool ---------------------------------------------------------------------------------

struct MaxPoolPlan {
  kern::PoolGeometry geometry;
  DType dtype;
  std::int64_t total;  // number of output elements
};

void max_pool_cpu(const MaxPoolPlan& plan, const void* src, void* dst, std::int64_t* indices,
                  int threads);
// Enqueues the max_pool kernel on `stream`. Throws ups::Error on launch failure.
void max_pool_cuda(const MaxPoolPlan& plan, const void* src, void* dst, std::int64_t* indices,
                   StreamHandle stream);

// ---- max_unpool -------------------------------------------------------------------------------

struct MaxUnpoolPlan {
  kern::UnpoolGeometry geometry;
  DType dtype;
  std::int64_t total_in;   // input elements
  std::int64_t total_out;  // output elements
  // The output's elements fill the byte range [dense_offset, dense_offset + dense_bytes) of dst
  // exactly (any dense layout), so zero-filling it is one memset; dense_bytes is 0 otherwise.
  std::int64_t dense_offset;
  std::int64_t dense_bytes;
  std::int64_t dst_sizes[5];  // for zero-filling a non-dense output element by element
  std::int64_t volume[3];     // output plane sizes as PyTorch's message prints them
  std::int64_t volume_dims;
};

// Runs max_unpool on the CPU. Writes the invalid index to report into `status` (position -1 when
// there is none).
void max_unpool_cpu(const MaxUnpoolPlan& plan, const void* src, const std::int64_t* indices,
                    void* dst, int threads, MaxUnpoolStatus* status);
// CUDA scratch of max_unpool (see max_unpool.hpp): the status record when the op owns it, then
// the claim slots in deterministic mode. The workspace it takes is scratch_footprint(payload):
// the payload plus the slack that aligns its start (src/cuda/scratch.hpp). A slot holds
// 1 + an input position within a plane, so 32 bits suffice unless a plane is that large.
struct UnpoolScratchLayout {
  std::size_t status_bytes;  // 0 or 64
  std::size_t slot_size;     // 4 or 8
  std::size_t slot_bytes;    // 0 unless deterministic
  std::size_t payload;       // status_bytes + slot_bytes; 0 when nothing is needed
};

inline UnpoolScratchLayout unpool_scratch_layout(std::int64_t total_out, std::int64_t plane_in,
                                                 bool deterministic, bool has_status) {
  static_assert(sizeof(MaxUnpoolStatus) <= 64, "the status record must fit its 64-byte slot");
  UnpoolScratchLayout l{};
  l.status_bytes = has_status ? 0 : 64;
  l.slot_size = plane_in < std::int64_t(0xffffffff) ? 4 : 8;
  if (deterministic) {
    const bool overflow =
        __builtin_mul_overflow(static_cast<std::size_t>(total_out), l.slot_size, &l.slot_bytes) ||
        l.slot_bytes > (std::size_t(1) << 62);
    UPS_CHECK(!overflow, ErrorCode::kOutOfMemory, "max_unpool: deterministic scratch for ",
              total_out, " output elements overflows");
  }
  l.payload = l.status_bytes + l.slot_bytes;
  return l;
}

// Enqueues max_unpool on ctx.stream(). With `status` (device memory) the check is deferred;
// without, the op synchronises and throws on an invalid index.
void max_unpool_cuda(const MaxUnpoolPlan& plan, const void* src, const std::int64_t* indices,
                     void* dst, const Context& ctx, MaxUnpoolStatus* status);
// Copies a device status record to `out`, synchronising `stream`.
void max_unpool_read_status_cuda(const MaxUnpoolStatus* status, MaxUnpoolStatus* out,
                                 StreamHandle stream);

// The "Found an invalid max index" error of a filled status record.
[[noreturn]] void throw_invalid_max_index(const MaxUnpoolStatus& status);

// ---- pixel shuffle ----------------------------------------------------------------------------

struct ShufflePlan {
  kern::ShuffleGeometry geometry;
  DType dtype;
  std::int64_t total;  // number of output elements
  bool allow_vector;   // ShuffleKernel::kAuto
};

// One leading dim (before C, H, W) of a shuffle: its size and the strides of src and dst.
struct ShuffleLeadDim {
  std::int64_t size;
  std::int64_t src_stride;
  std::int64_t dst_stride;
};

// The `count` leading dims with the given sizes and strides, outermost first, reduced to as few
// as address the same elements in the same order: size-1 dims are dropped, and a dim merges
// into the next inner one when, in src and in dst alike, its stride is the inner one's stride
// times the inner size. Empty when every leading dim has size 1 (or there are none).
inline std::vector<ShuffleLeadDim> collapse_shuffle_lead_dims(int count, const std::int64_t* sizes,
                                                              const std::int64_t* src_strides,
                                                              const std::int64_t* dst_strides) {
  std::vector<ShuffleLeadDim> dims;
  for (int i = 0; i < count; ++i) {
    if (sizes[i] != 1) dims.push_back({sizes[i], src_strides[i], dst_strides[i]});
  }
  // Merge from the inside out: dims[k] folds into dims[k + 1] when stepping it once is the same
  // as stepping dims[k + 1] through its whole size, in both tensors.
  std::vector<ShuffleLeadDim> merged;
  for (auto it = dims.rbegin(); it != dims.rend(); ++it) {
    if (!merged.empty()) {
      ShuffleLeadDim& inner = merged.back();
      if (it->src_stride == inner.src_stride * inner.size &&
          it->dst_stride == inner.dst_stride * inner.size) {
        inner.size *= it->size;
        continue;
      }
    }
    merged.push_back(*it);
  }
  return std::vector<ShuffleLeadDim>(merged.rbegin(), merged.rend());
}

void pixel_shuffle_cpu(const ShufflePlan& plan, const void* src, void* dst, int threads);
// Enqueues the shuffle kernel on `stream`. Throws ups::Error on launch failure.
void pixel_shuffle_cuda(const ShufflePlan& plan, const void* src, void* dst, StreamHandle stream);

}  // namespace detail
}  // namespace ups
