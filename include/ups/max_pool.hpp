/// @file max_pool.hpp
/// @brief `ups::max_pool`: PyTorch's `MaxPool1d/2d/3d(return_indices=True)` on strided tensors.
///
/// The values and indices it produces are those of `F.max_pool{1,2,3}d(..., return_indices=True)`
/// bit for bit, so that they can be fed to ups::max_unpool (max_unpool.hpp).
///
/// | pooling | input (batched)   | input (unbatched, `spatial_dims` set) |
/// |---------|-------------------|---------------------------------------|
/// | 1-D     | (N, C, W)         | (C, W)                                |
/// | 2-D     | (N, C, H, W)      | (C, H, W)                             |
/// | 3-D     | (N, C, D, H, W)   | (C, D, H, W)                          |
///
/// Dtypes: f32, f64, f16, bf16, u8, i32, i64 (PyTorch's CPU kernels support them all).
///
/// Per spatial dim, output size = floor((in + 2 * pad - dilation * (kernel - 1) - 1) / stride) + 1
/// (ceil instead of floor with `ceil_mode`, where a last window that would start in the right
/// padding is dropped, as in PyTorch). Each index is the flat position `d * H * W + h * W + w`
/// of the maximum within its (n, c) plane of the input (`w` for 1-D, `h * W + w` for 2-D),
/// stored as int64.
///
/// Ties and NaN follow PyTorch's CPU kernels exactly: the window is scanned in D, H, W order;
/// among equal maxima the first wins; a NaN replaces any maximum, so the last NaN of a window wins
/// and is returned (an f16 NaN quieted with its sign and payload kept, a bf16 NaN as 0x7fc0, as
/// PyTorch's CPU kernel converts them through f32);
/// a window whose elements are all -inf (or the integer minimum) reports its first element. A
/// window made only of padding taps (possible with dilation > 1) yields -inf (the type's minimum
/// for integers) and the position its first tap would have had, as PyTorch does.
#pragma once

#include <cstdint>
#include <vector>

#include "ups/context.hpp"
#include "ups/export.hpp"
#include "ups/tensor.hpp"

