// The core API: tensor views, dtypes, devices, errors, the determinism flag, contexts and the
// build description.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ups/ups.hpp"

namespace {

// Runs `expr`, which must throw ups::Error with `expected_code` and a message containing
// `expected_phrase`.
#define CHECK_UPS_ERROR(expr, expected_code, expected_phrase)                                      \
  do {                                                                                             \
    try {                                                                                          \
      (void)(expr);                                                                                \
      FAIL_CHECK("no ups::Error from " #expr);                                                     \
    } catch (const ups::Error& e_) {                                                               \
      CHECK(std::string(ups::to_string(e_.code())) == std::string(ups::to_string(expected_code))); \
      CHECK_THAT(std::string(e_.what()), Catch::Contains(expected_phrase));                        \
    }                                                                                              \
  } while (0)

std::vector<std::int64_t> strides_of(const ups::TensorView& v) {
  return std::vector<std::int64_t>(v.strides, v.strides + v.ndim);
}

// Restores the process-wide determinism flag when a test ends.
struct DeterminismGuard {
  bool saved = ups::deterministic();
  ~DeterminismGuard() { ups::set_deterministic(saved); }
};

using S = std::vector<std::int64_t>;

}  // namespace

TEST_CASE("TensorView::contiguous computes C-order strides", "[core][tensor]") {
  float x = 0;
  const auto v = ups::TensorView::contiguous(&x, ups::DType::kF32, ups::Device::kCPU, {2, 3, 4, 5});
  CHECK(v.ndim == 4);
  CHECK(v.shape() == S{2, 3, 4, 5});
  CHECK(strides_of(v) == S{60, 20, 5, 1});
  CHECK(v.numel() == 120);
  CHECK(v.is_contiguous());
  CHECK(v.data == &x);
  CHECK(v.dtype == ups::DType::kF32);
  CHECK(v.device == ups::Device::kCPU);
  // Empty dims count as one in the strides, as in PyTorch (torch.empty(2, 0, 3).stride()).
  const auto e =
      ups::TensorView::contiguous(nullptr, ups::DType::kF16, ups::Device::kCPU, {2, 0, 3});
  CHECK(strides_of(e) == S{3, 3, 1});
  CHECK(e.numel() == 0);
  // Rank 0 holds one element.
  const auto s = ups::TensorView::contiguous(&x, ups::DType::kF32, ups::Device::kCPU, {});
  CHECK(s.ndim == 0);
  CHECK(s.numel() == 1);
  CHECK(s.is_contiguous());
}

TEST_CASE("TensorView::channels_last matches PyTorch's channels_last strides", "[core][tensor]") {
  // torch.empty(2, 3, 4, 5).to(memory_format=torch.channels_last).stride() == (60, 1, 15, 3)
  const auto v4 =
      ups::TensorView::channels_last(nullptr, ups::DType::kF32, ups::Device::kCPU, {2, 3, 4, 5});
  CHECK(strides_of(v4) == S{60, 1, 15, 3});
  CHECK_FALSE(v4.is_contiguous());
  // channels_last_3d: (360, 1, 90, 18, 3)
  const auto v5 =
      ups::TensorView::channels_last(nullptr, ups::DType::kF32, ups::Device::kCPU, {2, 3, 4, 5, 6});
  CHECK(strides_of(v5) == S{360, 1, 90, 18, 3});
  const auto v3 =
      ups::TensorView::channels_last(nullptr, ups::DType::kF32, ups::Device::kCPU, {2, 3, 4});
  CHECK(strides_of(v3) == S{12, 1, 3});
  // With one channel the layout is also C-order.
  const auto c1 =
      ups::TensorView::channels_last(nullptr, ups::DType::kF32, ups::Device::kCPU, {2, 1, 4, 5});
  CHECK(c1.is_contiguous());
  CHECK_UPS_ERROR(
      ups::TensorView::channels_last(nullptr, ups::DType::kF32, ups::Device::kCPU, {3, 4}),
      ups::ErrorCode::kShapeMismatch, "channels-last");
}

TEST_CASE("TensorView construction rejects bad shapes and devices", "[core][tensor]") {
  CHECK_UPS_ERROR(
      ups::TensorView::contiguous(nullptr, ups::DType::kF32, ups::Device::kCPU, {1, 1, 1, 1, 1, 1}),
      ups::ErrorCode::kShapeMismatch, "at most 5 dims");
  CHECK_UPS_ERROR(
      ups::TensorView::contiguous(nullptr, ups::DType::kF32, ups::Device::kCPU, {2, -1}),
      ups::ErrorCode::kShapeMismatch, "negative size");
  CHECK_UPS_ERROR(ups::TensorView::contiguous(nullptr, ups::DType::kF32, ups::Device::kAuto, {2}),
                  ups::ErrorCode::kInvalidArgument, "auto");
}

TEST_CASE("TensorView::numel detects overflow and negative sizes", "[core][tensor]") {
  ups::TensorView v;
  v.ndim = 3;
  v.sizes[0] = std::int64_t(1) << 32;
  v.sizes[1] = std::int64_t(1) << 30;
  v.sizes[2] = 1;
  CHECK(v.numel() == std::int64_t(1) << 62);
  v.sizes[2] = 2;  // 2^63 does not fit in int64
  CHECK_UPS_ERROR(v.numel(), ups::ErrorCode::kOutOfMemory, "2^63");
  v.sizes[0] = std::numeric_limits<std::int64_t>::max();
  v.sizes[1] = 1;
  v.sizes[2] = 1;
  CHECK(v.numel() == std::numeric_limits<std::int64_t>::max());
  v.sizes[2] = 2;
  CHECK_UPS_ERROR(v.numel(), ups::ErrorCode::kOutOfMemory, "2^63");
  // An empty dim makes the product 0 whatever the other sizes are.
  v.sizes[1] = 0;
  CHECK(v.numel() == 0);
  v.sizes[1] = -3;
  CHECK_UPS_ERROR(v.numel(), ups::ErrorCode::kShapeMismatch, "negative size");
}

TEST_CASE("TensorView::is_contiguous ignores strides of unit dims", "[core][tensor]") {
  auto v = ups::TensorView::contiguous(nullptr, ups::DType::kF32, ups::Device::kCPU, {2, 1, 3});
  v.strides[1] = 12345;  // never stepped over
  CHECK(v.is_contiguous());
  v.strides[2] = 2;  // a slice of every other element
  CHECK_FALSE(v.is_contiguous());
}

TEST_CASE("shape_to_string prints sizes as PyTorch does", "[core][tensor]") {
  CHECK(ups::shape_to_string({1, 2, 3}) == "[1, 2, 3]");
  CHECK(ups::shape_to_string({}) == "[]");
  CHECK(ups::shape_to_string({7}) == "[7]");
  CHECK(ups::shape_to_string({0, -1}) == "[0, -1]");
}

TEST_CASE("dtype names, sizes and parsing", "[core][dtype]") {
  struct Row {
    ups::DType dtype;
    const char* name;
    std::size_t size;
  };
  const Row rows[] = {{ups::DType::kF32, "f32", 4}, {ups::DType::kF64, "f64", 8},
                      {ups::DType::kF16, "f16", 2}, {ups::DType::kBF16, "bf16", 2},
                      {ups::DType::kU8, "u8", 1},   {ups::DType::kI32, "i32", 4},
                      {ups::DType::kI64, "i64", 8}};
  for (const Row& r : rows) {
    INFO(r.name);
    CHECK(std::string(ups::to_string(r.dtype)) == r.name);
    CHECK(ups::dtype_size(r.dtype) == r.size);
    CHECK(ups::parse_dtype(r.name) == r.dtype);
  }
  CHECK_UPS_ERROR(ups::parse_dtype("float32"), ups::ErrorCode::kInvalidArgument, "'float32'");
  CHECK_UPS_ERROR(ups::parse_dtype(""), ups::ErrorCode::kInvalidArgument, "unknown dtype");
  CHECK_UPS_ERROR(ups::parse_dtype("F32"), ups::ErrorCode::kInvalidArgument, "unknown dtype");
}

TEST_CASE("device names and parsing", "[core][device]") {
  CHECK(std::string(ups::to_string(ups::Device::kAuto)) == "auto");
  CHECK(std::string(ups::to_string(ups::Device::kCPU)) == "cpu");
  CHECK(std::string(ups::to_string(ups::Device::kCUDA)) == "cuda");
  CHECK(ups::parse_device("auto") == ups::Device::kAuto);
  CHECK(ups::parse_device("cpu") == ups::Device::kCPU);
  CHECK(ups::parse_device("cuda") == ups::Device::kCUDA);
  CHECK_UPS_ERROR(ups::parse_device("gpu"), ups::ErrorCode::kInvalidArgument, "'gpu'");
}

TEST_CASE("ErrorCode names are stable and distinct", "[core][error]") {
  using ups::ErrorCode;
  const std::pair<ErrorCode, const char*> rows[] = {
      {ErrorCode::kInvalidArgument, "invalid argument"},
      {ErrorCode::kShapeMismatch, "shape mismatch"},
      {ErrorCode::kUnsupportedDType, "unsupported dtype"},
      {ErrorCode::kUnsupportedDevice, "unsupported device"},
      {ErrorCode::kOutOfMemory, "out of memory"},
      {ErrorCode::kNotCompiled, "not compiled"},
      {ErrorCode::kCudaError, "CUDA error"},
      {ErrorCode::kCudnnError, "cuDNN error"},
      {ErrorCode::kIoError, "I/O error"},
      {ErrorCode::kInternal, "internal error"},
  };
  for (const auto& r : rows)
    CHECK(std::string(ups::to_string(r.first)) == r.second);
  CHECK(std::string(ups::to_string(static_cast<ErrorCode>(999))) == "unknown error");
  const ups::Error e(ErrorCode::kIoError, "cannot open x.npy");
  CHECK(e.code() == ErrorCode::kIoError);
  CHECK(std::string(e.what()) == "cannot open x.npy");
  const std::runtime_error& base = e;  // catchable as a standard exception
  CHECK(std::string(base.what()) == "cannot open x.npy");
}

TEST_CASE("determinism flag: global, inherited and overridden", "[core][determinism]") {
  DeterminismGuard guard;
  ups::set_deterministic(false);
  CHECK_FALSE(ups::deterministic());
  ups::Context ctx(ups::Device::kCPU);
  CHECK_FALSE(ctx.deterministic());
  ups::set_deterministic(true);
  CHECK(ups::deterministic());
  CHECK(ctx.deterministic());  // a context without an override follows the global flag

  ups::Context pinned(ups::Device::kCPU);
  pinned.set_deterministic(false);  // override survives global toggles
  CHECK_FALSE(pinned.deterministic());
  ups::set_deterministic(false);
  ups::set_deterministic(true);
  CHECK_FALSE(pinned.deterministic());
  CHECK(ctx.deterministic());

  ups::Context copy = pinned;  // copies carry the override
  CHECK_FALSE(copy.deterministic());
  pinned.set_deterministic(std::nullopt);  // inherit again
  CHECK(pinned.deterministic());
  CHECK_FALSE(copy.deterministic());  // copies share nothing mutable

  ups::Context forced(ups::Device::kCPU);
  forced.set_deterministic(true);
  ups::set_deterministic(false);
  CHECK(forced.deterministic());
  CHECK_FALSE(ctx.deterministic());
}

// Hidden from the default run: CTest runs it in a process whose environment sets
// UPS_DETERMINISTIC (tests/env.cmake), UPS_EXPECT_DETERMINISTIC to what the documented rule
// says the flag must then start as, and UPS_EXPECT_WARNING to 1 when the rule says the value
// deserves a warning on stderr.
TEST_CASE("UPS_DETERMINISTIC sets the initial determinism flag", "[.][determinism-env]") {
  const char* env = std::getenv("UPS_DETERMINISTIC");
  const char* expect = std::getenv("UPS_EXPECT_DETERMINISTIC");
  const char* expect_warning = std::getenv("UPS_EXPECT_WARNING");
  REQUIRE(env != nullptr);
  REQUIRE(expect != nullptr);
  INFO("UPS_DETERMINISTIC='" << env << "'");
  const bool want = std::string(expect) == "1";
  const bool want_warning = expect_warning != nullptr && std::string(expect_warning) == "1";

  // Capture what the library writes to stderr while it reads the variable (on the first use of
  // the flag, before anything in this process set it) and afterwards.
  char templ[] = "/tmp/ups-env-test-XXXXXX";
  const int capture = ::mkstemp(templ);
  REQUIRE(capture >= 0);
  ::unlink(templ);
  std::fflush(stderr);
  const int saved = ::dup(STDERR_FILENO);
  REQUIRE(saved >= 0);
  REQUIRE(::dup2(capture, STDERR_FILENO) == STDERR_FILENO);
  const bool first = ups::deterministic();
  const bool second = ups::deterministic();
  const ups::Context ctx(ups::Device::kCPU);
  const bool in_context = ctx.deterministic();
  std::fflush(stderr);
  ::dup2(saved, STDERR_FILENO);
  ::close(saved);
  std::string err;
  char buf[512];
  ::lseek(capture, 0, SEEK_SET);
  for (ssize_t n; (n = ::read(capture, buf, sizeof buf)) > 0;)
    err.append(buf, static_cast<std::size_t>(n));
  ::close(capture);

  CHECK(first == want);
  CHECK(second == want);
  CHECK(in_context == want);
  if (want_warning) {
    // One line, once, that names the variable and its value and says what it is taken as.
    CHECK(std::count(err.begin(), err.end(), '\n') == 1);
    CHECK_THAT(err, Catch::StartsWith("ups: warning: UPS_DETERMINISTIC='" + std::string(env) +
                                      "' is not one of "));
    CHECK_THAT(err, Catch::EndsWith("; treating it as off\n"));
    for (const char* accepted : {"1", "true", "yes", "on", "0", "false", "no", "off"})
      CHECK_THAT(err, Catch::Contains(accepted));
  } else {
    CHECK(err.empty());
  }
}

TEST_CASE("Context: threads", "[core][context]") {
  ups::Context ctx(ups::Device::kCPU);
  CHECK(ctx.num_threads() >= 1);  // 0 means hardware concurrency, never reported as 0
  ctx.set_num_threads(3);
  CHECK(ctx.num_threads() == 3);
  CHECK_UPS_ERROR(ctx.set_num_threads(-1), ups::ErrorCode::kInvalidArgument, "non-negative");
  CHECK(ctx.num_threads() == 3);  // unchanged by the rejected call
  ctx.set_num_threads(0);
  CHECK(ctx.num_threads() >= 1);
}

TEST_CASE("Context: defaults, stream, TF32 and workspace", "[core][context]") {
  ups::Context ctx(ups::Device::kCPU);
  CHECK(ctx.device() == ups::Device::kCPU);
  CHECK(ctx.stream() == nullptr);
  CHECK_FALSE(ctx.allow_tf32());
  CHECK(ctx.workspace() == nullptr);
  CHECK(ctx.workspace_bytes() == 0);
  CHECK(ctx.workspace_limit() == std::size_t(256) << 20);
  ctx.set_allow_tf32(true);
  CHECK(ctx.allow_tf32());
  char buf[64];
  ctx.set_workspace(buf, sizeof buf);
  CHECK(ctx.workspace() == buf);
  CHECK(ctx.workspace_bytes() == sizeof buf);
  ctx.set_workspace(nullptr, 100);  // no memory, no bytes
  CHECK(ctx.workspace_bytes() == 0);
  ctx.set_workspace_limit(0);
  CHECK(ctx.workspace_limit() == 0);
}

TEST_CASE("Context: device resolution", "[core][context]") {
  const bool gpu = ups::cuda_available();
  CHECK(gpu == (ups::cuda_device_count() > 0));
#ifndef UPS_HAVE_CUDA
  CHECK_FALSE(gpu);
  CHECK(ups::cuda_device_count() == 0);
#endif
  const ups::Context auto_ctx(ups::Device::kAuto);
  CHECK(auto_ctx.device() == (gpu ? ups::Device::kCUDA : ups::Device::kCPU));
  const ups::Context default_ctx;
  CHECK(default_ctx.device() == auto_ctx.device());
  CHECK(ups::Context(ups::Device::kCPU).device() == ups::Device::kCPU);
  if (!gpu) {
#ifdef UPS_HAVE_CUDA
    CHECK_UPS_ERROR(ups::Context(ups::Device::kCUDA), ups::ErrorCode::kUnsupportedDevice,
                    "no usable CUDA device");
#else
    CHECK_UPS_ERROR(ups::Context(ups::Device::kCUDA), ups::ErrorCode::kNotCompiled,
                    "no CUDA backend");
#endif
  } else {
    CHECK(ups::Context(ups::Device::kCUDA).device() == ups::Device::kCUDA);
  }
}

TEST_CASE("build_info describes this build", "[core][build]") {
  const ups::BuildInfo info = ups::build_info();
  const std::string expected_version = std::to_string(UPS_VERSION_MAJOR) + "." +
                                       std::to_string(UPS_VERSION_MINOR) + "." +
                                       std::to_string(UPS_VERSION_PATCH);
  CHECK(info.version == expected_version);
  CHECK(info.version == UPS_VERSION_STRING);
#ifdef UPS_HAVE_CUDA
  CHECK(info.has_cuda);
  CHECK_FALSE(info.cuda_version.empty());
  CHECK_FALSE(info.cuda_archs.empty());
#else
  CHECK_FALSE(info.has_cuda);
  CHECK(info.cuda_version.empty());
  CHECK(info.cuda_archs.empty());
#endif
  if (info.has_cudnn) {
    CHECK(info.has_cuda);
    CHECK_FALSE(info.cudnn_version.empty());
  } else {
    CHECK(info.cudnn_version.empty());
  }
  CHECK_FALSE(info.build_type.empty());
}

TEST_CASE("TensorView::is_contiguous holds for every empty view", "[core][tensor]") {
  // contiguous() steps over a zero size with max(size, 1); the check must agree with it.
  const auto v =
      ups::TensorView::contiguous(nullptr, ups::DType::kF32, ups::Device::kCPU, {1, 4, 0, 1});
  CHECK(v.is_contiguous());
  ups::TensorView odd = v;
  odd.strides[1] = 7;  // any strides describe a view without elements
  CHECK(odd.is_contiguous());
}
