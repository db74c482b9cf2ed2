// Stand-ins for the CUDA backends of max_pool, max_unpool and the pixel shuffles in CPU-only
// builds. Contexts cannot be created on CUDA there, so these are unreachable through the public
// API.
#include "check.hpp"
#include "max_pool_plan.hpp"
#include "max_unpool_plan.hpp"
#include "pixel_shuffle_plan.hpp"

namespace ups {
namespace detail {

namespace {
[[noreturn]] void no_cuda() {
  fail(ErrorCode::kNotCompiled, "this build of ups has no CUDA backend");
}
}  // namespace

void max_pool_cuda(const MaxPoolPlan&, const void*, void*, std::int64_t*, StreamHandle) {
  no_cuda();
}

void max_unpool_cuda(const MaxUnpoolPlan&, const void*, const std::int64_t*, void*, const Context&,
                     MaxUnpoolStatus*) {
  no_cuda();
}

void max_unpool_read_status_cuda(const MaxUnpoolStatus*, MaxUnpoolStatus*, StreamHandle) {
  no_cuda();
}

void max_pool_backward_cuda(const MaxPoolBackwardPlan&, const void*, const std::int64_t*, void*,
                            const Context&, MaxPoolStatus*) {
  no_cuda();
}

void max_pool_read_status_cuda(const MaxPoolStatus*, MaxPoolStatus*, StreamHandle) {
  no_cuda();
}

void max_unpool_backward_cuda(const MaxUnpoolPlan&, const void*, const std::int64_t*, void*,
                              const Context&, MaxUnpoolStatus*) {
  no_cuda();
}

void pixel_shuffle_cuda(const PixelShufflePlan&, const void*, void*, StreamHandle) {
  no_cuda();
}

}  // namespace detail
}  // namespace ups
