/// @file error.hpp
/// @brief The single exception type that every ups entry point throws on failure.
#pragma once

#include <stdexcept>
#include <string>

#include "ups/export.hpp"

namespace ups {

/// @brief Why an operation failed.
enum class ErrorCode : int {
  kInvalidArgument = 1,  ///< A parameter is out of range or parameters contradict each other.
  kShapeMismatch,        ///< A tensor's rank or sizes do not fit the operation.
  kUnsupportedDType,     ///< The operation does not support this element type.
  kUnsupportedDevice,    ///< Tensors and context disagree on the device, or it is unavailable.
  kOutOfMemory,          ///< An allocation failed or a size would overflow.
  kNotCompiled,          ///< The feature was not compiled into this build (e.g. CUDA).
  kCudaError,            ///< The CUDA runtime reported an error.
  kCudnnError,           ///< cuDNN reported an error.
  kIoError,              ///< A file could not be read or written, or its contents are malformed.
  kInternal,             ///< A bug in ups.
};

/// @brief Returns a stable, lower-case name for @p code ("invalid argument", ...).
UPS_EXPORT const char* to_string(ErrorCode code) noexcept;

/// @brief The exception thrown by every ups function. `what()` names the problem in the
/// words PyTorch would use where PyTorch has a message for it.
class UPS_EXPORT Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  /// @brief The category of the failure.
  ErrorCode code() const noexcept { return code_; }

 private:
  ErrorCode code_;
};

}  // namespace ups
