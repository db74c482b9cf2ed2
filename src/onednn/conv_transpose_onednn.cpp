// oneDNN glue of ups::conv_transpose and its backward on the CPU: deconvolution_forward for the
// forward pass, deconvolution_backward_data for grad_input and deconvolution_backward_weights for
// grad_weight (and grad_bias with it), in f32 (16-bit problems run on f32 copies, see
// run_via_f32). The caller's tensors are described with their own strides
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

#include <algorithm>
#include <cstdint>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "check.hpp"
#include "conv_transpose_plan.hpp"
#include "cpu/parallel.hpp"
#include "dispatch.hpp"
#include "validate.hpp"

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

// 1 + the largest offset a view with positive strides reaches (its packed size when dense).
std::int64_t offset_span(const std::int64_t* sizes, const std::int64_t* strides, int n) {
  std::int64_t s = 1;
  for (int d = 0; d < n; ++d) {
    if (sizes[d] == 0) return 0;
    s += (sizes[d] - 1) * (strides[d] < 0 ? -strides[d] : strides[d]);
  }
  return s;
}

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
  int matmul = 0;      // kernel == stride forward: 1 channels-last, 2 planar (see matmul_layout)
  dnnl::primitive prim;
  memory::desc w_user, w_prim;  // the caller's weight (or grad_weight) and the primitive's
  bool reorder_weight = false;
  dnnl::reorder weight_reorder;
  // The blocked variant (see blocked_preferred): src and dst reordered into the primitive's
  // layouts around the call.
  bool blocked = false;
  memory::desc src_prim, dst_prim;
  dnnl::reorder src_reorder, dst_reorder;
};

