#include "ups/error.hpp"

namespace ups {

const char* to_string(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return "invalid argument";
    case ErrorCode::kShapeMismatch:
      return "shape mismatch";
    case ErrorCode::kUnsupportedDType:
      return "unsupported dtype";
    case ErrorCode::kUnsupportedDevice:
      return "unsupported device";
    case ErrorCode::kOutOfMemory:
      return "out of memory";
    case ErrorCode::kNotCompiled:
      return "not compiled";
    case ErrorCode::kCudaError:
      return "CUDA error";
    case ErrorCode::kCudnnError:
      return "cuDNN error";
    case ErrorCode::kIoError:
      return "I/O error";
    case ErrorCode::kInternal:
      return "internal error";
  }
  return "unknown error";
}

}  // namespace ups
