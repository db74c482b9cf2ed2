// The CUDA backend of max_pool_backward, max_unpool_backward and the shuffles' backward against
// the CPU backend (itself checked against PyTorch autograd goldens in tests/cpu): bit for bit on
// randomised shapes and options in every dtype, contiguous, channels-last and mixed layouts,
// guarded buffers that reveal stray writes, invalid indices (a clean error, the context
// survives; max_pool_backward's deferred check reports what the CPU reports, with no scratch
// and nothing that would break a CUDA graph capture), and the same bits over 20 runs.
//
// Bit for bit: both backends run the same per-element body (kernels/pool/pool_math.hpp), whose
// sums are plain additions in a fixed order (no products, so no FMA contraction), and the other
// two ops move bits.
#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "gpu_support.hpp"
#include "test_support.hpp"
#include "ups/context.hpp"
#include "ups/error.hpp"
#include "ups/max_pool.hpp"
#include "ups/max_unpool.hpp"
#include "ups/pixel_shuffle.hpp"

namespace {

using ups::DType;
using ups::ErrorCode;
using ups::Shape;
using ups_test::GuardedDeviceTensor;
using ups_test::HostTensor;
using ups_test::Layout;

const DType kAllTypes[] = {DType::kF32, DType::kF64, DType::kF16, DType::kBF16,
                           DType::kU8,  DType::kI32, DType::kI64};

std::string join(const std::string& a, const std::string& b) {
  if (a.empty()) return b;
  if (b.empty()) return a;
  return a + "; " + b;
}

struct PoolProblem {
  Shape in;
  ups::MaxPoolOptions o;
};

// A random pooling problem that max_pool accepts.
PoolProblem random_pool(std::mt19937_64& rng) {
  const auto pick = [&](std::int64_t lo, std::int64_t hi) {
    return lo + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(hi - lo + 1));
  };
  for (;;) {
    PoolProblem p;
    const int dims = static_cast<int>(pick(1, 3));
    p.in = {pick(1, 3), pick(1, 9)};
    p.o.kernel_size.clear();
    p.o.stride.clear();
    p.o.padding.clear();
    p.o.dilation.clear();
    for (int j = 0; j < dims; ++j) {
      p.in.push_back(pick(1, dims == 3 ? 9 : dims == 2 ? 20 : 60));
      const std::int64_t k = pick(1, 4), d = pick(1, 3);
      p.o.kernel_size.push_back(k);
      p.o.stride.push_back(pick(1, 3));
      p.o.dilation.push_back(d);
      p.o.padding.push_back(pick(0, std::min(k / 2, ((k - 1) * d + 1) / 2)));
    }
    p.o.ceil_mode = rng() % 2 == 0;
    try {
      (void)ups::max_pool_output_shape(p.in, p.o);
      return p;
    } catch (const ups::Error&) {
    }
  }
}

// Forward on the CPU (random values with ties), then the backward on both backends.
std::string pool_backward_vs_cpu(DType dt, const PoolProblem& p, Layout grad_layout,
                                 Layout gin_layout, std::uint64_t seed, cudaStream_t stream) {
  const ups::Context cpu(ups::Device::kCPU);
  const Shape out = ups::max_pool_output_shape(p.in, p.o);
  HostTensor x(dt, p.in);
  ups_test::fill_random(x, seed, 0, 6);
  HostTensor y(dt, out), idx(DType::kI64, out), g(dt, out), want(dt, p.in);
  ups::max_pool(cpu, x.view(), y.view(), idx.view(), p.o);
  ups_test::fill_random(g, seed + 1, -4, 4);
  ups::max_pool_backward(cpu, g.view(), idx.view(), want.view(), p.o);

  const ups::Context gpu(ups::Device::kCUDA, stream);
  GuardedDeviceTensor dg(dt, out, grad_layout, stream);
  GuardedDeviceTensor di(DType::kI64, out, grad_layout, stream);
  GuardedDeviceTensor dgin(dt, p.in, gin_layout, stream);
  dg.upload(g.to_layout(grad_layout));
  di.upload(idx.to_layout(grad_layout));
  dgin.fill(0xFF);
  ups::max_pool_backward(gpu, dg.view(), di.view(), dgin.view(), p.o);
  std::string err = ups_test::compare_bitwise(dgin.download(), want);
  err = join(err, dgin.check_guards());
  err = join(err, ups_test::compare_bitwise(dg.download(), g));
  return err;
}