// Layers whose taps overlap (kernel > stride), with at least 32 input and output channels per
// group and a batch of 4 or more, in the NCHW layout: oneDNN 2.6's blocked-layout kernels, with
// the input and output reordered, beat its GEMM-based path on the caller's layout on such
// DCGAN-like layers (forward by 8% to 35%, the backward passes by about 1.5x), and lose on
// non-overlapping, narrow or single-output layers (measured: docs/benchmarks.md).
bool blocked_preferred(const ConvTransposePlan& p) {
  if (p.g.n < 4 || p.g.cin_g < 32 || p.g.cout_g < 32) {
    return false;
  }
  if (is_channels_last(p.src_view) || is_channels_last(p.dst_view)) return false;
  bool overlap = false;
  for (int i = 0; i < p.spatial; ++i)
    overlap = overlap || p.weight_view.sizes[2 + i] > p.stride[i];
  return overlap;
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

// Kernel equal to stride, no padding, dilation or groups: every input pixel paints its own
// K-pixel output block, so the layer is a GEMM of the input with a (C_in, K * C_out) weight,
// which oneDNN's matmul runs faster than its deconvolution on such shapes (measured:
// docs/benchmarks.md). Two layouts qualify:
// - channels-last input and output (f32, bf16): one matmul per (kd, kh) tap row, batched over
//   the (n, d, h) input rows, writes its (w, kw, C_out) results straight into the output through
//   strided descriptors, bias included;
// - NCHW-contiguous input and output (f32, bf16): one batched matmul (C_out * K, C_in) x
//   (C_in, pixels) into a scratch buffer, then a pass that interleaves each K-row block into
//   place (adding the bias in f32 and rounding once). Faster than oneDNN 2.6's GEMM-based
//   deconvolution on plain layouts in f32, and in bf16 it uses the CPU's native bf16 dot
//   products where that deconvolution does not.
enum class MatmulLayout { kNone, kChannelsLast, kPlanar };

bool dense_channels_last(const TensorView& v) {
  if (v.ndim < 3 || v.strides[1] != 1) return false;
  std::int64_t expect = v.sizes[1];
  for (int i = v.ndim - 1; i >= 2; --i) {
    if (v.sizes[i] > 1 && v.strides[i] != expect) return false;
    expect *= v.sizes[i];
  }
  return v.sizes[0] <= 1 || v.strides[0] == expect;
}

bool dense_planar(const TensorView& v) {
  std::int64_t expect = 1;
  for (int i = v.ndim - 1; i >= 0; --i) {
    if (v.sizes[i] > 1 && v.strides[i] != expect) return false;
    expect *= v.sizes[i];
  }
  return true;
}

MatmulLayout matmul_layout(const ConvTransposePlan& p) {
  if (p.g.groups != 1) return MatmulLayout::kNone;
  if (p.dtype != DType::kF32 && p.dtype != DType::kBF16) return MatmulLayout::kNone;
  for (int i = 0; i < p.spatial; ++i) {
    const std::int64_t k = p.weight_view.sizes[2 + i];
    if (p.stride[i] != k || p.pad[i] != 0 || p.dil[i] != 1 || p.output_padding[i] != 0) {
      return MatmulLayout::kNone;
    }
  }
  if (p.pass == DeconvPass::kForward && dense_channels_last(p.src_view) &&
      dense_channels_last(p.dst_view)) {
    return MatmulLayout::kChannelsLast;
  }
  if (dense_planar(p.src_view) && dense_planar(p.dst_view)) {
    return MatmulLayout::kPlanar;
  }
  return MatmulLayout::kNone;
}

memory::data_type onednn_type(DType t) {
  return t == DType::kBF16  ? memory::data_type::bf16
         : t == DType::kF16 ? memory::data_type::f16
                            : memory::data_type::f32;
}

// The matmul descriptors of a plan (see matmul_layout); the run binds pointers to them.
struct MatmulDescs {
  memory::desc a, b, c, bias;
};

// The backward passes of the planar layout, per image, over G: grad_output de-interleaved into
// (C_out * taps, pixels) rows (the forward's product, see conv_transpose_deinterleave_taps):
// - grad_input (C_in, pixels) = W (C_in, C_out * taps) x G;
// - grad_weight (C_in, C_out * taps) += input (C_in, pixels) x G^T, in f32, summed over the
//   images by the matmul's sum post-op.
MatmulDescs backward_descs(const ConvTransposePlan& p) {
  const kern::DeconvGeometry& g = p.g;
  const memory::data_type type = onednn_type(p.dtype);
  const std::int64_t m = g.cout_g * g.k[0] * g.k[1] * g.k[2], px = g.in[0] * g.in[1] * g.in[2];
  MatmulDescs d;
  if (p.pass == DeconvPass::kGradInput) {
    d.a = memory::desc({g.cin_g, m}, type, memory::format_tag::ab);
    d.b = memory::desc({m, px}, type, memory::format_tag::ab);
    d.c = memory::desc({g.cin_g, px}, type, memory::format_tag::ab);
  } else {
    d.a = memory::desc({g.cin_g, px}, type, memory::format_tag::ab);
    d.b = memory::desc({px, m}, type, memory::dims{1, px});
    d.c = memory::desc({g.cin_g, m}, memory::data_type::f32, memory::format_tag::ab);
  }
  return d;
}

MatmulDescs matmul_descs(const ConvTransposePlan& p, MatmulLayout layout) {
  const kern::DeconvGeometry& g = p.g;
  const memory::data_type type = onednn_type(p.dtype);
  const memory::data_type f32 = memory::data_type::f32;
  const std::int64_t taps = g.k[0] * g.k[1] * g.k[2];
  MatmulDescs d;
  if (layout == MatmulLayout::kChannelsLast) {
    // (n * d, h) batches of (w, C_in) rows; per tap row (kd, kh), (C_in, kw * C_out) weights.
    const std::int64_t cols = g.k[2] * g.cout_g;
    const std::int64_t ow = g.out[2], oh = g.out[1];
    d.a = memory::desc({g.n * g.in[0], g.in[1], g.in[2], g.cin_g}, type,
                       memory::dims{g.in[1] * g.in[2] * g.cin_g, g.in[2] * g.cin_g, g.cin_g, 1});
    d.b = memory::desc({1, 1, g.cin_g, cols}, type, memory::format_tag::abcd);
    d.c = memory::desc({g.n * g.in[0], g.in[1], g.in[2], cols}, type,
                       memory::dims{g.k[0] * oh * ow * g.cout_g, g.k[1] * ow * g.cout_g, cols, 1});
    if (p.bias != nullptr) d.bias = memory::desc({1, 1, 1, cols}, f32, memory::format_tag::abcd);
  } else {
    if (p.pass != DeconvPass::kForward) return backward_descs(p);
    // Per image (one 2-D matmul each; batching over images would broadcast the weight as the
    // matmul's source, which oneDNN 2.6's f32 kernels get wrong): (C_out * taps, C_in) x
    // (C_in, pixels). No bias: the interleave pass adds it.
    const std::int64_t m = g.cout_g * taps, px = g.in[0] * g.in[1] * g.in[2];
    d.a = memory::desc({m, g.cin_g}, type, memory::format_tag::ab);
    d.b = memory::desc({g.cin_g, px}, type, memory::format_tag::ab);
    d.c = memory::desc({m, px}, p.bias != nullptr ? f32 : type, memory::format_tag::ab);
  }
  return d;
}

Entry build_matmul(const ConvTransposePlan& p, MatmulLayout layout) {
  Entry e;
  const MatmulDescs d = matmul_descs(p, layout);
  const dnnl::matmul::desc md = d.bias.is_zero() ? dnnl::matmul::desc(d.a, d.b, d.c)
                                                 : dnnl::matmul::desc(d.a, d.b, d.bias, d.c);
  dnnl::primitive_attr attr;
  if (p.pass == DeconvPass::kGradWeight) {
    dnnl::post_ops ops;
    ops.append_sum(1.0f);
    attr.set_post_ops(ops);
  }
  const dnnl::matmul::primitive_desc pd(md, attr, cpu_engine());
  const std::string impl = pd.impl_info_str();
  if (impl.rfind("ref", 0) == 0) {
    e.reason = concat("oneDNN has only its reference matmul (", impl, ")");
    return e;
  }
  e.prim = dnnl::matmul(pd);
  e.matmul = layout == MatmulLayout::kChannelsLast ? 1 : 2;
  e.ok = true;
  e.reason = layout == MatmulLayout::kChannelsLast
                 ? concat("oneDNN matmul ", impl, " per tap row into the output (kernel == stride)")
                 : concat("oneDNN matmul ", impl,
                          p.pass == DeconvPass::kForward ? " and an interleave (kernel == stride)"
                                                         : " over the de-interleaved grad_output"
                                                           " (kernel == stride)");
  return e;
}

// Packs the weight (PyTorch's (C_in, C_out, kd, kh, kw) at any strides) as the matmul's B
// (channels-last: (kd, kh) blocks of (C_in, kw, C_out)) or A (planar: (C_out, kd, kh, kw, C_in)),
// in the element type T.
template <class T>
void pack_weight(const ConvTransposePlan& p, MatmulLayout layout, std::vector<T>& packed) {
  const kern::DeconvGeometry& g = p.g;
  const std::int64_t taps = g.k[0] * g.k[1] * g.k[2];
  packed.resize(static_cast<std::size_t>(g.cin_g * taps * g.cout_g));
  const T* w = static_cast<const T*>(p.weight);
  const std::int64_t* ws = g.w_stride;
  for (std::int64_t ci = 0; ci < g.cin_g; ++ci) {
    for (std::int64_t t = 0; t < taps; ++t) {
      const std::int64_t kd = t / (g.k[1] * g.k[2]), kh = (t / g.k[2]) % g.k[1], kw = t % g.k[2];
      for (std::int64_t co = 0; co < g.cout_g; ++co) {
        const std::int64_t at =
            layout == MatmulLayout::kChannelsLast
                ? ((kd * g.k[1] + kh) * g.cin_g + ci) * g.k[2] * g.cout_g + kw * g.cout_g + co
                : (co * taps + t) * g.cin_g + ci;
        packed[static_cast<std::size_t>(at)] =
            w[ci * ws[0] + co * ws[1] + kd * ws[2] + kh * ws[3] + kw * ws[4]];
      }
    }
  }
}

template <class T>
void run_matmul_typed(const Entry& e, const ConvTransposePlan& p, int threads) {
  const kern::DeconvGeometry& g = p.g;
  const MatmulLayout layout = e.matmul == 1 ? MatmulLayout::kChannelsLast : MatmulLayout::kPlanar;
  const MatmulDescs d = matmul_descs(p, layout);
  thread_local std::vector<T> packed;  // reused: no page faults per call
  pack_weight<T>(p, layout, packed);
  dnnl::engine& eng = cpu_engine();
  const OmpThreads omp(threads);
  dnnl::stream s(eng);
  if (layout == MatmulLayout::kChannelsLast) {
    const std::int64_t cols = g.k[2] * g.cout_g;
    std::vector<float> bias;
    memory mbias;
    if (p.bias != nullptr) {
      bias.resize(static_cast<std::size_t>(cols));
      for (std::int64_t kw = 0; kw < g.k[2]; ++kw)
        for (std::int64_t co = 0; co < g.cout_g; ++co)
          bias[static_cast<std::size_t>(kw * g.cout_g + co)] =
              kern::to_acc<float>(static_cast<const T*>(p.bias)[co * g.bias_stride]);
      mbias = memory(d.bias, eng, bias.data());
    }
    const memory a(d.a, eng, const_cast<void*>(p.src));
    for (std::int64_t kd = 0; kd < g.k[0]; ++kd) {
      for (std::int64_t kh = 0; kh < g.k[1]; ++kh) {
        const memory b(d.b, eng, packed.data() + (kd * g.k[1] + kh) * g.cin_g * cols);
        T* out = static_cast<T*>(p.dst) + (kd * g.out[1] + kh) * g.out[2] * g.cout_g;
        const memory c(d.c, eng, out);
        std::unordered_map<int, memory> args = {
            {DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, c}};
        if (p.bias != nullptr) args[DNNL_ARG_BIAS] = mbias;
        e.prim.execute(s, args);
      }
    }
    s.wait();
    return;
  }
  const std::int64_t taps = g.k[0] * g.k[1] * g.k[2], px = g.in[0] * g.in[1] * g.in[2];
  const std::int64_t per_image = g.cout_g * taps * px;
  const memory a(d.a, eng, packed.data());
  // Image by image, so that the product is still in the caches when it is interleaved.
  auto multiply = [&](auto& product) {
    product.resize(static_cast<std::size_t>(per_image));
    const memory c(d.c, eng, product.data());
    for (std::int64_t n = 0; n < g.n; ++n) {
      const memory b(d.b, eng, const_cast<T*>(static_cast<const T*>(p.src)) + n * g.src_stride[0]);
      e.prim.execute(s, {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, c}});
      s.wait();
      conv_transpose_interleave_taps(p, n, product.data(), threads);
    }
  };
  if (p.bias != nullptr) {
    thread_local std::vector<float> product;  // reused: no page faults per call
    multiply(product);
  } else {
    thread_local std::vector<T> product;
    multiply(product);
  }
}

