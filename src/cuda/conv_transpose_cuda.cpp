// CUDA side of ups::conv_transpose: algorithm selection (auto, benchmark), the determinism
// rules, stream-ordered scratch memory, and the benchmark cache.
#include <cuda_runtime_api.h>

#include <algorithm>
#include <limits>
#include <mutex>
#include <sstream>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "check.hpp"
#include "conv_transpose_plan.hpp"
#include "cuda/cuda_check.hpp"
#include "cuda/scratch.hpp"

namespace ups {
namespace detail {
namespace {

// `auto` sends problems with at least this many multiply-adds per output element to cuDNN: below
// it the layer is memory-bound and the gather kernel, which reads each operand once per output
// and does no wasted work, is the better choice (performance.md section 4). The value is not
// measured: the crossover with the tiled gather kernel needs a GPU run to place.
constexpr std::int64_t kCudnnMinMacsPerOutput = 32;
constexpr int kBenchmarkRuns = 3;

// The largest payload whose aligned footprint (scratch_footprint) fits in `bytes`.
std::size_t payload_within(std::size_t bytes) {
  return bytes > kScratchAlign - 1 ? bytes - (kScratchAlign - 1) : 0;
}

// The payload a call may use: within the caller's workspace when it gave one, else within the
// allocation limit.
std::size_t budget_of(const Context& ctx) {
  return payload_within(ctx.workspace() != nullptr ? ctx.workspace_bytes() : ctx.workspace_limit());
}

ConvTransposeAttempt attempt(ConvTransposeAlgo a, bool chosen, std::string reason,
                             std::size_t ws = 0) {
  ConvTransposeAttempt t;
  t.algo = a;
  t.chosen = chosen;
  t.reason = std::move(reason);
  t.workspace_bytes = ws;
  return t;
}

// Multiply-adds per output element when only the taps the stride lets through are visited.
std::int64_t macs_per_output(const ConvTransposePlan& p) {
  std::int64_t taps = 1;
  for (int d = 0; d < 3; ++d)
    taps *= (p.g.k[d] + p.g.stride[d] - 1) / p.g.stride[d];
  return taps * p.g.cin_g;
}

// cuDNN's backward data derives the forward output size from dx; an output_padding of a whole
// stride or more (allowed by PyTorch when dilation exceeds it) changes that size.
std::string cudnn_static_decline(const ConvTransposePlan& p) {
  for (int i = 0; i < p.spatial; ++i) {
    if (p.output_padding[i] >= p.stride[i]) {
      return concat("output_padding ", p.output_padding[i], " >= stride ", p.stride[i],
                    " in spatial dim ", i, " is not expressible as a cuDNN backward-data problem");
    }
  }
  return "";
}

CudnnDeconvQuery query_cudnn(const Context& ctx, const ConvTransposePlan& p, std::size_t budget) {
  CudnnDeconvQuery q;
  if (!cudnn_deconv_compiled()) {
    q.reason = "this build of ups has no cuDNN";
    return q;
  }
  q.reason = cudnn_static_decline(p);
  if (!q.reason.empty()) return q;
  return cudnn_deconv_plan(p, ctx.deterministic(), ctx.allow_tf32(), budget);
}

void run_gather(const Context& ctx, const ConvTransposePlan& p) {
  deconv_gather_cuda(p, ctx.stream());
}

void run_scatter(const Context& ctx, const ConvTransposePlan& p, ConvTransposeResult* r) {
  const std::size_t bytes = deconv_scatter_workspace(p);
  Scratch scratch(ctx, bytes, "conv_transpose");
  deconv_scatter_cuda(p, scratch.get(), ctx.stream());
  if (r != nullptr) {
    r->workspace_bytes = scratch_footprint(bytes);
    r->workspace_allocated = scratch.allocated();
  }
}

void run_cudnn(const Context& ctx, const ConvTransposePlan& p, const CudnnDeconvQuery& q,
               ConvTransposeResult* r) {
  Scratch scratch(ctx, q.workspace_bytes, "conv_transpose");
  cudnn_deconv_execute(q, p, scratch.get(), ctx.stream());
  deconv_add_bias_cuda(p, ctx.stream());
  if (r != nullptr) {
    r->workspace_bytes = scratch_footprint(q.workspace_bytes);
    r->workspace_allocated = scratch.allocated();
    r->detail = q.reason;
  }
}

// ---- benchmark cache ----

std::mutex& bench_mutex() {
  static std::mutex m;
  return m;
}
std::unordered_map<std::string, ConvTransposeAlgo>& bench_cache() {
  static auto* cache = new std::unordered_map<std::string, ConvTransposeAlgo>();
  return *cache;
}

void put_view(std::ostringstream& os, const char* name, const TensorView& v) {
  os << name << "[";
  for (int i = 0; i < v.ndim; ++i)
    os << v.sizes[i] << ":" << v.strides[i] << ",";
  os << "]";
}

// Everything that can change which algorithm is fastest or allowed: the workspace budget too,
// since a winner timed with a large budget may not fit a smaller one.
std::string bench_key(const Context& ctx, const ConvTransposePlan& p) {
  int device = 0;
  UPS_CUDA_CHECK(cudaGetDevice(&device));
  std::ostringstream os;
  os << "dev" << device << " pass" << static_cast<int>(p.pass) << " " << to_string(p.dtype)
     << " det" << ctx.deterministic() << " tf32" << ctx.allow_tf32() << " budget" << budget_of(ctx)
     << " g" << p.g.groups << " bias" << (p.bias != nullptr) << ":" << p.g.bias_stride << " ";
  put_view(os, "src", p.src_view);
  put_view(os, "w", p.weight_view);
  put_view(os, "dst", p.dst_view);
  for (int i = 0; i < p.spatial; ++i) {
    os << " s" << p.stride[i] << "p" << p.pad[i] << "op" << p.output_padding[i] << "d" << p.dil[i];
  }
  return os.str();
}

class EventPair {
 public:
  EventPair() {
    UPS_CUDA_CHECK(cudaEventCreate(&start_));
    const cudaError_t err = cudaEventCreate(&stop_);
    if (err != cudaSuccess) {
      (void)cudaEventDestroy(start_);
      UPS_CUDA_CHECK(err);
    }
  }
  ~EventPair() {
    (void)cudaEventDestroy(start_);
    (void)cudaEventDestroy(stop_);
  }
  EventPair(const EventPair&) = delete;
  EventPair& operator=(const EventPair&) = delete;
  // Milliseconds per run of fn over kBenchmarkRuns runs, after one warm-up run. Synchronises.
  template <class Fn>
  double time(StreamHandle stream, Fn&& fn) {
    fn();
    UPS_CUDA_CHECK(cudaEventRecord(start_, stream));
    for (int i = 0; i < kBenchmarkRuns; ++i)
      fn();
    UPS_CUDA_CHECK(cudaEventRecord(stop_, stream));
    UPS_CUDA_CHECK(cudaEventSynchronize(stop_));
    float ms = 0;
    UPS_CUDA_CHECK(cudaEventElapsedTime(&ms, start_, stop_));
    return static_cast<double>(ms) / kBenchmarkRuns;
  }

