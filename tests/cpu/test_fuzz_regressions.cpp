// Replays the committed fuzz inputs (tests/fuzz/corpus/<target>/: seeds, and regression-* files
// that once exposed a bug) through the fuzz targets of tests/fuzz, and pins each bug the fuzzers
// found with a direct test. The targets check their own invariants (see tests/fuzz/*.cpp) and
// throw when one is violated, so a replay fails exactly when libFuzzer would report the input.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include "fuzz_targets.hpp"
#include "pool/pool_math.hpp"
#include "ups/ups.hpp"

namespace {

namespace fs = std::filesystem;

std::vector<std::uint8_t> slurp(const fs::path& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<std::uint8_t>(std::istreambuf_iterator<char>(f),
                                   std::istreambuf_iterator<char>());
}

// Runs every file of corpus/<name> through `target`; returns how many there were.
template <class Target>
int replay(const std::string& name, Target target) {
  const fs::path dir = fs::path(UPS_FUZZ_CORPUS_DIR) / name;
  REQUIRE(fs::is_directory(dir));
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  for (const fs::path& file : files) {
    const std::vector<std::uint8_t> bytes = slurp(file);
    INFO("input " << file.string() << " (" << bytes.size() << " bytes)");
    CHECK_NOTHROW(target(bytes.data(), bytes.size()));
  }
  return static_cast<int>(files.size());
}

}  // namespace

TEST_CASE("fuzz corpus replays: npy", "[fuzz]") {
  CHECK(replay("npy", ups_fuzz::run_npy) > 0);
}

TEST_CASE("fuzz corpus replays: interpolate", "[fuzz]") {
  CHECK(replay("interpolate", ups_fuzz::run_interpolate) > 0);
}

TEST_CASE("fuzz corpus replays: resize", "[fuzz]") {
  CHECK(replay("resize", ups_fuzz::run_resize) > 0);
}

TEST_CASE("fuzz corpus replays: conv_transpose", "[fuzz]") {
  CHECK(replay("conv_transpose", ups_fuzz::run_conv_transpose) > 0);
}

TEST_CASE("fuzz corpus replays: pool", "[fuzz]") {
  CHECK(replay("pool", ups_fuzz::run_pool) > 0);
}

TEST_CASE("fuzz corpus replays: pixel_shuffle", "[fuzz]") {
  CHECK(replay("pixel_shuffle", ups_fuzz::run_pixel_shuffle) > 0);
}

TEST_CASE("fuzz targets accept empty and short inputs", "[fuzz]") {
  const std::uint8_t bytes[4] = {0, 1, 2, 255};
  for (std::size_t n = 0; n <= 4; ++n) {
    CHECK_NOTHROW(ups_fuzz::run_npy(bytes, n));
    CHECK_NOTHROW(ups_fuzz::run_interpolate(bytes, n));
    CHECK_NOTHROW(ups_fuzz::run_resize(bytes, n));
    CHECK_NOTHROW(ups_fuzz::run_conv_transpose(bytes, n));
    CHECK_NOTHROW(ups_fuzz::run_pool(bytes, n));
    CHECK_NOTHROW(ups_fuzz::run_pixel_shuffle(bytes, n));
  }
}

// ---- bugs found by the fuzzers --------------------------------------------------------------
// Each was undefined behaviour (signed overflow, reported by UndefinedBehaviorSanitizer in the
// asan preset and the fuzzers) or a wrongly rejected call. The expected values below are worked
// out by hand from the formulas in the public headers.

