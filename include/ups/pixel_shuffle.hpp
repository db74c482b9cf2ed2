/// @file pixel_shuffle.hpp
/// @brief `ups::pixel_shuffle` / `ups::pixel_unshuffle`: PyTorch's `F.pixel_shuffle` and
/// `F.pixel_unshuffle` (`nn.PixelShuffle`, `nn.PixelUnshuffle`) on strided tensors.
///
/// With factor r, over the last three dims (C, H, W) and any leading dims:
///
///     pixel_shuffle:   (*, C * r^2, H, W) -> (*, C, H * r, W * r)
///       out[..., c, h * r + i, w * r + j] = in[..., (c * r + i) * r + j, h, w]
///     pixel_unshuffle: (*, C, H * r, W * r) -> (*, C * r^2, H, W), the inverse map.
///
/// Dtypes: f32, f64, f16, bf16, u8, i32, i64. Both ops are pure copies and bit-exact. Input and
/// output may have any strides (contiguous and channels-last are the common cases) but must not
/// overlap. Empty tensors are accepted (a no-op), as in PyTorch.
///
/// Rank: the shape queries accept any rank of at least 3, as PyTorch does; the ops accept every
/// rank from 3 to kMaxDims (5), the most a TensorView holds, with any strides in the leading
/// dims. Leading dims that can be merged (the stride of one is the next one's stride times its
/// size, in both tensors) are processed as one. Data of a higher rank, e.g. a contiguous
/// (A, B, N, C, H, W) array, is shuffled through views that merge its leading dims into one
/// batch dim, which gives the same result (the ups program does this for .npy files).
#pragma once

#include <cstdint>

#include "ups/context.hpp"
#include "ups/export.hpp"
#include "ups/tensor.hpp"

namespace ups {

/// @brief Which CUDA kernel the shuffles may use. Every choice gives bit-identical results; the
/// switch exists so that the fast path can be tested and benchmarked against the generic one.
/// The CPU backend ignores it, but a value that is none of the enumerators is an ups::Error
/// (kInvalidArgument) on every device.
enum class ShuffleKernel : std::uint8_t {
  /// The fast path when it applies: each thread stores 16 bytes at once along the output's
  /// unit-stride dim, which needs that dim's size and every other output stride to be multiples
  /// of 16 / element size, and a 16-byte-aligned output. Otherwise the generic kernel.
  kAuto,
  /// Always the generic kernel: one thread per output element, in the output's memory order.
  kGeneric,
};

/// @brief The output shape of pixel_shuffle(@p input_shape, @p upscale_factor), validating
/// exactly as pixel_shuffle() does. Needs no GPU.
/// @throws ups::Error with PyTorch's message: rank < 3 (kShapeMismatch), factor <= 0 or factor^2
/// overflowing (kInvalidArgument), channels not divisible by factor^2 (kShapeMismatch).
UPS_EXPORT Shape pixel_shuffle_output_shape(const Shape& input_shape, std::int64_t upscale_factor);

/// @brief The output shape of pixel_unshuffle(@p input_shape, @p downscale_factor).
/// @throws ups::Error with PyTorch's message: rank < 3 (kShapeMismatch), factor <= 0
/// (kInvalidArgument), height or width not divisible by the factor (kShapeMismatch).
UPS_EXPORT Shape pixel_unshuffle_output_shape(const Shape& input_shape,
                                              std::int64_t downscale_factor);

/// @brief Rearranges (*, C * r^2, H, W) @p src into (*, C, H * r, W * r) @p dst.
///
/// @p dst must have the shape pixel_shuffle_output_shape(src.shape(), upscale_factor) and the
/// dtype of @p src, and both live on the context's device. On CUDA the op enqueues one kernel on
/// ctx.stream(), does not synchronise the host and does not allocate. Deterministic.
/// @throws ups::Error for invalid factors, shapes, dtypes or devices, and for CUDA failures.
UPS_EXPORT void pixel_shuffle(const Context& ctx, const TensorView& src, const TensorView& dst,
                              std::int64_t upscale_factor,
                              ShuffleKernel kernel = ShuffleKernel::kAuto);

/// @brief Rearranges (*, C, H * r, W * r) @p src into (*, C * r^2, H, W) @p dst; the inverse of
/// pixel_shuffle(). Same contract as pixel_shuffle().
UPS_EXPORT void pixel_unshuffle(const Context& ctx, const TensorView& src, const TensorView& dst,
                                std::int64_t downscale_factor,
                                ShuffleKernel kernel = ShuffleKernel::kAuto);

/// @brief The gradient of pixel_shuffle(): rearranges (*, C, H * r, W * r) @p grad_output into
/// (*, C * r^2, H, W) @p grad_input, i.e. pixel_unshuffle(grad_output) (PyTorch's
/// `pixel_shuffle` backward).
///
/// @p grad_input has the forward input's shape and is validated by pixel_shuffle()'s rules
/// (same messages); @p grad_output must then have pixel_shuffle_output_shape(grad_input.shape(),
/// upscale_factor) and the dtype of @p grad_input. Same dtypes, layouts and stream behaviour as
/// pixel_shuffle(). A pure copy: bit-exact and deterministic whether ctx.deterministic() is set
/// or not (every element is written by exactly one thread).
/// @throws ups::Error naming grad_output or grad_input for invalid factors, shapes, dtypes or
/// devices, and for CUDA failures.
UPS_EXPORT void pixel_shuffle_backward(const Context& ctx, const TensorView& grad_output,
                                       const TensorView& grad_input, std::int64_t upscale_factor);

/// @brief The gradient of pixel_unshuffle(): rearranges (*, C * r^2, H, W) @p grad_output into
/// (*, C, H * r, W * r) @p grad_input, i.e. pixel_shuffle(grad_output). @p grad_input is
/// validated by pixel_unshuffle()'s rules, then @p grad_output must have
/// pixel_unshuffle_output_shape(grad_input.shape(), downscale_factor). Same contract as
/// pixel_shuffle_backward().
UPS_EXPORT void pixel_unshuffle_backward(const Context& ctx, const TensorView& grad_output,
                                         const TensorView& grad_input,
                                         std::int64_t downscale_factor);

}  // namespace ups
