/// @file max_unpool.hpp
/// @brief `ups::max_unpool`: PyTorch's `MaxUnpool1d/2d/3d` (`F.max_unpool{1,2,3}d`).
///
/// The output is zero-filled, then every input value is written at the position its index
/// names within its (n, c) output plane. Indices are those of ups::max_pool / PyTorch's
/// `return_indices=True`: the flat position `d * OH * OW + h * OW + w` (`h * OW + w` in 2-D, `w`
/// in 1-D) in the output plane, as int64 with the shape of the input.
///
/// | unpooling | input and indices (batched) | unbatched (`spatial_dims` set) |
/// |-----------|-----------------------------|--------------------------------|
/// | 1-D       | (N, C, W)                   | (C, W)                         |
/// | 2-D       | (N, C, H, W)                | (C, H, W)                      |
/// | 3-D       | (N, C, D, H, W)             | (C, D, H, W)                   |
///
/// Dtypes: f32, f64, f16, bf16, u8, i32, i64.
///
/// The op only moves bits, so it supports every dtype (PyTorch's CPU kernel has no integer
/// types) and is bit-exact.
///
/// ## Invalid indices
/// An index outside [0, output plane size) is never written through: it is skipped, and it is
/// reported as ups::Error (kInvalidArgument) with PyTorch's message "Found an invalid max index:
/// I (output volumes are of size HxW)" (`DxHxW` in 3-D, `Wx1` in 1-D, as PyTorch prints it). When
/// several indices are invalid, the one at the largest C-order position of @p indices is named
/// (the one PyTorch's single-threaded CPU loop names for a contiguous input), whatever the
/// layout and backend, so that CPU and CUDA report the same one. The elements with valid indices
/// are written normally, so dst holds the result with the invalid entries left at zero.
///
/// When the error is reported depends on the `status` argument of max_unpool():
/// - **No status (the default): synchronous check.** On the CPU the op throws before returning.
///   On CUDA the kernels record the index to report in a small device status record; the op then
///   copies that record to the host and **synchronises ctx.stream()** before returning, and
///   throws if an index was invalid.
/// - **A caller-owned MaxUnpoolStatus: deferred check.** The op records into @p status and returns
///   without synchronising (on CUDA it is then fully stream-ordered, with no host wait at all).
///   Call max_unpool_check() at any later point to synchronise and throw if an index was
///   invalid. The record stays valid until the next max_unpool() that is given the same status.
///   On the CPU the record is filled before max_unpool() returns.
///
/// Why both: the default gives PyTorch's CPU behaviour, an exception at the faulty call, which
/// is what most callers (and the ups program) want, at the price of one wait for the stream; the
/// deferred check keeps pipelines that cannot afford a wait stream-ordered and still lets them
/// find out. Either way the kernel never traps: PyTorch's CUDA kernel asserts on a bad index,
/// which leaves the CUDA context unusable for the rest of the process, whereas here the context
/// always survives and the error is an ordinary exception.
///
/// ## Duplicate indices
/// When several input elements of one (n, c) plane name the same output position (overlapping
/// pooling windows, or arbitrary indices), the rule is **the element with the largest position
/// in its input plane (C order over the spatial dims) wins**: the result of PyTorch's CPU kernel
/// on one thread (with several threads PyTorch's CPU kernel races as well, which is why
/// `torch.use_deterministic_algorithms` rejects MaxUnpool).
/// - The CPU backend always follows this rule.
/// - On CUDA with ctx.deterministic() set, two extra passes resolve every duplicate by that rule
///   (an atomicMax of the input position per output element, then a write by the winner only),
///   so CUDA and CPU agree bit for bit.
/// - On CUDA without determinism, duplicates race and any one of them may land. Unpooling the
///   values and indices of max_pool never makes this visible: duplicates then name the same
///   input element and carry the same bits, so the result equals the deterministic one.
///
/// ## Scratch memory (CUDA)
/// The synchronous check needs a 64-byte status record, and deterministic mode one 32-bit claim
/// slot per output element (64-bit when an input plane has 2^32 - 1 elements or more).
/// max_unpool_workspace_size() gives the total, including up to 255 bytes that start the scratch
/// on a 256-byte boundary wherever the caller's workspace starts. The op takes it from
/// ctx.workspace() when the context has one (which must then be large enough), and otherwise
/// allocates it from ups's stream-ordered pool on ctx.stream() (see cuda_scratch_reserved())
/// when it fits ctx.workspace_limit(), else it fails with kOutOfMemory. With a caller status and
/// determinism off the op needs no scratch and never allocates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "ups/context.hpp"
#include "ups/export.hpp"
#include "ups/tensor.hpp"

