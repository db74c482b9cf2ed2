// The table of interpolation modes (ups::interp_modes(), ups::interp_mode_traits): one row per
// InterpMode enumerator, rows that state PyTorch's rules (checked against an expectation written
// out here by hand, not read from the library), names that round-trip, and validation that
// follows the rows.
#include <catch2/catch.hpp>

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "ups/ups.hpp"

namespace {

using ups::DType;
using ups::ErrorCode;
using ups::InterpMode;
using ups::InterpModeTraits;
using ups::InterpolateOptions;
using ups::Shape;

// What F.interpolate (PyTorch 2.15) accepts per mode, from its source:
// - rank: linear 3-D, bilinear, bicubic and lanczos 4-D, trilinear 5-D; nearest, nearest-exact
//   and area 3-D to 5-D;
// - align_corners: only "the interpolating modes: linear | bilinear | bicubic | trilinear" (and
//   lanczos, which accepts False only);
// - antialias: "restricted to bilinear, bicubic, and lanczos modes" (lanczos requires it);
// - lanczos: f32 and f64 (no 16-bit weight tables);
// and what ups adds: the nearest modes copy input elements and are the only ones with u8;
// tricubic (5-D); antialias for trilinear and tricubic.
struct Expected {
  InterpMode mode;
  const char* name;
  int min_rank, max_rank;
  bool align_corners, antialias, copies;
  bool half = true;  // f16 and bf16
};
const Expected kExpected[] = {
    {InterpMode::kNearest, "nearest", 3, 5, false, false, true},
    {InterpMode::kNearestExact, "nearest-exact", 3, 5, false, false, true},
    {InterpMode::kLinear, "linear", 3, 3, true, false, false},
    {InterpMode::kBilinear, "bilinear", 4, 4, true, true, false},
    {InterpMode::kBicubic, "bicubic", 4, 4, true, true, false},
    {InterpMode::kTrilinear, "trilinear", 5, 5, true, true, false},
    {InterpMode::kArea, "area", 3, 5, false, false, false},
    {InterpMode::kLanczos, "lanczos", 4, 4, true, true, false, false},
    {InterpMode::kTricubic, "tricubic", 5, 5, true, true, false},
};

const DType kAllDTypes[] = {DType::kF32, DType::kF64, DType::kF16, DType::kBF16,
                            DType::kU8,  DType::kI32, DType::kI64};

// Whether detail::check_enum accepts `v` as an InterpMode: its switch over the enumerators
// (which -Wswitch keeps complete) is the library's own list of valid values. Every public entry
// point reports anything else as "options.mode has the invalid value ...".
bool is_enumerator(unsigned v) {
  InterpolateOptions o;
  o.mode = static_cast<InterpMode>(v);
  o.size = {2};
  try {
    ups::interpolate_output_shape({1, 1, 4, 4}, o);
  } catch (const ups::Error& e) {
    return std::string(e.what()).find("has the invalid value") == std::string::npos;
  }
  return true;
}

std::string error_of(const Shape& in, const InterpolateOptions& o) {
  try {
    ups::interpolate_output_shape(in, o);
  } catch (const ups::Error& e) {
    return e.what();
  }
  return "";
}

Shape shape_of_rank(int rank) {
  return Shape(static_cast<std::size_t>(rank), 4);
}

// A valid call of `mode` by size (lanczos requires antialias).
InterpolateOptions by_size(InterpMode mode) {
  InterpolateOptions o;
  o.mode = mode;
  o.size = {2};
  o.antialias = mode == InterpMode::kLanczos;
  return o;
}

}  // namespace

TEST_CASE("interpolate modes: one row per enumerator, in enumerator order",
          "[interpolate][modes]") {
  const std::vector<InterpModeTraits>& rows = ups::interp_modes();
  std::size_t enumerators = 0;
  for (unsigned v = 0; v < 256; ++v) {
    INFO("value " << v);
    const auto mode = static_cast<InterpMode>(v);
    if (is_enumerator(v)) {
      ++enumerators;
      REQUIRE(v < rows.size());
      CHECK(rows[v].mode == mode);
      CHECK(&ups::interp_mode_traits(mode) == &rows[v]);
    } else {
      CHECK(std::string(ups::to_string(mode)) == "?");
      try {
        ups::interp_mode_traits(mode);
        FAIL_CHECK("interp_mode_traits accepted a value that is no enumerator");
      } catch (const ups::Error& e) {
        CHECK(e.code() == ErrorCode::kInvalidArgument);
        CHECK(std::string(e.what()) == "mode has the invalid value " + std::to_string(v) +
                                           ", which is not an ups::InterpMode");
      }
    }
  }
  CHECK(rows.size() == enumerators);
  std::set<InterpMode> modes;
  for (const InterpModeTraits& t : rows)
    CHECK(modes.insert(t.mode).second);
}