template <class T>
void run_matmul_backward(const Entry& e, const ConvTransposePlan& p, int threads) {
  const kern::DeconvGeometry& g = p.g;
  const MatmulDescs d = backward_descs(p);
  const std::int64_t taps = g.k[0] * g.k[1] * g.k[2], px = g.in[0] * g.in[1] * g.in[2];
  const std::int64_t m = g.cout_g * taps;
  const std::int64_t* ws = g.w_stride;
  thread_local std::vector<T> G;  // one image's de-interleaved grad_output, reused
  G.resize(static_cast<std::size_t>(m * px));
  dnnl::engine& eng = cpu_engine();
  const OmpThreads omp(threads);
  dnnl::stream s(eng);
  const memory b(d.b, eng, G.data());
  if (p.pass == DeconvPass::kGradInput) {
    // W as (C_in, C_out * taps), from any strides.
    thread_local std::vector<T> packed;
    packed.resize(static_cast<std::size_t>(g.cin_g * m));
    const T* w = static_cast<const T*>(p.weight);
    for (std::int64_t ci = 0; ci < g.cin_g; ++ci)
      for (std::int64_t co = 0; co < g.cout_g; ++co)
        for (std::int64_t t = 0; t < taps; ++t) {
          const std::int64_t kd = t / (g.k[1] * g.k[2]), kh = (t / g.k[2]) % g.k[1],
                             kw = t % g.k[2];
          packed[static_cast<std::size_t>(ci * m + co * taps + t)] =
              w[ci * ws[0] + co * ws[1] + kd * ws[2] + kh * ws[3] + kw * ws[4]];
        }
    const memory a(d.a, eng, packed.data());
    for (std::int64_t n = 0; n < g.n; ++n) {
      conv_transpose_deinterleave_taps(p, n, G.data(), nullptr, threads);
      const memory c(d.c, eng, static_cast<T*>(const_cast<void*>(p.src)) + n * g.src_stride[0]);
      e.prim.execute(s, {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, c}});
      s.wait();  // G is rewritten for the next image
    }
    return;
  }
  std::vector<float> gw(static_cast<std::size_t>(g.cin_g * m), 0.0f);
  std::vector<double> bias_sum(static_cast<std::size_t>(g.cout_g), 0.0);
  const bool want_bias = p.bias != nullptr;
  const memory c(d.c, eng, gw.data());
  for (std::int64_t n = 0; n < g.n; ++n) {
    conv_transpose_deinterleave_taps(p, n, G.data(), want_bias ? bias_sum.data() : nullptr,
                                     threads);
    const memory a(d.a, eng, const_cast<T*>(static_cast<const T*>(p.src)) + n * g.src_stride[0]);
    e.prim.execute(s, {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, c}});
    s.wait();
  }
  T* w = static_cast<T*>(const_cast<void*>(p.weight));
  for (std::int64_t ci = 0; ci < g.cin_g; ++ci)
    for (std::int64_t co = 0; co < g.cout_g; ++co)
      for (std::int64_t t = 0; t < taps; ++t) {
        const std::int64_t kd = t / (g.k[1] * g.k[2]), kh = (t / g.k[2]) % g.k[1], kw = t % g.k[2];
        w[ci * ws[0] + co * ws[1] + kd * ws[2] + kh * ws[3] + kw * ws[4]] =
            kern::from_acc<T>(gw[static_cast<std::size_t>(ci * m + co * taps + t)]);
      }
  if (want_bias) {
    T* bias = static_cast<T*>(const_cast<void*>(p.bias));
    for (std::int64_t co = 0; co < g.cout_g; ++co)
      bias[co * g.bias_stride] =
          kern::from_acc<T>(static_cast<float>(bias_sum[static_cast<std::size_t>(co)]));
  }
}