namespace ups {

/// @brief The arguments of `F.max_unpool{1,2,3}d`, minus the tensors.
///
/// kernel_size, stride and padding hold one value (used for every spatial dim) or one per
/// spatial dim. They only determine the default output size.
struct MaxUnpoolOptions {
  /// The pooling window that produced the indices; must be given.
  std::vector<std::int64_t> kernel_size;
  /// Its step; empty means kernel_size.
  std::vector<std::int64_t> stride;
  /// Its padding.
  std::vector<std::int64_t> padding = {0};
  /// Output spatial size: empty for the default (in - 1) * stride - 2 * padding + kernel_size per
  /// dim, or k (or k + 2, of which the first two are ignored, as in PyTorch) values, each strictly
  /// between default - stride and default + stride.
  std::vector<std::int64_t> output_size;
  /// 1, 2 or 3: the unpooling dimensionality. 0 (the default) means input rank - 2, i.e. a
  /// batched (N, C, *spatial) input; set it to accept an unbatched (C, *spatial) input.
  int spatial_dims = 0;
};

/// @brief Where a deferred index check is recorded (see "Invalid indices" above).
///
/// Allocate it where the context runs (device memory for a CUDA context, e.g. with cudaMalloc;
/// any host memory for a CPU context). max_unpool() initialises it; read it only through
/// max_unpool_check().
struct MaxUnpoolStatus {
  std::int64_t position;     ///< Largest C-order position in `indices` of an invalid index, or -1.
  std::int64_t index;        ///< That index.
  std::int64_t volume[3];    ///< Output plane sizes as PyTorch prints them (unused entries 0).
  std::int64_t volume_dims;  ///< Number of entries of `volume` in use (2 or 3).
};

/// @brief The output shape of max_unpool(@p input_shape, @p options), validating the options as
/// PyTorch's `_unpool_output_size` does. Needs no GPU.
/// @throws ups::Error with PyTorch's message for invalid options or shapes.
UPS_EXPORT Shape max_unpool_output_shape(const Shape& input_shape, const MaxUnpoolOptions& options);

/// @brief Bytes of scratch memory max_unpool() needs on @p ctx for this call: 0 on the CPU; on
/// CUDA the status record when @p has_status is false, plus the claim slots when
/// ctx.deterministic() is set. Needs no GPU.
UPS_EXPORT std::size_t max_unpool_workspace_size(const Context& ctx, const Shape& input_shape,
                                                 const MaxUnpoolOptions& options,
                                                 bool has_status = false);

/// @brief Scatters @p src into a zero-filled @p dst at the positions named by @p indices.
///
/// @p indices must be i64 with the shape of @p src; @p dst must have the shape
/// max_unpool_output_shape(src.shape(), options) and the dtype of @p src. All live on the
/// context's device and @p dst must not overlap the inputs. Any strides are accepted. A batch of
/// 0, or an output with a zero-sized dim, is a no-op (as in PyTorch).
///
/// @param status nullptr for the synchronous index check, or a caller-owned record for the
///        deferred check (see "Invalid indices" above).
/// @throws ups::Error for invalid options, shapes, dtypes or devices, for an invalid index
///         (synchronous check only), when scratch memory is unavailable, and for CUDA failures.
UPS_EXPORT void max_unpool(const Context& ctx, const TensorView& src, const TensorView& indices,
                           const TensorView& dst, const MaxUnpoolOptions& options,
                           MaxUnpoolStatus* status = nullptr);

/// @brief The gradient of max_unpool(): @p grad_input from @p grad_output, a gather by index
/// (the backward of PyTorch's `max_unpool{1,2,3}d`).
///
/// grad_input[n, c, i] = grad_output[n, c, plane position indices[n, c, i]]. @p grad_input and
/// @p indices have the unpool input's shape (validated by the forward's rules, indices i64),
/// @p grad_output the shape max_unpool_output_shape(grad_input.shape(), options) and the dtype
/// of @p grad_input. Every dtype of max_unpool() is supported; the op only moves bits. Any
/// strides are accepted; @p grad_input must not overlap itself or the inputs.
///
/// Deterministic whether ctx.deterministic() is set or not: every grad_input element is written
/// by exactly one thread, and duplicate indices simply read the same grad_output element (each
/// duplicate gets that gradient, as in PyTorch).
///
/// Invalid indices are handled as in max_unpool(): an index outside [0, output plane size) is
/// never read through; its grad_input element is set to zero and the op reports PyTorch's
/// "Found an invalid max index: I (output volumes are of size HxW)", naming the invalid index at
/// the largest C-order position. With @p status null the check is synchronous (on CUDA the op
/// synchronises ctx.stream() and needs the 64-byte status record as scratch, see "Scratch
/// memory"); with a caller-owned @p status it is deferred to max_unpool_check() and the CUDA
/// op is fully stream-ordered.
/// @throws ups::Error for invalid options, shapes, dtypes or devices, for an invalid index
///         (synchronous check only), when scratch memory is unavailable, and for CUDA failures.
UPS_EXPORT void max_unpool_backward(const Context& ctx, const TensorView& grad_output,
                                    const TensorView& indices, const TensorView& grad_input,
                                    const MaxUnpoolOptions& options,
                                    MaxUnpoolStatus* status = nullptr);

/// @brief Reads a status record filled by max_unpool() and throws the error it describes.
///
/// On CUDA it copies the record to the host and synchronises ctx.stream(), so it sees the
/// result of every max_unpool() enqueued before it on that stream.
/// @throws ups::Error (kInvalidArgument) "Found an invalid max index: ..." when an index was
///         invalid; kCudaError when the copy fails.
UPS_EXPORT void max_unpool_check(const Context& ctx, const MaxUnpoolStatus* status);

}  // namespace ups
