// ups::conv_transpose's plan: the interface between the front end (src/conv_transpose.cpp) and its
// backends: the CPU backend (src/cpu/conv_transpose_cpu.cpp), the CUDA dispatcher
// (src/cuda/conv_transpose_cuda.cpp), the native kernels (kernels/conv_transpose/conv_transpose.cu)
// and the cuDNN glue (src/cudnn). Everything here has been validated before it is called.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "conv_transpose/deconv_math.hpp"
#include "cuda/runtime.hpp"
#include "ups/context.hpp"
#include "ups/conv_transpose.hpp"
#include "ups/tensor.hpp"

namespace ups {
namespace detail {

// Which convolution a plan describes, in cuDNN's terms. Every pass names the tensors the same way:
// `dst` is the large side (conv_transpose's output, or grad_output), `src` the small side
// (conv_transpose's input, grad_input or the input), `weight` the filter (weight or grad_weight).
enum class DeconvPass : std::uint8_t {
  kForward,     // conv_transpose: cuDNN backward data (dx = dst, w = weight, dy = src)
  kGradInput,   // grad_input: cuDNN forward (x = dst = grad_output, w = weight, y = src)
  kGradWeight,  // grad_weight: cuDNN backward filter (x = dst, dw = weight, dy = src = input)
  kGradBias,    // grad_bias: a native reduction of dst (grad_output) only; no cuDNN form
};

// A validated conv_transpose call.
struct ConvTransposePlan {
  DeconvPass pass = DeconvPass::kForward;
  kern::DeconvGeometry g;  // normalised to three spatial dims
  DType dtype;
  int spatial;  // 1, 2 or 3: the caller's spatial rank
  const void* src;
  const void* weight;
  const void* bias;  // null without bias
  void* dst;
  // The caller's views (rank spatial + 2) for cuDNN's tensor descriptors.
  TensorView src_view, weight_view, dst_view;
  std::int64_t stride[3], pad[3], output_padding[3], dil[3];  // caller's dims, first `spatial`
  std::int64_t src_numel, dst_numel;
};

// A validated conv_transpose_backward call. `fwd` describes the forward problem with src =
// input, weight = weight and dst = grad_output (so fwd.g.dst_stride are grad_output's strides);
// the gradients that were asked for are non-null.
struct ConvTransposeBackwardPlan {
  ConvTransposePlan fwd;
  void* grad_input;  // null when not wanted
  TensorView gx_view;
  std::int64_t gx_stride[5];  // N, C_in, D, H, W as in fwd.g.src_stride
  bool gx_channels_last;
  void* grad_weight;  // null when not wanted
  TensorView gw_view;
  std::int64_t gw_stride[5];  // C_in, C_out / groups, kD, kH, kW
  void* grad_bias;            // null when not wanted
  std::int64_t gb_stride;

