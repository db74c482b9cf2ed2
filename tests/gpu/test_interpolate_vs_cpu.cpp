// The CUDA backend of ups::interpolate against the CPU backend on random inputs: every mode,
// dtype, align_corners and antialias setting, size and scale kind, rank and layout. The nearest
// modes must match bit for bit; the others within the bound derived in gpu_compare.cpp. Every
// call runs on a stream the test creates, between guard regions that must stay untouched.
#include <catch2/catch.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gpu_compare.hpp"
#include "gpu_support.hpp"
#include "interp_cases.hpp"
#include "test_support.hpp"
#include "ups/interpolate.hpp"

namespace {

using ups::DType;
using ups::InterpMode;
using ups::Shape;
using ups_test::InterpCase;
using ups_test::Layout;

// Runs cases on a stream of its own and reports each mismatch (up to a limit, so that a
// systematic bug stays readable).
void run_all(const std::vector<InterpCase>& cases, std::size_t expected_count) {
  constexpr int kMaxReported = 20;
  REQUIRE(cases.size() == expected_count);  // the sweep is what the test name promises
  ups_test::CudaStream stream;
  int failures = 0;
  for (const InterpCase& c : cases) {
    const std::string err = ups_test::run_against_cpu(c, stream.get());
    if (!err.empty() && ++failures <= kMaxReported) {
      FAIL_CHECK(ups_test::describe(c) << ": " << err);
    }
  }
  INFO(failures << " of " << cases.size() << " cases failed");
  CHECK(failures == 0);
}

// 14 size specs per rank, 4 layout pairs.
constexpr std::size_t kSpecs = 14, kLayouts = 4;

}  // namespace

TEST_CASE("CUDA nearest matches the CPU backend bitwise", "[gpu][interpolate][nearest]") {
  run_all(ups_test::sweep_cases(InterpMode::kNearest, 2, 3, 1), 3 * kSpecs * 5 * kLayouts);
}

TEST_CASE("CUDA nearest-exact matches the CPU backend bitwise", "[gpu][interpolate][nearest]") {
  run_all(ups_test::sweep_cases(InterpMode::kNearestExact, 2, 3, 1), 3 * kSpecs * 5 * kLayouts);
}

TEST_CASE("CUDA linear matches the CPU backend", "[gpu][interpolate][linear]") {
  run_all(ups_test::sweep_cases(InterpMode::kLinear, 2, 3, 1), kSpecs * 4 * 2 * kLayouts);
}

TEST_CASE("CUDA bilinear matches the CPU backend", "[gpu][interpolate][bilinear]") {
  run_all(ups_test::sweep_cases(InterpMode::kBilinear, 2, 3, 1), kSpecs * 4 * 2 * 2 * kLayouts);
}

TEST_CASE("CUDA bicubic matches the CPU backend", "[gpu][interpolate][bicubic]") {
  run_all(ups_test::sweep_cases(InterpMode::kBicubic, 2, 3, 1), kSpecs * 4 * 2 * 2 * kLayouts);
}

TEST_CASE("CUDA trilinear matches the CPU backend", "[gpu][interpolate][trilinear]") {
  run_all(ups_test::sweep_cases(InterpMode::kTrilinear, 2, 3, 1), kSpecs * 4 * 2 * kLayouts);
}

TEST_CASE("CUDA area matches the CPU backend", "[gpu][interpolate][area]") {
  run_all(ups_test::sweep_cases(InterpMode::kArea, 2, 3, 1), 3 * kSpecs * 4 * kLayouts);
}

// Small planes and many of them: the grid covers N*C rather than the spatial dims, and
// channels-last outputs iterate with C innermost.
TEST_CASE("CUDA matches the CPU backend for large N x C and small planes",
          "[gpu][interpolate][batch]") {
  // Per shape: nearest modes 5 dtypes; linear, trilinear 4 x 2 align; bilinear, bicubic
  // 4 x 2 x 2 antialias; area 4. Two shapes each, three for area.
  run_all(ups_test::batch_cases(1000), (2 * 2 * 5 + 2 * 2 * 8 + 2 * 2 * 16 + 3 * 4) * kLayouts);
}

