// Stand-ins for the CUDA backend of interpolate_backward in CPU-only builds. Contexts cannot be
// created on CUDA there, so these are unreachable through the public API.
#include "check.hpp"
#include "interpolate_plan.hpp"

namespace ups {
namespace detail {

void interpolate_backward_cuda(const Context&, const InterpolatePlan&, const void*, void*) {
  fail(ErrorCode::kNotCompiled, "this build of ups has no CUDA backend");
}

std::size_t interpolate_backward_cuda_workspace(const InterpolatePlan&) {
  fail(ErrorCode::kNotCompiled, "this build of ups has no CUDA backend");
}

}  // namespace detail
}  // namespace ups