TEST_CASE("CUDA max_pool_backward equals the CPU backend on random problems",
          "[gpu][backward][max_pool]") {
  ups_test::CudaStream stream;
  std::mt19937_64 rng(77);
  for (int trial = 0; trial < 60; ++trial) {
    const PoolProblem p = random_pool(rng);
    const DType dt = kAllTypes[trial % 7];
    for (auto lc : {std::make_pair(Layout::kContiguous, Layout::kContiguous),
                    std::make_pair(Layout::kChannelsLast, Layout::kChannelsLast),
                    std::make_pair(Layout::kContiguous, Layout::kChannelsLast)}) {
      INFO("trial " << trial << " " << ups::shape_to_string(p.in) << " " << ups::to_string(dt)
                    << " " << ups_test::to_string(lc.first) << " -> "
                    << ups_test::to_string(lc.second));
      CHECK(pool_backward_vs_cpu(dt, p, lc.first, lc.second, 1000 + trial, stream.get()) == "");
    }
  }
}

TEST_CASE("CUDA max_pool_backward on overlapping windows, and the same bits over 20 runs",
          "[gpu][backward][max_pool][memcheck]") {
  ups_test::CudaStream stream;
  PoolProblem p;
  p.in = {2, 8, 33, 31};
  p.o.kernel_size = {3};
  p.o.stride = {1};
  p.o.padding = {1};
  for (DType dt : {DType::kF32, DType::kF16, DType::kBF16}) {
    INFO(ups::to_string(dt));
    CHECK(pool_backward_vs_cpu(dt, p, Layout::kChannelsLast, Layout::kChannelsLast, 5,
                               stream.get()) == "");
    // 20 runs, determinism on and off.
    const Shape out = ups::max_pool_output_shape(p.in, p.o);
    HostTensor x(dt, p.in), y(dt, out), idx(DType::kI64, out), g(dt, out);
    ups_test::fill_random(x, 6, 0, 4);
    ups::max_pool(ups::Context(ups::Device::kCPU), x.view(), y.view(), idx.view(), p.o);
    ups_test::fill_random(g, 7, -1, 1);
    GuardedDeviceTensor dg(dt, out, Layout::kContiguous, stream.get());
    GuardedDeviceTensor di(DType::kI64, out, Layout::kContiguous, stream.get());
    GuardedDeviceTensor dgin(dt, p.in, Layout::kContiguous, stream.get());
    dg.upload(g);
    di.upload(idx);
    HostTensor first;
    for (int run = 0; run < 20; ++run) {
      ups::Context gpu(ups::Device::kCUDA, stream.get());
      gpu.set_deterministic(run % 2 == 1);
      dgin.fill(run % 2 ? 0x00 : 0xFF);
      ups::max_pool_backward(gpu, dg.view(), di.view(), dgin.view(), p.o);
      if (run == 0) {
        first = dgin.download();
      } else {
        INFO("run " << run);
        REQUIRE(ups_test::compare_bitwise(dgin.download(), first) == "");
      }
    }
  }
}

