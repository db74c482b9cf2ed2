#include "gpu_compare.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "gpu_support.hpp"
#include "ups/context.hpp"
#include "ups/error.hpp"

namespace ups_test {

using ups::DType;
using ups::InterpMode;

namespace {

template <class V>
std::string list_to_string(const V& v) {
  std::ostringstream os;
  os << "[";
  for (std::size_t i = 0; i < v.size(); ++i)
    os << (i ? ", " : "") << v[i];
  os << "]";
  return os.str();
}

bool is_16bit(DType t) {
  return t == DType::kF16 || t == DType::kBF16;
}

// The spacing of the representable f16 / bf16 values at magnitude |v| (subnormal spacing below
// the smallest normal).
double ulp16(DType t, double v) {
  const int mantissa_bits = t == DType::kF16 ? 10 : 7;
  const int min_exp = t == DType::kF16 ? -14 : -126;
  v = std::fabs(v);
  int e = v > 0.0 && std::isfinite(v) ? std::ilogb(v) : min_exp;
  e = std::max(e, min_exp);
  return std::ldexp(1.0, e - mantissa_bits);
}

void append(std::string& err, const std::string& what, const std::string& more) {
  if (more.empty()) return;
  if (!err.empty()) err += "; ";
  err += what + more;
}

// To match PyTorch's CPU kernels, the linear, bilinear (large outputs), trilinear and bicubic
// bodies round their interpolation weights to f16 / bf16 for those element types. A weight whose
// f32 value differs by a few ulps between the backends (see accumulation_bound) can then round to
// neighbouring 16-bit values, i.e. differ by one 16-bit ulp u of a value below 1: u = 2^-11 for
// f16, 2^-8 for bf16. In the worst case every tap of every dim does so; with |x| <= 1 and the
// other dims' weights summing to at most 1.3 in absolute value, the output moves by at most
// 2u (linear), 4u (bilinear), 6u (trilinear) or 4 * 2 * 1.3u < 12u (bicubic). This is far looser
// than the accumulation bound but only applies to 16-bit types; the f32 and f64 cases check the
// same code paths tightly. (Area sums in the element type without multiplications, and the
// anti-aliasing weights stay in f32, so those need no such term.)
double weight_storage_bound(const InterpCase& c) {
  if (c.options.antialias) return 0.0;
  if (c.dtype != DType::kF16 && c.dtype != DType::kBF16) return 0.0;
  const double u = c.dtype == DType::kF16 ? std::ldexp(1.0, -11) : std::ldexp(1.0, -8);
  switch (c.options.mode) {
    case InterpMode::kLinear:
      return 2 * u;
    case InterpMode::kBilinear:
      return 4 * u;
    case InterpMode::kTrilinear:
      return 6 * u;
    case InterpMode::kBicubic:
      return 12 * u;
    default:
      return 0.0;
  }
}

}  // namespace

std::string describe(const InterpCase& c) {
  std::ostringstream os;
  const auto& o = c.options;
  os << ups::to_string(o.mode) << " " << ups::to_string(c.dtype) << " "
     << ups::shape_to_string(c.in_shape);
  if (!o.size.empty()) os << " size=" << list_to_string(o.size);
  if (!o.scale_factor.empty()) os << " scale_factor=" << list_to_string(o.scale_factor);
  if (o.recompute_scale_factor) os << " recompute_scale_factor=1";
  if (o.align_corners.has_value()) os << " align_corners=" << (*o.align_corners ? 1 : 0);
  if (o.antialias) os << " antialias=1";
  os << " " << to_string(c.in_layout) << " -> " << to_string(c.out_layout) << " seed=" << c.seed;
  return os.str();
}

bool copies_elements(InterpMode mode) {
  return ups::interp_mode_traits(mode).copies;
}

bool must_match_bitwise(const InterpCase& c) {
  return copies_elements(c.options.mode) || !kCudaFusesMultiplyAdd;
}

// Why the two backends may differ at all: they run the same per-element body (interp_math.hpp),
// in the same order, on the same host-computed scales, and the 16-bit conversions are integer
// code. Neither contracts a*b+c (interpolate.cu is built with --fmad=false, the CPU sources
// with -ffp-contract=off), so they round identically but for one step: the anti-aliasing
// filter argument, which the host computes in f64 and the device in the accumulation type. If
// the kernels were built with --fmad=true (UPS_INTERP_CUDA_FMAD), nvcc would also contract
// multiply-adds and skip some roundings on the GPU. The bound covers both.
// With inputs in [-1, 1) (max|x| = 1), eps the accumulation epsilon (2^-23 for f32, f16 and bf16,
// which accumulate in f32; 2^-52 for f64), S the largest input extent along an interpolated dim
// and T the most taps along one dim:
//  (a) Source coordinates. scale*(dst+0.5)-0.5 (and the anti-aliasing window centre) may be
//      contracted, which moves the coordinate by at most half an ulp of a value below S, i.e.
//      eps*S/2. The output is a Lipschitz function of each coordinate with constant
//      sum|w'(t)|*max|x| <= 4.2 (Keys cubic, the worst case; 2 for linear, about 3.3 for the
//      normalised anti-aliasing filters), weighted by the other dims' |weights| (sum <= 1.3);
//      over at most three dims that stays below 8*S*eps. It also covers a floor() that flips
//      at an integer coordinate, because every filter is continuous there.
//  (b) Weights. A Keys weight is a short polynomial whose intermediates reach about 6, so
//      contracting it moves the weight by up to ~8*eps (less for the linear weights, which are
//      exact differences); over 4 taps in each of 2 dims that is below 16*T*eps.
//      The anti-aliasing filter argument (j - centre + 0.5) * invscale is below 2 in magnitude
//      where the filter is non-zero. The device rounds it twice in Acc where the host rounds it
//      once from f64, so it differs by at most 3*eps and each filter value f_j by at most
//      4.5*eps (slope <= 1.5). The normalised sum sum_j f_j x_j / sum_j f_j then moves by at
//      most 2 * sum_j |df_j| / sum_j f_j; a window holds at most about 5 taps per unit of filter
//      sum, so that is at most about 45*eps per dim and 100*eps over both, and a window of T
//      taps needs an input extent S >= T, so 8*S + 16*T + 32 covers it from T = 3 on (narrower
//      windows hold fewer taps per unit of filter sum).
//  (c) Weighted sums. A contracted multiply-add skips one rounding of at most half an ulp of the
//      partial sum (<= 1.3 * max|x|); the nested sums and the final combination stay below
//      32*eps for the fixed-tap modes, and the 16*T term covers the long anti-aliasing sums.
// So |CUDA - CPU| <= eps * (8*S + 16*T + 32), plus weight_storage_bound for the 16-bit types
// whose weights are stored in the element type. Area sums without multiplications and divides
// with IEEE division on both sides, so it gets the same bound although it should match exactly.
// For a 3x3 -> 7x7 bilinear f32 case that is 88 ulps of 1.0 (1.0e-5); f64 ~ 2e-14. A wrong tap
// or weight moves outputs by about the input's variation (~0.1 or more), far beyond it.
double accumulation_bound(const InterpCase& c) {
  if (must_match_bitwise(c)) return 0.0;
  const double eps = c.dtype == DType::kF64 ? std::ldexp(1.0, -52) : std::ldexp(1.0, -23);
  std::int64_t s = 1;
  for (std::size_t d = 2; d < c.in_shape.size(); ++d)
    s = std::max(s, c.in_shape[d]);
  std::int64_t taps = 2;
  if (c.options.mode == InterpMode::kBicubic) taps = 4;
  // Anti-aliasing and area windows grow with the downscale factor but never beyond the input.
  if (c.options.antialias || c.options.mode == InterpMode::kArea) taps = s;
  return eps * (8.0 * static_cast<double>(s) + 16.0 * static_cast<double>(taps) + 32.0) +
         weight_storage_bound(c);
}

// f16 and bf16 outputs are the f32 results rounded once to the output type; results that differ
// by d in f32 round to values that differ by at most d plus one ulp of the output type. Away from
// zero d is far below that ulp, so this is the "at most one ulp" rule; near zero, where the
// output ulp becomes tiny, d itself is the allowance.
std::string compare_close(const HostTensor& got, const HostTensor& want, double acc_bound) {
  if (got.shape() != want.shape() || got.dtype() != want.dtype()) {
    return "shape or dtype differ: " + ups::shape_to_string(got.shape()) + " vs " +
           ups::shape_to_string(want.shape());
  }
  const bool out16 = is_16bit(got.dtype());
  std::int64_t bad = 0, first = -1;
  double worst = 0.0;
  for (std::int64_t i = 0; i < got.numel(); ++i) {
    const double a = got.get(i), b = want.get(i);
    if (std::isnan(a) || std::isnan(b)) {
      if (std::isnan(a) && std::isnan(b)) continue;
      if (first < 0) first = i;
      ++bad;
      continue;
    }
    const double diff = std::fabs(a - b);
    const double allowed =
        acc_bound + (out16 ? ulp16(got.dtype(), std::max(std::fabs(a), std::fabs(b))) : 0.0);
    if (!(diff <= allowed)) {
      if (first < 0) first = i;
      ++bad;
      worst = std::max(worst, diff);
    }
  }
  if (bad == 0) return "";
  std::ostringstream os;
  os.precision(10);
  os << bad << " of " << got.numel() << " elements differ beyond the bound " << acc_bound
     << (out16 ? " (+1 ulp)" : "") << "; first at logical index " << first << ": got "
     << got.get(first) << ", expected " << want.get(first) << "; worst |diff| " << worst;
  return os.str();
}

std::string run_against_cpu(const InterpCase& c, cudaStream_t stream) {
  const ups::Shape out_shape = ups::interpolate_output_shape(c.in_shape, c.options);

  // The reference: the CPU backend on plain contiguous tensors.
  HostTensor src(c.dtype, c.in_shape);
  if (c.dtype == DType::kU8) {
    fill_random(src, c.seed, 0.0, 256.0);
  } else {
    fill_random(src, c.seed);
  }
  HostTensor want(c.dtype, out_shape);
  ups::interpolate(ups::Context(ups::Device::kCPU), src.view(), want.view(), c.options);

  // The CUDA run, in the case's layouts, between guard regions, on the caller's stream.
  const HostTensor src_host = src.to_layout(c.in_layout);
  GuardedDeviceTensor d_src(c.dtype, c.in_shape, c.in_layout, stream);
  GuardedDeviceTensor d_dst(c.dtype, out_shape, c.out_layout, stream);
  d_src.upload(src_host);
  d_dst.fill(0xFF);  // NaN in every float type: an unwritten element cannot pass
  ups::interpolate(ups::Context(ups::Device::kCUDA, stream), d_src.view(), d_dst.view(), c.options);
  UPS_TEST_CUDA_CHECK(cudaStreamSynchronize(stream));
  UPS_TEST_CUDA_CHECK(cudaGetLastError());
  const HostTensor got = d_dst.download();

  std::string err;
  append(err, "output: ",
         must_match_bitwise(c) ? compare_bitwise(got, want)
                               : compare_close(got, want, accumulation_bound(c)));
  append(err, "dst: ", d_dst.check_guards());
  append(err, "src: ", d_src.check_guards());
  append(err, "src was modified: ", compare_bitwise(d_src.download(), src_host));
  return err;
}

}  // namespace ups_test
