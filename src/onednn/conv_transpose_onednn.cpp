// oneDNN glue of ups::conv_transpose and its backward on the CPU: deconvolution_forward for the
// forward pass, deconvolution_backward_data for grad_input and deconvolution_backward_weights for
// grad_weight (and grad_bias with it). The caller's tensors are described with their own strides
// (plain NCHW, channels-last, or any other positive strides), so the input and output are never
// copied; the weight, whose PyTorch layout (C_in, C_out / groups, k...) oneDNN sees as
// (groups, C_out / groups, C_in / groups, k...), is reordered into the blocked layout the
// primitive chose, once per call (weights change every training step).
//
// Primitives are cached per problem (shapes, strides, dtype, parameters, pass and thread count),
// so a repeated call costs one weight reorder plus the primitive itself. oneDNN runs on OpenMP
// here; the call's thread count is set for the calling thread around each execution and restored
// afterwards, so an application's own OpenMP setting is left as it was.
#include <omp.h>

#include <oneapi/dnnl/dnnl.hpp>

#include <cstdint>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "check.hpp"
#include "conv_transpose_plan.hpp"

namespace ups {
namespace detail {
namespace {

using dnnl::memory;

dnnl::engine& cpu_engine() {
  static auto* engine = new dnnl::engine(dnnl::engine::kind::cpu, 0);
  return *engine;
}

// OpenMP's thread count for the calling thread, set for one scope.
class OmpThreads {
 public:
  explicit OmpThreads(int n) : previous_(omp_get_max_threads()) {
    omp_set_num_threads(n > 0 ? n : previous_);
  }
  ~OmpThreads() { omp_set_num_threads(previous_); }
  OmpThreads(const OmpThreads&) = delete;
  OmpThreads& operator=(const OmpThreads&) = delete;