void run_matmul(const Entry& e, const ConvTransposePlan& p, int threads) {
  const bool fwd = p.pass == DeconvPass::kForward;
  if (p.dtype == DType::kBF16) {
    fwd ? run_matmul_typed<kern::bf16_t>(e, p, threads)
        : run_matmul_backward<kern::bf16_t>(e, p, threads);
  } else {
    fwd ? run_matmul_typed<float>(e, p, threads) : run_matmul_backward<float>(e, p, threads);
  }
}

Entry build(const ConvTransposePlan& p) {
  const MatmulLayout layout = matmul_layout(p);
  if (layout != MatmulLayout::kNone) {
    try {
      Entry e = build_matmul(p, layout);
      if (e.ok) return e;
    } catch (const dnnl::error&) {
      // fall through to the deconvolution primitive
    }
  }
  // 16-bit problems reach here only for the matmul layouts; the rest run on f32 copies.
  if (p.dtype != DType::kF32) {
    Entry e;
    e.reason = "oneDNN has no fast 16-bit matmul for this problem";
    return e;
  }
  Entry e;
  const memory::data_type type = onednn_type(p.dtype);
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
    if (p.pass == DeconvPass::kForward && blocked_preferred(p)) {
      const memory::desc src_any(dims_of(p.src_view), type, memory::format_tag::any);
      const memory::desc dst_any(dims_of(p.dst_view), type, memory::format_tag::any);
      const dnnl::deconvolution_forward::desc d =
          p.bias != nullptr
              ? dnnl::deconvolution_forward::desc(dnnl::prop_kind::forward_inference, algo, src_any,
                                                  w_any, bias, dst_any, strides, dilates, pad_l,
                                                  pad_r)
              : dnnl::deconvolution_forward::desc(dnnl::prop_kind::forward_inference, algo, src_any,
                                                  w_any, dst_any, strides, dilates, pad_l, pad_r);
      const dnnl::deconvolution_forward::primitive_desc pd(d, eng);
      impl = pd.impl_info_str();
      e.w_prim = pd.weights_desc();
      e.prim = dnnl::deconvolution_forward(pd);
      e.blocked = true;
      e.src_prim = pd.src_desc();
      e.dst_prim = pd.dst_desc();
      e.src_reorder = dnnl::reorder(dnnl::reorder::primitive_desc(eng, src, eng, e.src_prim));
      e.dst_reorder = dnnl::reorder(dnnl::reorder::primitive_desc(eng, e.dst_prim, eng, dst));
    } else if (p.pass == DeconvPass::kForward) {
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
      // The backward primitives take the forward training primitive as a hint. The blocked
      // variant lets oneDNN pick src and dst layouts too, and reorders around the call.
      const bool blocked = blocked_preferred(p);
      const memory::desc src_d =
          blocked ? memory::desc(dims_of(p.src_view), type, memory::format_tag::any) : src;
      const memory::desc dst_d =
          blocked ? memory::desc(dims_of(p.dst_view), type, memory::format_tag::any) : dst;
      const dnnl::deconvolution_forward::desc hint_d(dnnl::prop_kind::forward_training, algo, src_d,
                                                     w_any, dst_d, strides, dilates, pad_l, pad_r);
      const dnnl::deconvolution_forward::primitive_desc hint(hint_d, eng);
      if (p.pass == DeconvPass::kGradInput) {
        const dnnl::deconvolution_backward_data::desc d(algo, src_d, w_any, dst_d, strides, dilates,
                                                        pad_l, pad_r);
        const dnnl::deconvolution_backward_data::primitive_desc pd(d, eng, hint);
        impl = pd.impl_info_str();
        e.w_prim = pd.weights_desc();
        e.prim = dnnl::deconvolution_backward_data(pd);
        e.src_prim = pd.diff_src_desc();
        e.dst_prim = pd.diff_dst_desc();
      } else {
        const dnnl::deconvolution_backward_weights::desc d =
            p.bias != nullptr ? dnnl::deconvolution_backward_weights::desc(
                                    algo, src_d, w_any, bias, dst_d, strides, dilates, pad_l, pad_r)
                              : dnnl::deconvolution_backward_weights::desc(
                                    algo, src_d, w_any, dst_d, strides, dilates, pad_l, pad_r);
        const dnnl::deconvolution_backward_weights::primitive_desc pd(d, eng, hint);
        impl = pd.impl_info_str();
        e.w_prim = pd.diff_weights_desc();
        e.prim = dnnl::deconvolution_backward_weights(pd);
        e.src_prim = pd.src_desc();
        e.dst_prim = pd.diff_dst_desc();
      }
      if (blocked) {
        e.blocked = true;
        // grad_input: grad_output in, grad_input out; grad_weight: both in.
        e.dst_reorder = dnnl::reorder(dnnl::reorder::primitive_desc(eng, dst, eng, e.dst_prim));
        e.src_reorder =
            p.pass == DeconvPass::kGradInput
                ? dnnl::reorder(dnnl::reorder::primitive_desc(eng, e.src_prim, eng, src))
                : dnnl::reorder(dnnl::reorder::primitive_desc(eng, src, eng, e.src_prim));
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
  const std::string key = cpu_problem_key(p, threads);
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

// An f32 copy of a 16-bit tensor view (or an f32 buffer of its shape to convert back from), in
// the view's layout when that is channels-last, else contiguous.
struct F32Copy {
  std::vector<float> data;
  TensorView view;  // data null until allocate()
  explicit F32Copy(const TensorView& v) {
    view = is_channels_last(v) && v.ndim >= 3
               ? TensorView::channels_last(nullptr, DType::kF32, Device::kCPU, v.shape())
               : TensorView::contiguous(nullptr, DType::kF32, Device::kCPU, v.shape());
  }
  float* allocate() {
    data.resize(static_cast<std::size_t>(view.numel()));
    view.data = data.data();
    return data.data();
  }
  void store(const TensorView& v, void* ptr, int threads) const {
    convert(view, data.data(), v, ptr, threads);
  }
  // Element-wise copy between two views of one shape (logical C order), converting.
  static void convert(const TensorView& from, const void* src, const TensorView& to, void* dst,
                      int threads) {
    // Same strides over a packed range (contiguous or channels-last both sides): one flat loop.
    bool same = from.ndim == to.ndim;
    for (int d = 0; same && d < from.ndim; ++d)
      same = from.strides[d] == to.strides[d];
    const std::int64_t n = from.numel();
    if (same && offset_span(from.sizes, from.strides, from.ndim) == n) {
      dispatch_float(from.dtype, [&](auto ft) {
        using F = typename decltype(ft)::type;
        dispatch_float(to.dtype, [&](auto tt) {
          using T = typename decltype(tt)::type;
          const F* a = static_cast<const F*>(src);
          T* b = static_cast<T*>(dst);
          parallel_for(n, threads, [&](std::int64_t begin, std::int64_t end) {
            for (std::int64_t i = begin; i < end; ++i)
              b[i] = kern::from_acc<T>(kern::to_acc<float>(a[i]));
          });
        });
      });
      return;
    }
    const int nd = from.ndim;
    const std::int64_t inner = nd > 0 ? from.sizes[nd - 1] : 1;
    const std::int64_t rows = inner > 0 ? from.numel() / inner : 0;
    parallel_for(rows, threads, 64, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t r = begin; r < end; ++r) {
        std::int64_t rem = r, off_from = 0, off_to = 0;
        for (int d = nd - 2; d >= 0; --d) {
          const std::int64_t i = rem % from.sizes[d];
          rem /= from.sizes[d];
          off_from += i * from.strides[d];
          off_to += i * to.strides[d];
        }
        const std::int64_t sf = nd > 0 ? from.strides[nd - 1] : 0;
        const std::int64_t st = nd > 0 ? to.strides[nd - 1] : 0;
        dispatch_float(from.dtype, [&](auto ft) {
          using F = typename decltype(ft)::type;
          dispatch_float(to.dtype, [&](auto tt) {
            using T = typename decltype(tt)::type;
            const F* a = static_cast<const F*>(src) + off_from;
            T* b = static_cast<T*>(dst) + off_to;
            for (std::int64_t i = 0; i < inner; ++i)
              b[i * st] = kern::from_acc<T>(kern::to_acc<float>(a[i * sf]));
          });
        });
      }
    });
  }
};

// oneDNN 2.x's bf16 and f16 deconvolutions on CPUs without native 16-bit dot products run far
// slower than its f32 ones (measured: docs/benchmarks.md), so 16-bit problems run in f32 on
// converted copies: the contract (products and sums in f32, one rounding at the end) is the same.
std::string run_via_f32(const ConvTransposePlan& p, int threads, bool run) {
  ConvTransposePlan q = p;
  q.dtype = DType::kF32;
  // The problem as oneDNN will see it, for the decline check and the cache.
  F32Copy src(p.src_view), w(p.weight_view), dst(p.dst_view);
  q.src_view = src.view;
  q.weight_view = w.view;
  q.dst_view = dst.view;
  std::vector<float> bias;
  const std::int64_t cout = p.g.groups * p.g.cout_g;
  if (p.bias != nullptr) {
    bias.resize(static_cast<std::size_t>(cout));
    q.g.bias_stride = 1;
    q.bias = bias.data();
  }
  std::string why = onednn_deconv(q, threads, false);
  if (!why.empty() || !run) return why;
  const bool load_src = p.pass != DeconvPass::kGradInput;
  const bool load_w = p.pass != DeconvPass::kGradWeight;
  const bool load_dst = p.pass != DeconvPass::kForward;
  q.src = src.allocate();
  q.weight = w.allocate();
  q.dst = dst.allocate();
  if (load_src) F32Copy::convert(p.src_view, p.src, src.view, src.data.data(), threads);
  if (load_w) F32Copy::convert(p.weight_view, p.weight, w.view, w.data.data(), threads);
  if (load_dst) F32Copy::convert(p.dst_view, p.dst, dst.view, dst.data.data(), threads);
  if (p.bias != nullptr && p.pass == DeconvPass::kForward) {
    dispatch_float(p.dtype, [&](auto tag) {
      using T = typename decltype(tag)::type;
      for (std::int64_t c = 0; c < cout; ++c)
        bias[static_cast<std::size_t>(c)] =
            kern::to_acc<float>(static_cast<const T*>(p.bias)[c * p.g.bias_stride]);
    });
  }
  q.src_view = src.view;
  q.weight_view = w.view;
  q.dst_view = dst.view;
  why = onednn_deconv(q, threads, true);
  if (!why.empty()) return why;
  if (!load_src) src.store(p.src_view, const_cast<void*>(p.src), threads);
  if (!load_w) w.store(p.weight_view, const_cast<void*>(p.weight), threads);
  if (!load_dst) dst.store(p.dst_view, p.dst, threads);
  if (p.bias != nullptr && p.pass == DeconvPass::kGradWeight) {
    dispatch_float(p.dtype, [&](auto tag) {
      using T = typename decltype(tag)::type;
      T* b = static_cast<T*>(const_cast<void*>(p.bias));
      for (std::int64_t c = 0; c < cout; ++c)
        b[c * p.g.bias_stride] = kern::from_acc<T>(bias[static_cast<std::size_t>(c)]);
    });
  }
  return "";
}

}  // namespace