TEST_CASE("CUDA max_pool_backward reports invalid indices and the context survives",
          "[gpu][backward][max_pool][errors]") {
  ups_test::CudaStream stream;
  const ups::Context cpu(ups::Device::kCPU);
  ups::MaxPoolOptions o;
  o.kernel_size = {2};
  const Shape in{1, 2, 4, 4}, out{1, 2, 2, 2};
  HostTensor g(DType::kF32, out), idx(DType::kI64, out);
  ups_test::fill_random(g, 1);
  for (std::int64_t i = 0; i < idx.numel(); ++i)
    idx.set(i, static_cast<double>(((i / 2) % 2) * 8 + (i % 2) * 2));
  idx.set(3, 1);                               // not in its window
  idx.set(6, static_cast<double>(1ll << 40));  // outside the plane
  std::string cpu_message;
  {
    HostTensor gin(DType::kF32, in);
    try {
      ups::max_pool_backward(cpu, g.view(), idx.view(), gin.view(), o);
    } catch (const ups::Error& e) {
      cpu_message = e.what();
    }
  }
  REQUIRE(cpu_message.find("invalid max index 1099511627776 at position 6") != std::string::npos);
  const ups::Context gpu(ups::Device::kCUDA, stream.get());
  GuardedDeviceTensor dg(DType::kF32, out, Layout::kContiguous, stream.get());
  GuardedDeviceTensor di(DType::kI64, out, Layout::kChannelsLast, stream.get());
  GuardedDeviceTensor dgin(DType::kF32, in, Layout::kChannelsLast, stream.get());
  dg.upload(g);
  di.upload(idx.to_layout(Layout::kChannelsLast));
  try {
    ups::max_pool_backward(gpu, dg.view(), di.view(), dgin.view(), o);
    FAIL_CHECK("no error");
  } catch (const ups::Error& e) {
    CHECK(e.code() == ErrorCode::kInvalidArgument);
    CHECK(std::string(e.what()) == cpu_message);
  }
  CHECK(dgin.check_guards() == "");
  UPS_TEST_CUDA_CHECK(cudaDeviceSynchronize());
  UPS_TEST_CUDA_CHECK(cudaGetLastError());
  PoolProblem p;
  p.in = in;
  p.o = o;
  CHECK(pool_backward_vs_cpu(DType::kF32, p, Layout::kContiguous, Layout::kContiguous, 3,
                             stream.get()) == "");
}

// ---- max_pool_backward's deferred index check ---------------------------------------------------

// Corrupts up to four indices of a pooling of an input plane of `plane` elements: below the
// plane, beyond it (far beyond too), or anywhere in it (often outside the window).
void corrupt_indices(HostTensor& idx, std::int64_t plane, std::mt19937_64& rng) {
  const auto pick = [&](std::int64_t lo, std::int64_t hi) {
    return lo + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(hi - lo + 1));
  };
  const std::int64_t corrupt = rng() % 8 == 0 ? 0 : pick(1, 4);
  for (std::int64_t c = 0; c < corrupt; ++c) {
    const std::int64_t at = pick(0, idx.numel() - 1);
    switch (rng() % 4) {
      case 0:
        idx.set(at, static_cast<double>(-pick(1, 3)));
        break;
      case 1:
        idx.set(at, static_cast<double>(plane + pick(0, 3)));
        break;
      case 2:
        idx.set(at, static_cast<double>((std::int64_t(1) << 40) + pick(0, 5)));
        break;
      default:
        idx.set(at, static_cast<double>(pick(0, plane - 1)));
    }
  }
}

template <class F>
std::string error_of(F&& f, ErrorCode* code = nullptr) {
  try {
    f();
  } catch (const ups::Error& e) {
    if (code != nullptr) *code = e.code();
    return e.what();
  }
  return "(no error)";
}