 private:
  int previous_;
};

memory::dims dims_of(const TensorView& v) {
  return memory::dims(v.sizes, v.sizes + v.ndim);
}
memory::dims strides_of(const TensorView& v) {
  return memory::dims(v.strides, v.strides + v.ndim);
}

// The weight as oneDNN's deconvolution sees it: (C_out, C_in, k...) without groups, else
// (groups, C_out / groups, C_in / groups, k...), over PyTorch's (C_in, C_out / groups, k...).
memory::desc weight_desc(const ConvTransposePlan& p, const TensorView& w, memory::data_type type,
                         bool any) {
  const kern::DeconvGeometry& g = p.g;
  memory::dims dims, strides;
  if (g.groups > 1) {
    dims = {g.groups, g.cout_g, g.cin_g};
    strides = {g.cin_g * w.strides[0], w.strides[1], w.strides[0]};
  } else {
    dims = {g.cout_g, g.cin_g};
    strides = {w.strides[1], w.strides[0]};
  }
  for (int i = 2; i < w.ndim; ++i) {
    dims.push_back(w.sizes[i]);
    strides.push_back(w.strides[i]);
  }
  if (any) return memory::desc(dims, type, memory::format_tag::any);
  return memory::desc(dims, type, strides);
}

struct Entry {
  bool ok = false;
  std::string reason;  // why oneDNN declines, or the implementation's name
  dnnl::primitive prim;
  memory::desc w_user, w_prim;  // the caller's weight (or grad_weight) and the primitive's
  bool reorder_weight = false;
  dnnl::reorder weight_reorder;
};

std::string key_of(const ConvTransposePlan& p, int threads) {
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

std::string static_decline(const ConvTransposePlan& p) {
  if (p.dtype == DType::kF64) return "oneDNN has no f64 deconvolution";
  for (const TensorView* v : {&p.src_view, &p.weight_view, &p.dst_view}) {
    for (int i = 0; i < v->ndim; ++i) {
      if (v->strides[i] <= 0 && v->sizes[i] > 1) {
        return "oneDNN needs positive strides";
      }
    }
  }
  if (p.g.n == 0) return "empty batch";
  return "";
}

Entry build(const ConvTransposePlan& p) {
  Entry e;
  const memory::data_type type = p.dtype == DType::kBF16  ? memory::data_type::bf16
                                 : p.dtype == DType::kF16 ? memory::data_type::f16
                                                          : memory::data_type::f32;
  const memory::desc src(dims_of(p.src_view), type, strides_of(p.src_view));
  const memory::desc dst(dims_of(p.dst_view), type, strides_of(p.dst_view));
  const memory::desc w_any = weight_desc(p, p.weight_view, type, true);
  e.w_user = weight_desc(p, p.weight_view, type, false);
  memory::desc bias;
  const std::int64_t cout = p.g.groups * p.g.cout_g;
  if (p.bias != nullptr) bias = memory::desc({cout}, type, memory::dims{p.g.bias_stride});
  memory::dims strides, dilates, pad_l, pad_r;
  for (int i = 0; i < p.spatial; ++i) {
    strides.push_back(p.stride[i]);
    dilates.push_back(p.dil[i] - 1);  // oneDNN counts the gaps between taps
    pad_l.push_back(p.pad[i]);
    pad_r.push_back(p.pad[i] - p.output_padding[i]);
  }
  dnnl::engine& eng = cpu_engine();
  const auto algo = dnnl::algorithm::deconvolution_direct;
  try {
    std::string impl;
    if (p.pass == DeconvPass::kForward) {
      const dnnl::deconvolution_forward::desc d =
          p.bias != nullptr
              ? dnnl::deconvolution_forward::desc(dnnl::prop_kind::forward_inference, algo, src,
                                                  w_any, bias, dst, strides, dilates, pad_l, pad_r)
              : dnnl::deconvolution_forward::desc(dnnl::prop_kind::forward_inference, algo, src,
                                                  w_any, dst, strides, dilates, pad_l, pad_r);
      const dnnl::deconvolution_forward::primitive_desc pd(d, eng);
      impl = pd.impl_info_str();
      e.w_prim = pd.weights_desc();
      e.prim = dnnl::deconvolution_forward(pd);
    } else {
      // The backward primitives take the forward training primitive as a hint.
      const dnnl::deconvolution_forward::desc hint_d(dnnl::prop_kind::forward_training, algo, src,
                                                     w_any, dst, strides, dilates, pad_l, pad_r);
      const dnnl::deconvolution_forward::primitive_desc hint(hint_d, eng);
      if (p.pass == DeconvPass::kGradInput) {
        const dnnl::deconvolution_backward_data::desc d(algo, src, w_any, dst, strides, dilates,
                                                        pad_l, pad_r);
        const dnnl::deconvolution_backward_data::primitive_desc pd(d, eng, hint);
        impl = pd.impl_info_str();
        e.w_prim = pd.weights_desc();
        e.prim = dnnl::deconvolution_backward_data(pd);
      } else {
        const dnnl::deconvolution_backward_weights::desc d =
            p.bias != nullptr ? dnnl::deconvolution_backward_weights::desc(
                                    algo, src, w_any, bias, dst, strides, dilates, pad_l, pad_r)
                              : dnnl::deconvolution_backward_weights::desc(
                                    algo, src, w_any, dst, strides, dilates, pad_l, pad_r);
        const dnnl::deconvolution_backward_weights::primitive_desc pd(d, eng, hint);
        impl = pd.impl_info_str();
        e.w_prim = pd.diff_weights_desc();
        e.prim = dnnl::deconvolution_backward_weights(pd);
      }
    }
    // The reference implementations are correct but far slower than the native gemm path.
    if (impl.rfind("ref", 0) == 0) {
      e.reason =
          concat("oneDNN has only its reference implementation (", impl, ") for this problem");
      return e;
    }
    e.reorder_weight = !(e.w_prim == e.w_user);
    if (e.reorder_weight) {
      e.weight_reorder =
          p.pass == DeconvPass::kGradWeight
              ? dnnl::reorder(dnnl::reorder::primitive_desc(eng, e.w_prim, eng, e.w_user))
              : dnnl::reorder(dnnl::reorder::primitive_desc(eng, e.w_user, eng, e.w_prim));
    }
    e.ok = true;
    e.reason = concat("oneDNN ", impl);
  } catch (const dnnl::error& err) {
    e.ok = false;
    e.reason = concat("oneDNN has no implementation for this problem (", err.what(), ")");
  }
  return e;
}

std::mutex& cache_mutex() {
  static auto* m = new std::mutex();
  return *m;
}
std::unordered_map<std::string, std::shared_ptr<const Entry>>& cache() {
  static auto* c = new std::unordered_map<std::string, std::shared_ptr<const Entry>>();
  return *c;
}

std::shared_ptr<const Entry> entry_for(const ConvTransposePlan& p, int threads) {
  const std::string key = key_of(p, threads);
  {
    std::lock_guard<std::mutex> lock(cache_mutex());
    const auto it = cache().find(key);
    if (it != cache().end()) return it->second;
  }
  auto e = std::make_shared<Entry>();
  const std::string why = static_decline(p);
  if (!why.empty()) {
    e->reason = why;
  } else {
    const OmpThreads omp(threads);  // oneDNN sizes its blocking for the thread count
    *e = build(p);
  }
  std::lock_guard<std::mutex> lock(cache_mutex());
  if (cache().size() > 512) cache().clear();  // bound memory under shape churn
  return cache().emplace(key, std::move(e)).first->second;
}

}  // namespace

bool onednn_compiled() noexcept {
  return true;
}

std::string onednn_deconv(const ConvTransposePlan& p, int threads, bool run) {
  const std::shared_ptr<const Entry> e = entry_for(p, threads);
  if (!e->ok) return e->reason;
  if (!run) return "";
  dnnl::engine& eng = cpu_engine();
  try {
    const OmpThreads omp(threads);
    dnnl::stream s(eng);
    const memory src(
        memory::desc(dims_of(p.src_view), e->w_user.data_type(), strides_of(p.src_view)), eng,
        const_cast<void*>(p.src));
    const memory dst(
        memory::desc(dims_of(p.dst_view), e->w_user.data_type(), strides_of(p.dst_view)), eng,
        p.dst);
    const memory w_user(e->w_user, eng, const_cast<void*>(p.weight));
    const memory w = e->reorder_weight ? memory(e->w_prim, eng) : w_user;
    memory bias;
    if (p.bias != nullptr) {
      bias = memory(memory::desc({p.g.groups * p.g.cout_g}, e->w_user.data_type(),
                                 memory::dims{p.g.bias_stride}),
                    eng, const_cast<void*>(p.bias));
    }
    std::unordered_map<int, memory> args;
    switch (p.pass) {
      case DeconvPass::kForward:
        if (e->reorder_weight)
          e->weight_reorder.execute(s, {{DNNL_ARG_FROM, w_user}, {DNNL_ARG_TO, w}});
        args = {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DST, dst}};
        if (p.bias != nullptr) args[DNNL_ARG_BIAS] = bias;
        e->prim.execute(s, args);
        break;
      case DeconvPass::kGradInput:
        if (e->reorder_weight)
          e->weight_reorder.execute(s, {{DNNL_ARG_FROM, w_user}, {DNNL_ARG_TO, w}});
        e->prim.execute(
            s, {{DNNL_ARG_DIFF_SRC, src}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DIFF_DST, dst}});
        break;
      default:
        args = {{DNNL_ARG_SRC, src}, {DNNL_ARG_DIFF_WEIGHTS, w}, {DNNL_ARG_DIFF_DST, dst}};
        if (p.bias != nullptr) args[DNNL_ARG_DIFF_BIAS] = bias;
        e->prim.execute(s, args);
        if (e->reorder_weight)
          e->weight_reorder.execute(s, {{DNNL_ARG_FROM, w}, {DNNL_ARG_TO, w_user}});
        break;
    }
    s.wait();
  } catch (const dnnl::error& err) {
    fail(ErrorCode::kInternal, concat("conv_transpose: oneDNN failed: ", err.what()));
  }
  return "";
}

}  // namespace detail
}  // namespace ups
