// Stand-ins for the CUDA side of ups::conv_transpose in CPU-only builds. Contexts cannot be
// created on CUDA there, so these are unreachable through the public API.
#include "check.hpp"
#include "conv_transpose_plan.hpp"

namespace ups {
namespace detail {

ConvTransposeResult conv_transpose_cuda(const Context&, const ConvTransposePlan&,
                                        ConvTransposeAlgo) {
  fail(ErrorCode::kNotCompiled, "this build of ups has no CUDA backend");
}

std::size_t conv_transpose_cuda_workspace(const Context&, const ConvTransposePlan&,
                                          ConvTransposeAlgo) {
  fail(ErrorCode::kNotCompiled, "this build of ups has no CUDA backend");
}

ConvTransposeResult conv_transpose_backward_cuda(const Context&, const ConvTransposeBackwardPlan&,
                                                 DeconvPass, ConvTransposeAlgo) {
  fail(ErrorCode::kNotCompiled, "this build of ups has no CUDA backend");
}

std::size_t conv_transpose_backward_cuda_workspace(const Context&, const ConvTransposeBackwardPlan&,
                                                   DeconvPass, ConvTransposeAlgo) {
  fail(ErrorCode::kNotCompiled, "this build of ups has no CUDA backend");
}

}  // namespace detail
}  // namespace ups
