// ups::resize on CUDA against the ONNX Resize goldens the CPU suite runs
// (tests/golden/onnx_resize.txt; tolerances in tests/cpu/resize_golden.hpp): contiguous and
// channels-last operands with guard regions, strided views whose gaps must stay untouched, with
// a caller workspace of resize_workspace_size() bytes and from the stream-ordered pool. Nearest
// results must equal the CPU backend's bit for bit.
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "../cpu/resize_golden.hpp"
#include "gpu_support.hpp"
#include "test_support.hpp"
#include "ups/context.hpp"
#include "ups/error.hpp"
#include "ups/resize.hpp"

namespace {

using resize_golden::Case;
using ups_test::GuardedDeviceTensor;
using ups_test::HostTensor;
using ups_test::Layout;

const std::vector<Case>& cases() {
  static const std::vector<Case> all = resize_golden::load_cases();
  return all;
}

HostTensor input_of(const Case& c, Layout layout) {
  HostTensor t(c.dtype, c.in_shape, layout);
  for (std::int64_t i = 0; i < t.numel(); ++i)
    t.set(i, c.in[static_cast<std::size_t>(i)]);
  return t;
}

std::vector<double> values_of(const HostTensor& t) {
  std::vector<double> v(static_cast<std::size_t>(t.numel()));
  for (std::int64_t i = 0; i < t.numel(); ++i)
    v[static_cast<std::size_t>(i)] = t.get(i);
  return v;
}

// Runs a case on CUDA with guarded operands of `layout`; "" when the result matches the golden,
// the guards are intact and (nearest) the CPU backend gives the same bits.
std::string run_guarded(const Case& c, Layout layout, bool workspace, cudaStream_t stream) {
  ups::Context ctx(ups::Device::kCUDA, stream);
  const std::size_t need = ups::resize_workspace_size(ctx, c.in_shape, c.dtype, c.options);
  ups_test::DeviceBuffer ws(need);
  if (workspace && need > 0) ctx.set_workspace(ws.get(), need);
  const HostTensor host_in = input_of(c, layout);
  GuardedDeviceTensor src(c.dtype, c.in_shape, layout, stream);
  GuardedDeviceTensor dst(c.dtype, c.out_shape, layout, stream);
  src.upload(host_in);
  dst.fill(0xFF);
  ups::resize(ctx, src.view(), dst.view(), c.options);
  const HostTensor got = dst.download();
  std::string err = resize_golden::compare(c, values_of(got));
  const std::string guards = dst.check_guards();
  if (!guards.empty()) err += " guards: " + guards;
  if (err.empty() && c.options.mode == ups::ResizeMode::kNearest) {
    HostTensor cpu(c.dtype, c.out_shape, layout);
    ups::resize(ups::Context(ups::Device::kCPU), host_in.view(), cpu.view(), c.options);
    err = ups_test::compare_bitwise(got, cpu);
  }
  return err;
}

// The same on views with gaps (resize_golden::make_strided): the whole memory image goes to the
// device, and every byte outside the output view must come back unchanged.
std::string run_strided(const Case& c, cudaStream_t stream) {
  resize_golden::Strided src = resize_golden::make_strided(c.dtype, c.in_shape, 2);
  resize_golden::Strided dst = resize_golden::make_strided(c.dtype, c.out_shape, 3);
  const std::int64_t n_in = resize_golden::numel(c.in_shape);
  for (std::int64_t i = 0; i < src.storage.numel(); ++i)
    src.storage.set(i, -1000.0);
  for (std::int64_t i = 0; i < n_in; ++i)
    src.storage.set(resize_golden::offset_of(src.view, i), c.in[static_cast<std::size_t>(i)]);
  for (std::int64_t i = 0; i < dst.storage.numel(); ++i)
    dst.storage.set(i, c.dtype == ups::DType::kU8 ? 77.0 : -1000.0);
  ups_test::DeviceBuffer dsrc(src.storage.nbytes()), ddst(dst.storage.nbytes());
  ups_test::upload_bytes(dsrc.get(), src.storage.data(), src.storage.nbytes(), stream);
  ups_test::upload_bytes(ddst.get(), dst.storage.data(), dst.storage.nbytes(), stream);
  ups::TensorView sv = src.view, dv = dst.view;
  sv.data = dsrc.get();
  dv.data = ddst.get();
  sv.device = dv.device = ups::Device::kCUDA;
  ups::resize(ups::Context(ups::Device::kCUDA, stream), sv, dv, c.options);
  HostTensor back = dst.storage;
  ups_test::download_bytes(back.data(), ddst.get(), back.nbytes(), stream);
  const std::int64_t n_out = resize_golden::numel(c.out_shape);
  std::vector<double> got(static_cast<std::size_t>(n_out));
  std::vector<char> in_view(static_cast<std::size_t>(back.numel()), 0);
  for (std::int64_t i = 0; i < n_out; ++i) {
    const std::int64_t off = resize_golden::offset_of(dst.view, i);
    in_view[static_cast<std::size_t>(off)] = 1;
    got[static_cast<std::size_t>(i)] = back.get(off);
  }
  for (std::int64_t i = 0; i < back.numel(); ++i) {
    if (!in_view[static_cast<std::size_t>(i)] && back.get(i) != dst.storage.get(i))
      return "wrote element " + std::to_string(i) + " outside the strided output view";
  }
  return resize_golden::compare(c, got);
}

}  // namespace

TEST_CASE("CUDA resize matches the ONNX goldens", "[gpu][resize]") {
  ups_test::CudaStream stream;
  int n = 0;
  for (const Case& c : cases()) {
    INFO(c.header);
    ++n;
    CHECK(run_guarded(c, Layout::kContiguous, n % 2 == 0, stream.get()) == "");
    if (c.in_shape.size() >= 3)
      CHECK(run_guarded(c, Layout::kChannelsLast, n % 2 == 1, stream.get()) == "");
    CHECK(run_strided(c, stream.get()) == "");
  }
}

TEST_CASE("CUDA resize checks devices and reports its workspace", "[gpu][resize]") {
  ups_test::CudaStream stream;
  const ups::Context gpu(ups::Device::kCUDA, stream.get());
  ups::ResizeOptions o;
  o.mode = ups::ResizeMode::kCubic;
  o.scales = {1.0, 1.0, 0.5, 0.5};
  o.antialias = true;
  CHECK(ups::resize_workspace_size(gpu, {1, 3, 64, 64}, ups::DType::kF32, o) > 0);
  HostTensor host(ups::DType::kF32, {1, 3, 64, 64});
  GuardedDeviceTensor dst(ups::DType::kF32, {1, 3, 32, 32}, Layout::kContiguous, stream.get());
  CHECK_THROWS_AS(ups::resize(gpu, host.view(), dst.view(), o), ups::Error);
}
