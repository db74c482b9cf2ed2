// Stand-ins for the CUDA side of ups::conv_transpose in CPU-only builds. Contexts cannot be
// created on CUDA there, so these are unreachable through the public API.
#include "backend_deconv.hpp"
#include "check.hpp"

namespace ups {
namespace detail {

ConvTransposeResult conv_transpose_cuda(const Context&, const DeconvProblem&, ConvTransposeAlgo) {
  fail(ErrorCode::kNotCompiled, "this build of ups has no CUDA backend");
}

std::size_t conv_transpose_cuda_workspace(const Context&, const DeconvProblem&, ConvTransposeAlgo) {
  fail(ErrorCode::kNotCompiled, "this build of ups has no CUDA backend");
}

}  // namespace detail
}  // namespace ups