TEST_CASE("interpolate modes: the rows state PyTorch's rules", "[interpolate][modes]") {
  const std::vector<InterpModeTraits>& rows = ups::interp_modes();
  REQUIRE(rows.size() == std::size(kExpected));
  for (const Expected& e : kExpected) {
    INFO("mode " << e.name);
    const InterpModeTraits& t = ups::interp_mode_traits(e.mode);
    CHECK(std::string(t.name) == e.name);
    CHECK(t.min_rank == e.min_rank);
    CHECK(t.max_rank == e.max_rank);
    CHECK(t.align_corners == e.align_corners);
    CHECK(t.antialias == e.antialias);
    CHECK(t.copies == e.copies);
    for (DType d : kAllDTypes) {
      INFO("dtype " << ups::to_string(d));
      const bool floating = d == DType::kF32 || d == DType::kF64 ||
                            (e.half && (d == DType::kF16 || d == DType::kBF16));
      CHECK(t.supports(d) == (floating || (d == DType::kU8 && e.copies)));
    }
    CHECK_FALSE(t.supports(static_cast<DType>(31)));
    CHECK_FALSE(t.supports(static_cast<DType>(200)));
  }
}

TEST_CASE("interpolate modes: names round-trip", "[interpolate][modes]") {
  std::set<std::string> names;
  for (const InterpModeTraits& t : ups::interp_modes()) {
    INFO("mode " << t.name);
    CHECK(names.insert(t.name).second);
    CHECK(std::string(ups::to_string(t.mode)) == t.name);
    CHECK(ups::parse_interp_mode(t.name) == t.mode);
  }
  try {
    ups::parse_interp_mode("Nearest");
    FAIL_CHECK("parse_interp_mode accepted 'Nearest'");
  } catch (const ups::Error& e) {
    CHECK(e.code() == ErrorCode::kInvalidArgument);
    CHECK(std::string(e.what()) ==
          "unknown interpolation mode 'Nearest' (expected nearest, nearest-exact, linear, "
          "bilinear, bicubic, trilinear, area, lanczos or tricubic)");
  }
}

TEST_CASE("interpolate modes: validation follows the rows", "[interpolate][modes]") {
  for (const InterpModeTraits& t : ups::interp_modes()) {
    INFO("mode " << t.name);
    for (int rank = 1; rank <= 6; ++rank) {
      INFO("rank " << rank);
      const Shape in = shape_of_rank(rank);
      const std::string err = error_of(in, by_size(t.mode));
      if (t.mode == InterpMode::kLanczos && rank != 4) {
        // by_size sets the antialias lanczos requires, so PyTorch's anti-alias check fires
        // before the rank checks.
        CHECK(err ==
              "Anti-alias option is restricted to bilinear, bicubic, and lanczos modes and "
              "requires a 4-D tensor as input");
      } else if (rank < 3 || rank > 5) {
        CHECK_THAT(err, Catch::StartsWith("Input Error: Only 3D, 4D and 5D input Tensors "
                                          "supported (got " +
                                          std::to_string(rank) + "D)"));
        CHECK_THAT(err, Catch::EndsWith("(got " + std::string(t.name) + ")"));
      } else if (rank < t.min_rank || rank > t.max_rank) {
        REQUIRE(t.min_rank == t.max_rank);  // the message below names one rank
        CHECK(err == "Got " + std::to_string(rank) + "D input, but " + t.name + " mode needs " +
                         std::to_string(t.min_rank) + "D input");
      } else {
        CHECK(err == "");
      }

      for (bool ac : {false, true}) {
        InterpolateOptions o = by_size(t.mode);
        o.align_corners = ac;
        const std::string e = error_of(in, o);
        if (t.mode == InterpMode::kLanczos && ac && err.empty()) {
          CHECK(e == "Lanczos mode does not support align_corners=True");
        } else if (!t.align_corners) {
          CHECK(e ==
                "align_corners option can only be set with the interpolating modes: linear | "
                "bilinear | bicubic | trilinear");
        } else {
          CHECK(e == err);  // allowed: the same outcome as without it
        }
      }

      InterpolateOptions aa = by_size(t.mode);
      aa.antialias = true;
      const std::string e = error_of(in, aa);
      // The 2-D modes need a 4-D input for antialias (PyTorch's message); the 3-D ones report
      // a wrong rank as without antialias.
      if (!t.antialias || (rank != 4 && t.max_rank == 4)) {
        CHECK(e ==
              "Anti-alias option is restricted to bilinear, bicubic, and lanczos modes and "
              "requires a 4-D tensor as input");
      } else {
        CHECK(e == err);
      }
    }

    // Element types, on the CPU backend.
    const Shape in = shape_of_rank(t.min_rank);
    const Shape out = ups::interpolate_output_shape(in, by_size(t.mode));
    std::vector<double> src_buf(1024), dst_buf(1024);  // 8 bytes per element fit any dtype
    const ups::Context ctx(ups::Device::kCPU);
    for (DType d : kAllDTypes) {
      INFO("dtype " << ups::to_string(d));
      const auto src = ups::TensorView::contiguous(src_buf.data(), d, ups::Device::kCPU, in);
      const auto dst = ups::TensorView::contiguous(dst_buf.data(), d, ups::Device::kCPU, out);
      std::string e;
      try {
        ups::interpolate(ctx, src, dst, by_size(t.mode));
      } catch (const ups::Error& x) {
        CHECK(x.code() == ErrorCode::kUnsupportedDType);
        e = x.what();
      }
      if (t.supports(d)) {
        CHECK(e == "");
      } else {
        const bool half = t.supports(DType::kF16);
        CHECK(e == std::string("interpolate: mode '") + t.name + "' does not support dtype " +
                       ups::to_string(d) + " (supported: f32, f64" + (half ? ", f16, bf16" : "") +
                       (t.copies ? ", u8)" : ")"));
      }
    }
  }
}