 private:
  cudaEvent_t start_ = nullptr;
  cudaEvent_t stop_ = nullptr;
};

// ---- the algorithms ----

// Runs cuDNN when it has a plan within the budget and the plan runs. Otherwise records why not
// in r's attempts and returns false, with nothing else in r changed, so that the caller's
// fallback writes dst. Only cuDNN and memory errors fall back; anything else propagates.
bool try_cudnn(const Context& ctx, const ConvTransposePlan& p, const std::string& why,
               ConvTransposeResult* r) {
  const CudnnDeconvQuery q = query_cudnn(ctx, p, budget_of(ctx));
  const std::size_t footprint = scratch_footprint(q.workspace_bytes);
  if (!q.ok) {
    r->attempts.push_back(attempt(ConvTransposeAlgo::kCudnn, false, q.reason, footprint));
    return false;
  }
  ConvTransposeResult ran;
  try {
    run_cudnn(ctx, p, q, &ran);
  } catch (const Error& e) {
    if (e.code() != ErrorCode::kCudnnError && e.code() != ErrorCode::kOutOfMemory) throw;
    r->attempts.push_back(
        attempt(ConvTransposeAlgo::kCudnn, false, concat("failed to run: ", e.what()), footprint));
    return false;
  }
  r->algorithm = ConvTransposeAlgo::kCudnn;
  r->workspace_bytes = ran.workspace_bytes;
  r->workspace_allocated = ran.workspace_allocated;
  r->detail = ran.detail;
  r->attempts.push_back(
      attempt(ConvTransposeAlgo::kCudnn, true, concat(why, "; ", q.reason), footprint));
  return true;
}

ConvTransposeResult run_auto(const Context& ctx, const ConvTransposePlan& p) {
  ConvTransposeResult r;
  const std::int64_t macs = macs_per_output(p);
  const char* scatter_reason = "never chosen by auto (atomic-bound, nondeterministic)";
  std::string gather_reason = "native deterministic kernel";
  if (!cudnn_deconv_compiled()) {
    r.attempts.push_back(
        attempt(ConvTransposeAlgo::kCudnn, false, "this build of ups has no cuDNN"));
    gather_reason = "fallback: cuDNN is not available";
  } else if (macs < kCudnnMinMacsPerOutput) {
    r.attempts.push_back(
        attempt(ConvTransposeAlgo::kCudnn, false,
                concat("not tried: memory-bound problem (", macs,
                       " multiply-adds per output element, below ", kCudnnMinMacsPerOutput,
                       "), where the native gather kernel is preferred")));
    gather_reason = "preferred for memory-bound problems";
  } else {
    if (try_cudnn(ctx, p,
                  concat("compute-heavy problem (", macs, " multiply-adds per output element)"),
                  &r)) {
      r.attempts.push_back(attempt(ConvTransposeAlgo::kGather, false, "not needed: cuDNN ran"));
      r.attempts.push_back(attempt(ConvTransposeAlgo::kScatter, false, scatter_reason));
      return r;
    }
    gather_reason = "fallback: cuDNN declined";
  }
  run_gather(ctx, p);
  r.algorithm = ConvTransposeAlgo::kGather;
  r.attempts.push_back(attempt(ConvTransposeAlgo::kGather, true, gather_reason));
  r.attempts.push_back(attempt(ConvTransposeAlgo::kScatter, false, scatter_reason));
  return r;
}

// Runs the algorithm a cached benchmark chose. cuDNN may no longer run (its plan failed, or
// memory ran out): then gather runs instead, as in run_auto, and the reason is recorded.
ConvTransposeResult run_cached(const Context& ctx, const ConvTransposePlan& p,
                               ConvTransposeAlgo algo) {
  ConvTransposeResult r;
  r.from_cache = true;
  if (algo == ConvTransposeAlgo::kCudnn) {
    if (try_cudnn(ctx, p, "cached benchmark choice", &r)) return r;
    algo = ConvTransposeAlgo::kGather;
  }
  if (algo == ConvTransposeAlgo::kScatter) {
    run_scatter(ctx, p, &r);
  } else {
    run_gather(ctx, p);
  }
  r.algorithm = algo;
  r.attempts.push_back(attempt(
      algo, true,
      r.attempts.empty() ? "cached benchmark choice" : "fallback: the cached cuDNN choice declined",
      r.workspace_bytes));
  return r;
}

ConvTransposeResult run_benchmark(const Context& ctx, const ConvTransposePlan& p) {
  const std::string key = bench_key(ctx, p);
  {
    std::lock_guard<std::mutex> lock(bench_mutex());
    const auto it = bench_cache().find(key);
    // The key holds the determinism flag; the second test guards the rule itself.
    if (it != bench_cache().end() &&
        !(ctx.deterministic() && it->second == ConvTransposeAlgo::kScatter)) {
      const ConvTransposeAlgo algo = it->second;
      return run_cached(ctx, p, algo);
    }
  }

  ConvTransposeResult r;
  struct Candidate {
    ConvTransposeAlgo algo;
    CudnnDeconvQuery q;
  };
  std::vector<Candidate> candidates;
  candidates.push_back({ConvTransposeAlgo::kGather, {}});
  if (ctx.deterministic()) {
    r.attempts.push_back(attempt(ConvTransposeAlgo::kScatter, false,
                                 "not timed: nondeterministic and deterministic mode is on"));
  } else {
    const std::size_t ws = deconv_scatter_workspace(p);
    if (ws > budget_of(ctx)) {
      r.attempts.push_back(attempt(
          ConvTransposeAlgo::kScatter, false,
          concat("not timed: needs ", scratch_footprint(ws), " bytes of workspace, over the ",
                 scratch_footprint(budget_of(ctx)), " available"),
          scratch_footprint(ws)));
    } else {
      candidates.push_back({ConvTransposeAlgo::kScatter, {}});
    }
  }
  CudnnDeconvQuery q = query_cudnn(ctx, p, budget_of(ctx));
  if (q.ok) {
    candidates.push_back({ConvTransposeAlgo::kCudnn, q});
  } else {
    r.attempts.push_back(
        attempt(ConvTransposeAlgo::kCudnn, false, q.reason, scratch_footprint(q.workspace_bytes)));
  }

  EventPair events;
  double best = std::numeric_limits<double>::infinity();
  ConvTransposeAlgo winner = ConvTransposeAlgo::kGather;
  CudnnDeconvQuery winner_q;
  std::vector<ConvTransposeAttempt> timed;
  for (const Candidate& c : candidates) {
    ConvTransposeAttempt a = attempt(
        c.algo, false, "timed",
        scratch_footprint(c.algo == ConvTransposeAlgo::kCudnn     ? c.q.workspace_bytes
                          : c.algo == ConvTransposeAlgo::kScatter ? deconv_scatter_workspace(p)
                                                                  : 0));
    try {
      a.time_ms = events.time(ctx.stream(), [&] {
        switch (c.algo) {
          case ConvTransposeAlgo::kScatter:
            run_scatter(ctx, p, nullptr);
            break;
          case ConvTransposeAlgo::kCudnn:
            run_cudnn(ctx, p, c.q, nullptr);
            break;
          default:
            run_gather(ctx, p);
            break;
        }
      });
    } catch (const Error& e) {
      if (c.algo == ConvTransposeAlgo::kGather) throw;  // the native kernel must run
      a.reason = concat("failed to run: ", e.what());
      timed.push_back(a);
      continue;
    }
    if (a.time_ms < best) {
      best = a.time_ms;
      winner = c.algo;
      winner_q = c.q;
    }
    timed.push_back(a);
  }
  // dst holds the last candidate's result; make it the winner's.
  if (timed.empty() || timed.back().algo != winner) {
    switch (winner) {
      case ConvTransposeAlgo::kScatter:
        run_scatter(ctx, p, &r);
        break;
      case ConvTransposeAlgo::kCudnn:
        run_cudnn(ctx, p, winner_q, &r);
        break;
      default:
        run_gather(ctx, p);
        break;
    }
  } else if (winner == ConvTransposeAlgo::kCudnn) {
    r.workspace_bytes = scratch_footprint(winner_q.workspace_bytes);
    r.detail = winner_q.reason;
    r.workspace_allocated = ctx.workspace() == nullptr && winner_q.workspace_bytes > 0;
  } else if (winner == ConvTransposeAlgo::kScatter) {
    r.workspace_bytes = scratch_footprint(deconv_scatter_workspace(p));
    r.workspace_allocated = ctx.workspace() == nullptr && r.workspace_bytes > 0;
  }
  for (ConvTransposeAttempt& a : timed) {
    if (a.algo == winner && a.time_ms >= 0) {
      a.chosen = true;
      a.reason = "fastest of the timed candidates";
    } else if (a.time_ms >= 0) {
      a.reason = "slower";
    }
    r.attempts.push_back(a);
  }
  r.algorithm = winner;
  {
    std::lock_guard<std::mutex> lock(bench_mutex());
    bench_cache().emplace(key, winner);
  }
  return r;
}

}  // namespace

ConvTransposeResult conv_transpose_cuda(const Context& ctx, const ConvTransposePlan& p,
                                        ConvTransposeAlgo algo) {
  ConvTransposeResult r;
  switch (algo) {
    case ConvTransposeAlgo::kGather:
      run_gather(ctx, p);
      r.algorithm = algo;
      r.attempts.push_back(attempt(algo, true, "requested"));
      return r;
    case ConvTransposeAlgo::kScatter:
      UPS_CHECK(!ctx.deterministic(), ErrorCode::kInvalidArgument,
                "conv_transpose: algorithm 'scatter' is nondeterministic, but deterministic mode "
                "is on");
      run_scatter(ctx, p, &r);
      r.algorithm = algo;
      r.attempts.push_back(attempt(algo, true, "requested", r.workspace_bytes));
      return r;
    case ConvTransposeAlgo::kCudnn: {
      const CudnnDeconvQuery q = query_cudnn(ctx, p, budget_of(ctx));
      if (!q.ok) {
        fail(cudnn_deconv_compiled() ? ErrorCode::kCudnnError : ErrorCode::kNotCompiled,
             concat("conv_transpose: algorithm 'cudnn' cannot run this problem: ", q.reason));
      }
      run_cudnn(ctx, p, q, &r);
      r.algorithm = algo;
      r.attempts.push_back(attempt(algo, true, "requested", r.workspace_bytes));
      return r;
    }
    case ConvTransposeAlgo::kBenchmark:
      return run_benchmark(ctx, p);
    case ConvTransposeAlgo::kAuto:
      return run_auto(ctx, p);
    case ConvTransposeAlgo::kGemm:
    case ConvTransposeAlgo::kOnednn:
      break;
  }
  fail(ErrorCode::kUnsupportedDevice,
       concat("conv_transpose: algorithm '", to_string(algo), "' runs only on the CPU"));
}

// ---- backward ----

namespace {

const char* pass_name(DeconvPass which) {
  switch (which) {
    case DeconvPass::kGradInput:
      return "grad_input";
    case DeconvPass::kGradWeight:
      return "grad_weight";
    case DeconvPass::kGradBias:
      return "grad_bias";
    case DeconvPass::kForward:
      break;
  }
  return "conv_transpose";
}

void run_native(const Context& ctx, const ConvTransposeBackwardPlan& b, DeconvPass which) {
  switch (which) {
    case DeconvPass::kGradInput:
      deconv_grad_input_cuda(b, ctx.stream());
      return;
    case DeconvPass::kGradWeight:
      deconv_grad_weight_cuda(b, ctx.stream());
      return;
    default:
      deconv_grad_bias_cuda(b, ctx.stream());
      return;
  }
}

ConvTransposePlan pass_plan(const ConvTransposeBackwardPlan& b, DeconvPass which) {
  return which == DeconvPass::kGradInput ? b.grad_input_pass() : b.grad_weight_pass();
}

// Multiply-adds per element of the gradient: C_out / groups times the taps for grad_input; for
// grad_weight every element sums N times the input positions, always compute-heavy.
std::int64_t backward_macs(const ConvTransposeBackwardPlan& b, DeconvPass which) {
  const kern::DeconvGeometry& g = b.fwd.g;
  if (which == DeconvPass::kGradInput) return g.cout_g * g.k[0] * g.k[1] * g.k[2];
  return g.n * g.in[0] * g.in[1] * g.in[2];
}

ConvTransposeResult native_result(ConvTransposeResult r, const std::string& why) {
  r.algorithm = ConvTransposeAlgo::kGather;
  r.attempts.push_back(attempt(ConvTransposeAlgo::kGather, true, why));
  return r;
}

ConvTransposeResult backward_benchmark(const Context& ctx, const ConvTransposeBackwardPlan& b,
                                       DeconvPass which) {
  const ConvTransposePlan pp = pass_plan(b, which);
  const std::string key = bench_key(ctx, pp);
  ConvTransposeAlgo cached = ConvTransposeAlgo::kAuto;
  {
    std::lock_guard<std::mutex> lock(bench_mutex());
    const auto it = bench_cache().find(key);
    if (it != bench_cache().end()) cached = it->second;
  }
  ConvTransposeResult r;
  if (cached != ConvTransposeAlgo::kAuto) {
    r.from_cache = true;
    if (cached == ConvTransposeAlgo::kCudnn && try_cudnn(ctx, pp, "cached benchmark choice", &r)) {
      return r;
    }
    run_native(ctx, b, which);
    return native_result(r, r.attempts.empty() ? "cached benchmark choice"
                                               : "fallback: the cached cuDNN choice declined");
  }
  const CudnnDeconvQuery q = query_cudnn(ctx, pp, budget_of(ctx));
  EventPair events;
  ConvTransposeAttempt native = attempt(ConvTransposeAlgo::kGather, false, "timed");
  native.time_ms = events.time(ctx.stream(), [&] { run_native(ctx, b, which); });
  ConvTransposeAlgo winner = ConvTransposeAlgo::kGather;
  ConvTransposeAttempt dnn =
      attempt(ConvTransposeAlgo::kCudnn, false, q.reason, scratch_footprint(q.workspace_bytes));
  if (q.ok) {
    try {
      dnn.time_ms = events.time(ctx.stream(), [&] { run_cudnn(ctx, pp, q, nullptr); });
      dnn.reason = "timed";
      if (dnn.time_ms < native.time_ms) winner = ConvTransposeAlgo::kCudnn;
    } catch (const Error& e) {
      if (e.code() != ErrorCode::kCudnnError && e.code() != ErrorCode::kOutOfMemory) throw;
      dnn.reason = concat("failed to run: ", e.what());
    }
  }
  // The gradient holds the last candidate's result; make it the winner's.
  if (winner == ConvTransposeAlgo::kGather) {
    if (dnn.time_ms >= 0) run_native(ctx, b, which);
    native.chosen = true;
    native.reason = "fastest of the timed candidates";
    if (dnn.time_ms >= 0) dnn.reason = "slower";
  } else {
    dnn.chosen = true;
    dnn.reason = concat("fastest of the timed candidates; ", q.reason);
    native.reason = "slower";
    r.workspace_bytes = scratch_footprint(q.workspace_bytes);
    r.workspace_allocated = ctx.workspace() == nullptr && q.workspace_bytes > 0;
    r.detail = q.reason;
  }
  r.attempts.push_back(native);
  r.attempts.push_back(dnn);
  r.algorithm = winner;
  {
    std::lock_guard<std::mutex> lock(bench_mutex());
    bench_cache().emplace(key, winner);
  }
  return r;
}

}  // namespace

ConvTransposeResult conv_transpose_backward_cuda(const Context& ctx,
                                                 const ConvTransposeBackwardPlan& b,
                                                 DeconvPass which, ConvTransposeAlgo algo) {
  ConvTransposeResult r;
  const char* name = pass_name(which);
  // grad_bias has no cuDNN form, and an empty batch leaves nothing for cuDNN to do: grad_weight
  // is zero (the native reduction writes it) and grad_input is empty.
  if (which == DeconvPass::kGradBias || b.fwd.g.n == 0) {
    run_native(ctx, b, which);
    return native_result(r, which == DeconvPass::kGradBias
                                ? "the native deterministic reduction (cuDNN has no bias form)"
                                : "empty batch: the native kernel writes the result");
  }
  const ConvTransposePlan pp = pass_plan(b, which);
  switch (algo) {
    case ConvTransposeAlgo::kGather:
      run_native(ctx, b, which);
      return native_result(r, "requested");
    case ConvTransposeAlgo::kCudnn: {
      const CudnnDeconvQuery q = query_cudnn(ctx, pp, budget_of(ctx));
      if (!q.ok) {
        fail(cudnn_deconv_compiled() ? ErrorCode::kCudnnError : ErrorCode::kNotCompiled,
             concat("conv_transpose_backward: algorithm 'cudnn' cannot compute ", name, ": ",
                    q.reason));
      }
      run_cudnn(ctx, pp, q, &r);
      r.algorithm = algo;
      r.attempts.push_back(attempt(algo, true, "requested", r.workspace_bytes));
      return r;
    }
    case ConvTransposeAlgo::kBenchmark:
      return backward_benchmark(ctx, b, which);
    case ConvTransposeAlgo::kAuto: {
      const std::int64_t macs = backward_macs(b, which);
      if (!cudnn_deconv_compiled()) {
        r.attempts.push_back(
            attempt(ConvTransposeAlgo::kCudnn, false, "this build of ups has no cuDNN"));
      } else if (macs < kCudnnMinMacsPerOutput) {
        r.attempts.push_back(
            attempt(ConvTransposeAlgo::kCudnn, false,
                    concat("not tried: memory-bound problem (", macs, " multiply-adds per ", name,
                           " element, below ", kCudnnMinMacsPerOutput, ")")));
      } else if (try_cudnn(ctx, pp,
                           concat("compute-heavy problem (", macs, " multiply-adds per ", name,
                                  " element)"),
                           &r)) {
        r.attempts.push_back(attempt(ConvTransposeAlgo::kGather, false, "not needed: cuDNN ran"));
        return r;
      }
      run_native(ctx, b, which);
      return native_result(r, r.attempts.back().reason.rfind("not tried", 0) == 0
                                  ? "preferred for memory-bound problems"
                                  : "fallback: cuDNN is not available or declined");
    }
    default:
      break;
  }
  fail(ErrorCode::kInvalidArgument,
       concat("conv_transpose_backward: algorithm '", to_string(algo), "' cannot run on CUDA"));
}

std::size_t conv_transpose_backward_cuda_workspace(const Context& ctx,
                                                   const ConvTransposeBackwardPlan& b,
                                                   DeconvPass which, ConvTransposeAlgo algo) {
  if (which == DeconvPass::kGradBias || b.fwd.g.n == 0 || algo == ConvTransposeAlgo::kGather) {
    return 0;
  }
  const std::size_t limit = payload_within(ctx.workspace_limit());
  const ConvTransposePlan pp = pass_plan(b, which);
  if (algo == ConvTransposeAlgo::kAuto &&
      (!cudnn_deconv_compiled() || backward_macs(b, which) < kCudnnMinMacsPerOutput)) {
    return 0;
  }
  const CudnnDeconvQuery q = query_cudnn(ctx, pp, limit);
  if (algo == ConvTransposeAlgo::kCudnn && !q.ok) {
    fail(cudnn_deconv_compiled() ? ErrorCode::kCudnnError : ErrorCode::kNotCompiled,
         concat("conv_transpose_backward: algorithm 'cudnn' cannot compute ", pass_name(which),
                ": ", q.reason));
  }
  return q.ok ? scratch_footprint(q.workspace_bytes) : 0;
}

std::size_t conv_transpose_cuda_workspace(const Context& ctx, const ConvTransposePlan& p,
                                          ConvTransposeAlgo algo) {
  // The payload that fits the allocation limit once aligned; the answers are footprints.
  const std::size_t limit = payload_within(ctx.workspace_limit());
  switch (algo) {
    case ConvTransposeAlgo::kGather:
      return 0;
    case ConvTransposeAlgo::kScatter:
      return scratch_footprint(deconv_scatter_workspace(p));
    case ConvTransposeAlgo::kCudnn: {
      const CudnnDeconvQuery q = query_cudnn(ctx, p, limit);
      if (!q.ok) {
        fail(cudnn_deconv_compiled() ? ErrorCode::kCudnnError : ErrorCode::kNotCompiled,
             concat("conv_transpose: algorithm 'cudnn' cannot run this problem: ", q.reason));
      }
      return scratch_footprint(q.workspace_bytes);
    }
    case ConvTransposeAlgo::kAuto: {
      if (!cudnn_deconv_compiled() || macs_per_output(p) < kCudnnMinMacsPerOutput) return 0;
      const CudnnDeconvQuery q = query_cudnn(ctx, p, limit);
      return q.ok ? scratch_footprint(q.workspace_bytes) : 0;
    }
    case ConvTransposeAlgo::kBenchmark: {
      std::size_t need = 0;
      if (!ctx.deterministic() && deconv_scatter_workspace(p) <= limit) {
        need = deconv_scatter_workspace(p);
      }
      const CudnnDeconvQuery q = query_cudnn(ctx, p, limit);
      if (q.ok) need = std::max(need, q.workspace_bytes);
      return scratch_footprint(need);
    }
    case ConvTransposeAlgo::kGemm:
    case ConvTransposeAlgo::kOnednn:
      break;
  }
  fail(ErrorCode::kUnsupportedDevice,
       concat("conv_transpose: algorithm '", to_string(algo), "' runs only on the CPU"));
}

}  // namespace detail
}  // namespace ups