TEST_CASE("CUDA max_pool_backward's deferred check reports what the CPU reports",
          "[gpu][backward][max_pool][errors][memcheck]") {
  ups_test::CudaStream stream;
  const ups::Context cpu(ups::Device::kCPU);
  std::mt19937_64 rng(515);
  ups_test::DeviceBuffer status(sizeof(ups::MaxPoolStatus));
  auto* st = status.as<ups::MaxPoolStatus>();
  int failing = 0;
  for (int trial = 0; trial < 60; ++trial) {
    const PoolProblem p = random_pool(rng);
    const DType dt = kAllTypes[trial % 7];
    const Shape out = ups::max_pool_output_shape(p.in, p.o);
    std::int64_t plane = 1;
    for (std::size_t j = 2; j < p.in.size(); ++j)
      plane *= p.in[j];
    HostTensor x(dt, p.in), y(dt, out), idx(DType::kI64, out), g(dt, out);
    ups_test::fill_random(x, 2000 + trial, 0, 6);
    ups::max_pool(cpu, x.view(), y.view(), idx.view(), p.o);
    corrupt_indices(idx, plane, rng);
    ups_test::fill_random(g, 3000 + trial, -4, 4);
    // The CPU's deferred check (itself checked against an enumeration of the windows' taps in
    // tests/cpu): its message and its grad_input, written in full.
    HostTensor want(dt, p.in);
    ups::MaxPoolStatus cpu_status{};
    ups::max_pool_backward(cpu, g.view(), idx.view(), want.view(), p.o, &cpu_status);
    const std::string message = error_of([&] { ups::max_pool_check(cpu, &cpu_status); });
    if (cpu_status.position >= 0) ++failing;

    const Layout lg = trial % 3 == 1 ? Layout::kChannelsLast : Layout::kContiguous;
    const Layout lin = trial % 3 == 2 ? Layout::kContiguous : Layout::kChannelsLast;
    INFO("trial " << trial << " " << ups::shape_to_string(p.in) << " " << ups::to_string(dt) << " "
                  << ups_test::to_string(lg) << " -> " << ups_test::to_string(lin) << ": "
                  << message);
    const ups::Context gpu(ups::Device::kCUDA, stream.get());
    GuardedDeviceTensor dg(dt, out, lg, stream.get());
    GuardedDeviceTensor di(DType::kI64, out, lg, stream.get());
    GuardedDeviceTensor dgin(dt, p.in, lin, stream.get());
    dg.upload(g.to_layout(lg));
    di.upload(idx.to_layout(lg));
    // The synchronous check throws the same message.
    CHECK(error_of([&] { ups::max_pool_backward(gpu, dg.view(), di.view(), dgin.view(), p.o); }) ==
          message);
    // The deferred one: the op initialises a record full of garbage, returns without an error,
    // and max_pool_check reports it.
    UPS_TEST_CUDA_CHECK(cudaMemsetAsync(st, 0x5c, sizeof(*st), stream.get()));
    dgin.fill(0xFF);
    CHECK_NOTHROW(ups::max_pool_backward(gpu, dg.view(), di.view(), dgin.view(), p.o, st));
    CHECK(error_of([&] { ups::max_pool_check(gpu, st); }) == message);
    CHECK(ups_test::compare_bitwise(dgin.download(), want) == "");
    CHECK(dgin.check_guards() == "");
    CHECK(ups_test::compare_bitwise(di.download(), idx.to_layout(lg)) == "");
  }
  CHECK(failing >= 30);
  UPS_TEST_CUDA_CHECK(cudaDeviceSynchronize());
  UPS_TEST_CUDA_CHECK(cudaGetLastError());
}

