/// @file tensor.hpp
/// @brief Element types, devices and the non-owning tensor view that every op takes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "ups/export.hpp"

namespace ups {

/// @brief Element types. Not every op supports every type; each op's header lists its own.
enum class DType : std::uint8_t {
  kF32,   ///< IEEE binary32.
  kF64,   ///< IEEE binary64.
  kF16,   ///< IEEE binary16; ops accumulate in f32.
  kBF16,  ///< bfloat16; ops accumulate in f32.
  kU8,    ///< unsigned 8-bit integer.
  kI32,   ///< signed 32-bit integer.
  kI64,   ///< signed 64-bit integer.
};

/// @brief Where a tensor's memory lives, or where an op runs.
enum class Device : std::uint8_t {
  kAuto,  ///< Only for contexts: CUDA when a usable device is present, else CPU.
  kCPU,   ///< Host memory; the CPU backend.
  kCUDA,  ///< Device memory of the current CUDA device; the CUDA backend.
};

/// @brief Bytes per element of @p dtype.
UPS_EXPORT std::size_t dtype_size(DType dtype) noexcept;
/// @brief "f32", "f64", "f16", "bf16", "u8", "i32" or "i64".
UPS_EXPORT const char* to_string(DType dtype) noexcept;
/// @brief "auto", "cpu" or "cuda".
UPS_EXPORT const char* to_string(Device device) noexcept;
/// @brief Parses the names of to_string(DType); throws ups::Error on anything else.
UPS_EXPORT DType parse_dtype(const std::string& name);
/// @brief Parses "auto", "cpu" or "cuda"; throws ups::Error on anything else.
UPS_EXPORT Device parse_device(const std::string& name);

/// @brief The largest rank a TensorView can have (N, C and three spatial dims).
inline constexpr int kMaxDims = 5;

/// @brief A shape: one size per dim, outermost first.
using Shape = std::vector<std::int64_t>;

/// @brief A non-owning view of a strided tensor.
///
/// Sizes and strides are in elements, outermost dim first, as in PyTorch. Strides may describe
/// any layout whose elements do not alias in an output (contiguous NCHW, channels-last, a
/// slice, ...). The view never allocates or frees `data`. Every op rejects a view whose dtype or
/// device is none of its enum's enumerators (an integer cast to the enum) with ups::Error
/// (kInvalidArgument) naming the view and the value.
struct UPS_EXPORT TensorView {
  void* data = nullptr;                 ///< First element. May be null only when numel() == 0.
  DType dtype = DType::kF32;            ///< Element type.
  Device device = Device::kCPU;         ///< kCPU or kCUDA; never kAuto.
  int ndim = 0;                         ///< Rank, 0..kMaxDims.
  std::int64_t sizes[kMaxDims] = {};    ///< Sizes of the first ndim dims.
  std::int64_t strides[kMaxDims] = {};  ///< Strides in elements of the first ndim dims.

  /// @brief Product of the sizes (1 for rank 0). Throws ups::Error on overflow.
  std::int64_t numel() const;
  /// @brief The sizes as a Shape.
  Shape shape() const;
  /// @brief True when the strides are those of a C-order (row-major) tensor.
  bool is_contiguous() const;

  /// @brief A C-order view of @p sizes at @p data. Throws ups::Error for more than kMaxDims
  /// dims, a negative size, device kAuto, a dtype or device that is none of its enum's
  /// enumerators (kInvalidArgument), or strides beyond int64 (kOutOfMemory).
  static TensorView contiguous(void* data, DType dtype, Device device, const Shape& sizes);
  /// @brief A channels-last view (N, C, *spatial sizes) laid out as (N, *spatial, C) in memory,
  /// PyTorch's channels_last / channels_last_3d. Rank must be 3, 4 or 5. Throws as contiguous().
  static TensorView channels_last(void* data, DType dtype, Device device, const Shape& sizes);
};

/// @brief "[1, 2, 3]", the way PyTorch prints a size.
UPS_EXPORT std::string shape_to_string(const Shape& shape);

}  // namespace ups