  // The problem each gradient hands to cuDNN (see DeconvPass).
  ConvTransposePlan grad_input_pass() const {
    ConvTransposePlan p = fwd;
    p.pass = DeconvPass::kGradInput;
    p.src = grad_input;
    p.src_view = gx_view;
    return p;
  }
  ConvTransposePlan grad_weight_pass() const {
    ConvTransposePlan p = fwd;
    p.pass = DeconvPass::kGradWeight;
    p.weight = grad_weight;
    p.weight_view = gw_view;
    return p;
  }
};

// ---- CPU dispatch (src/cpu/conv_transpose_cpu_dispatch.cpp): auto, benchmark and onednn ----
ConvTransposeResult conv_transpose_cpu(const Context& ctx, const ConvTransposePlan& p,
                                       ConvTransposeAlgo algo);
void conv_transpose_backward_cpu_dispatch(const Context& ctx, const ConvTransposeBackwardPlan& b,
                                          ConvTransposeAlgo algo,
                                          ConvTransposeBackwardResult* result);
// Everything that identifies a CPU problem for the benchmark and oneDNN primitive caches: pass,
// dtype, thread count, bias, groups, every size and stride, and the parameters.
std::string cpu_problem_key(const ConvTransposePlan& p, int threads);

// ---- CPU backend (src/cpu/conv_transpose_cpu.cpp) ----
void conv_transpose_cpu_gemm(const ConvTransposePlan& p, int threads);
void conv_transpose_cpu_gather(const ConvTransposePlan& p, int threads);
// The direct path for narrow layers (src/cpu/conv_transpose_direct.cpp), which `gemm` takes when
// direct_preferred(p) says so.
void conv_transpose_cpu_direct(const ConvTransposePlan& p, int threads);
bool conv_transpose_direct_preferred(const ConvTransposePlan& p);
// The direct path's grad_input and grad_weight (not grad_bias) for the same narrow layers.
void conv_transpose_backward_cpu_direct(const ConvTransposeBackwardPlan& p, int threads);
// The passes around the planar kernel == stride matmuls of the `onednn` algorithm
// (src/cpu/tap_interleave.cpp; f32 and bf16). interleave: image n of the output from its
// product rows (co, tap) x input pixels, f32 when p.bias is set (added in f32, rounded once),
// else of p's dtype. deinterleave: image n's grad_output (p.dst) into G as (co, tap) x input
// pixels, and, with bias_sum, each channel's grad_output sum added to bias_sum[co] in a fixed
// order.
void conv_transpose_interleave_taps(const ConvTransposePlan& p, std::int64_t n, const void* prod,
                                    int threads);
void conv_transpose_deinterleave_taps(const ConvTransposePlan& p, std::int64_t n, void* G,
                                      double* bias_sum, int threads);
// Backward (src/cpu/conv_transpose_backward_cpu.cpp): `gemm` (im2col + GEMM-shaped loops) or
// `gather` (the per-element reference bodies); each computes the gradients the plan asks for.
void conv_transpose_backward_cpu(const ConvTransposeBackwardPlan& p, bool gather, int threads);

// ---- oneDNN glue (src/onednn/conv_transpose_onednn.cpp, or the stubs in
// src/cpu/conv_transpose_noonednn.cpp when oneDNN is absent) ----
// True when this build has oneDNN.
bool onednn_compiled() noexcept;
// Runs p.pass with oneDNN on `threads` threads: kForward computes dst from src, weight and bias;
// kGradInput computes src (grad_input) from dst (grad_output) and weight; kGradWeight computes
// weight (grad_weight), and bias (grad_bias) when it is not null, from src (the input) and dst
// (grad_output). Returns "" when it ran (or, with run == false, would run), else why oneDNN
// declines, having written nothing. Primitives are cached per problem and thread count.
std::string onednn_deconv(const ConvTransposePlan& p, int threads, bool run = true);

// ---- CUDA dispatcher (src/cuda/conv_transpose_cuda.cpp; stubs in CPU-only builds) ----
ConvTransposeResult conv_transpose_cuda(const Context& ctx, const ConvTransposePlan& p,
                                        ConvTransposeAlgo algo);
std::size_t conv_transpose_cuda_workspace(const Context& ctx, const ConvTransposePlan& p,
                                          ConvTransposeAlgo algo);

// Backward on CUDA (same file): one gradient per call, `algo` as in conv_transpose_backward.
ConvTransposeResult conv_transpose_backward_cuda(const Context& ctx,
                                                 const ConvTransposeBackwardPlan& p,
                                                 DeconvPass which, ConvTransposeAlgo algo);
std::size_t conv_transpose_backward_cuda_workspace(const Context& ctx,
                                                   const ConvTransposeBackwardPlan& p,
                                                   DeconvPass which, ConvTransposeAlgo algo);

// ---- native CUDA kernels (kernels/conv_transpose/conv_transpose.cu) ----
// All enqueue on `stream` and throw ups::Error on launch failure.
void deconv_gather_cuda(const ConvTransposePlan& p, StreamHandle stream);
// Scratch the scatter kernel needs: an f32 accumulator of dst_numel floats for f16/bf16, else 0.
std::size_t deconv_scatter_workspace(const ConvTransposePlan& p);
void deconv_scatter_cuda(const ConvTransposePlan& p, void* workspace, StreamHandle stream);
// dst += bias[c] (after cuDNN, which computes no bias).
void deconv_add_bias_cuda(const ConvTransposePlan& p, StreamHandle stream);
// Backward kernels (kernels/conv_transpose/conv_transpose_backward.cu), deterministic.
void deconv_grad_input_cuda(const ConvTransposeBackwardPlan& p, StreamHandle stream);
void deconv_grad_weight_cuda(const ConvTransposeBackwardPlan& p, StreamHandle stream);
void deconv_grad_bias_cuda(const ConvTransposeBackwardPlan& p, StreamHandle stream);

// ---- cuDNN glue (src/cudnn/conv_transpose_cudnn.cpp, or the stubs in
// src/cuda/conv_transpose_nocudnn.cpp when cuDNN is absent) ----
struct CudnnDeconvPlan;  // a finalized execution plan and what it keeps alive
struct CudnnDeconvQuery {
  bool ok = false;
  std::string reason;  // why cuDNN declines (ok == false) or which engine (ok == true)
  std::size_t workspace_bytes = 0;
  std::shared_ptr<CudnnDeconvPlan> plan;
};
// True when this build has cuDNN.
bool cudnn_deconv_compiled() noexcept;
// Finds an execution plan for the problem on the current device whose workspace fits `budget`
// bytes: heuristics mode A (then the fallback list), engine configs filtered by numerical notes
// (nondeterministic ones when `deterministic`; TF32 / down-converting ones for f32 unless
// `allow_tf32`; down-converting and reduced-precision ones always). Plans are cached per thread
// and device. Never throws for "cannot run"; the reason says why.
CudnnDeconvQuery cudnn_deconv_plan(const ConvTransposePlan& p, bool deterministic, bool allow_tf32,
                                   std::size_t budget);
// Enqueues the plan on `stream`. Does not add the bias.
void cudnn_deconv_execute(const CudnnDeconvQuery& q, const ConvTransposePlan& p, void* workspace,
                          StreamHandle stream);

}  // namespace detail
}  // namespace ups
