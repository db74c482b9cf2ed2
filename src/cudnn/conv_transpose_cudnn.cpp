// cuDNN 9 glue of ups::conv_transpose and its backward: transposed convolution is the
// backward-data pass of the convolution whose input is our output (dx = dst) and whose output is
// our input (dy = src), with the same weight layout (C_in = K, C_out / groups = C / groups,
// kernel...). Its input gradient is that convolution's forward pass (x = grad_output, y =
// grad_input) and its weight gradient the backward-filter pass (x = grad_output, dy = input,
// dw = grad_weight); DeconvPass selects the operation, and the tensors keep their uids. It goes
// through the graph (backend) API only: one convolution operation, engine heuristics (mode A,
// then the fallback list), engine configs filtered by their numerical notes, an execution plan
// and a variant pack. Nothing here uses the deprecated cudnnConvolutionBackwardData* calls.
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "check.hpp"
#include "conv_transpose_plan.hpp"

namespace ups {
namespace detail {
namespace {

// Internal failure of a cuDNN call while planning: turned into a decline reason.
struct CudnnFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string describe(cudnnStatus_t s) {
  std::string msg = cudnnGetErrorString(s);
  char buf[512] = {0};
  cudnnGetLastErrorString(buf, sizeof(buf));
  if (buf[0] != '\0') msg += concat(" (", buf, ")");
  return msg;
}

void check(cudnnStatus_t s, const char* what) {
  if (s != CUDNN_STATUS_SUCCESS) throw CudnnFailure(concat(what, ": ", describe(s)));
}

// An owned backend descriptor.
class Desc {
 public:
  Desc() = default;
  explicit Desc(cudnnBackendDescriptorType_t type) {
    check(cudnnBackendCreateDescriptor(type, &d_), "cudnnBackendCreateDescriptor");
  }
  ~Desc() { reset(); }
  Desc(Desc&& o) noexcept : d_(o.d_) { o.d_ = nullptr; }
  Desc& operator=(Desc&& o) noexcept {
    if (this != &o) {
      reset();
      d_ = o.d_;
      o.d_ = nullptr;
    }
    return *this;
  }
  Desc(const Desc&) = delete;
  Desc& operator=(const Desc&) = delete;

  cudnnBackendDescriptor_t get() const { return d_; }
  void set(cudnnBackendAttributeName_t name, cudnnBackendAttributeType_t type, std::int64_t count,
           const void* values, const char* what) {
    check(cudnnBackendSetAttribute(d_, name, type, count, values), what);
  }
  void set_desc(cudnnBackendAttributeName_t name, const Desc& other, const char* what) {
    cudnnBackendDescriptor_t raw = other.get();
    set(name, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &raw, what);
  }
  void finalize(const char* what) { check(cudnnBackendFinalize(d_), what); }

