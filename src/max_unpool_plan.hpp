// ups::max_unpool's plan: what the front end (src/pool.cpp) validated and hands to the backends
// (src/cpu/max_unpool_cpu.cpp, kernels/pool/max_unpool.cu), and its CUDA scratch layout.
#pragma once

#include <cstddef>
#include <cstdint>

#include "check.hpp"
#include "cuda/runtime.hpp"
#include "dispatch.hpp"
#include "pool/pool_math.hpp"
#include "ups/context.hpp"
#include "ups/max_unpool.hpp"
#include "ups/tensor.hpp"

namespace ups {
namespace detail {

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

// max_unpool_backward: the geometry's src strides are grad_input's, its dst strides (and
// dst_sizes) grad_output's. The CPU pass fills `status`; the CUDA one records into `status`
// when given (deferred check), else synchronises and throws.
void max_unpool_backward_cpu(const MaxUnpoolPlan& plan, const void* grad_output,
                             const std::int64_t* indices, void* grad_input, int threads,
                             MaxUnpoolStatus* status);
void max_unpool_backward_cuda(const MaxUnpoolPlan& plan, const void* grad_output,
                              const std::int64_t* indices, void* grad_input, const Context& ctx,
                              MaxUnpoolStatus* status);

// The "Found an invalid max index" error of a filled status record.
[[noreturn]] void throw_invalid_max_index(const MaxUnpoolStatus& status);

}  // namespace detail
}  // namespace ups
