// Runtime dtype -> element type dispatch, one table for every op.
#pragma once

#include <cstdint>
#include <utility>

#include "check.hpp"
#include "common/hd.hpp"
#include "ups/tensor.hpp"

namespace ups {
namespace detail {

template <class T>
struct TypeTag {
  using type = T;
};

// Calls f(TypeTag<T>{}) with T the storage type of `dtype` among the floating types (and u8 when
// allow_u8 is set).
template <class F>
decltype(auto) dispatch_float_u8(DType dtype, bool allow_u8, F&& f) {
  switch (dtype) {
    case DType::kF32:
      return f(TypeTag<float>{});
    case DType::kF64:
      return f(TypeTag<double>{});
    case DType::kF16:
      return f(TypeTag<kern::half_t>{});
    case DType::kBF16:
      return f(TypeTag<kern::bf16_t>{});
    case DType::kU8:
      if (allow_u8) return f(TypeTag<std::uint8_t>{});
      break;
    default:
      break;
  }
  fail(ErrorCode::kUnsupportedDType, concat("unsupported dtype ", to_string(dtype)));
}

// Calls f(TypeTag<T>{}) with T the storage type of `dtype` among the floating types only: no
// other instantiation is compiled, so kernels that never run on integers are not built for them.
template <class F>
decltype(auto) dispatch_float(DType dtype, F&& f) {
  switch (dtype) {
    case DType::kF32:
      return f(TypeTag<float>{});
    case DType::kF64:
      return f(TypeTag<double>{});
    case DType::kF16:
      return f(TypeTag<kern::half_t>{});
    case DType::kBF16:
      return f(TypeTag<kern::bf16_t>{});
    default:
      break;
  }
  fail(ErrorCode::kUnsupportedDType, concat("unsupported dtype ", to_string(dtype)));
}

// Calls f(TypeTag<T>{}) with T the storage type of `dtype`, for every dtype: max_pool
// compares values, so it needs the real element type.
template <class F>
decltype(auto) dispatch_all_types(DType dtype, F&& f) {
  switch (dtype) {
    case DType::kF32:
      return f(TypeTag<float>{});
    case DType::kF64:
      return f(TypeTag<double>{});
    case DType::kF16:
      return f(TypeTag<kern::half_t>{});
    case DType::kBF16:
      return f(TypeTag<kern::bf16_t>{});
    case DType::kU8:
      return f(TypeTag<std::uint8_t>{});
    case DType::kI32:
      return f(TypeTag<std::int32_t>{});
    case DType::kI64:
      return f(TypeTag<std::int64_t>{});
  }
  fail(ErrorCode::kUnsupportedDType, concat("unsupported dtype ", to_string(dtype)));
}

// Calls f(TypeTag<U>{}) with U the unsigned integer of `dtype`'s size. Ops that only move
// bits (max_unpool, pixel shuffle) instantiate one body per element size instead of per dtype.
template <class F>
decltype(auto) dispatch_by_size(DType dtype, F&& f) {
  switch (dtype_size(dtype)) {
    case 1:
      return f(TypeTag<std::uint8_t>{});
    case 2:
      return f(TypeTag<std::uint16_t>{});
    case 4:
      return f(TypeTag<std::uint32_t>{});
    case 8:
      return f(TypeTag<std::uint64_t>{});
    default:
      break;
  }
  fail(ErrorCode::kUnsupportedDType, concat("unsupported dtype ", to_string(dtype)));
}

}  // namespace detail
}  // namespace ups