TEST_CASE("CUDA max_pool_backward with a caller status is stream-ordered and needs no scratch",
          "[gpu][backward][max_pool]") {
  ups_test::CudaStream stream;
  const ups::Context cpu(ups::Device::kCPU);
  PoolProblem p;
  p.in = {2, 3, 9, 8};
  p.o.kernel_size = {3};
  p.o.stride = {2};
  p.o.padding = {1};
  const Shape out = ups::max_pool_output_shape(p.in, p.o);
  HostTensor x(DType::kF32, p.in), y(DType::kF32, out), idx(DType::kI64, out), g(DType::kF32, out);
  ups_test::fill_random(x, 41, 0, 4);
  ups::max_pool(cpu, x.view(), y.view(), idx.view(), p.o);
  ups_test::fill_random(g, 42, -2, 2);
  HostTensor bad = idx;
  bad.set(7, -5);
  bad.set(40, static_cast<double>(9 * 8));
  HostTensor want_ok(DType::kF32, p.in), want_bad(DType::kF32, p.in);
  ups::MaxPoolStatus cpu_status{};
  ups::max_pool_backward(cpu, g.view(), idx.view(), want_ok.view(), p.o, &cpu_status);
  REQUIRE(cpu_status.position == -1);
  ups::max_pool_backward(cpu, g.view(), bad.view(), want_bad.view(), p.o, &cpu_status);
  const std::string message = error_of([&] { ups::max_pool_check(cpu, &cpu_status); });
  REQUIRE(message ==
          "max_pool_backward: invalid max index 72 at position 40 of indices (C order): outside "
          "the input plane of size 9x8");

  ups::Context gpu(ups::Device::kCUDA, stream.get());
  GuardedDeviceTensor dg(DType::kF32, out, Layout::kContiguous, stream.get());
  GuardedDeviceTensor di(DType::kI64, out, Layout::kContiguous, stream.get());
  GuardedDeviceTensor dgin(DType::kF32, p.in, Layout::kChannelsLast, stream.get());
  dg.upload(g);
  di.upload(idx);
  // No workspace and no allowance: the synchronous check cannot get its record...
  gpu.set_workspace_limit(0);
  ErrorCode code{};
  CHECK(error_of([&] { ups::max_pool_backward(gpu, dg.view(), di.view(), dgin.view(), p.o); },
                 &code) != "(no error)");
  CHECK(code == ErrorCode::kOutOfMemory);
  // ...and the deferred one needs none, nor a workspace that is too small.
  ups_test::DeviceBuffer status(sizeof(ups::MaxPoolStatus));
  auto* st = status.as<ups::MaxPoolStatus>();
  UPS_TEST_CUDA_CHECK(cudaMemsetAsync(st, 0x5c, sizeof(*st), stream.get()));
  dgin.fill(0xFF);
  CHECK_NOTHROW(ups::max_pool_backward(gpu, dg.view(), di.view(), dgin.view(), p.o, st));
  CHECK_NOTHROW(ups::max_pool_check(gpu, st));
  CHECK(ups_test::compare_bitwise(dgin.download(), want_ok.to_layout(Layout::kChannelsLast)) == "");
  ups_test::DeviceBuffer small(16);
  gpu.set_workspace(small.get(), 16);
  CHECK_NOTHROW(ups::max_pool_backward(gpu, dg.view(), di.view(), dgin.view(), p.o, st));
  CHECK_NOTHROW(ups::max_pool_check(gpu, st));
  gpu.set_workspace(nullptr, 0);

  // Captured into a CUDA graph: a copy to the host or a synchronisation of the stream inside the
  // op would fail the capture. The graph then replays the whole op, the record's initialisation
  // included, so each launch reports on the indices it read, not on earlier launches.
  cudaGraph_t graph = nullptr;
  UPS_TEST_CUDA_CHECK(cudaStreamBeginCapture(stream.get(), cudaStreamCaptureModeRelaxed));
  const std::string captured =
      error_of([&] { ups::max_pool_backward(gpu, dg.view(), di.view(), dgin.view(), p.o, st); });
  const cudaError_t end = cudaStreamEndCapture(stream.get(), &graph);
  (void)cudaGetLastError();
  REQUIRE(captured == "(no error)");
  REQUIRE(end == cudaSuccess);
  cudaGraphExec_t exec = nullptr;
  const cudaError_t inst = cudaGraphInstantiate(&exec, graph, 0);
  (void)cudaGraphDestroy(graph);
  REQUIRE(inst == cudaSuccess);
  for (bool with_bad : {true, false, true, false}) {
    INFO("replay with " << (with_bad ? "invalid" : "valid") << " indices");
    di.upload(with_bad ? bad : idx);
    dgin.fill(0xFF);
    UPS_TEST_CUDA_CHECK(cudaGraphLaunch(exec, stream.get()));
    CHECK(error_of([&] { ups::max_pool_check(gpu, st); }) == (with_bad ? message : "(no error)"));
    CHECK(ups_test::compare_bitwise(
              dgin.download(), (with_bad ? want_bad : want_ok).to_layout(Layout::kChannelsLast)) ==
          "");
  }
  (void)cudaGraphExecDestroy(exec);

  // An empty batch writes no tensor but still initialises the record, in stream order.
  di.upload(bad);
  ups::max_pool_backward(gpu, dg.view(), di.view(), dgin.view(), p.o, st);
  const Shape e_out{0, 3, out[2], out[3]};
  const auto e_g = ups::TensorView::contiguous(nullptr, DType::kF32, ups::Device::kCUDA, e_out);
  const auto e_i = ups::TensorView::contiguous(nullptr, DType::kI64, ups::Device::kCUDA, e_out);
  const auto e_in =
      ups::TensorView::contiguous(nullptr, DType::kF32, ups::Device::kCUDA, {0, 3, 9, 8});
  CHECK_NOTHROW(ups::max_pool_backward(gpu, e_g, e_i, e_in, p.o, st));
  CHECK_NOTHROW(ups::max_pool_check(gpu, st));
  CHECK(dgin.check_guards() == "");
  UPS_TEST_CUDA_CHECK(cudaDeviceSynchronize());
  UPS_TEST_CUDA_CHECK(cudaGetLastError());
}

// ---- max_unpool_backward ----------------------------------------------------------------------