#define CHECK_UPS_ERROR_CODE(expr, expected_code)                                                  \
  do {                                                                                             \
    try {                                                                                          \
      (void)(expr);                                                                                \
      FAIL_CHECK("no ups::Error from " #expr);                                                     \
    } catch (const ups::Error& e_) {                                                               \
      CHECK(std::string(ups::to_string(e_.code())) == std::string(ups::to_string(expected_code))); \
    }                                                                                              \
  } while (0)

namespace {

constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();

}  // namespace

TEST_CASE("fuzz regression: contiguous and channels-last strides beyond int64 are an error",
          "[fuzz][core]") {
  using ups::Device;
  using ups::DType;
  using ups::TensorView;
  const std::int64_t big = std::int64_t(1) << 32;
  // Strides 2^64 and 2^96 do not exist, even for an empty tensor.
  CHECK_UPS_ERROR_CODE(
      TensorView::contiguous(nullptr, DType::kF32, Device::kCPU, {0, big, big, big}),
      ups::ErrorCode::kOutOfMemory);
  CHECK_UPS_ERROR_CODE(
      TensorView::channels_last(nullptr, DType::kF32, Device::kCPU, {0, big, big, big}),
      ups::ErrorCode::kOutOfMemory);
  // Strides (2^32, 1) exist; the element count 2^64 does not (numel throws), and is_contiguous
  // must not compute 2^64 either.
  const TensorView v = TensorView::contiguous(nullptr, DType::kF32, Device::kCPU, {big, big});
  CHECK(v.strides[0] == big);
  CHECK(v.strides[1] == 1);
  CHECK(v.is_contiguous());
  CHECK_UPS_ERROR_CODE(v.numel(), ups::ErrorCode::kOutOfMemory);
  // An empty tensor with the same sizes further in: strides (2^32, 1, 1).
  const TensorView e = TensorView::contiguous(nullptr, DType::kF32, Device::kCPU, {big, big, 0});
  CHECK(e.numel() == 0);
  CHECK(e.strides[0] == big);
  CHECK(e.strides[1] == 1);
}

TEST_CASE("fuzz regression: an empty output may have any strides", "[fuzz][pixel_shuffle]") {
  // PyTorch accepts an empty output whatever its strides: it addresses no element, so it cannot
  // overlap itself. (Rejected before as "dst has overlapping elements".)
  ups::TensorView src =
      ups::TensorView::contiguous(nullptr, ups::DType::kF32, ups::Device::kCPU, {5, 0, 3});
  ups::TensorView dst = src;
  dst.strides[0] = 15;
  dst.strides[1] = 5;
  dst.strides[2] = 0;  // size 3 with stride 0: overlapping, were there any elements
  const ups::Context ctx(ups::Device::kCPU);
  CHECK_NOTHROW(ups::pixel_unshuffle(ctx, src, dst, 1));
  CHECK_NOTHROW(ups::pixel_shuffle(ctx, src, dst, 1));
  // A non-empty output with such strides is still rejected.
  float in[6] = {}, out[6] = {};
  src = ups::TensorView::contiguous(in, ups::DType::kF32, ups::Device::kCPU, {1, 2, 3});
  dst = ups::TensorView::contiguous(out, ups::DType::kF32, ups::Device::kCPU, {1, 2, 3});
  dst.strides[2] = 0;
  CHECK_UPS_ERROR_CODE(ups::pixel_shuffle(ctx, src, dst, 1), ups::ErrorCode::kInvalidArgument);
}

TEST_CASE("fuzz regression: max_unpool_output_shape with an input size of INT64_MIN",
          "[fuzz][max_unpool]") {
  // The default size (in - 1) * stride - 2 * padding + kernel started with in - 1, which
  // overflowed for in = INT64_MIN.
  ups::MaxUnpoolOptions opt;
  opt.kernel_size = {2};
  CHECK_THROWS_AS(ups::max_unpool_output_shape({1, 1, kMin}, opt), ups::Error);
  CHECK_THROWS_AS(ups::max_unpool_output_shape({1, kMin},
                                               [] {
                                                 ups::MaxUnpoolOptions o;
                                                 o.kernel_size = {2};
                                                 o.spatial_dims = 1;
                                                 return o;
                                               }()),
                  ups::Error);
  // A valid neighbour: (3 - 1) * 2 + 2 = 6.
  CHECK(ups::max_unpool_output_shape({1, 1, 3}, opt) == ups::Shape{1, 1, 6});
}

TEST_CASE("fuzz regression: max_pool_output_shape with a negative input size", "[fuzz][max_pool]") {
  // in + 2 * pad - effective kernel overflowed for in near INT64_MIN.
  ups::MaxPoolOptions opt;
  opt.kernel_size = {5};
  CHECK_UPS_ERROR_CODE(ups::max_pool_output_shape({1, 1, kMin + 3}, opt),
                       ups::ErrorCode::kShapeMismatch);
  CHECK_UPS_ERROR_CODE(ups::max_pool_output_shape({1, 1, -1}, opt), ups::ErrorCode::kShapeMismatch);
  opt.ceil_mode = true;
  opt.stride = {3};
  CHECK_UPS_ERROR_CODE(ups::max_pool_output_shape({1, 1, kMin + 3}, opt),
                       ups::ErrorCode::kShapeMismatch);
  // A valid neighbour: floor((7 - 5) / 3) + 1 = 1, ceil: ceil(2 / 3) + 1 = 2, and the second
  // window starts at 3 < 7, so it stays.
  CHECK(ups::max_pool_output_shape({1, 1, 7}, opt) == ups::Shape{1, 1, 2});
}

TEST_CASE("fuzz regression: conv_transpose output_size range at the top of int64",
          "[fuzz][conv_transpose]") {
  // The largest valid size, min + stride - 1, overflowed when min is near INT64_MAX. Here
  // min = (2^62 - 1) * 2 - 0 + 1 * (1 - 1) + 0 + 1 = 2^63 - 1.
  ups::ConvTransposeOptions opt;
  opt.stride = {2};
  opt.output_size = {kMax};
  const std::int64_t in = std::int64_t(1) << 62;
  CHECK(ups::conv_transpose_output_shape({1, 1, in}, {1, 1, 1}, opt) == ups::Shape{1, 1, kMax});
  opt.output_size = {kMax - 1};  // below min
  CHECK_UPS_ERROR_CODE(ups::conv_transpose_output_shape({1, 1, in}, {1, 1, 1}, opt),
                       ups::ErrorCode::kInvalidArgument);
}

TEST_CASE("fuzz regression: max_pool with a dilation near 2^63", "[fuzz][max_pool]") {
  // Stepping to the tap after the last one computed w + dilation, beyond int64.
  const ups::Context ctx(ups::Device::kCPU);
  float in[3] = {1.0f, 2.0f, 3.0f}, out[3] = {};
  std::int64_t idx[3] = {};
  ups::MaxPoolOptions opt;
  opt.kernel_size = {1};
  opt.dilation = {kMax};
  // One tap per window: output = input, indices 0, 1, 2.
  auto view = [](void* p, ups::DType t) {
    return ups::TensorView::contiguous(p, t, ups::Device::kCPU, {1, 1, 3});
  };
  ups::max_pool(ctx, view(in, ups::DType::kF32), view(out, ups::DType::kF32),
                view(idx, ups::DType::kI64), opt);
  CHECK(out[0] == 1.0f);
  CHECK(out[1] == 2.0f);
  CHECK(out[2] == 3.0f);
  CHECK(idx[0] == 0);
  CHECK(idx[1] == 1);
  CHECK(idx[2] == 2);
}

TEST_CASE("fuzz regression: pool window bounds near 2^63", "[fuzz][max_pool][math]") {
  // A window starting at 2^62 (o = 1, stride 2^62) with an effective kernel of
  // (2 - 1) * (2^62 + 2^61) + 1 = 2^62 + 2^61 + 1: start + effective kernel exceeds int64, so the
  // end must be clipped to the input (2^62 + 5) without forming that sum. One tap: 2^62.
  const std::int64_t two62 = std::int64_t(1) << 62, two61 = std::int64_t(1) << 61;
  const auto span = ups::kern::pool_span(1, two62 + 5, 2, two62, 0, two62 + two61);
  CHECK(span.begin == two62);
  CHECK(span.end == two62 + 5);
  CHECK(ups::kern::pool_taps(span, two62 + two61) == 1);
  // A window starting at -2^61 with dilation 2^62: its first tap at or after 0 is
  // -2^61 + 2^62 = 2^61, beyond an input of 3, so it has no tap.
  const auto empty = ups::kern::pool_span(0, 3, 2, 1, two61, two62);
  CHECK(empty.begin == two61);
  CHECK(empty.end == 3);
  CHECK(ups::kern::pool_taps(empty, two62) == 0);
}

TEST_CASE("fuzz regression: resize of an empty input whose other sizes overflow",
          "[fuzz][resize]") {
  // [2, 3, 605313152807926, 1082330841088, 0] has no elements, but a view of it is rejected
  // (its non-zero sizes multiply beyond 2^63): the shape query must reject it too, as the op
  // does, rather than promise an output the op then refuses.
  ups::ResizeOptions o;
  o.sizes = {0, 0, 0, 0, 0};
  CHECK_UPS_ERROR_CODE(ups::resize_output_shape({2, 3, 605313152807926, 1082330841088, 0}, o),
                       ups::ErrorCode::kOutOfMemory);
}

TEST_CASE("fuzz regression: tf_crop_and_resize with a roi whose coordinates are NaN",
          "[fuzz][resize]") {
  // start 1e308, end -1e308: (end - start) * (in - 1) overflows to -inf, and 0 * -inf is NaN at
  // output 0. A NaN coordinate is outside the input (extrapolation_value), never an index.
  ups::ResizeOptions o;
  o.mode = ups::ResizeMode::kCubic;
  o.coordinate_mode = ups::CoordinateMode::kTfCropAndResize;
  o.sizes = {3};
  o.roi = {1e308, -1e308};
  o.extrapolation_value = 7.0;
  float in[4] = {1, 2, 3, 4}, out[3] = {0, 0, 0};
  ups::resize(ups::Context(ups::Device::kCPU),
              ups::TensorView::contiguous(in, ups::DType::kF32, ups::Device::kCPU, {4}),
              ups::TensorView::contiguous(out, ups::DType::kF32, ups::Device::kCPU, {3}), o);
  CHECK(out[0] == 7.0f);
  CHECK(out[1] == 7.0f);
  CHECK(out[2] == 7.0f);
}