namespace ups {

/// @brief The arguments of `F.max_pool{1,2,3}d`, minus the tensor.
///
/// Every list holds one value (used for every spatial dim) or one value per spatial dim.
struct MaxPoolOptions {
  /// Window size; must be given.
  std::vector<std::int64_t> kernel_size;
  /// Window step; empty means kernel_size (PyTorch's `stride=None`).
  std::vector<std::int64_t> stride;
  /// Implicit -inf padding on both sides; at most half of the kernel size.
  std::vector<std::int64_t> padding = {0};
  /// Spacing between window taps.
  std::vector<std::int64_t> dilation = {1};
  /// Use ceil instead of floor for the output size.
  bool ceil_mode = false;
  /// 1, 2 or 3: the pooling dimensionality. 0 (the default) means input rank - 2, i.e. a batched
  /// (N, C, *spatial) input; set it to accept an unbatched (C, *spatial) input of rank
  /// spatial_dims + 1 as PyTorch does.
  int spatial_dims = 0;
};

/// @brief The output shape of max_pool(@p input_shape, @p options) (also the shape of its
/// indices), validating exactly as max_pool() does. Needs no GPU.
/// @throws ups::Error with PyTorch's message for invalid options or shapes.
UPS_EXPORT Shape max_pool_output_shape(const Shape& input_shape, const MaxPoolOptions& options);

/// @brief Max pooling of @p src into @p dst, with the position of each maximum in @p indices.
///
/// @p dst must have the shape max_pool_output_shape(src.shape(), options) and the dtype of
/// @p src; @p indices the same shape and dtype i64. All three live on the context's device and
/// must not overlap. Any strides are accepted (contiguous and channels-last are the fast cases).
/// A batch of 0 is a no-op; an empty channel or spatial dim is an error, as in PyTorch. On CUDA
/// the op enqueues one kernel on ctx.stream(), does not synchronise the host and does not
/// allocate. It is deterministic: each output element is computed by one thread in a fixed
/// order.
///
/// @throws ups::Error for invalid options, shapes, dtypes or devices, and for CUDA failures.
UPS_EXPORT void max_pool(const Context& ctx, const TensorView& src, const TensorView& dst,
                         const TensorView& indices, const MaxPoolOptions& options);

/// @brief The gradient of max_pool(): @p grad_input from @p grad_output and the forward's
/// @p indices (PyTorch's `max_pool{1,2,3}d_with_indices_backward`).
///
/// Shapes follow the forward's rules: @p grad_input has the forward input's shape (validated as
/// max_pool() validates src), @p grad_output and @p indices have
/// max_pool_output_shape(grad_input.shape(), options); @p indices is i64 and @p grad_output has
/// the dtype of @p grad_input. Every dtype of max_pool() is supported. Any strides are accepted;
/// @p grad_input must not overlap itself or the inputs. A batch of 0 is a no-op.
///
/// **Formulation (a gather).** Each grad_input element (n, c, d, h, w) is written exactly once:
/// it is the sum, over the output windows that have (d, h, w) among their taps (along each dim,
/// the windows o with o * stride - padding + t * dilation = position for a tap t in
/// [0, kernel)), taken in increasing (od, oh, ow) order, of the grad_output of those whose index
/// names (d, h, w). f16 and bf16 add in f32 and round once; f32 and f64 add in their own type;
/// integers wrap modulo 2^bits. PyTorch's CPU kernel scatters `grad_input[index] +=
/// grad_output` in increasing output order, which adds the same terms in the same order: f32 and
/// f64 results equal PyTorch's CPU results bit for bit, and so do f16/bf16 results wherever an
/// element receives at most one window's gradient; where several windows pick one element,
/// PyTorch rounds to f16/bf16 after every addition and ups once, so the two may differ in the
/// last place. (A summation in another order, as other implementations may use, can differ by
/// rounding in every dtype.)
///
/// **Determinism.** Every grad_input element is computed by one thread (or loop iteration) in a
/// fixed order, without atomics, so the result is bit for bit the same from run to run, for any
/// number of CPU threads and on CUDA, whether ctx.deterministic() is set or not.
///
/// **Indices.** Each index must name a tap of its own window inside the input plane (as every
/// index of max_pool() does). Otherwise the op throws ups::Error (kInvalidArgument)
/// "max_pool_backward: invalid max index I at position P of indices (C order): outside the input
/// plane of size HxW" (or "not an element of its pooling window"), naming the invalid index at the
/// largest C-order position; a bad index is never read or written through. Exception: a window with
/// no in-bounds tap (possible with dilation and padding) has the maximum -inf whatever the input,
/// and max_pool() reports an index outside it; its index is ignored and its gradient goes
/// nowhere (PyTorch's CPU kernel adds it wherever the index points, or drops it when that lies
/// outside the plane). On the CPU an error is raised before grad_input is written. On CUDA
/// the op enqueues a check kernel and the gather on ctx.stream(), then, on every call, copies
/// a status record to the host and **synchronises ctx.stream()** (its only host wait) and throws
/// if an index was invalid, leaving grad_input unspecified. The record is 64 bytes of scratch
/// memory, 319 bytes with the slack that aligns it to 256 bytes, taken from ctx.workspace() (which
/// must then be that large) or, without a workspace, from ups's stream-ordered pool within
/// ctx.workspace_limit().
///
/// @throws ups::Error for invalid options, shapes, dtypes or devices, for an invalid index, when
/// scratch memory is unavailable, and for CUDA failures.
UPS_EXPORT void max_pool_backward(const Context& ctx, const TensorView& grad_output,
                                  const TensorView& indices, const TensorView& grad_input,
                                  const MaxPoolOptions& options);

}  // namespace ups