TEST_CASE("CUDA max_unpool_backward equals the CPU backend", "[gpu][backward][max_unpool]") {
  ups_test::CudaStream stream;
  const ups::Context cpu(ups::Device::kCPU);
  std::mt19937_64 rng(91);
  struct Config {
    Shape in;
    std::vector<std::int64_t> k, s, p;
  };
  const std::vector<Config> configs = {{{2, 3, 40}, {3}, {2}, {1}},
                                       {{2, 6, 17, 12}, {2}, {}, {0}},
                                       {{1, 8, 9, 16}, {3}, {1}, {1}},
                                       {{2, 3, 6, 8, 10}, {2}, {}, {0}}};
  for (const Config& cfg : configs) {
    ups::MaxUnpoolOptions o;
    o.kernel_size = cfg.k;
    o.stride = cfg.s;
    o.padding = cfg.p;
    const Shape out = ups::max_unpool_output_shape(cfg.in, o);
    std::int64_t plane_out = 1;
    for (std::size_t d = 2; d < out.size(); ++d)
      plane_out *= out[d];
    for (DType dt : kAllTypes) {
      HostTensor g(dt, out), idx(DType::kI64, cfg.in), want(dt, cfg.in);
      ups_test::fill_random(g, rng(), -3, 3);
      for (std::int64_t i = 0; i < idx.numel(); ++i)
        idx.set(i, static_cast<double>(rng() % static_cast<std::uint64_t>(plane_out)));
      ups::max_unpool_backward(cpu, g.view(), idx.view(), want.view(), o);
      for (auto lc : {std::make_pair(Layout::kContiguous, Layout::kContiguous),
                      std::make_pair(Layout::kChannelsLast, Layout::kChannelsLast),
                      std::make_pair(Layout::kContiguous, Layout::kChannelsLast)}) {
        for (bool with_status : {false, true}) {
          INFO(ups::shape_to_string(cfg.in)
               << " " << ups::to_string(dt) << " " << ups_test::to_string(lc.first) << " / "
               << ups_test::to_string(lc.second) << " status " << with_status);
          ups::Context gpu(ups::Device::kCUDA, stream.get());
          GuardedDeviceTensor dg(dt, out, lc.first, stream.get());
          GuardedDeviceTensor di(DType::kI64, cfg.in, lc.second, stream.get());
          GuardedDeviceTensor dgin(dt, cfg.in, lc.second, stream.get());
          dg.upload(g.to_layout(lc.first));
          di.upload(idx.to_layout(lc.second));
          dgin.fill(0xFF);
          ups_test::DeviceBuffer status(with_status ? sizeof(ups::MaxUnpoolStatus) : 0);
          auto* st = with_status ? status.as<ups::MaxUnpoolStatus>() : nullptr;
          ups::max_unpool_backward(gpu, dg.view(), di.view(), dgin.view(), o, st);
          if (with_status) CHECK_NOTHROW(ups::max_unpool_check(gpu, st));
          CHECK(ups_test::compare_bitwise(dgin.download(), want) == "");
          CHECK(dgin.check_guards() == "");
        }
      }
    }
  }
}

