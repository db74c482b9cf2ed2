// Conversions between nanobind's DLPack arrays and ups's views and contexts, for the Python
// extension module (module.cpp). Only ups's public API is used here.
#pragma once

#include <nanobind/ndarray.h>

#include <cstdint>
#include <optional>

#include "ups/context.hpp"
#include "ups/tensor.hpp"

namespace ups::python {

// Any array that DLPack or the buffer protocol can describe: any dtype, rank, device and
// strides. Read-only sources (a NumPy view of constant memory) are accepted for inputs.
using InArray = nanobind::ndarray<nanobind::ro>;
// Arrays that ops write into.
using OutArray = nanobind::ndarray<>;

// A view of @p array. @p name ("src", "dst", ...) names the array in error messages. Throws
// ups::Error for a rank above kMaxDims, an element type or a device ups has no counterpart for.
TensorView to_view(const InArray& array, const char* name);
TensorView to_view(const OutArray& array, const char* name);

// The context an op on @p device runs in: CUDA work goes to @p stream (a cudaStream_t as an
// integer, 0 for the legacy default stream); @p deterministic overrides the process-wide flag
// when set.
Context make_context(Device device, std::uintptr_t stream, std::optional<bool> deterministic);

}  // namespace ups::python
