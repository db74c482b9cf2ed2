// Tests of the separable resampling engine (src/resample_plan.hpp): host tensors with arbitrary
// strides, random plans, and the reference, a flat loop over the output that forms every element
// in double straight from the tables. Header-only and free of Catch2, for the CPU and GPU suites.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "common/hd.hpp"
#include "resample_plan.hpp"
#include "ups/tensor.hpp"

namespace ups_test {

// How a tensor's strides are laid out.
enum class Strides {
  kContiguous,    // C order
  kChannelsLast,  // dim 1 innermost, the rest in order (rank >= 3), else C order
  kPermuted,      // a random order of the dims
  kGapped,        // a random order with gaps between rows and planes (a slice of a larger one)
};

inline const char* to_string(Strides s) {
  switch (s) {
    case Strides::kContiguous:
      return "contiguous";
    case Strides::kChannelsLast:
      return "channels-last";
    case Strides::kPermuted:
      return "permuted";
    default:
      return "gapped";
  }
}

// An owning host tensor with any non-negative strides.
struct StridedTensor {
  ups::DType dtype = ups::DType::kF32;
  int ndim = 0;
  std::int64_t sizes[ups::kMaxDims] = {};
  std::int64_t strides[ups::kMaxDims] = {};
  std::int64_t numel = 0;
  std::vector<unsigned char> bytes;

  StridedTensor() = default;
  StridedTensor(ups::DType t, int rank, const std::int64_t* shape, Strides kind,
                std::mt19937_64& rng)
      : dtype(t), ndim(rank) {
    numel = 1;
    for (int d = 0; d < rank; ++d) {
      sizes[d] = shape[d];
      numel *= shape[d];
    }
    std::vector<int> order(static_cast<std::size_t>(rank));  // innermost last
    std::iota(order.begin(), order.end(), 0);
    if (kind == Strides::kChannelsLast && rank >= 3) {
      order.erase(order.begin() + 1);
      order.push_back(1);
    } else if (kind == Strides::kPermuted || kind == Strides::kGapped) {
      std::shuffle(order.begin(), order.end(), rng);
    }
    std::int64_t s = 1;
    for (int i = rank - 1; i >= 0; --i) {
      const int d = order[static_cast<std::size_t>(i)];
      strides[d] = s;
      s *= std::max<std::int64_t>(sizes[d], 1);
      if (kind == Strides::kGapped) s += static_cast<std::int64_t>(rng() % 3);
    }
    bytes.assign(static_cast<std::size_t>(s) * ups::dtype_size(t), 0);
  }

  ups::TensorView view() const {
    ups::TensorView v;
    v.data = const_cast<unsigned char*>(bytes.data());
    v.dtype = dtype;
    v.device = ups::Device::kCPU;
    v.ndim = ndim;
    for (int d = 0; d < ndim; ++d) {
      v.sizes[d] = sizes[d];
      v.strides[d] = strides[d];
    }
    return v;
  }

  // Memory offset of logical (C-order) element i.
  std::int64_t offset(std::int64_t i) const {
    std::int64_t off = 0;
    for (int d = ndim - 1; d >= 0; --d) {
      off += (i % sizes[d]) * strides[d];
      i /= sizes[d];
    }
    return off;
  }

  double get_at(std::int64_t off) const {
    const unsigned char* p = bytes.data() + off * static_cast<std::int64_t>(ups::dtype_size(dtype));
    switch (dtype) {
      case ups::DType::kF32: {
        float v;
        std::memcpy(&v, p, 4);
        return v;
      }
      case ups::DType::kF64: {
        double v;
        std::memcpy(&v, p, 8);
        return v;
      }
      case ups::DType::kF16: {
        ups::kern::half_t h;
        std::memcpy(&h, p, 2);
        return ups::kern::half_to_float(h);
      }
      case ups::DType::kBF16: {
        ups::kern::bf16_t h;
        std::memcpy(&h, p, 2);
        return ups::kern::bf16_to_float(h);
      }
      default:
        return *p;
    }
  }
  void set_at(std::int64_t off, double v) {
    unsigned char* p = bytes.data() + off * static_cast<std::int64_t>(ups::dtype_size(dtype));
    switch (dtype) {
      case ups::DType::kF32: {
        const auto f = static_cast<float>(v);
        std::memcpy(p, &f, 4);
        break;
      }
      case ups::DType::kF64:
        std::memcpy(p, &v, 8);
        break;
      case ups::DType::kF16: {
        const auto h = ups::kern::float_to_half(static_cast<float>(v));
        std::memcpy(p, &h, 2);
        break;
      }
      case ups::DType::kBF16: {
        const auto h = ups::kern::float_to_bf16(static_cast<float>(v));
        std::memcpy(p, &h, 2);
        break;
      }
      default:
        *p = static_cast<unsigned char>(std::min(255.0, std::max(0.0, std::nearbyint(v))));
        break;
    }
  }
  double get(std::int64_t i) const { return get_at(offset(i)); }
  void set(std::int64_t i, double v) { set_at(offset(i), v); }

