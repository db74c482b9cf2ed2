// The CUDA backend of ups::max_pool and ups::max_unpool against the CPU backend (itself checked
// against PyTorch goldens in tests/cpu): bit for bit on random inputs in contiguous and
// channels-last layouts, guarded buffers that reveal stray writes, the deterministic duplicate
// rule, invalid indices (the op reports them and the CUDA context survives), the deferred check,
// scratch memory, and indices beyond 32 bits.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "gpu_support.hpp"
#include "test_support.hpp"
#include "ups/context.hpp"
#include "ups/error.hpp"
#include "ups/max_pool.hpp"
#include "ups/max_unpool.hpp"

namespace {

using ups::DType;
using ups::ErrorCode;
using ups::Shape;
using ups_test::GuardedDeviceTensor;
using ups_test::HostTensor;
using ups_test::Layout;

const DType kAllTypes[] = {DType::kF32, DType::kF64, DType::kF16, DType::kBF16,
                           DType::kU8,  DType::kI32, DType::kI64};

// Random values with many ties; floating types also get NaN and infinities.
HostTensor pool_input(DType dt, const Shape& shape, std::uint64_t seed) {
  HostTensor t(dt, shape);
  ups_test::fill_random(t, seed, 0, 8);
  const bool floating =
      dt == DType::kF32 || dt == DType::kF64 || dt == DType::kF16 || dt == DType::kBF16;
  std::mt19937_64 rng(seed * 7 + 1);
  for (std::int64_t i = 0; i < t.numel(); ++i) {
    const auto r = rng() % 100;
    if (floating && r < 6) t.set(i, std::numeric_limits<double>::quiet_NaN());
    if (floating && r >= 6 && r < 9) t.set(i, -std::numeric_limits<double>::infinity());
    if (!floating && r < 5) t.set(i, dt == DType::kU8 ? 0.0 : -1e9);
  }
  return t;
}

// Arbitrary bit patterns (NaN payloads included): the op under test must move them unchanged.
HostTensor random_bits(DType dt, const Shape& shape, std::uint64_t seed) {
  HostTensor t(dt, shape);
  std::mt19937_64 rng(seed);
  auto* p = static_cast<unsigned char*>(t.data());
  for (std::size_t i = 0; i < t.nbytes(); ++i)
    p[i] = static_cast<unsigned char>(rng());
  return t;
}

ups::MaxPoolOptions pool_opts(std::vector<std::int64_t> k, std::vector<std::int64_t> s,
                              std::vector<std::int64_t> p, std::vector<std::int64_t> d, bool ceil) {
  ups::MaxPoolOptions o;
  o.kernel_size = std::move(k);
  o.stride = std::move(s);
  o.padding = std::move(p);
  o.dilation = std::move(d);
  o.ceil_mode = ceil;
  return o;
}

std::string join(const std::string& a, const std::string& b) {
  if (a.empty()) return b;
  if (b.empty()) return a;
  return a + "; " + b;
}

// ---- max_pool ---------------------------------------------------------------------------------

std::string pool_vs_cpu(DType dt, const Shape& in_shape, const ups::MaxPoolOptions& o,
                        Layout in_layout, Layout out_layout, std::uint64_t seed,
                        cudaStream_t stream) {
  const HostTensor x = pool_input(dt, in_shape, seed);
  const Shape out_shape = ups::max_pool_output_shape(in_shape, o);
  HostTensor want_v(dt, out_shape), want_i(DType::kI64, out_shape);
  ups::max_pool(ups::Context(ups::Device::kCPU), x.view(), want_v.view(), want_i.view(), o);

  const ups::Context gpu(ups::Device::kCUDA, stream);
  GuardedDeviceTensor src(dt, in_shape, in_layout, stream);
  GuardedDeviceTensor dst(dt, out_shape, out_layout, stream);
  GuardedDeviceTensor idx(DType::kI64, out_shape, out_layout, stream);
  src.upload(x.to_layout(in_layout));
  dst.fill(0xFF);
  idx.fill(0xFF);
  ups::max_pool(gpu, src.view(), dst.view(), idx.view(), o);
  std::string err = ups_test::compare_bitwise(dst.download(), want_v);
  const std::string ierr = ups_test::compare_bitwise(idx.download(), want_i);
  err = join(err, ierr.empty() ? "" : "indices: " + ierr);
  err = join(err, dst.check_guards());
  err = join(err, idx.check_guards());
  err = join(err, ups_test::compare_bitwise(src.download(), x));
  return err;
}

TEST_CASE("CUDA max_pool equals the CPU backend bit for bit", "[gpu][max_pool][memcheck]") {
  ups_test::CudaStream stream;
  struct Config {
    Shape shape;
    ups::MaxPoolOptions o;
  };
  const std::vector<Config> configs = {
      {{2, 3, 37}, pool_opts({3}, {2}, {1}, {1}, true)},
      {{2, 5, 16}, pool_opts({4}, {1}, {2}, {2}, false)},
      {{2, 3, 13, 17}, pool_opts({3}, {2}, {1}, {1}, true)},
      {{1, 8, 20, 9}, pool_opts({2, 3}, {1, 2}, {1, 0}, {2, 1}, false)},
      {{3, 16, 8, 8}, pool_opts({2}, {}, {0}, {1}, false)},
      {{1, 4, 6, 7, 9}, pool_opts({3}, {2}, {1}, {1}, true)},
      {{2, 3, 5, 9, 6}, pool_opts({2, 3, 1}, {1, 2, 1}, {1, 1, 0}, {1, 2, 1}, false)},
      // Windows with no in-bounds tap (dilation jumps over a size-2 input).
      {{1, 3, 2}, pool_opts({2}, {1}, {1}, {3}, false)},
  };
  std::uint64_t seed = 100;
  for (const Config& cfg : configs) {
    for (DType dt : kAllTypes) {
      for (auto lc : {std::make_pair(Layout::kContiguous, Layout::kContiguous),
                      std::make_pair(Layout::kChannelsLast, Layout::kChannelsLast),
                      std::make_pair(Layout::kContiguous, Layout::kChannelsLast)}) {
        INFO(ups::shape_to_string(cfg.shape)
             << " " << ups::to_string(dt) << " " << ups_test::to_string(lc.first) << " -> "
             << ups_test::to_string(lc.second));
        CHECK(pool_vs_cpu(dt, cfg.shape, cfg.o, lc.first, lc.second, ++seed, stream.get()) == "");
      }
    }
  }
}

TEST_CASE("CUDA max_pool on a large batch", "[gpu][max_pool]") {
  // Many grid-stride iterations per thread.
  ups_test::CudaStream stream;
  CHECK(pool_vs_cpu(DType::kF32, {64, 32, 64, 64}, pool_opts({3}, {2}, {1}, {1}, false),
                    Layout::kChannelsLast, Layout::kChannelsLast, 7, stream.get()) == "");
  CHECK(pool_vs_cpu(DType::kBF16, {16, 8, 16, 32, 32}, pool_opts({2}, {}, {0}, {1}, true),
                    Layout::kContiguous, Layout::kContiguous, 8, stream.get()) == "");
}

TEST_CASE("CUDA max_pool indices beyond 32 bits", "[gpu][max_pool][large]") {
  // Input (1, 1, 2, W) of u8 with W > 2^31: windows (2, 1) at w = 0 and w = W - 1; the maximum of
  // the second sits at h = 1, so its index is W + W - 1 > 2^32.
  const std::int64_t W = (std::int64_t(1) << 31) + 16;
  const std::size_t bytes = static_cast<std::size_t>(2 * W);
  if (ups_test::device_memory_info().first < bytes + (std::size_t(1) << 30)) {
    WARN("not enough device memory for the > 2^32-index max_pool test; skipped");
    return;
  }
  ups_test::CudaStream stream;
  ups_test::DeviceBuffer in(bytes), out(2), idx(16);
  UPS_TEST_CUDA_CHECK(cudaMemsetAsync(in.get(), 1, bytes, stream.get()));
  const unsigned char nine = 9, five = 5;
  ups_test::upload_bytes(in.as<unsigned char>() + W + (W - 1), &nine, 1, stream.get());
  ups_test::upload_bytes(in.as<unsigned char>() + 0, &five, 1, stream.get());
  const auto src =
      ups::TensorView::contiguous(in.get(), DType::kU8, ups::Device::kCUDA, {1, 1, 2, W});
  const auto dst =
      ups::TensorView::contiguous(out.get(), DType::kU8, ups::Device::kCUDA, {1, 1, 1, 2});
  const auto ind =
      ups::TensorView::contiguous(idx.get(), DType::kI64, ups::Device::kCUDA, {1, 1, 1, 2});
  const ups::Context gpu(ups::Device::kCUDA, stream.get());
  ups::max_pool(gpu, src, dst, ind, pool_opts({2, 1}, {1, W - 1}, {0}, {1}, false));
  unsigned char v[2];
  std::int64_t i[2];
  ups_test::download_bytes(v, out.get(), 2, stream.get());
  ups_test::download_bytes(i, idx.get(), 16, stream.get());
  CHECK(v[0] == 5);
  CHECK(i[0] == 0);
  CHECK(v[1] == 9);
  CHECK(i[1] == 2 * W - 1);
}

// ---- max_unpool -------------------------------------------------------------------------------

ups::MaxUnpoolOptions unpool_opts(std::vector<std::int64_t> k, std::vector<std::int64_t> s = {},
                                  std::vector<std::int64_t> p = {0},
                                  std::vector<std::int64_t> out = {}) {
  ups::MaxUnpoolOptions o;
  o.kernel_size = std::move(k);
  o.stride = std::move(s);
  o.padding = std::move(p);
  o.output_size = std::move(out);
  return o;
}

struct UnpoolRun {
  bool deterministic = false;
  bool with_status = false;
  bool with_workspace = false;
};

// Unpools (src, indices) on the CPU (contiguous, the reference) and on CUDA (the given layouts)
// and compares bit for bit.
std::string unpool_vs_cpu(const HostTensor& x, const HostTensor& ind,
                          const ups::MaxUnpoolOptions& o, Layout in_layout, Layout out_layout,
                          const UnpoolRun& run, cudaStream_t stream) {
  const DType dt = x.dtype();
  const Shape out_shape = ups::max_unpool_output_shape(x.shape(), o);
  HostTensor want(dt, out_shape);
  ups::max_unpool(ups::Context(ups::Device::kCPU), x.view(), ind.view(), want.view(), o);

  ups::Context gpu(ups::Device::kCUDA, stream);
  gpu.set_deterministic(run.deterministic);
  GuardedDeviceTensor src(dt, x.shape(), in_layout, stream);
  GuardedDeviceTensor idx(DType::kI64, x.shape(), in_layout, stream);
  GuardedDeviceTensor dst(dt, out_shape, out_layout, stream);
  src.upload(x.to_layout(in_layout));
  idx.upload(ind.to_layout(in_layout));
  dst.fill(0xFF);
  ups_test::DeviceBuffer status(run.with_status ? sizeof(ups::MaxUnpoolStatus) : 0);
  ups_test::DeviceBuffer workspace;
  if (run.with_workspace) {
    const std::size_t ws = ups::max_unpool_workspace_size(gpu, x.shape(), o, run.with_status);
    workspace = ups_test::DeviceBuffer(ws + 1);
    // An odd start: the op must align its scratch itself.
    gpu.set_workspace(workspace.as<unsigned char>() + 1, ws);
  }
  ups::max_unpool(gpu, src.view(), idx.view(), dst.view(), o,
                  run.with_status ? status.as<ups::MaxUnpoolStatus>() : nullptr);
  if (run.with_status) ups::max_unpool_check(gpu, status.as<ups::MaxUnpoolStatus>());
  std::string err = ups_test::compare_bitwise(dst.download(), want);
  err = join(err, dst.check_guards());
  return err;
}

// Indices with many duplicates per plane, all valid.
HostTensor duplicate_indices(const Shape& in_shape, std::int64_t plane_out, std::uint64_t seed) {
  HostTensor ind(DType::kI64, in_shape);
  std::mt19937_64 rng(seed);
  const std::int64_t range = std::max<std::int64_t>(1, plane_out / 5);
  auto* p = static_cast<std::int64_t*>(ind.data());
  for (std::int64_t i = 0; i < ind.numel(); ++i)
    p[i] = static_cast<std::int64_t>(rng() % range);
  return ind;
}

TEST_CASE("CUDA max_unpool of pooled indices equals the CPU backend", "[gpu][max_unpool]") {
  // Overlapping windows make duplicate indices; they carry identical bits, so even the
  // non-deterministic scatter must match.
  ups_test::CudaStream stream;
  const ups::Context cpu(ups::Device::kCPU);
  std::uint64_t seed = 500;
  struct Config {
    Shape shape;
    std::vector<std::int64_t> k, s, p, out;
  };
  const std::vector<Config> configs = {{{2, 3, 40}, {3}, {2}, {1}, {}},
                                       {{2, 6, 17, 12}, {3}, {1}, {1}, {}},
                                       {{1, 8, 16, 16}, {2}, {}, {0}, {17, 17}},
                                       {{2, 3, 6, 8, 10}, {3}, {2}, {1}, {}}};
  for (const Config& cfg : configs) {
    for (DType dt : kAllTypes) {
      const HostTensor x = pool_input(dt, cfg.shape, ++seed);
      const auto po = pool_opts(cfg.k, cfg.s, cfg.p, {1}, false);
      const Shape pooled = ups::max_pool_output_shape(cfg.shape, po);
      HostTensor v(dt, pooled), ind(DType::kI64, pooled);
      ups::max_pool(cpu, x.view(), v.view(), ind.view(), po);
      for (bool det : {false, true}) {
        for (auto lc : {std::make_pair(Layout::kContiguous, Layout::kContiguous),
                        std::make_pair(Layout::kChannelsLast, Layout::kChannelsLast),
                        std::make_pair(Layout::kChannelsLast, Layout::kContiguous)}) {
          INFO(ups::shape_to_string(cfg.shape)
               << " " << ups::to_string(dt) << " det " << det << " "
               << ups_test::to_string(lc.first) << " -> " << ups_test::to_string(lc.second));
          UnpoolRun run;
          run.deterministic = det;
          CHECK(unpool_vs_cpu(v, ind, unpool_opts(cfg.k, cfg.s, cfg.p, cfg.out), lc.first,
                              lc.second, run, stream.get()) == "");
        }
      }
    }
  }
}

TEST_CASE("CUDA max_unpool in deterministic mode resolves duplicates like the CPU",
          "[gpu][max_unpool]") {
  ups_test::CudaStream stream;
  std::uint64_t seed = 900;
  for (const Shape& shape :
       {Shape{2, 3, 50}, Shape{2, 5, 9, 11}, Shape{1, 4, 5, 6, 7}, Shape{8, 64, 32, 32}}) {
    const auto o = unpool_opts({2});
    const Shape out = ups::max_unpool_output_shape(shape, o);
    std::int64_t plane_out = 1;
    for (std::size_t d = 2; d < out.size(); ++d)
      plane_out *= out[d];
    for (DType dt : kAllTypes) {
      const HostTensor x = random_bits(dt, shape, ++seed);
      const HostTensor ind = duplicate_indices(shape, plane_out, ++seed);
      for (int variant = 0; variant < 3; ++variant) {
        UnpoolRun run;
        run.deterministic = true;
        run.with_status = variant == 1;
        run.with_workspace = variant == 2;
        for (Layout l : {Layout::kContiguous, Layout::kChannelsLast}) {
          INFO(ups::shape_to_string(shape) << " " << ups::to_string(dt) << " variant " << variant
                                           << " " << ups_test::to_string(l));
          CHECK(unpool_vs_cpu(x, ind, o, l, l, run, stream.get()) == "");
        }
      }
    }
  }
}

TEST_CASE("CUDA max_unpool without determinism lands one of the duplicates", "[gpu][max_unpool]") {
  // Every output element must be zero when nothing names it, else the bits of one of the
  // elements that name it.
  ups_test::CudaStream stream;
  const Shape shape{2, 3, 16, 16};
  const auto o = unpool_opts({2});
  const Shape out = ups::max_unpool_output_shape(shape, o);
  const std::int64_t plane_in = 256, plane_out = 1024;
  const HostTensor x = random_bits(DType::kF32, shape, 31);
  const HostTensor ind = duplicate_indices(shape, plane_out, 32);
  const ups::Context gpu(ups::Device::kCUDA, stream.get());
  GuardedDeviceTensor src(DType::kF32, shape, Layout::kContiguous, stream.get());
  GuardedDeviceTensor idx(DType::kI64, shape, Layout::kContiguous, stream.get());
  GuardedDeviceTensor dst(DType::kF32, out, Layout::kContiguous, stream.get());
  src.upload(x);
  idx.upload(ind);
  dst.fill(0xFF);
  ups::max_unpool(gpu, src.view(), idx.view(), dst.view(), o);
  const HostTensor got = dst.download();
  const auto* xi = static_cast<const std::uint32_t*>(x.data());
  const auto* ii = static_cast<const std::int64_t*>(ind.data());
  const auto* gi = static_cast<const std::uint32_t*>(got.data());
  std::int64_t bad = 0;
  for (std::int64_t plane = 0; plane < 6; ++plane) {
    for (std::int64_t t = 0; t < plane_out; ++t) {
      const std::uint32_t g = gi[plane * plane_out + t];
      bool named = false, matches = false;
      for (std::int64_t p = 0; p < plane_in; ++p) {
        if (ii[plane * plane_in + p] != t) continue;
        named = true;
        matches = matches || xi[plane * plane_in + p] == g;
      }
      if (named ? !matches : g != 0) ++bad;
    }
  }
  CHECK(bad == 0);
  CHECK(dst.check_guards() == "");
}

TEST_CASE("CUDA max_unpool reports invalid indices and the context survives",
          "[gpu][max_unpool][errors][memcheck]") {
  ups_test::CudaStream stream;
  const ups::Context cpu(ups::Device::kCPU);
  const Shape shape{2, 3, 4, 4};
  const auto o = unpool_opts({2});
  const Shape out = ups::max_unpool_output_shape(shape, o);
  const HostTensor x = random_bits(DType::kF32, shape, 41);
  HostTensor ind = duplicate_indices(shape, 64, 42);
  auto* p = static_cast<std::int64_t*>(ind.data());
  p[5] = -7;
  p[40] = 64;
  p[77] = (std::int64_t(1) << 32) + 3;  // would alias index 3 if narrowed to 32 bits
  // The CPU backend's message names the invalid index at the largest position.
  std::string cpu_message;
  {
    HostTensor d(DType::kF32, out);
    try {
      ups::max_unpool(cpu, x.view(), ind.view(), d.view(), o);
    } catch (const ups::Error& e) {
      cpu_message = e.what();
    }
  }
  REQUIRE(cpu_message == "Found an invalid max index: 4294967299 (output volumes are of size 8x8)");

  for (bool det : {false, true}) {
    INFO("deterministic " << det);
    ups::Context gpu(ups::Device::kCUDA, stream.get());
    gpu.set_deterministic(det);
    GuardedDeviceTensor src(DType::kF32, shape, Layout::kChannelsLast, stream.get());
    GuardedDeviceTensor idx(DType::kI64, shape, Layout::kChannelsLast, stream.get());
    GuardedDeviceTensor dst(DType::kF32, out, Layout::kChannelsLast, stream.get());
    src.upload(x.to_layout(Layout::kChannelsLast));
    idx.upload(ind.to_layout(Layout::kChannelsLast));
    dst.fill(0xFF);
    // Synchronous check: an ordinary exception, nothing written out of bounds.
    try {
      ups::max_unpool(gpu, src.view(), idx.view(), dst.view(), o);
      FAIL_CHECK("no error");
    } catch (const ups::Error& e) {
      CHECK(e.code() == ErrorCode::kInvalidArgument);
      CHECK(std::string(e.what()) == cpu_message);
    }
    CHECK(dst.check_guards() == "");
    // Deferred check: no exception from the op, the same one from max_unpool_check.
    ups_test::DeviceBuffer status(sizeof(ups::MaxUnpoolStatus));
    auto* st = status.as<ups::MaxUnpoolStatus>();
    CHECK_NOTHROW(ups::max_unpool(gpu, src.view(), idx.view(), dst.view(), o, st));
    try {
      ups::max_unpool_check(gpu, st);
      FAIL_CHECK("no error");
    } catch (const ups::Error& e) {
      CHECK(std::string(e.what()) == cpu_message);
    }
    // The context and the process's CUDA state are intact: valid work succeeds afterwards.
    UPS_TEST_CUDA_CHECK(cudaDeviceSynchronize());
    UPS_TEST_CUDA_CHECK(cudaGetLastError());
    HostTensor good = duplicate_indices(shape, 64, 43);
    UnpoolRun run;
    run.deterministic = det;
    CHECK(unpool_vs_cpu(x, good, o, Layout::kContiguous, Layout::kContiguous, run, stream.get()) ==
          "");
    idx.upload(good.to_layout(Layout::kChannelsLast));
    CHECK_NOTHROW(ups::max_unpool(gpu, src.view(), idx.view(), dst.view(), o, st));
    CHECK_NOTHROW(ups::max_unpool_check(gpu, st));
  }
}

TEST_CASE("CUDA max_unpool scratch memory", "[gpu][max_unpool][memcheck]") {
  ups_test::CudaStream stream;
  const Shape shape{2, 3, 8, 8};
  const auto o = unpool_opts({2});
  const Shape out = ups::max_unpool_output_shape(shape, o);
  const HostTensor x = random_bits(DType::kF16, shape, 51);
  const HostTensor ind = duplicate_indices(shape, 256, 52);
  ups::Context gpu(ups::Device::kCUDA, stream.get());
  // Sizes: 255 bytes of slack to align the start to 256 + a 64-byte status record + 4-byte
  // claim slots.
  CHECK(ups::max_unpool_workspace_size(gpu, shape, o) == 255 + 64);
  CHECK(ups::max_unpool_workspace_size(gpu, shape, o, true) == 0);
  gpu.set_deterministic(true);
  CHECK(ups::max_unpool_workspace_size(gpu, shape, o) == 255 + 64 + 4 * 2 * 3 * 256);
  CHECK(ups::max_unpool_workspace_size(gpu, shape, o, true) == 255 + 4 * 2 * 3 * 256);

  GuardedDeviceTensor src(DType::kF16, shape, Layout::kContiguous, stream.get());
  GuardedDeviceTensor idx(DType::kI64, shape, Layout::kContiguous, stream.get());
  GuardedDeviceTensor dst(DType::kF16, out, Layout::kContiguous, stream.get());
  src.upload(x);
  idx.upload(ind);
  // A caller workspace that is too small is an error, not a silent allocation.
  ups_test::DeviceBuffer small(64);
  gpu.set_workspace(small.get(), 64);
  try {
    ups::max_unpool(gpu, src.view(), idx.view(), dst.view(), o);
    FAIL_CHECK("no error");
  } catch (const ups::Error& e) {
    CHECK(e.code() == ErrorCode::kOutOfMemory);
  }
  // No workspace and no allowance: the op cannot get scratch memory.
  gpu.set_workspace(nullptr, 0);
  gpu.set_workspace_limit(0);
  try {
    ups::max_unpool(gpu, src.view(), idx.view(), dst.view(), o);
    FAIL_CHECK("no error");
  } catch (const ups::Error& e) {
    CHECK(e.code() == ErrorCode::kOutOfMemory);
  }
  // With a caller status and determinism off nothing is needed.
  gpu.set_deterministic(false);
  ups_test::DeviceBuffer status(sizeof(ups::MaxUnpoolStatus));
  CHECK_NOTHROW(ups::max_unpool(gpu, src.view(), idx.view(), dst.view(), o,
                                status.as<ups::MaxUnpoolStatus>()));
  CHECK_NOTHROW(ups::max_unpool_check(gpu, status.as<ups::MaxUnpoolStatus>()));
  // Default limit, no workspace: allocated stream-ordered.
  gpu.set_workspace_limit(std::size_t(256) << 20);
  gpu.set_deterministic(true);
  UnpoolRun run;
  run.deterministic = true;
  CHECK(unpool_vs_cpu(x, ind, o, Layout::kContiguous, Layout::kContiguous, run, stream.get()) ==
        "");
}

TEST_CASE("CUDA max_unpool indices beyond 32 bits", "[gpu][max_unpool][large]") {
  // 1-D, u8: an output plane of 2^32 + 2 elements; index 2^31 + 5 and 2^32 + 1 must land
  // exactly there (PyTorch's CUDA kernel narrows indices to int).
  const std::int64_t k = (std::int64_t(1) << 31) + 1;
  const std::size_t out_bytes = static_cast<std::size_t>(2 * k);
  const std::size_t margin = std::size_t(1) << 30;
  if (ups_test::device_memory_info().first < out_bytes + margin) {
    WARN("not enough device memory for the > 2^32-index max_unpool test; skipped");
    return;
  }
  ups_test::CudaStream stream;
  ups_test::DeviceBuffer in(2), ind(16), out(out_bytes);
  const unsigned char vals[2] = {7, 9};
  const std::int64_t idxs[2] = {(std::int64_t(1) << 31) + 5, (std::int64_t(1) << 32) + 1};
  ups_test::upload_bytes(in.get(), vals, 2, stream.get());
  ups_test::upload_bytes(ind.get(), idxs, 16, stream.get());
  UPS_TEST_CUDA_CHECK(cudaMemsetAsync(out.get(), 0xFF, out_bytes, stream.get()));
  const auto src = ups::TensorView::contiguous(in.get(), DType::kU8, ups::Device::kCUDA, {1, 1, 2});
  const auto idx =
      ups::TensorView::contiguous(ind.get(), DType::kI64, ups::Device::kCUDA, {1, 1, 2});
  const auto dst =
      ups::TensorView::contiguous(out.get(), DType::kU8, ups::Device::kCUDA, {1, 1, 2 * k});
  for (bool det : {false, true}) {
    ups::Context gpu(ups::Device::kCUDA, stream.get());
    gpu.set_deterministic(det);
    // Deterministic mode needs 4 bytes of claim slot per output element.
    const std::size_t scratch = ups::max_unpool_workspace_size(gpu, {1, 1, 2}, unpool_opts({k}));
    if (ups_test::device_memory_info().first < scratch + margin) {
      WARN("not enough device memory for the deterministic part; skipped");
      continue;
    }
    gpu.set_workspace_limit(scratch);
    ups::max_unpool(gpu, src, idx, dst, unpool_opts({k}));
    unsigned char probe[4] = {1, 1, 1, 1};
    ups_test::download_bytes(&probe[0], out.as<unsigned char>() + idxs[0], 1, stream.get());
    ups_test::download_bytes(&probe[1], out.as<unsigned char>() + idxs[1], 1, stream.get());
    ups_test::download_bytes(&probe[2], out.as<unsigned char>() + 3, 1, stream.get());
    ups_test::download_bytes(&probe[3], out.as<unsigned char>() + 5, 1, stream.get());
    CHECK(probe[0] == 7);
    CHECK(probe[1] == 9);
    CHECK(probe[2] == 0);
    CHECK(probe[3] == 0);
  }
}

}  // namespace
