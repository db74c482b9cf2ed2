// Algorithm choice of ups::conv_transpose and its backward on the CPU: `gemm` and `gather` (the
// native paths), `onednn`, `auto` (the rule below) and `benchmark` (times gemm against oneDNN
// once per problem, pass and thread count, and caches the faster).
#include <algorithm>
#include <chrono>
#include <functional>
#include <mutex>
#include <sstream>
#include <string>
#include <unordered_map>
#include <utility>

#include "check.hpp"
#include "conv_transpose_plan.hpp"

namespace ups {
namespace detail {
namespace {

ConvTransposeAttempt attempt(ConvTransposeAlgo a, bool chosen, std::string reason,
                             double ms = -1.0) {
  ConvTransposeAttempt t;
  t.algo = a;
  t.chosen = chosen;
  t.reason = std::move(reason);
  t.time_ms = ms;
  return t;
}

// Where `auto` keeps the native path although oneDNN could run: problems whose GEMM is too
// narrow for oneDNN's blocking (measured crossovers in docs/benchmarks.md, "conv_transpose on
// the CPU"): depthwise and other groups of one input channel, and few channels on both sides.
std::string native_preferred(const ConvTransposePlan& p) {
  const kern::DeconvGeometry& g = p.g;
  if (g.cin_g == 1) {
    return concat("one input channel per group (", g.groups,
                  " groups): the native path's per-channel loops beat oneDNN's GEMM");
  }
  if (g.cin_g * g.cout_g <= 32) {
    return concat("few channels (", g.cin_g, " in, ", g.cout_g,
                  " out per group): too narrow a GEMM for oneDNN's blocking");
  }
  return "";
}

std::mutex& bench_mutex() {
  static auto* m = new std::mutex();
  return *m;
}
std::unordered_map<std::string, ConvTransposeAlgo>& bench_cache() {
  static auto* c = new std::unordered_map<std::string, ConvTransposeAlgo>();
  return *c;
}

// Milliseconds per call: the lowest of three timed calls after one untimed call.
double time_ms(const std::function<void()>& fn) {
  fn();
  double best = 1e300;
  for (int i = 0; i < 3; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    const std::chrono::duration<double, std::milli> d = std::chrono::steady_clock::now() - t0;
    best = std::min(best, d.count());
  }
  return best;
}

// Chooses and runs one pass: `pp` is the pass's problem as oneDNN sees it, `native` runs the
// native path for the same pass (gemm, or gather when asked for).
ConvTransposeResult run_pass(const Context& ctx, const ConvTransposePlan& pp,
                             ConvTransposeAlgo algo, const char* op,
                             const std::function<void(bool gather)>& native) {
  const int threads = ctx.num_threads();
  ConvTransposeResult r;
  auto run_native = [&](ConvTransposeAlgo a, std::string why) {
    native(a == ConvTransposeAlgo::kGather);
    r.algorithm = a;
    r.attempts.push_back(attempt(a, true, std::move(why)));
    return r;
  };
  switch (algo) {
    case ConvTransposeAlgo::kGather:
    case ConvTransposeAlgo::kGemm:
      return run_native(algo, "requested");
    case ConvTransposeAlgo::kOnednn: {
      const std::string why = onednn_deconv(pp, threads);
      if (!why.empty()) {
        fail(onednn_compiled() ? ErrorCode::kInvalidArgument : ErrorCode::kNotCompiled,
             concat(op, ": algorithm 'onednn' cannot run this problem: ", why));
      }
      r.algorithm = algo;
      r.attempts.push_back(attempt(algo, true, "requested"));
      return r;
    }
    case ConvTransposeAlgo::kBenchmark: {
      const std::string key = cpu_problem_key(pp, threads);
      ConvTransposeAlgo cached = ConvTransposeAlgo::kAuto;
      {
        std::lock_guard<std::mutex> lock(bench_mutex());
        const auto it = bench_cache().find(key);
        if (it != bench_cache().end()) cached = it->second;
      }
      if (cached == ConvTransposeAlgo::kOnednn && onednn_deconv(pp, threads).empty()) {
        r.from_cache = true;
        r.algorithm = cached;
        r.attempts.push_back(attempt(cached, true, "cached benchmark choice"));
        return r;
      }
      if (cached == ConvTransposeAlgo::kGemm) {
        r.from_cache = true;
        return run_native(ConvTransposeAlgo::kGemm, "cached benchmark choice");
      }
      const std::string why = onednn_deconv(pp, threads, false);
      const double gemm_ms = time_ms([&] { native(false); });
      if (!why.empty()) {
        r.attempts.push_back(attempt(ConvTransposeAlgo::kOnednn, false, why));
        r.attempts.push_back(
            attempt(ConvTransposeAlgo::kGemm, true, "the only candidate", gemm_ms));
        r.algorithm = ConvTransposeAlgo::kGemm;
        std::lock_guard<std::mutex> lock(bench_mutex());
        bench_cache().emplace(key, ConvTransposeAlgo::kGemm);
        return r;
      }
      const double dnn_ms = time_ms([&] { onednn_deconv(pp, threads); });
      const bool dnn_wins = dnn_ms < gemm_ms;
      // The output holds oneDNN's result (timed last); the native winner writes it again.
      if (!dnn_wins) native(false);
      r.algorithm = dnn_wins ? ConvTransposeAlgo::kOnednn : ConvTransposeAlgo::kGemm;
      r.attempts.push_back(attempt(ConvTransposeAlgo::kGemm, !dnn_wins,
                                   dnn_wins ? "slower" : "fastest of the timed candidates",
                                   gemm_ms));
      r.attempts.push_back(attempt(ConvTransposeAlgo::kOnednn, dnn_wins,
                                   dnn_wins ? "fastest of the timed candidates" : "slower",
                                   dnn_ms));
      std::lock_guard<std::mutex> lock(bench_mutex());
      bench_cache().emplace(key, r.algorithm);
      return r;
    }
    case ConvTransposeAlgo::kAuto: {
      if (!onednn_compiled()) {
        r.attempts.push_back(
            attempt(ConvTransposeAlgo::kOnednn, false, "this build of ups has no oneDNN"));
        return run_native(ConvTransposeAlgo::kGemm, "fallback: oneDNN is not available");
      }
      const std::string prefer = native_preferred(pp);
      if (!prefer.empty()) {
        r.attempts.push_back(attempt(ConvTransposeAlgo::kOnednn, false, "not tried: " + prefer));
        return run_native(ConvTransposeAlgo::kGemm, "preferred: " + prefer);
      }
      const std::string why = onednn_deconv(pp, threads);
      if (why.empty()) {
        r.algorithm = ConvTransposeAlgo::kOnednn;
        r.attempts.push_back(
            attempt(ConvTransposeAlgo::kOnednn, true, "dense layer: oneDNN's blocked kernels"));
        r.attempts.push_back(attempt(ConvTransposeAlgo::kGemm, false, "not needed: oneDNN ran"));
        return r;
      }
      r.attempts.push_back(attempt(ConvTransposeAlgo::kOnednn, false, why));
      return run_native(ConvTransposeAlgo::kGemm, "fallback: oneDNN declined");
    }
    default:
      break;
  }
  fail(ErrorCode::kUnsupportedDevice,
       concat(op, ": algorithm '", to_string(algo), "' runs only on CUDA"));
}

}  // namespace

std::string cpu_problem_key(const ConvTransposePlan& p, int threads) {
  std::ostringstream os;
  os << static_cast<int>(p.pass) << " " << static_cast<int>(p.dtype) << " t" << threads << " b"
     << (p.bias != nullptr) << ":" << p.g.bias_stride << " g" << p.g.groups;
  for (const TensorView* v : {&p.src_view, &p.weight_view, &p.dst_view}) {
    os << " [";
    for (int i = 0; i < v->ndim; ++i)
      os << v->sizes[i] << ":" << v->strides[i] << ",";
    os << "]";
  }
  for (int i = 0; i < p.spatial; ++i)
    os << " " << p.stride[i] << "/" << p.pad[i] << "/" << p.output_padding[i] << "/" << p.dil[i];
  return os.str();
}

ConvTransposeResult conv_transpose_cpu(const Context& ctx, const ConvTransposePlan& p,
                                       ConvTransposeAlgo algo) {
  return run_pass(ctx, p, algo, "conv_transpose", [&](bool gather) {
    if (gather) {
      conv_transpose_cpu_gather(p, ctx.num_threads());
    } else {
      conv_transpose_cpu_gemm(p, ctx.num_threads());
    }
  });
}

void conv_transpose_backward_cpu_dispatch(const Context& ctx, const ConvTransposeBackwardPlan& b,
                                          ConvTransposeAlgo algo,
                                          ConvTransposeBackwardResult* result) {
  const char* op = "conv_transpose_backward";
  // Native runs of one gradient: the plan with the others switched off.
  auto native_only = [&](bool gx, bool gw, bool gb) {
    return [&b, &ctx, gx, gw, gb](bool gather) {
      ConvTransposeBackwardPlan one = b;
      if (!gx) one.grad_input = nullptr;
      if (!gw) one.grad_weight = nullptr;
      if (!gb) one.grad_bias = nullptr;
      conv_transpose_backward_cpu(one, gather, ctx.num_threads());
    };
  };
  if (b.grad_input != nullptr) {
    result->grad_input =
        run_pass(ctx, b.grad_input_pass(), algo, op, native_only(true, false, false));
  }
  if (b.grad_weight != nullptr) {
    // oneDNN's backward-weights primitive computes grad_bias with grad_weight.
    ConvTransposePlan pp = b.grad_weight_pass();
    pp.bias = b.grad_bias;
    pp.g.bias_stride = b.gb_stride;
    result->grad_weight =
        run_pass(ctx, pp, algo, op, native_only(false, true, b.grad_bias != nullptr));
    if (b.grad_bias != nullptr) {
      result->grad_bias = result->grad_weight;
      result->grad_bias.attempts.assign(
          1, attempt(result->grad_weight.algorithm, true, "computed with grad_weight"));
    }
  } else if (b.grad_bias != nullptr) {
    const bool gather = algo == ConvTransposeAlgo::kGather;
    native_only(false, false, true)(gather);
    const ConvTransposeAlgo ran = gather ? ConvTransposeAlgo::kGather : ConvTransposeAlgo::kGemm;
    result->grad_bias.algorithm = ran;
    result->grad_bias.attempts.assign(
        1, attempt(ran, true, "the native row sums (a reduction of grad_output alone)"));
  }
}

}  // namespace detail
}  // namespace ups