  // Every element (and the gaps between them) random; u8 gets integers.
  void fill(std::mt19937_64& rng) {
    std::uniform_real_distribution<double> u(-2.0, 2.0);
    const std::size_t es = ups::dtype_size(dtype);
    for (std::size_t o = 0; o < bytes.size() / es; ++o) {
      if (dtype == ups::DType::kU8)
        set_at(static_cast<std::int64_t>(o), static_cast<double>(rng() % 256));
      else
        set_at(static_cast<std::int64_t>(o), u(rng));
    }
  }
};

// The reference result of output element i (logical order) and the sum of the magnitudes of its
// terms (what the rounding error of a float accumulation scales with).
struct RefValue {
  double value = 0;
  double magnitude = 0;
  bool extrapolated = false;
};

inline std::vector<RefValue> resample_reference(const ups::detail::ResamplePlan& plan,
                                                const StridedTensor& src) {
  const int rank = plan.rank;
  std::int64_t total = 1;
  for (int d = 0; d < rank; ++d)
    total *= plan.axis[d].out;
  std::vector<RefValue> out(static_cast<std::size_t>(total));
  for (std::int64_t i = 0; i < total; ++i) {
    std::int64_t o[ups::kMaxDims] = {};
    std::int64_t rest = i;
    for (int d = rank - 1; d >= 0; --d) {
      o[d] = rest % plan.axis[d].out;
      rest /= plan.axis[d].out;
    }
    RefValue& r = out[static_cast<std::size_t>(i)];
    for (int d = 0; d < rank; ++d) {
      const auto& a = plan.axis[d];
      if (!a.outside.empty() && a.outside[static_cast<std::size_t>(o[d])] != 0)
        r.extrapolated = true;
    }
    if (r.extrapolated) {
      r.value = plan.extrapolation_value;
      continue;
    }
    // Every tuple of taps j[0..rank): an odometer.
    int j[ups::kMaxDims] = {};
    for (;;) {
      double w = 1;
      std::int64_t off = 0;
      for (int d = 0; d < rank; ++d) {
        const auto& a = plan.axis[d];
        const auto at = static_cast<std::size_t>(o[d] * a.k + j[d]);
        w *= a.w[at];
        off += a.idx[at] * src.strides[d];
      }
      const double x = src.get_at(off);
      if (plan.weighted) {
        r.value += w * x;
        r.magnitude += std::fabs(w * x);
      } else {
        r.value = x;
      }
      int d = rank - 1;
      while (d >= 0 && ++j[d] == plan.axis[d].k) {
        j[d] = 0;
        --d;
      }
      if (d < 0) break;
    }
  }
  return out;
}

// A random dim of the plan: the identity, or `in` -> `out` with k taps of random indices and
// weights (negative ones included), windows padded with weight-0 taps, and (sometimes) outside
// flags.
inline ups::detail::ResampleAxis random_axis(std::mt19937_64& rng, std::int64_t in,
                                             std::int64_t out, int k, bool weighted,
                                             bool with_outside) {
  ups::detail::ResampleAxis a;
  a.in = in;
  a.out = out;
  a.k = weighted ? k : 1;
  std::uniform_real_distribution<double> w(-0.75, 1.5);
  for (std::int64_t o = 0; o < out; ++o) {
    // Windows shorter than k at random, padded with a valid index and weight 0.
    const int used = weighted ? 1 + static_cast<int>(rng() % static_cast<unsigned>(a.k)) : 1;
    for (int j = 0; j < a.k; ++j) {
      a.idx.push_back(static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(in)));
      a.w.push_back(!weighted ? 1.0 : j < used ? w(rng) : 0.0);
    }
  }
  if (with_outside) {
    a.outside.resize(static_cast<std::size_t>(out));
    for (auto& f : a.outside)
      f = rng() % 4 == 0 ? 1 : 0;
  }
  return a;
}

// A random problem: plan, source (filled) and destination, with random strides on both sides.
struct ResampleCase {
  ups::detail::ResamplePlan plan;
  StridedTensor src, dst;
  std::string what;
};

