// Stand-ins for the CUDA backend in CPU-only builds. Contexts cannot be created on CUDA there,
// so the op entry points below are unreachable through the public API.
#include <string>

#include "backend.hpp"
#include "check.hpp"

namespace ups {
namespace detail {

int cuda_device_count() noexcept {
  return 0;
}
std::string cuda_unavailable_reason() {
  return "this build of ups has no CUDA backend";
}
void interpolate_cuda(const InterpPlan&, const void*, void*, StreamHandle) {
  fail(ErrorCode::kNotCompiled, "this build of ups has no CUDA backend");
}

}  // namespace detail
}  // namespace ups
