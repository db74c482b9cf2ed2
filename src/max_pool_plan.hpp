// ups::max_pool's plan: what the front end (src/pool.cpp) validated and hands to the backends
// (src/cpu/max_pool_cpu.cpp, kernels/pool/max_pool.cu).
#pragma once

#include <cstddef>
#include <cstdint>

#include "check.hpp"
#include "dispatch.hpp"
#include "pool/pool_math.hpp"
#include "ups/context.hpp"
#include "ups/max_pool.hpp"
#include "ups/tensor.hpp"

namespace ups {
namespace detail {

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

// ups::max_pool_backward's plan (src/pool.cpp; src/cpu/max_pool_backward_cpu.cpp,
// kernels/pool/max_pool_backward.cu).
struct MaxPoolBackwardPlan {
  kern::PoolBackwardGeometry geometry;
  DType dtype;
  std::int64_t total_in;   // grad_input elements
  std::int64_t total_out;  // grad_output (and indices) elements
  int dims;                // spatial dims (1, 2 or 3)
};

// The status record of the index check (ups::MaxPoolStatus) with no invalid index: position -1,
// and the plane sizes of this call, which the error message prints.
inline MaxPoolStatus pool_status_ok(const MaxPoolBackwardPlan& plan) {
  MaxPoolStatus st{};
  st.position = -1;
  st.index = 0;
  for (int j = 0; j < plan.dims; ++j)
    st.plane[j] = plan.geometry.in[3 - plan.dims + j];
  st.plane_dims = plan.dims;
  return st;
}

// Checks the indices and fills `status`: the largest C-order position in indices of an index the
// pass does not accept (-1 when there is none), and that index. Then computes grad_input, unless
// an index was not accepted and `write_on_error` is false (a window with an invalid index
// contributes nothing to the gather).
void max_pool_backward_cpu(const MaxPoolBackwardPlan& plan, const void* grad_output,
                           const std::int64_t* indices, void* grad_input, int threads,
                           MaxPoolStatus* status, bool write_on_error);
// Enqueues the check and the gather on ctx.stream(). With `status` (device memory) the check is
// deferred: the kernels record into it and nothing waits. Without, the op takes the record from
// scratch, waits for the stream and throws when an index was not accepted.
void max_pool_backward_cuda(const MaxPoolBackwardPlan& plan, const void* grad_output,
                            const std::int64_t* indices, void* grad_input, const Context& ctx,
                            MaxPoolStatus* status);
// Copies a device status record to `out`, synchronising `stream`.
void max_pool_read_status_cuda(const MaxPoolStatus* status, MaxPoolStatus* out,
                               StreamHandle stream);
// The error of a filled status record.
[[noreturn]] void throw_invalid_pool_index(const MaxPoolStatus& status);

}  // namespace detail
}  // namespace ups
