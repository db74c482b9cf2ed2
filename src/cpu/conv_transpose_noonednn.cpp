// The oneDNN entry points of ups::conv_transpose for builds without oneDNN: oneDNN always
// declines, so `auto` and `benchmark` run the native gemm path and `onednn` is a clear error.
#ifndef UPS_HAVE_ONEDNN

#include "conv_transpose_plan.hpp"

namespace ups {
namespace detail {

bool onednn_compiled() noexcept {
  return false;
}

std::string onednn_deconv(const ConvTransposePlan&, int, bool) {
  return "this build of ups has no oneDNN";
}

}  // namespace detail
}  // namespace ups

#endif  // UPS_HAVE_ONEDNN
