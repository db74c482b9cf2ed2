/// @file conv_transpose.hpp
/// @brief `ups::conv_transpose`: PyTorch's `ConvTranspose1d/2d/3d` (`F.conv_transpose*d`) on
/// strided tensors, with a choice of algorithms on CUDA.
///
/// Semantics follow PyTorch 2.x: for every spatial dim,
///
///     out = (in - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1
///
/// and output element (n, co, o) is
///
///     bias[co] + sum over ci in co's group, taps k with o + padding - k * dilation = i * stride
///                (0 <= i < in) of  input[n, ci, i] * weight[ci, co % (C_out / groups), k]
///
/// | tensor | shape                                  | dtypes              |
/// |--------|----------------------------------------|---------------------|
/// | src    | (N, C_in, *spatial), rank 3, 4 or 5    | f32 f64 f16 bf16    |
/// | weight | (C_in, C_out / groups, *kernel)        | the dtype of src    |
/// | bias   | (C_out), optional                      | the dtype of src    |
/// | dst    | (N, C_out, *out_spatial)               | the dtype of src    |
///
/// f16 and bf16 accumulate in f32 (products and sums), f64 in f64, f32 in f32. Every tensor may
/// have any strides for the native algorithms (contiguous and channels-last are the common
/// cases); dst must not alias itself or overlap another operand. cuDNN receives the strides in
/// its tensor descriptors and declines layouts it has no engine for.
///
/// ### Algorithms
///
/// | name        | device | deterministic | how                                            |
/// |-------------|--------|---------------|------------------------------------------------|
/// | `auto`      | both   | per the flag  | see below                                      |
/// | `gemm`      | CPU    | yes           | native: a direct phase loop for narrow layers, |
/// |             |        |               | else W^T X as a GEMM over C_in, then col2im    |
/// | `onednn`    | CPU    | yes (*)       | oneDNN deconvolution / matmul primitives       |
/// | `gather`    | both   | yes           | per output element, the taps that reach it     |
/// | `scatter`   | CUDA   | no            | per input element, atomicAdd into the output   |
/// | `cudnn`     | CUDA   | when asked    | cuDNN 9 backward data, graph (backend) API     |
/// | `benchmark` | both   | per the flag  | times the candidates once, caches the fastest  |
///
/// (*) bitwise the same from run to run for a given thread count; the native paths are the same
/// for any thread count.
///
/// `gemm` takes a direct path when a group has at most 8 input channels (depthwise layers, a
/// decoder's last layer, ...): along W the outputs split into `stride` phases, each reached by the
/// same taps from consecutive inputs, so every output row is a few SIMD multiply-adds of contiguous
/// input runs (Highway, dispatched at run time). Layers with one input channel per group and W
/// stride 1 or 2 (depthwise) run each output row from a per-call table of its terms, with the W
/// phases interleaved in registers and streaming stores for outputs larger than the caches; planes
/// are split into row blocks when there are fewer than a few per thread. `onednn` (in builds with
/// oneDNN, an optional dependency) runs oneDNN's deconvolution primitives on the caller's layout,
/// or, for layers whose kernel equals the stride with no padding, dilation or groups (U-Net
/// up-convolutions), oneDNN's matmul: on channels-last tensors one matmul per tap row writing into
/// the output, on NCHW tensors one matmul per image and a vector interleave pass while the product
/// is still in the caches. bf16 runs natively on those matmuls; other f16 and bf16 problems run on
/// f32 copies (same products and sums in f32, one rounding at the end). The backward passes of such
/// NCHW layers run as matmuls over the de-interleaved grad_output, and DCGAN-like layers (kernel >
/// stride, 32 or more channels in and out, batch of 4 or more, NCHW) on oneDNN's blocked layouts,
/// reordered around the call. Primitives are cached per problem and thread count; oneDNN runs on
/// OpenMP with the context's thread count, set around each call and restored.
///
/// `gemm` runs one task per (n, group, block of output channels; for the depthwise rows, block
/// of output rows) on Context::num_threads() threads; `gather` sums, for each output element,
/// exactly the taps the stride lets through (no multiply by an inserted zero) in a fixed order, and
/// is the reference the CUDA kernel shares with the CPU. On CUDA, `gather` tiles the output: each
/// block tabulates the taps of its columns and rows once and reads the weights of its output
/// channels from shared memory, one chunk of C_in / groups at a time; it sums the chunks in turn
/// (taps, then the chunk's input channels), a fixed order that depends only on the problem and the
/// dtype, and that is the CPU `gather`'s order whenever one chunk holds all input channels of a
/// group (the chunk fits 32 KiB of weights). `scatter` gives each thread one (input pixel, output
/// channel) pair, so the lanes of a warp add into different outputs.
///
/// On the CPU, `auto` runs `onednn` where it has a fast implementation, except for layers with
/// one input channel per group or at most 32 input times output channels per group, where the
/// native path is faster (measured: docs/benchmarks.md); it runs `gemm` in builds without oneDNN
/// or when oneDNN declines. `benchmark` on the CPU times `gemm` against `onednn` once per
/// problem and thread count and caches the faster. (`gather` runs on the CPU too, as a slow
/// reference.)
/// On CUDA, `auto` tries `cudnn` when this build has cuDNN and the problem is compute-heavy: at
/// least 32 multiply-adds per output element, counting C_in / groups times the taps the stride
/// lets through. Otherwise, or when cuDNN cannot run the problem (no engine, not enough
/// workspace, an output_padding of a whole stride, cuDNN unusable at run time), it runs
/// `gather`. `auto` never picks `scatter`. The threshold of 32 is an estimate: where the
/// crossover between `gather` and cuDNN lies has not been measured on a GPU yet. The reasons each
/// candidate was declined are returned in ConvTransposeResult::attempts.
///
/// ### Determinism
///
/// When Context::deterministic() is on, only deterministic algorithms run: `cudnn` keeps only
/// engines without CUDNN_NUMERICAL_NOTE_NONDETERMINISTIC, `benchmark` never times `scatter`,
/// and asking for `scatter` explicitly is an ups::Error. Deterministic algorithms give
/// bitwise-identical results from run to run on the same device and build (not across GPU
/// architectures, and not between algorithms).
///
/// ### cuDNN
///
/// `cudnn` builds a CONVOLUTION_BACKWARD_DATA operation graph (dx = dst, dy = src, w = weight),
/// takes engine configs from heuristics mode A (then the fallback list) in their order, and runs
/// the first one whose numerical notes are acceptable and whose workspace fits: engines that
/// down-convert their inputs or reduce in lower precision are never used; for f32, tensor-core
/// (TF32) engines need Context::allow_tf32(). Plans are cached per thread and device; handles are
/// created lazily per thread and device and get the context's stream on every call. cuDNN adds
/// no bias: a separate kernel adds it afterwards (for f16/bf16 that rounds the sum once more). An
/// output_padding of a whole stride or more (legal when dilation exceeds it) has no cuDNN form.
///
/// ### Scratch memory
///
/// `scatter` with f16/bf16 accumulates in an f32 buffer of N * C_out * prod(out) floats and then
/// converts (atomicAdd on 16-bit values would round after every add); `cudnn` may need the
/// workspace its engine asks for. Both take Context::workspace() when the caller gave one
/// (stream-ordered with the context's stream; it may start at any address: the op starts its
/// buffer on the next 256-byte boundary, and the sizes it reports include those up to 255 bytes),
/// and otherwise allocate from ups's stream-ordered pool on the stream (see
/// cuda_scratch_reserved()), never more than Context::workspace_limit(). No other path allocates
/// device memory. conv_transpose_workspace_size() tells the need in advance.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "ups/context.hpp"
#include "ups/export.hpp"
#include "ups/tensor.hpp"