TEST_CASE("CUDA max_unpool_backward reports invalid indices like the CPU",
          "[gpu][backward][max_unpool][errors][memcheck]") {
  ups_test::CudaStream stream;
  const ups::Context cpu(ups::Device::kCPU);
  ups::MaxUnpoolOptions o;
  o.kernel_size = {2};
  const Shape in{2, 3, 4, 4};
  const Shape out = ups::max_unpool_output_shape(in, o);
  HostTensor g(DType::kF32, out), idx(DType::kI64, in);
  ups_test::fill_random(g, 4);
  for (std::int64_t i = 0; i < idx.numel(); ++i)
    idx.set(i, static_cast<double>((i * 7) % 64));
  idx.set(5, -7);
  idx.set(77, static_cast<double>((1ll << 32) + 3));
  std::string cpu_message;
  HostTensor want(DType::kF32, in);
  ups::MaxUnpoolStatus cpu_status{};
  ups::max_unpool_backward(cpu, g.view(), idx.view(), want.view(), o, &cpu_status);
  try {
    ups::max_unpool_check(cpu, &cpu_status);
  } catch (const ups::Error& e) {
    cpu_message = e.what();
  }
  REQUIRE(cpu_message == "Found an invalid max index: 4294967299 (output volumes are of size 8x8)");
  for (bool det : {false, true}) {
    ups::Context gpu(ups::Device::kCUDA, stream.get());
    gpu.set_deterministic(det);
    GuardedDeviceTensor dg(DType::kF32, out, Layout::kChannelsLast, stream.get());
    GuardedDeviceTensor di(DType::kI64, in, Layout::kChannelsLast, stream.get());
    GuardedDeviceTensor dgin(DType::kF32, in, Layout::kChannelsLast, stream.get());
    dg.upload(g.to_layout(Layout::kChannelsLast));
    di.upload(idx.to_layout(Layout::kChannelsLast));
    try {
      ups::max_unpool_backward(gpu, dg.view(), di.view(), dgin.view(), o);
      FAIL_CHECK("no error");
    } catch (const ups::Error& e) {
      CHECK(e.code() == ErrorCode::kInvalidArgument);
      CHECK(std::string(e.what()) == cpu_message);
    }
    // The valid elements are written and the invalid ones are zero, as on the CPU.
    CHECK(ups_test::compare_bitwise(dgin.download(), want) == "");
    CHECK(dgin.check_guards() == "");
    ups_test::DeviceBuffer status(sizeof(ups::MaxUnpoolStatus));
    auto* st = status.as<ups::MaxUnpoolStatus>();
    CHECK_NOTHROW(ups::max_unpool_backward(gpu, dg.view(), di.view(), dgin.view(), o, st));
    try {
      ups::max_unpool_check(gpu, st);
      FAIL_CHECK("no error");
    } catch (const ups::Error& e) {
      CHECK(std::string(e.what()) == cpu_message);
    }
    UPS_TEST_CUDA_CHECK(cudaDeviceSynchronize());
    UPS_TEST_CUDA_CHECK(cudaGetLastError());
  }
}

// ---- pixel_shuffle_backward / pixel_unshuffle_backward ---------------------------------------

TEST_CASE("CUDA pixel_shuffle_backward and pixel_unshuffle_backward equal the CPU backend",
          "[gpu][backward][pixel_shuffle]") {
  ups_test::CudaStream stream;
  const ups::Context cpu(ups::Device::kCPU);
  std::uint64_t seed = 300;
  for (const auto& cfg : {std::make_pair(Shape{2, 18, 5, 7}, std::int64_t(3)),
                          std::make_pair(Shape{1, 16, 8, 8}, std::int64_t(2)),
                          std::make_pair(Shape{2, 3, 4, 6, 6}, std::int64_t(2))}) {
    for (bool unshuffle : {false, true}) {
      // grad_input has the forward input's shape: cfg.first for the shuffle, its shuffled shape
      // for the unshuffle.
      const Shape gin_shape =
          unshuffle ? ups::pixel_shuffle_output_shape(cfg.first, cfg.second) : cfg.first;
      const Shape gout_shape = unshuffle ? ups::pixel_unshuffle_output_shape(gin_shape, cfg.second)
                                         : ups::pixel_shuffle_output_shape(gin_shape, cfg.second);
      for (DType dt : kAllTypes) {
        HostTensor g(dt, gout_shape), want(dt, gin_shape);
        ups_test::fill_random(g, ++seed, -3, 3);
        if (unshuffle) {
          ups::pixel_unshuffle_backward(cpu, g.view(), want.view(), cfg.second);
        } else {
          ups::pixel_shuffle_backward(cpu, g.view(), want.view(), cfg.second);
        }
        for (Layout l : {Layout::kContiguous, Layout::kChannelsLast}) {
          INFO(ups::shape_to_string(gin_shape)
               << " unshuffle " << unshuffle << " " << ups::to_string(dt) << " "
               << ups_test::to_string(l));
          const ups::Context gpu(ups::Device::kCUDA, stream.get());
          GuardedDeviceTensor dg(dt, gout_shape, l, stream.get());
          GuardedDeviceTensor dgin(dt, gin_shape, l, stream.get());
          dg.upload(g.to_layout(l));
          dgin.fill(0xFF);
          if (unshuffle) {
            ups::pixel_unshuffle_backward(gpu, dg.view(), dgin.view(), cfg.second);
          } else {
            ups::pixel_shuffle_backward(gpu, dg.view(), dgin.view(), cfg.second);
          }
          CHECK(ups_test::compare_bitwise(dgin.download(), want) == "");
          CHECK(dgin.check_guards() == "");
        }
      }
    }
  }
}

}  // namespace
