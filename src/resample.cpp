// The separable resampling engine's shared pieces: identity axes and the plan's consistency
// check, which both backends run before touching memory.
#include <cstdint>

#include "check.hpp"
#include "resample_plan.hpp"

namespace ups {
namespace detail {

ResampleAxis ResampleAxis::identity(std::int64_t n) {
  ResampleAxis a;
  a.in = n;
  a.out = n;
  a.k = 1;
  a.idx.resize(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i)
    a.idx[static_cast<std::size_t>(i)] = i;
  a.w.assign(static_cast<std::size_t>(n), 1.0);
  return a;
}

bool ResampleAxis::is_identity() const {
  if (in != out || k != 1 || !outside.empty()) {
    // An `outside` table with no flag set is as good as none.
    if (in != out || k != 1) return false;
    for (std::uint8_t f : outside)
      if (f != 0) return false;
  }
  if (static_cast<std::int64_t>(idx.size()) != out || static_cast<std::int64_t>(w.size()) != out)
    return false;
  for (std::int64_t o = 0; o < out; ++o) {
    const auto i = static_cast<std::size_t>(o);
    if (idx[i] != o || w[i] != 1.0) return false;
  }
  return true;
}

void check_resample_plan(const ResamplePlan& plan, const TensorView& src, const TensorView& dst) {
  // The front ends build consistent plans; a broken one must fail here rather than read or write
  // out of bounds in a backend.
  UPS_CHECK(plan.rank >= 1 && plan.rank <= kMaxDims, ErrorCode::kInternal, "resample: rank ",
            plan.rank, " is not in [1, ", kMaxDims, "]");
  UPS_CHECK(src.ndim == plan.rank && dst.ndim == plan.rank, ErrorCode::kInternal,
            "resample: views of rank ", src.ndim, " and ", dst.ndim, " for a plan of rank ",
            plan.rank);
  UPS_CHECK(src.dtype == plan.dtype && dst.dtype == plan.dtype, ErrorCode::kInternal,
            "resample: view dtypes differ from the plan's ", to_string(plan.dtype));
  UPS_CHECK(plan.dtype == DType::kF32 || plan.dtype == DType::kF64 || plan.dtype == DType::kF16 ||
                plan.dtype == DType::kBF16 || (plan.dtype == DType::kU8 && !plan.weighted),
            ErrorCode::kUnsupportedDType, "resample: ", plan.weighted ? "weighted " : "",
            "resampling does not support dtype ", to_string(plan.dtype));
  for (int d = 0; d < plan.rank; ++d) {
    const ResampleAxis& a = plan.axis[d];
    UPS_CHECK(a.in == src.sizes[d] && a.out == dst.sizes[d], ErrorCode::kInternal, "resample: dim ",
              d, " maps ", a.in, " -> ", a.out, " but the views have sizes ", src.sizes[d], " and ",
              dst.sizes[d]);
    UPS_CHECK(a.k >= 1, ErrorCode::kInternal, "resample: dim ", d, " has ", a.k, " taps");
    UPS_CHECK(plan.weighted || a.k == 1, ErrorCode::kInternal, "resample: dim ", d, " has ", a.k,
              " taps in an unweighted plan");
    const auto n = static_cast<std::size_t>(a.out) * static_cast<std::size_t>(a.k);
    UPS_CHECK(a.idx.size() == n && a.w.size() == n, ErrorCode::kInternal, "resample: dim ", d,
              " has tables of ", a.idx.size(), " indices and ", a.w.size(), " weights, not ", n);
    UPS_CHECK(a.outside.empty() || a.outside.size() == static_cast<std::size_t>(a.out),
              ErrorCode::kInternal, "resample: dim ", d, " has ", a.outside.size(),
              " outside flags for ", a.out, " outputs");
    if (a.out > 0) {
      UPS_CHECK(a.in > 0, ErrorCode::kInternal, "resample: dim ", d, " reads an empty input");
      for (std::int64_t i : a.idx)
        UPS_CHECK(i >= 0 && i < a.in, ErrorCode::kInternal, "resample: dim ", d,
                  " has a source index ", i, " outside [0, ", a.in, ")");
    }
  }
}

}  // namespace detail
}  // namespace ups