// The channels-last kernel runs when C fills 32 bytes, with 16-byte accesses when C is a multiple
// of their lanes: C = 16 packs f32, f64 and f16/bf16; C = 10 packs f64 and runs f32 one element
// at a time; C = 20 packs f32 and f64 and runs f16/bf16 singly; C = 5 runs f64 singly. Narrower
// rows (u8, and f16 with C = 10) take the tiled kernel.
TEST_CASE("CUDA channels-last kernel matches the CPU backend for packed and single accesses",
          "[gpu][interpolate][channels_last]") {
  for (std::int64_t c : {16, 10, 20, 5}) {
    INFO("C = " << c);
    run_all(ups_test::sweep_cases(InterpMode::kNearest, 1, c, 5000 + c), 3 * kSpecs * 5 * kLayouts);
    run_all(ups_test::sweep_cases(InterpMode::kLinear, 1, c, 5100 + c), kSpecs * 4 * 2 * kLayouts);
    run_all(ups_test::sweep_cases(InterpMode::kBilinear, 1, c, 5200 + c),
            kSpecs * 4 * 2 * 2 * kLayouts);
    run_all(ups_test::sweep_cases(InterpMode::kBicubic, 1, c, 5300 + c),
            kSpecs * 4 * 2 * 2 * kLayouts);
    run_all(ups_test::sweep_cases(InterpMode::kTrilinear, 1, c, 5400 + c),
            kSpecs * 4 * 2 * kLayouts);
    run_all(ups_test::sweep_cases(InterpMode::kArea, 1, c, 5500 + c), 3 * kSpecs * 4 * kLayouts);
  }
}

// A batch of 0 is a no-op: no launch (a zero-sized grid would be a launch error), no write.
TEST_CASE("CUDA interpolate with a batch of 0 is a no-op", "[gpu][interpolate][empty]") {
  ups_test::CudaStream stream;
  const ups::Context gpu(ups::Device::kCUDA, stream.get());
  // Every mode that takes rank-4 inputs, with antialias where it allows it.
  for (const ups::InterpModeTraits& traits : ups::interp_modes()) {
    if (traits.min_rank > 4 || traits.max_rank < 4) continue;
    const InterpMode mode = traits.mode;
    for (bool aa : {false, true}) {
      if (aa && !traits.antialias) continue;
      if (!aa && mode == InterpMode::kLanczos) continue;  // lanczos requires antialias
      for (const auto& layouts :
           {std::pair<Layout, Layout>{Layout::kContiguous, Layout::kContiguous},
            std::pair<Layout, Layout>{Layout::kChannelsLast, Layout::kChannelsLast},
            std::pair<Layout, Layout>{Layout::kContiguous, Layout::kChannelsLast},
            std::pair<Layout, Layout>{Layout::kChannelsLast, Layout::kContiguous}}) {
        ups::InterpolateOptions opt;
        opt.mode = mode;
        opt.size = {9, 5};
        opt.antialias = aa;
        const Shape in = {0, 3, 4, 6};
        const Shape out = {0, 3, 9, 5};
        INFO(ups::to_string(mode) << " antialias=" << aa << " "
                                  << ups_test::to_string(layouts.first) << " -> "
                                  << ups_test::to_string(layouts.second));
        // With guarded (non-null) pointers: nothing at all may be written.
        ups_test::GuardedDeviceTensor src(DType::kF32, in, layouts.first, stream.get());
        ups_test::GuardedDeviceTensor dst(DType::kF32, out, layouts.second, stream.get());
        CHECK_NOTHROW(ups::interpolate(gpu, src.view(), dst.view(), opt));
        stream.synchronize();
        CHECK(cudaGetLastError() == cudaSuccess);
        CHECK(dst.check_guards() == "");
        // With null pointers, which an empty view may have.
        ups::TensorView src_null = src.view();
        ups::TensorView dst_null = dst.view();
        src_null.data = nullptr;
        dst_null.data = nullptr;
        CHECK_NOTHROW(ups::interpolate(gpu, src_null, dst_null, opt));
        stream.synchronize();
        CHECK(cudaGetLastError() == cudaSuccess);
      }
    }
  }
  // Ranks 3 and 5 as well.
  for (const auto& shapes : {std::pair<Shape, Shape>{{0, 2, 5}, {0, 2, 10}},
                             std::pair<Shape, Shape>{{0, 2, 3, 4, 5}, {0, 2, 6, 8, 10}}}) {
    ups::InterpolateOptions opt;
    opt.mode = shapes.first.size() == 3 ? InterpMode::kLinear : InterpMode::kTrilinear;
    opt.scale_factor = {2.0};
    ups_test::GuardedDeviceTensor src(DType::kF16, shapes.first, Layout::kContiguous, stream.get());
    ups_test::GuardedDeviceTensor dst(DType::kF16, shapes.second, Layout::kChannelsLast,
                                      stream.get());
    CHECK_NOTHROW(ups::interpolate(gpu, src.view(), dst.view(), opt));
    stream.synchronize();
    CHECK(cudaGetLastError() == cudaSuccess);
    CHECK(dst.check_guards() == "");
  }
}
