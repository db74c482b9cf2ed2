#include "views.hpp"

#include <string>

#include "ups/error.hpp"

namespace nb = nanobind;

namespace ups::python {

namespace {

DType to_dtype(const nb::dlpack::dtype& t, const char* name) {
  using Code = nb::dlpack::dtype_code;
  const auto code = static_cast<Code>(t.code);
  if (t.lanes == 1) {
    if (code == Code::Float && t.bits == 32) return DType::kF32;
    if (code == Code::Float && t.bits == 64) return DType::kF64;
    if (code == Code::Float && t.bits == 16) return DType::kF16;
    if (code == Code::Bfloat && t.bits == 16) return DType::kBF16;
    if (code == Code::UInt && t.bits == 8) return DType::kU8;
    if (code == Code::Int && t.bits == 32) return DType::kI32;
    if (code == Code::Int && t.bits == 64) return DType::kI64;
  }
  throw Error(ErrorCode::kUnsupportedDType,
              std::string(name) + ": unsupported element type (DLPack code " +
                  std::to_string(t.code) + ", " + std::to_string(t.bits) + " bits, " +
                  std::to_string(t.lanes) +
                  " lanes); ups supports float32, float64, float16, bfloat16, uint8, int32 and "
                  "int64");
}

Device to_device(int device_type, const char* name) {
  switch (device_type) {
    case nb::device::cpu::value:
    // Pinned host memory is ordinary host memory to the CPU backend.
    case nb::device::cuda_host::value:
      return Device::kCPU;
    case nb::device::cuda::value:
    case nb::device::cuda_managed::value:
      return Device::kCUDA;
    default:
      throw Error(ErrorCode::kUnsupportedDevice,
                  std::string(name) + ": unsupported DLPack device type " +
                      std::to_string(device_type) + "; ups runs on the CPU and on CUDA devices");
  }
}

template <class Array>
TensorView view_of(const Array& a, const char* name) {
  if (a.ndim() > static_cast<std::size_t>(kMaxDims)) {
    throw Error(ErrorCode::kShapeMismatch,
                std::string(name) + ": rank " + std::to_string(a.ndim()) +
                    " exceeds ups's limit of " + std::to_string(kMaxDims) + " dims");
  }
  TensorView v;
  v.data = const_cast<void*>(static_cast<const void*>(a.data()));
  v.dtype = to_dtype(a.dtype(), name);
  v.device = to_device(a.device_type(), name);
  v.ndim = static_cast<int>(a.ndim());
  for (int i = 0; i < v.ndim; ++i) {
    v.sizes[i] = static_cast<std::int64_t>(a.shape(static_cast<std::size_t>(i)));
    v.strides[i] = a.stride(static_cast<std::size_t>(i));
  }
  return v;
}

}  // namespace

TensorView to_view(const InArray& array, const char* name) {
  return view_of(array, name);
}

TensorView to_view(const OutArray& array, const char* name) {
  return view_of(array, name);
}

Context make_context(Device device, std::uintptr_t stream, std::optional<bool> deterministic) {
  Context ctx(device, device == Device::kCUDA ? reinterpret_cast<StreamHandle>(stream) : nullptr);
  ctx.set_deterministic(deterministic);
  return ctx;
}

}  // namespace ups::python
