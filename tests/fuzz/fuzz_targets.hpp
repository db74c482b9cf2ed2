// The fuzz targets of tests/fuzz. Each runs one input: it returns normally when every call made
// either succeeded or threw ups::Error as it should, and throws otherwise (Finding for a violated
// invariant, anything else for an unexpected exception).
#pragma once

#include <cstddef>
#include <cstdint>

namespace ups_fuzz {

/// The .npy reader of the ups program (src/cli/npy.cpp): the header dict parser and read_npy.
void run_npy(const std::uint8_t* data, std::size_t size);
/// interpolate_output_shape and interpolate on small CPU tensors.
void run_interpolate(const std::uint8_t* data, std::size_t size);
/// resize_output_shape and resize (ONNX Resize) on small CPU tensors.
void run_resize(const std::uint8_t* data, std::size_t size);
/// conv_transpose_output_shape, conv_transpose_workspace_size and conv_transpose on the CPU,
/// against a direct evaluation of the formula in conv_transpose.hpp.
void run_conv_transpose(const std::uint8_t* data, std::size_t size);
/// max_pool_output_shape, max_pool, max_unpool_output_shape and max_unpool with arbitrary
/// indices, against direct evaluations.
void run_pool(const std::uint8_t* data, std::size_t size);
/// pixel_shuffle / pixel_unshuffle shapes and ops, and TensorView construction.
void run_pixel_shuffle(const std::uint8_t* data, std::size_t size);

}  // namespace ups_fuzz
