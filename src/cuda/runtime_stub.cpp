// Stand-ins for the CUDA backend in CPU-only builds. Contexts cannot be created on CUDA there,
// so the op entry points below are unreachable through the public API.
#include <string>

#include "check.hpp"
#include "cuda/runtime.hpp"
#include "interpolate_plan.hpp"

namespace ups {
namespace detail {

int cuda_device_count() noexcept {
  return 0;
}
std::string cuda_unavailable_reason() {
  return "this build of ups has no CUDA backend";
}
CudaDeviceScope::CudaDeviceScope(const Context&, std::initializer_list<NamedView>) {
  fail(ErrorCode::kNotCompiled, "this build of ups has no CUDA backend");
}
CudaDeviceScope::~CudaDeviceScope() = default;
std::size_t scratch_pool_reserved(int) {
  return 0;
}
void scratch_pool_trim() {}
void cuda_runtime_versions(int* runtime, int* driver) noexcept {
  *runtime = 0;
  *driver = 0;
}
void cudnn_runtime_versions(std::size_t* version, std::size_t* cudart) noexcept {
  *version = 0;
  *cudart = 0;
}
void interpolate_cuda(const InterpolatePlan&, const void*, void*, StreamHandle) {
  fail(ErrorCode::kNotCompiled, "this build of ups has no CUDA backend");
}

}  // namespace detail
}  // namespace ups
