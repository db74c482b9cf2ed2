// The cuDNN entry points of ups::conv_transpose for CUDA builds without cuDNN: cuDNN always
// declines, so `auto` and `benchmark` use the native kernels and `cudnn` is a clear error.
#ifndef UPS_HAVE_CUDNN

#include "check.hpp"
#include "conv_transpose_plan.hpp"

namespace ups {
namespace detail {

struct CudnnDeconvPlan {};

bool cudnn_deconv_compiled() noexcept {
  return false;
}

CudnnDeconvQuery cudnn_deconv_plan(const ConvTransposePlan&, bool, bool, std::size_t) {
  CudnnDeconvQuery q;
  q.reason = "this build of ups has no cuDNN";
  return q;
}

void cudnn_runtime_versions(std::size_t* version, std::size_t* cudart) noexcept {
  *version = 0;
  *cudart = 0;
}

void cudnn_deconv_execute(const CudnnDeconvQuery&, const ConvTransposePlan&, void*, StreamHandle) {
  fail(ErrorCode::kNotCompiled, "this build of ups has no cuDNN");
}

}  // namespace detail
}  // namespace ups

#endif  // UPS_HAVE_CUDNN
