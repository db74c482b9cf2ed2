// ups::max_pool's plan: what the front end (src/pool.cpp) validated and hands to the backends
// (src/cpu/max_pool_cpu.cpp, kernels/pool/max_pool.cu).
#pragma once

#include <cstddef>
#include <cstdint>

#include "check.hpp"
#include "dispatch.hpp"
#include "pool/pool_math.hpp"
#include "ups/context.hpp"
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

// The index check of max_pool_backward: the largest C-order position in indices of an index the
// pass does not accept (-1 when there is none), and that index.
struct PoolIndexStatus {
  std::int64_t position;
  std::int64_t index;
};

// Checks the indices, then (when they are all accepted) computes grad_input. Fills `status`.
void max_pool_backward_cpu(const MaxPoolBackwardPlan& plan, const void* grad_output,
                           const std::int64_t* indices, void* grad_input, int threads,
                           PoolIndexStatus* status);
// Enqueues the check and the gather on ctx.stream(), then waits for the stream and throws when
// an index was not accepted.
void max_pool_backward_cuda(const MaxPoolBackwardPlan& plan, const void* grad_output,
                            const std::int64_t* indices, void* grad_input, const Context& ctx);
// The error of a filled status record.
[[noreturn]] void throw_invalid_pool_index(const MaxPoolBackwardPlan& plan,
                                           const PoolIndexStatus& status);

}  // namespace detail
}  // namespace ups
