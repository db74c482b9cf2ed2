// The CUDA device an op runs on (CudaDeviceScope), ups's stream-ordered scratch pools, and the
// runtime versions that `ups info` and ups::runtime_info() report.
#include <cuda_runtime_api.h>

#include <cstdint>
#include <limits>
#include <mutex>
#include <vector>

#include "check.hpp"
#include "cuda/cuda_check.hpp"
#include "cuda/runtime.hpp"
#include "cuda/scratch.hpp"

namespace ups {
namespace detail {
namespace {

// cudaStreamLegacy and cudaStreamPerThread are handles that name "the default stream of the
// current device", not a stream of their own.
bool names_a_stream(StreamHandle s) {
  const auto v = reinterpret_cast<std::uintptr_t>(s);
  return v > 2;
}

std::string device_name(int device) {
  return concat("cuda:", device);
}

// Where `v` lives, or throws when the op's device cannot reach it.
void check_reachable(const NamedView& nv, int device, const char* why) {
  const TensorView& v = *nv.view;
  if (v.data == nullptr || v.numel() == 0) return;
  cudaPointerAttributes attr{};
  const cudaError_t err = cudaPointerGetAttributes(&attr, v.data);
  if (err != cudaSuccess) {
    (void)cudaGetLastError();
    fail(ErrorCode::kCudaError, concat(nv.name, ": cudaPointerGetAttributes failed: ",
                                       cudaGetErrorName(err), ": ", cudaGetErrorString(err)));
  }
  switch (attr.type) {
    case cudaMemoryTypeDevice:
      UPS_CHECK(attr.device == device, ErrorCode::kUnsupportedDevice, nv.name,
                " is in the memory of ", device_name(attr.device), ", but the op runs on ",
                device_name(device), " (", why, "); all tensors of an op must be on one device");
      return;
    case cudaMemoryTypeManaged:
    case cudaMemoryTypeHost:  // pinned or registered host memory: mapped into every device
      return;
    default: {
      // Pageable host memory: a CPU pointer in a view that says cuda. Only devices with
      // pageable-memory access (HMM, ATS) can read it; elsewhere a kernel would fault.
      int pageable = 0;
      UPS_CUDA_CHECK(cudaDeviceGetAttribute(&pageable, cudaDevAttrPageableMemoryAccess, device));
      UPS_CHECK(pageable != 0, ErrorCode::kUnsupportedDevice, nv.name,
                " is marked as a CUDA tensor, but its data pointer is ordinary host memory, which ",
                device_name(device), " cannot access; copy it to the device first");
      return;
    }
  }
}

}  // namespace

CudaDeviceScope::CudaDeviceScope(const Context& ctx, std::initializer_list<NamedView> views) {
  int current = 0;
  UPS_CUDA_CHECK(cudaGetDevice(&current));
  const char* why = "the calling thread's current device";
  int stream_device = -1;
  if (names_a_stream(ctx.stream())) {
    UPS_CUDA_CHECK(cudaStreamGetDevice(ctx.stream(), &stream_device));
  }
  if (ctx.cuda_device().has_value()) {
    device_ = *ctx.cuda_device();
    why = "the context's device";
    UPS_CHECK(stream_device < 0 || stream_device == device_, ErrorCode::kUnsupportedDevice,
              "the context's stream belongs to ", device_name(stream_device),
              ", but the context is pinned to ", device_name(device_));
  } else if (stream_device >= 0) {
    device_ = stream_device;
    why = "the device of the context's stream";
  } else {
    device_ = current;
    for (const NamedView& nv : views) {
      if (nv.view == nullptr || nv.view->data == nullptr || nv.view->numel() == 0) continue;
      cudaPointerAttributes attr{};
      if (cudaPointerGetAttributes(&attr, nv.view->data) != cudaSuccess) {
        (void)cudaGetLastError();
        continue;  // reported by check_reachable below
      }
      if (attr.type == cudaMemoryTypeDevice) {
        device_ = attr.device;
        why = "the device that holds the op's tensors";
        break;
      }
    }
  }
  for (const NamedView& nv : views) {
    if (nv.view != nullptr) check_reachable(nv, device_, why);
  }
  if (device_ != current) {
    UPS_CUDA_CHECK(cudaSetDevice(device_));
    previous_ = current;
  }
}

CudaDeviceScope::~CudaDeviceScope() {
  if (previous_ >= 0) {
    // A destructor must not throw; setting back a device that was current a moment ago fails
    // only when the driver itself has failed, and the next CUDA call reports that.
    if (cudaSetDevice(previous_) != cudaSuccess) (void)cudaGetLastError();
  }
}

// ---- scratch pools ----

namespace {

struct Pools {
  std::mutex mutex;
  std::vector<cudaMemPool_t> by_device;  // null until first used
};
Pools& pools() {
  // Never destroyed: pools must outlive every thread that may still free into them, and
  // destroying them during process exit races with the driver's own teardown.
  static auto* p = new Pools();
  return *p;
}

}  // namespace

cudaMemPool_t scratch_pool(int device) {
  Pools& p = pools();
  std::lock_guard<std::mutex> lock(p.mutex);
  if (p.by_device.size() <= static_cast<std::size_t>(device)) {
    p.by_device.resize(static_cast<std::size_t>(device) + 1, nullptr);
  }
  cudaMemPool_t& pool = p.by_device[static_cast<std::size_t>(device)];
  if (pool != nullptr) return pool;
  int supported = 0;
  UPS_CUDA_CHECK(cudaDeviceGetAttribute(&supported, cudaDevAttrMemoryPoolsSupported, device));
  UPS_CHECK(supported != 0, ErrorCode::kUnsupportedDevice, device_name(device),
            " has no stream-ordered memory pools, so ops cannot allocate scratch memory there; "
            "give the context a workspace (Context::set_workspace)");
  cudaMemPoolProps props{};
  props.allocType = cudaMemAllocationTypePinned;
  props.handleTypes = cudaMemHandleTypeNone;
  props.location.type = cudaMemLocationTypeDevice;
  props.location.id = device;
  cudaMemPool_t created = nullptr;
  UPS_CUDA_CHECK(cudaMemPoolCreate(&created, &props));
  // Keep freed memory across synchronisations: with the default threshold of 0, every
  // synchronise returns it to the driver and the next call maps it again.
  std::uint64_t keep = std::numeric_limits<std::uint64_t>::max();
  UPS_CUDA_CHECK(cudaMemPoolSetAttribute(created, cudaMemPoolAttrReleaseThreshold, &keep));
  pool = created;
  return pool;
}

std::size_t scratch_pool_reserved(int device) {
  Pools& p = pools();
  std::lock_guard<std::mutex> lock(p.mutex);
  if (device < 0 || static_cast<std::size_t>(device) >= p.by_device.size()) return 0;
  cudaMemPool_t pool = p.by_device[static_cast<std::size_t>(device)];
  if (pool == nullptr) return 0;
  std::uint64_t bytes = 0;
  UPS_CUDA_CHECK(cudaMemPoolGetAttribute(pool, cudaMemPoolAttrReservedMemCurrent, &bytes));
  return static_cast<std::size_t>(bytes);
}

void scratch_pool_trim() {
  Pools& p = pools();
  std::lock_guard<std::mutex> lock(p.mutex);
  for (cudaMemPool_t pool : p.by_device) {
    if (pool != nullptr) UPS_CUDA_CHECK(cudaMemPoolTrimTo(pool, 0));
  }
}

void cuda_runtime_versions(int* runtime, int* driver) noexcept {
  *runtime = 0;
  *driver = 0;
  if (cudaRuntimeGetVersion(runtime) != cudaSuccess) *runtime = 0;
  if (cudaDriverGetVersion(driver) != cudaSuccess) *driver = 0;
  (void)cudaGetLastError();
}

bool cuda_wide_index() {
  static const bool on = env_flag("UPS_CUDA_WIDE_INDEX");
  return on;
}

}  // namespace detail
}  // namespace ups
