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

}  // namespace detail
}  // namespace ups