bool onednn_compiled() noexcept {
  return true;
}

std::string onednn_deconv(const ConvTransposePlan& p, int threads, bool run) {
  // An empty batch is declined by the f32 problem's static checks.
  if (p.dtype == DType::kBF16 || p.dtype == DType::kF16) {
    // bf16 runs natively where a matmul covers it (see matmul_layout), else on f32 copies.
    const bool native = p.dtype == DType::kBF16 && matmul_layout(p) != MatmulLayout::kNone &&
                        entry_for(p, threads)->ok;
    if (!native) return run_via_f32(p, threads, run);
  }
  const std::shared_ptr<const Entry> e = entry_for(p, threads);
  if (!e->ok) return e->reason;
  if (!run) return "";
  if (e->matmul) {
    try {
      run_matmul(*e, p, threads);
    } catch (const dnnl::error& err) {
      fail(ErrorCode::kInternal, concat("conv_transpose: oneDNN failed: ", err.what()));
    }
    return "";
  }
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
        if (e->blocked) {
          const memory src_b(e->src_prim, eng), dst_b(e->dst_prim, eng);
          e->src_reorder.execute(s, {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, src_b}});
          args = {{DNNL_ARG_SRC, src_b}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DST, dst_b}};
          if (p.bias != nullptr) args[DNNL_ARG_BIAS] = bias;
          e->prim.execute(s, args);
          e->dst_reorder.execute(s, {{DNNL_ARG_FROM, dst_b}, {DNNL_ARG_TO, dst}});
          break;
        }
        args = {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DST, dst}};
        if (p.bias != nullptr) args[DNNL_ARG_BIAS] = bias;
        e->prim.execute(s, args);
        break;
      case DeconvPass::kGradInput:
        if (e->reorder_weight)
          e->weight_reorder.execute(s, {{DNNL_ARG_FROM, w_user}, {DNNL_ARG_TO, w}});
        if (e->blocked) {
          const memory src_b(e->src_prim, eng), dst_b(e->dst_prim, eng);
          e->dst_reorder.execute(s, {{DNNL_ARG_FROM, dst}, {DNNL_ARG_TO, dst_b}});
          e->prim.execute(
              s, {{DNNL_ARG_DIFF_SRC, src_b}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DIFF_DST, dst_b}});
          e->src_reorder.execute(s, {{DNNL_ARG_FROM, src_b}, {DNNL_ARG_TO, src}});
          break;
        }
        e->prim.execute(
            s, {{DNNL_ARG_DIFF_SRC, src}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DIFF_DST, dst}});
        break;
      default:
        if (e->blocked) {
          const memory src_b(e->src_prim, eng), dst_b(e->dst_prim, eng);
          e->src_reorder.execute(s, {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, src_b}});
          e->dst_reorder.execute(s, {{DNNL_ARG_FROM, dst}, {DNNL_ARG_TO, dst_b}});
          args = {{DNNL_ARG_SRC, src_b}, {DNNL_ARG_DIFF_WEIGHTS, w}, {DNNL_ARG_DIFF_DST, dst_b}};
        } else {
          args = {{DNNL_ARG_SRC, src}, {DNNL_ARG_DIFF_WEIGHTS, w}, {DNNL_ARG_DIFF_DST, dst}};
        }
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