inline ResampleCase random_case(std::mt19937_64& rng, ups::DType dtype, bool weighted,
                                bool long_rows = false) {
  ResampleCase c;
  const int rank = long_rows ? 1 + static_cast<int>(rng() % 2) : 1 + static_cast<int>(rng() % 5);
  static const std::int64_t kMaxSize[] = {0, 64, 24, 10, 6, 5};
  const std::int64_t most = long_rows ? 300 : kMaxSize[rank];
  c.plan.dtype = dtype;
  c.plan.rank = rank;
  c.plan.weighted = weighted;
  c.plan.extrapolation_value = dtype == ups::DType::kU8 ? static_cast<double>(rng() % 300) - 20.0
                                                        : static_cast<double>(rng() % 1000) / 97.0;
  std::int64_t in[ups::kMaxDims], out[ups::kMaxDims];
  for (int d = 0; d < rank; ++d) {
    const std::int64_t lo = long_rows && d == rank - 1 ? most / 2 : 1;
    in[d] = lo + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(most - lo + 1));
    if (rng() % 3 == 0) {
      c.plan.axis[d] = ups::detail::ResampleAxis::identity(in[d]);
      out[d] = in[d];
      continue;
    }
    out[d] = lo + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(most - lo + 1));
    // Large windows now and then in low ranks (downscaling filters), a few taps otherwise.
    int k = 1 + static_cast<int>(rng() % (rank <= 2 ? 6 : 3));
    if (rank <= 2 && rng() % 4 == 0) k = 8 + static_cast<int>(rng() % 17);
    c.plan.axis[d] = random_axis(rng, in[d], out[d], k, weighted, rng() % 5 == 0);
  }
  static const Strides kinds[] = {Strides::kContiguous, Strides::kChannelsLast, Strides::kPermuted,
                                  Strides::kGapped};
  const Strides sk = kinds[rng() % 4], dk = kinds[rng() % 4];
  c.src = StridedTensor(dtype, rank, in, sk, rng);
  c.dst = StridedTensor(dtype, rank, out, dk, rng);
  c.src.fill(rng);
  c.dst.fill(rng);
  c.what = std::string(ups::to_string(dtype)) + (weighted ? " weighted" : " unweighted") +
           " rank " + std::to_string(rank) + ", src " + to_string(sk) + ", dst " + to_string(dk) +
           ", dims";
  for (int d = 0; d < rank; ++d) {
    const auto& a = c.plan.axis[d];
    c.what += " " + std::to_string(a.in) + "->" + std::to_string(a.out) + "/k" +
              std::to_string(a.k) + (a.is_identity() ? "(id)" : "") +
              (a.outside.empty() ? "" : "(outside)");
  }
  return c;
}

// Empty when `dst` holds the reference within the rounding its dtype allows: the accumulation's
// (relative to the terms' magnitudes) plus the final rounding to the element type; unweighted
// plans and extrapolated elements must match exactly.
inline std::string check_resample(const ResampleCase& c, const StridedTensor& dst,
                                  const std::vector<RefValue>& ref) {
  double acc_tol = 1e-12, out_tol = 0, abs_tol = 1e-300;
  switch (c.plan.dtype) {
    case ups::DType::kF32:
      acc_tol = 2e-6;
      break;
    case ups::DType::kF16:
      acc_tol = 2e-6;
      out_tol = 1.0 / 1024;
      abs_tol = 6e-8;  // half the spacing of f16 subnormals
      break;
    case ups::DType::kBF16:
      acc_tol = 2e-6;
      out_tol = 1.0 / 128;
      break;
    default:
      break;
  }
  StridedTensor one;  // the extrapolation value as the dtype stores it
  one.dtype = c.plan.dtype;
  one.ndim = 1;
  one.sizes[0] = 1;
  one.strides[0] = 1;
  one.bytes.assign(8, 0);
  one.set_at(0, c.plan.extrapolation_value);
  const double extrapolated = one.get_at(0);
  std::int64_t bad = 0;
  std::string first;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    const double got = dst.get(static_cast<std::int64_t>(i));
    const RefValue& r = ref[i];
    double want = r.value, tol = 0;
    if (r.extrapolated) {
      want = extrapolated;
    } else if (c.plan.weighted) {
      tol = acc_tol * (r.magnitude + 1e-30) * 8 + out_tol * std::fabs(r.value) + abs_tol;
    }
    if (!(std::fabs(got - want) <= tol)) {
      if (bad++ == 0)
        first = "element " + std::to_string(i) + ": got " + std::to_string(got) + ", want " +
                std::to_string(want) + " (tolerance " + std::to_string(tol) + ")";
    }
  }
  if (bad == 0) return "";
  return c.what + ": " + std::to_string(bad) + " mismatches; first " + first;
}

}  // namespace ups_test
