// Stand-ins for the CUDA backend of the resampling engine in CPU-only builds. Contexts cannot be
// created on CUDA there, so these are unreachable through the public API.
#include "check.hpp"
#include "resample_plan.hpp"

namespace ups {
namespace detail {

void resample_cuda(const Context&, const ResamplePlan&, const TensorView&, const TensorView&) {
  fail(ErrorCode::kNotCompiled, "this build of ups has no CUDA backend");
}

std::size_t resample_cuda_workspace(const ResamplePlan&) {
  return 0;
}

}  // namespace detail
}  // namespace ups