 private:
  void reset() {
    if (d_ != nullptr) (void)cudnnBackendDestroyDescriptor(d_);
    d_ = nullptr;
  }
  cudnnBackendDescriptor_t d_ = nullptr;
};

// ---- handles: one per (thread, device), created lazily ----
// Handles go back to a process-wide pool when their thread exits and are never destroyed: the
// pool outlives every thread, and destroying handles during process exit races with the CUDA
// driver's own teardown (PyTorch's handle pool makes the same choice).
struct HandlePool {
  std::mutex mutex;
  std::unordered_map<int, std::vector<cudnnHandle_t>> idle;
};
HandlePool& handle_pool() {
  static auto* pool = new HandlePool();
  return *pool;
}

}  // namespace

// A finalized execution plan and every descriptor it was built from.
struct CudnnDeconvPlan {
  cudnnHandle_t handle = nullptr;
  std::vector<Desc> keep;  // tensors, convolution, operation, graph, engine config
  Desc plan;
};

namespace {

// What one thread owns: its handles and the plans built on them. One owner, so that at thread
// exit the plans are destroyed before their handles go back to the pool, where another thread
// may take them at once.
struct ThreadState {
  std::unordered_map<int, cudnnHandle_t> handles;           // by device
  std::unordered_map<std::string, CudnnDeconvQuery> plans;  // by plan_key
  ThreadState() = default;
  ThreadState(const ThreadState&) = delete;
  ThreadState& operator=(const ThreadState&) = delete;
  ~ThreadState() {
    plans.clear();
    HandlePool& pool = handle_pool();
    std::lock_guard<std::mutex> lock(pool.mutex);
    for (const auto& kv : handles)
      pool.idle[kv.first].push_back(kv.second);
  }
};

ThreadState& thread_state() {
  thread_local ThreadState state;
  return state;
}

cudnnHandle_t thread_handle(int device) {
  ThreadState& state = thread_state();
  const auto it = state.handles.find(device);
  if (it != state.handles.end()) return it->second;
  cudnnHandle_t h = nullptr;
  {
    HandlePool& pool = handle_pool();
    std::lock_guard<std::mutex> lock(pool.mutex);
    auto& idle = pool.idle[device];
    if (!idle.empty()) {
      h = idle.back();
      idle.pop_back();
    }
  }
  if (h == nullptr) check(cudnnCreate(&h), "cudnnCreate");
  state.handles[device] = h;
  return h;
}

constexpr std::int64_t kUidDx = 1;  // dst
constexpr std::int64_t kUidW = 2;   // weight
constexpr std::int64_t kUidDy = 3;  // src

cudnnDataType_t data_type(DType d) {
  switch (d) {
    case DType::kF64:
      return CUDNN_DATA_DOUBLE;
    case DType::kF16:
      return CUDNN_DATA_HALF;
    case DType::kBF16:
      return CUDNN_DATA_BFLOAT16;
    default:
      return CUDNN_DATA_FLOAT;
  }
}

// Largest power of two (at most 16) dividing the address; null (a size query) counts as 16.
std::int64_t alignment_of(const void* p) {
  const auto a = reinterpret_cast<std::uintptr_t>(p);
  std::int64_t align = 16;
  while (align > 1 && (a % static_cast<std::uintptr_t>(align)) != 0)
    align /= 2;
  return align;
}

// cuDNN convolutions have at least two spatial dims: a 1-D problem gets a unit H dim whose
// stride is that of W times W (what torch.unsqueeze gives).
void dims_of(const TensorView& v, std::vector<std::int64_t>* dims,
             std::vector<std::int64_t>* strides) {
  dims->assign(v.sizes, v.sizes + v.ndim);
  strides->assign(v.strides, v.strides + v.ndim);
  if (v.ndim == 3) {
    dims->insert(dims->begin() + 2, 1);
    strides->insert(strides->begin() + 2, v.sizes[2] * v.strides[2]);
  }
}

Desc make_tensor(std::int64_t uid, cudnnDataType_t type, const TensorView& v, const void* data) {
  std::vector<std::int64_t> dims, strides;
  dims_of(v, &dims, &strides);
  for (std::size_t i = 0; i < dims.size(); ++i) {
    if (strides[i] <= 0 && dims[i] > 1) {
      throw CudnnFailure("cuDNN needs positive strides, but a tensor has strides " +
                         shape_to_string(Shape(v.strides, v.strides + v.ndim)));
    }
    if (strides[i] <= 0) strides[i] = 1;
  }
  const std::int64_t align = alignment_of(data);
  Desc t(CUDNN_BACKEND_TENSOR_DESCRIPTOR);
  t.set(CUDNN_ATTR_TENSOR_DATA_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &type, "tensor data type");
  t.set(CUDNN_ATTR_TENSOR_DIMENSIONS, CUDNN_TYPE_INT64, static_cast<std::int64_t>(dims.size()),
        dims.data(), "tensor dimensions");
  t.set(CUDNN_ATTR_TENSOR_STRIDES, CUDNN_TYPE_INT64, static_cast<std::int64_t>(strides.size()),
        strides.data(), "tensor strides");
  t.set(CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, 1, &uid, "tensor unique id");
  t.set(CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT, CUDNN_TYPE_INT64, 1, &align, "tensor alignment");
  t.finalize("tensor descriptor finalize");
  return t;
}

struct EngineInfo {
  std::int64_t index = -1;
  std::vector<cudnnBackendNumericalNote_t> notes;
  bool has(cudnnBackendNumericalNote_t n) const {
    for (auto x : notes) {
      if (x == n) return true;
    }
    return false;
  }
};

EngineInfo engine_info(const Desc& cfg) {
  EngineInfo info;
  Desc engine(CUDNN_BACKEND_ENGINE_DESCRIPTOR);
  cudnnBackendDescriptor_t raw = engine.get();
  std::int64_t n = 0;
  check(cudnnBackendGetAttribute(cfg.get(), CUDNN_ATTR_ENGINECFG_ENGINE,
                                 CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &n, &raw),
        "engine of an engine config");
  cudnnBackendNumericalNote_t notes[CUDNN_NUMERICAL_NOTE_TYPE_COUNT];
  std::int64_t count = 0;
  check(cudnnBackendGetAttribute(engine.get(), CUDNN_ATTR_ENGINE_NUMERICAL_NOTE,
                                 CUDNN_TYPE_NUMERICAL_NOTE, CUDNN_NUMERICAL_NOTE_TYPE_COUNT, &count,
                                 notes),
        "engine numerical notes");
  info.notes.assign(notes, notes + count);
  check(cudnnBackendGetAttribute(engine.get(), CUDNN_ATTR_ENGINE_GLOBAL_INDEX, CUDNN_TYPE_INT64, 1,
                                 &n, &info.index),
        "engine global index");
  return info;
}

std::vector<Desc> heuristic_configs(const Desc& graph, cudnnBackendHeurMode_t mode) {
  Desc heur(CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR);
  heur.set_desc(CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH, graph, "heuristics operation graph");
  heur.set(CUDNN_ATTR_ENGINEHEUR_MODE, CUDNN_TYPE_HEUR_MODE, 1, &mode, "heuristics mode");
  heur.finalize("heuristics finalize");
  std::int64_t count = 0;
  check(cudnnBackendGetAttribute(heur.get(), CUDNN_ATTR_ENGINEHEUR_RESULTS,
                                 CUDNN_TYPE_BACKEND_DESCRIPTOR, 0, &count, nullptr),
        "heuristics result count");
  std::vector<Desc> configs;
  std::vector<cudnnBackendDescriptor_t> raw;
  for (std::int64_t i = 0; i < count; ++i) {
    configs.emplace_back(CUDNN_BACKEND_ENGINECFG_DESCRIPTOR);
    raw.push_back(configs.back().get());
  }
  std::int64_t got = 0;
  if (count > 0) {
    check(cudnnBackendGetAttribute(heur.get(), CUDNN_ATTR_ENGINEHEUR_RESULTS,
                                   CUDNN_TYPE_BACKEND_DESCRIPTOR, count, &got, raw.data()),
          "heuristics results");
  }
  configs.erase(configs.begin() + static_cast<std::ptrdiff_t>(std::min(got, count)), configs.end());
  return configs;
}

// Which notes rule an engine out, or "" when it may run.
std::string rejected_by_notes(const EngineInfo& e, DType dtype, bool deterministic,
                              bool allow_tf32) {
  if (deterministic && e.has(CUDNN_NUMERICAL_NOTE_NONDETERMINISTIC)) return "nondeterministic";
  // Engines that compute in a narrower type than the data (f32 in f16, ...) are never used, as
  // in PyTorch; for f32, tensor-core engines compute in TF32 and need allow_tf32.
  if (e.has(CUDNN_NUMERICAL_NOTE_DOWN_CONVERT_INPUTS)) return "down-converts its inputs";
  if (e.has(CUDNN_NUMERICAL_NOTE_REDUCED_PRECISION_REDUCTION)) {
    return "accumulates in reduced precision";
  }
  if (dtype == DType::kF32 && !allow_tf32 && e.has(CUDNN_NUMERICAL_NOTE_TENSOR_CORE)) {
    return "uses TF32 tensor cores and allow_tf32 is off";
  }
  return "";
}

std::string plan_key(const ConvTransposePlan& p, int device, bool det, bool tf32,
                     std::size_t budget) {
  std::ostringstream os;
  os << device << " pass" << static_cast<int>(p.pass) << " " << static_cast<int>(p.dtype) << " "
     << det << tf32 << " " << budget << " " << alignment_of(p.src) << alignment_of(p.weight)
     << alignment_of(p.dst);
  for (const TensorView* v : {&p.src_view, &p.weight_view, &p.dst_view}) {
    os << " [";
    for (int i = 0; i < v->ndim; ++i)
      os << v->sizes[i] << ":" << v->strides[i] << ",";
    os << "]";
  }
  for (int i = 0; i < p.spatial; ++i) {
    os << " " << p.stride[i] << "/" << p.pad[i] << "/" << p.dil[i];
  }
  return os.str();
}

}  // namespace

bool cudnn_deconv_compiled() noexcept {
  return true;
}

void cudnn_runtime_versions(std::size_t* version, std::size_t* cudart) noexcept {
  *version = cudnnGetVersion();
  *cudart = cudnnGetCudartVersion();
}

namespace {

// The operation of a pass, with alpha 1 and beta 0. In every pass `big` is the convolution's
// input side (conv_transpose's output or grad_output), `small` its output side and `w` the filter.
Desc make_operation(DeconvPass pass, const Desc& big, const Desc& w, const Desc& small,
                    const Desc& conv, cudnnDataType_t compute) {
  cudnnBackendDescriptorType_t type = CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_DATA_DESCRIPTOR;
  cudnnBackendAttributeName_t a_big = CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_DX;
  cudnnBackendAttributeName_t a_w = CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_W;
  cudnnBackendAttributeName_t a_small = CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_DY;
  cudnnBackendAttributeName_t a_conv = CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_CONV_DESC;
  cudnnBackendAttributeName_t a_alpha = CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_ALPHA;
  cudnnBackendAttributeName_t a_beta = CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_BETA;
  const char* what = "backward-data operation finalize";
  if (pass == DeconvPass::kGradInput) {
    type = CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR;
    a_big = CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_X;
    a_w = CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_W;
    a_small = CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_Y;
    a_conv = CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_CONV_DESC;
    a_alpha = CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_ALPHA;
    a_beta = CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_BETA;
    what = "forward operation finalize";
  } else if (pass == DeconvPass::kGradWeight) {
    type = CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_FILTER_DESCRIPTOR;
    a_big = CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_X;
    a_w = CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_DW;
    a_small = CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_DY;
    a_conv = CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_CONV_DESC;
    a_alpha = CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_ALPHA;
    a_beta = CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_BETA;
    what = "backward-filter operation finalize";
  }
  Desc op(type);
  op.set_desc(a_big, big, "operation x/dx");
  op.set_desc(a_w, w, "operation w/dw");
  op.set_desc(a_small, small, "operation y/dy");
  op.set_desc(a_conv, conv, "operation convolution");
  if (compute == CUDNN_DATA_DOUBLE) {
    const double alpha = 1.0, beta = 0.0;
    op.set(a_alpha, CUDNN_TYPE_DOUBLE, 1, &alpha, "alpha");
    op.set(a_beta, CUDNN_TYPE_DOUBLE, 1, &beta, "beta");
  } else {
    const float alpha = 1.0f, beta = 0.0f;
    op.set(a_alpha, CUDNN_TYPE_FLOAT, 1, &alpha, "alpha");
    op.set(a_beta, CUDNN_TYPE_FLOAT, 1, &beta, "beta");
  }
  op.finalize(what);
  return op;
}

CudnnDeconvQuery build_plan(const ConvTransposePlan& p, int device, bool det, bool tf32,
                            std::size_t budget) {
  CudnnDeconvQuery q;
  const std::size_t version = cudnnGetVersion();
  if (version < 90000) {
    q.reason = concat("cuDNN ", version, " at run time; ups needs cuDNN 9");
    return q;
  }
  auto plan = std::make_shared<CudnnDeconvPlan>();
  plan->handle = thread_handle(device);

  const cudnnDataType_t type = data_type(p.dtype);
  Desc dx = make_tensor(kUidDx, type, p.dst_view, p.dst);
  Desc w = make_tensor(kUidW, type, p.weight_view, p.weight);
  Desc dy = make_tensor(kUidDy, type, p.src_view, p.src);

  const std::int64_t nsp = p.spatial == 1 ? 2 : p.spatial;
  std::vector<std::int64_t> stride, pad, dil;
  if (p.spatial == 1) {
    stride.push_back(1);
    pad.push_back(0);
    dil.push_back(1);
  }
  for (int i = 0; i < p.spatial; ++i) {
    stride.push_back(p.stride[i]);
    pad.push_back(p.pad[i]);
    dil.push_back(p.dil[i]);
  }
  const cudnnDataType_t compute = p.dtype == DType::kF64 ? CUDNN_DATA_DOUBLE : CUDNN_DATA_FLOAT;
  const cudnnConvolutionMode_t mode = CUDNN_CROSS_CORRELATION;
  Desc conv(CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR);
  conv.set(CUDNN_ATTR_CONVOLUTION_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &compute,
           "conv compute type");
  conv.set(CUDNN_ATTR_CONVOLUTION_CONV_MODE, CUDNN_TYPE_CONVOLUTION_MODE, 1, &mode, "conv mode");
  conv.set(CUDNN_ATTR_CONVOLUTION_SPATIAL_DIMS, CUDNN_TYPE_INT64, 1, &nsp, "conv spatial dims");
  conv.set(CUDNN_ATTR_CONVOLUTION_PRE_PADDINGS, CUDNN_TYPE_INT64, nsp, pad.data(), "conv padding");
  conv.set(CUDNN_ATTR_CONVOLUTION_POST_PADDINGS, CUDNN_TYPE_INT64, nsp, pad.data(), "conv padding");
  conv.set(CUDNN_ATTR_CONVOLUTION_DILATIONS, CUDNN_TYPE_INT64, nsp, dil.data(), "conv dilation");
  conv.set(CUDNN_ATTR_CONVOLUTION_FILTER_STRIDES, CUDNN_TYPE_INT64, nsp, stride.data(),
           "conv stride");
  conv.finalize("convolution descriptor finalize");

  Desc op = make_operation(p.pass, dx, w, dy, conv, compute);

  Desc graph(CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR);
  graph.set_desc(CUDNN_ATTR_OPERATIONGRAPH_OPS, op, "graph operations");
  graph.set(CUDNN_ATTR_OPERATIONGRAPH_HANDLE, CUDNN_TYPE_HANDLE, 1, &plan->handle, "graph handle");
  graph.finalize("operation graph finalize");

  // Heuristics mode A first; the fallback list only when A leaves nothing usable.
  int heuristics = 0, filtered = 0, failed = 0, too_big = 0;
  std::size_t smallest_too_big = 0;
  std::ostringstream notes_seen;
  for (cudnnBackendHeurMode_t heur_mode : {CUDNN_HEUR_MODE_A, CUDNN_HEUR_MODE_FALLBACK}) {
    std::vector<Desc> configs;
    try {
      configs = heuristic_configs(graph, heur_mode);
    } catch (const CudnnFailure& f) {
      notes_seen << (heur_mode == CUDNN_HEUR_MODE_A ? " mode A: " : " fallback: ") << f.what()
                 << ";";
      continue;
    }
    for (Desc& cfg : configs) {
      ++heuristics;
      EngineInfo info;
      try {
        info = engine_info(cfg);
      } catch (const CudnnFailure&) {
        ++failed;
        continue;
      }
      const std::string why = rejected_by_notes(info, p.dtype, det, tf32);
      if (!why.empty()) {
        ++filtered;
        notes_seen << " engine " << info.index << " " << why << ";";
        continue;
      }
      Desc exec(CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR);
      exec.set(CUDNN_ATTR_EXECUTION_PLAN_HANDLE, CUDNN_TYPE_HANDLE, 1, &plan->handle,
               "plan handle");
      exec.set_desc(CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG, cfg, "plan engine config");
      if (cudnnBackendFinalize(exec.get()) != CUDNN_STATUS_SUCCESS) {
        ++failed;
        continue;
      }
      std::int64_t ws = 0, n = 0;
      check(cudnnBackendGetAttribute(exec.get(), CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE,
                                     CUDNN_TYPE_INT64, 1, &n, &ws),
            "plan workspace size");
      if (ws < 0 || static_cast<std::size_t>(ws) > budget) {
        ++too_big;
        if (smallest_too_big == 0 || static_cast<std::size_t>(ws) < smallest_too_big) {
          smallest_too_big = static_cast<std::size_t>(ws);
        }
        continue;
      }
      q.ok = true;
      q.workspace_bytes = static_cast<std::size_t>(ws);
      q.reason =
          concat("cuDNN engine ", info.index,
                 heur_mode == CUDNN_HEUR_MODE_A ? " (heuristics mode A, " : " (fallback list, ", ws,
                 " bytes of workspace)");
      plan->plan = std::move(exec);
      plan->keep.push_back(std::move(dx));
      plan->keep.push_back(std::move(w));
      plan->keep.push_back(std::move(dy));
      plan->keep.push_back(std::move(conv));
      plan->keep.push_back(std::move(op));
      plan->keep.push_back(std::move(graph));
      plan->keep.push_back(std::move(cfg));
      q.plan = std::move(plan);
      return q;
    }
  }
  std::ostringstream why;
  why << "cuDNN has no usable engine: " << heuristics << " engine configs from the heuristics";
  if (filtered > 0) why << ", " << filtered << " ruled out by numerical notes";
  if (failed > 0) why << ", " << failed << " failed to build";
  if (too_big > 0) {
    why << ", " << too_big << " need more workspace than the " << budget
        << " bytes available (the smallest needs " << smallest_too_big << ")";
    q.workspace_bytes = smallest_too_big;
  }
  const std::string details = notes_seen.str();
  if (!details.empty()) why << " [" << details.substr(1) << "]";
  q.reason = why.str();
  return q;
}

}  // namespace

CudnnDeconvQuery cudnn_deconv_plan(const ConvTransposePlan& p, bool deterministic, bool allow_tf32,
                                   std::size_t budget) {
  int device = 0;
  const cudaError_t err = cudaGetDevice(&device);
  if (err != cudaSuccess) {
    (void)cudaGetLastError();
    CudnnDeconvQuery q;
    q.reason = concat("cudaGetDevice failed: ", cudaGetErrorName(err));
    return q;
  }
  // Plans hold this thread's handle, so the cache is per thread (as PyTorch's v8 plan cache).
  auto& cache = thread_state().plans;
  const std::string key = plan_key(p, device, deterministic, allow_tf32, budget);
  const auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  CudnnDeconvQuery q;
  try {
    q = build_plan(p, device, deterministic, allow_tf32, budget);
  } catch (const CudnnFailure& f) {
    q = CudnnDeconvQuery{};
    q.reason = concat("cuDNN failed while planning: ", f.what());
  }
  if (cache.size() > 1024) cache.clear();  // bound memory for long-running shape churn
  cache.emplace(key, q);
  return q;
}

void cudnn_deconv_execute(const CudnnDeconvQuery& q, const ConvTransposePlan& p, void* workspace,
                          StreamHandle stream) {
  UPS_CHECK(q.ok && q.plan != nullptr, ErrorCode::kInternal, "cuDNN execute without a plan");
  try {
    check(cudnnSetStream(q.plan->handle, stream), "cudnnSetStream");
    Desc pack(CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR);
    const std::int64_t uids[3] = {kUidDx, kUidW, kUidDy};
    void* ptrs[3] = {p.dst, const_cast<void*>(p.weight), const_cast<void*>(p.src)};
    pack.set(CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, CUDNN_TYPE_INT64, 3, uids, "variant pack ids");
    pack.set(CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS, CUDNN_TYPE_VOID_PTR, 3, ptrs,
             "variant pack pointers");
    pack.set(CUDNN_ATTR_VARIANT_PACK_WORKSPACE, CUDNN_TYPE_VOID_PTR, 1, &workspace,
             "variant pack workspace");
    pack.finalize("variant pack finalize");
    check(cudnnBackendExecute(q.plan->handle, q.plan->plan.get(), pack.get()),
          "cudnnBackendExecute");
  } catch (const CudnnFailure& f) {
    fail(ErrorCode::kCudnnError, concat("conv_transpose: ", f.what()));
  }
}

}  // namespace detail
}  // namespace ups
