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

/// @brief Where a deferred index check of max_pool_backward() is recorded (see its "Indices").
///
/// Allocate it where the context runs (device memory for a CUDA context, e.g. with cudaMalloc;
/// any host memory for a CPU context). max_pool_backward() initialises it; read it only through
/// max_pool_check(). On CUDA the op and max_pool_check() access it in the order of ctx.stream()
/// only: a record shared by calls on several streams needs the caller to order those streams.
struct MaxPoolStatus {
  std::int64_t position;    ///< Largest C-order position in `indices` of an invalid index, or -1.
  std::int64_t index;       ///< That index.
  std::int64_t plane[3];    ///< The input plane's spatial sizes, outermost first.
  std::int64_t plane_dims;  ///< Number of entries of `plane` in use (1, 2 or 3).
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
/// @p grad_input must not overlap itself or the inputs. A batch of 0 writes no tensor (a caller
/// status is still initialised, to "no invalid index").
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
/// index of max_pool() does). Otherwise the op reports ups::Error (kInvalidArgument)
/// "max_pool_backward: invalid max index I at position P of indices (C order): outside the input
/// plane of size HxW" (`DxHxW` in 3-D, `W` in 1-D) or "... (C order): not an element of its
/// pooling window", naming the invalid index at the largest C-order position of @p indices,
/// whatever the layout and backend; a bad index is never read or written through. Exception: a
/// window with no in-bounds tap (possible with dilation and padding) has the maximum -inf
/// whatever the input, and max_pool() reports an index outside it; its index is ignored and its
/// gradient goes nowhere (PyTorch's CPU kernel adds it wherever the index points, or drops it
/// when that lies outside the plane).
///
/// When the error is reported depends on @p status:
/// - **No status (the default): synchronous check.** On the CPU the op throws before grad_input
///   is written. On CUDA the op enqueues a check kernel, the gather and a one-thread kernel that
///   completes a status record on ctx.stream(), then copies the record to the host and
///   **synchronises ctx.stream()** (its only host wait) and throws if an index was invalid,
///   leaving grad_input unspecified. The record is 64 bytes of scratch memory, 319 bytes with
///   the slack that aligns it to 256 bytes, taken from ctx.workspace() (which must then be that
///   large) or, without a workspace, from ups's stream-ordered pool within
///   ctx.workspace_limit().
/// - **A caller-owned MaxPoolStatus: deferred check.** The op records into @p status and returns
///   without throwing for an invalid index; on CUDA it is then fully stream-ordered: no copy to
///   the host, no synchronisation and no scratch memory (the kernels write into @p status).
///   Call max_pool_check() at any later point to synchronise and throw the error above if an
///   index was invalid. Every call initialises the record (on CUDA with a stream-ordered memset
///   on ctx.stream()), so it describes the last max_pool_backward() given it, an empty batch
///   included; it is not accumulated across calls. On the CPU the record is filled before
///   max_pool_backward() returns. grad_input is then written in full on both backends, and
///   alike: a window whose index is invalid contributes nothing, every other window as above.
///   Invalid options, shapes, dtypes or devices still throw at the call, before the record is
///   touched.
///
/// @param status nullptr for the synchronous index check, or a caller-owned record for the
///        deferred check (see "Indices" above).
/// @throws ups::Error for invalid options, shapes, dtypes or devices, for an invalid index
///         (synchronous check only), when scratch memory is unavailable, and for CUDA failures.
UPS_EXPORT void max_pool_backward(const Context& ctx, const TensorView& grad_output,
                                  const TensorView& indices, const TensorView& grad_input,
                                  const MaxPoolOptions& options, MaxPoolStatus* status = nullptr);

/// @brief Reads a status record filled by max_pool_backward() and throws the error it describes.
///
/// On CUDA it copies the record to the host and synchronises ctx.stream(), so it sees the
/// result of every max_pool_backward() enqueued before it on that stream.
/// @throws ups::Error (kInvalidArgument) "max_pool_backward: invalid max index ..." when an index
///         was invalid, with the message the synchronous check gives; kInvalidArgument for a null
///         @p status; kCudaError when the copy fails.
UPS_EXPORT void max_pool_check(const Context& ctx, const MaxPoolStatus* status);

}  // namespace ups