namespace ups {

/// @brief Algorithms of conv_transpose (see the table in this header).
enum class ConvTransposeAlgo : std::uint8_t {
  kAuto,       ///< "auto": the documented heuristic.
  kGemm,       ///< "gemm": the CPU backend.
  kGather,     ///< "gather": native output-stationary kernel, deterministic.
  kScatter,    ///< "scatter": native input-stationary kernel with atomics, nondeterministic.
  kCudnn,      ///< "cudnn": cuDNN 9 backward-data (graph API).
  kBenchmark,  ///< "benchmark": time the candidates once per problem, cache the fastest.
  kOnednn,     ///< "onednn": oneDNN's deconvolution primitives (CPU, builds with oneDNN).
};

/// @brief The name of @p algo ("auto", "gemm", "gather", "scatter", "cudnn", "benchmark",
/// "onednn").
UPS_EXPORT const char* to_string(ConvTransposeAlgo algo) noexcept;
/// @brief Parses the names of to_string(ConvTransposeAlgo); throws ups::Error
/// (kInvalidArgument) on anything else.
UPS_EXPORT ConvTransposeAlgo parse_conv_transpose_algo(const std::string& name);

/// @brief One row of conv_transpose_algorithms().
struct ConvTransposeAlgoInfo {
  ConvTransposeAlgo algo = ConvTransposeAlgo::kAuto;  ///< The algorithm.
  std::string name;                                   ///< to_string(algo).
  std::string devices;                                ///< "cpu", "cuda" or "cpu, cuda".
  std::string determinism;  ///< "deterministic", "nondeterministic" or how it depends.
  bool available = false;   ///< Compiled into this build (cudnn needs cuDNN, CUDA ones CUDA).
  std::string description;  ///< One line.
};
/// @brief Every algorithm with its properties, in enum order (for `ups info`).
UPS_EXPORT std::vector<ConvTransposeAlgoInfo> conv_transpose_algorithms();

/// @brief The arguments of `nn.ConvTranspose{1,2,3}d`, minus the tensors.
///
/// stride, padding, output_padding and dilation take one value (used for every spatial dim) or
/// one per spatial dim; an empty vector means the default. PyTorch's rules apply: stride >= 1,
/// dilation >= 1, padding >= 0, output_padding >= 0 and, per dim, output_padding < stride or
/// output_padding < dilation.
struct ConvTransposeOptions {
  std::vector<std::int64_t> stride = {1};          ///< Default 1.
  std::vector<std::int64_t> padding = {0};         ///< Default 0.
  std::vector<std::int64_t> output_padding = {0};  ///< Default 0; ignored with output_size.
  std::vector<std::int64_t> dilation = {1};        ///< Default 1.
  std::int64_t groups = 1;                         ///< Divides C_in (weight dim 0).
  /// The `output_size` argument of ConvTranspose*d.forward: empty, or one size per spatial dim
  /// (optionally preceded by N and C, which are ignored). Each size must lie in
  /// [min, min + stride - 1] with min the output size for output_padding 0; output_padding is
  /// then size - min, and any output_padding given above is ignored, as in PyTorch.
  std::vector<std::int64_t> output_size;
  /// Only "zeros" is supported, as in PyTorch's transposed convolutions.
  std::string padding_mode = "zeros";
  /// Which algorithm runs. A value that is none of the enumerators is an ups::Error
  /// (kInvalidArgument) in every function that takes these options.
  ConvTransposeAlgo algorithm = ConvTransposeAlgo::kAuto;
};

/// @brief What one candidate algorithm did during a call.
struct ConvTransposeAttempt {
  ConvTransposeAlgo algo = ConvTransposeAlgo::kAuto;  ///< The candidate.
  bool chosen = false;                                ///< This candidate produced dst.
  std::string reason;                                 ///< Why it was chosen, declined or not tried.
  std::size_t workspace_bytes = 0;                    ///< Scratch memory it needs (when known).
  double time_ms = -1.0;  ///< Benchmark time per run, or negative when not timed.
};

/// @brief How a conv_transpose call ran (oneDNN-style dispatch record).
struct ConvTransposeResult {
  /// The algorithm that produced dst: kGemm or kGather on the CPU; kGather, kScatter or kCudnn
  /// on CUDA; kAuto when there was nothing to compute (N == 0).
  ConvTransposeAlgo algorithm = ConvTransposeAlgo::kAuto;
  /// Extra detail on the chosen algorithm (the cuDNN engine's global index, ...).
  std::string detail;
  std::size_t workspace_bytes = 0;   ///< Scratch memory used.
  bool workspace_allocated = false;  ///< Allocated stream-ordered rather than the caller's.
  bool from_cache = false;           ///< `benchmark` reused a cached choice instead of timing.
  /// Every candidate considered, in the order they were considered.
  std::vector<ConvTransposeAttempt> attempts;
};
/// @brief A multi-line human-readable account of @p result (one line per attempt).
UPS_EXPORT std::string to_string(const ConvTransposeResult& result);

/// @brief The output shape of conv_transpose for an input of @p input_shape and a weight of
/// @p weight_shape, validating exactly as conv_transpose() does (except for bias, dtypes and
/// devices). Needs no GPU. Throws ups::Error with PyTorch's messages on invalid arguments.
UPS_EXPORT Shape conv_transpose_output_shape(const Shape& input_shape, const Shape& weight_shape,
                                             const ConvTransposeOptions& options);

/// @brief Bytes of scratch memory conv_transpose(@p ctx, ...) would use for these tensors, as
/// CUB's and CUTLASS's two-phase calls report it: allocate that much, pass it with
/// Context::set_workspace() and the call allocates nothing. Only shapes, strides and dtypes are
/// read (data may be null; null data is treated as 16-byte aligned for cuDNN). The cap applied
/// is ctx.workspace_limit() (the caller's workspace, if any, is ignored here). `auto` reports
/// the need of the algorithm it would choose, `benchmark` the largest need of its candidates;
/// 0 on the CPU. May create the cuDNN handle and plan (cached for the call that follows).
/// @throws ups::Error for invalid arguments, as conv_transpose() does.
UPS_EXPORT std::size_t conv_transpose_workspace_size(const Context& ctx, const TensorView& src,
                                                     const TensorView& weight,
                                                     const TensorView* bias, const TensorView& dst,
                                                     const ConvTransposeOptions& options);

/// @brief Transposed convolution of @p src with @p weight (plus @p bias when it is not null) into
/// @p dst.
///
/// @p dst must have the shape conv_transpose_output_shape(src.shape(), weight.shape(), options)
/// and every tensor the dtype of @p src and the context's device. A batch of 0 is a no-op. On
/// CUDA the op enqueues its work on ctx.stream() and does not synchronise the host, except
/// `benchmark` on its first call for a problem, which times candidates with CUDA events and
/// therefore waits for them (later calls with the same key reuse the cached choice). The cache
/// key holds the device, dtype, every shape, stride, parameter and the bias flag, the
/// determinism flag and allow_tf32; it is shared by all threads (mutex-protected).
///
/// @returns which algorithm ran and why the others did not.
/// @throws ups::Error for invalid arguments (PyTorch's messages), for an explicitly requested
/// algorithm that cannot run (nondeterministic `scatter` in deterministic mode, `cudnn` without
/// an engine or workspace, a CUDA-only algorithm on the CPU, ...), and for CUDA/cuDNN failures.
UPS_EXPORT ConvTransposeResult conv_transpose(const Context& ctx, const TensorView& src,
                                              const TensorView& weight, const TensorView* bias,
                                              const TensorView& dst,
                                              const ConvTransposeOptions& options = {});

/// @brief How each gradient of a conv_transpose_backward call ran. A gradient that was not
/// requested (null view) keeps algorithm kAuto and one attempt saying so.
struct ConvTransposeBackwardResult {
  ConvTransposeResult grad_input;   ///< d input: a convolution forward of grad_output.
  ConvTransposeResult grad_weight;  ///< d weight: a reduction over batch and input positions.
  ConvTransposeResult grad_bias;    ///< d bias: a reduction over batch and output positions.
};

/// @brief Gradients of conv_transpose(@p input, @p weight, bias) given @p grad_output, as
/// PyTorch's autograd computes them for `F.conv_transpose{1,2,3}d`.
///
/// Each of @p grad_input (shape of @p input), @p grad_weight (shape of @p weight) and
/// @p grad_bias (shape (C_out)) is optional: null means not wanted. Every given tensor has the
/// dtype of @p input and the context's device; @p grad_output has the shape
/// conv_transpose_output_shape(input.shape(), weight.shape(), options). @p input is read only for
/// grad_weight and @p weight only for grad_input (both are validated either way). Outputs must
/// not overlap each other or the inputs.
///
///     grad_input[n, ci, i]    = sum over co in ci's group, taps k with o = i * stride - padding
///                               + k * dilation in [0, out) of grad_output[n, co, o] *
///                               weight[ci, co % (C_out / groups), k]
///     grad_weight[ci, c, k]   = sum over n, i (o as above, in range) of input[n, ci, i] *
///                               grad_output[n, group(ci) * C_out / groups + c, o]
///     grad_bias[co]           = sum over n, o of grad_output[n, co, o]
///
/// grad_input is a convolution (forward) of grad_output with the same weight, stride, padding,
/// dilation and groups. f16/bf16 accumulate in f32.
///
/// ### Algorithms (options.algorithm)
///
/// | name        | grad_input                             | grad_weight, grad_bias               |
/// |-------------|----------------------------------------|--------------------------------------|
/// | `gemm`      | CPU: im2col of grad_output, GEMM; the  | CPU: im2col, per-tile dot products;  |
/// |             | direct phase path for narrow layers    | the direct path for narrow layers    |
/// | `onednn`    | CPU: backward-data primitive           | CPU: backward-weights primitive      |
/// | `gather`    | both: one thread per element, fixed    | both: fixed-order reductions (CUDA:  |
/// |             | tap order                              | one block per element, fixed tree)   |
/// | `cudnn`     | cuDNN convolution forward (graph API)  | weight: cuDNN backward-filter; bias: |
/// |             |                                        | the native reduction                 |
/// | `auto`      | CPU: the forward's rule (`onednn` or `gemm`); CUDA `cudnn` when it has  |
/// |             | a usable engine and the problem is compute-heavy, else `gather`          |
/// | `benchmark` | times `gemm` and `onednn` (CPU) or `gather` and `cudnn` (CUDA) once per |
/// |             | problem and gradient, cached                                             |
///
/// On the CPU with `onednn`, grad_bias comes with grad_weight from the backward-weights
/// primitive; alone it is the native row sums. `scatter` has no backward form and is an
/// ups::Error. Every native algorithm is deterministic
/// (each output element is written once, in a fixed summation order that depends on the problem
/// alone, not on the thread count or the schedule), whatever the determinism flag says; `cudnn`
/// keeps only deterministic engines when the flag is on, exactly as in the forward pass. cuDNN's
/// scratch follows the forward's rules (Context::workspace(), else stream-ordered allocation,
/// never above Context::workspace_limit()); conv_transpose_backward_workspace_size() tells the
/// need. Stream-ordered on CUDA: no host synchronisation except `benchmark`'s first call.
///
/// @throws ups::Error for invalid arguments (the forward's messages for the shared ones), a
/// gradient of the wrong shape or dtype, `scatter`, a CUDA-only algorithm on the CPU, and for
/// CUDA/cuDNN failures.
UPS_EXPORT ConvTransposeBackwardResult conv_transpose_backward(
    const Context& ctx, const TensorView& grad_output, const TensorView& input,
    const TensorView& weight, const TensorView* grad_input, const TensorView* grad_weight,
    const TensorView* grad_bias, const ConvTransposeOptions& options = {});

/// @brief Bytes of scratch memory conv_transpose_backward(@p ctx, ...) would use (the largest
/// need among the requested gradients; they run one after another and share it). 0 on the CPU.
/// Only shapes, strides and dtypes are read, as in conv_transpose_workspace_size().
UPS_EXPORT std::size_t conv_transpose_backward_workspace_size(
    const Context& ctx, const TensorView& grad_output, const TensorView& input,
    const TensorView& weight, const TensorView* grad_input, const TensorView* grad_weight,
    const TensorView* grad_bias, const ConvTransposeOptions& options = {});

}  // namespace ups
