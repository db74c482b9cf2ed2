// The separable resampling engine's CUDA backend (kernels/resample/resample.cu) on the random
// plans of the CPU suite: held to the same per-element reference, and to the CPU backend (exact
// for unweighted plans). The ctest gpu:wide-index runs these cases on the 64-bit index variant.
#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "error_of.hpp"
#include "gpu_support.hpp"
#include "resample_plan.hpp"
#include "resample_support.hpp"
#include "ups/context.hpp"
#include "ups/error.hpp"

namespace {

using ups::DType;
using ups_test::ResampleCase;
using ups_test::StridedTensor;

// The tensor's whole memory image (gaps included) on the device.
struct DeviceImage {
  ups_test::DeviceBuffer buf;
  ups::TensorView v;
  DeviceImage(const StridedTensor& t, cudaStream_t stream) : buf(t.bytes.size()) {
    ups_test::upload_bytes(buf.get(), t.bytes.data(), t.bytes.size(), stream);
    v = t.view();
    v.data = buf.get();
    v.device = ups::Device::kCUDA;
  }
  void download(StridedTensor& t, cudaStream_t stream) const {
    ups_test::download_bytes(t.bytes.data(), buf.get(), t.bytes.size(), stream);
  }
};

// Runs the case on CUDA (with a caller workspace of the reported size when `workspace`), checks
// it against the reference and the gaps against the original bytes, and returns the result.
StridedTensor run_cuda(const ResampleCase& c, bool workspace) {
  ups_test::CudaStream stream;
  ups::Context ctx(ups::Device::kCUDA, stream.get());
  const std::size_t need = ups::detail::resample_cuda_workspace(c.plan);
  ups_test::DeviceBuffer ws(need);
  if (workspace && need > 0) ctx.set_workspace(ws.get(), need);
  DeviceImage src(c.src, stream.get()), dst(c.dst, stream.get());
  ups::detail::resample_cuda(ctx, c.plan, src.v, dst.v);
  StridedTensor out = c.dst;
  dst.download(out, stream.get());
  INFO(c.what);
  CHECK(ups_test::check_resample(c, out, ups_test::resample_reference(c.plan, c.src)) == "");
  std::vector<unsigned char> is_element(c.dst.bytes.size(), 0);
  const std::size_t es = ups::dtype_size(c.plan.dtype);
  for (std::int64_t i = 0; i < c.dst.numel; ++i)
    for (std::size_t b = 0; b < es; ++b)
      is_element[static_cast<std::size_t>(c.dst.offset(i)) * es + b] = 1;
  std::size_t changed = 0;
  for (std::size_t b = 0; b < is_element.size(); ++b)
    changed += !is_element[b] && out.bytes[b] != c.dst.bytes[b];
  CHECK(changed == 0);
  return out;
}

}  // namespace

TEST_CASE("CUDA resample matches the reference on random weighted plans", "[gpu][resample]") {
  const DType dtype = GENERATE(DType::kF32, DType::kF64, DType::kF16, DType::kBF16);
  std::mt19937_64 rng(0x5e5a3b1e + static_cast<unsigned>(dtype));
  for (int i = 0; i < 120; ++i)
    run_cuda(ups_test::random_case(rng, dtype, true, i % 6 == 5), i % 2 == 0);
}

TEST_CASE("CUDA resample copies as the CPU backend does for unweighted plans", "[gpu][resample]") {
  const DType dtype = GENERATE(DType::kU8, DType::kF32, DType::kF64, DType::kF16, DType::kBF16);
  std::mt19937_64 rng(0x0c0b1e5 + static_cast<unsigned>(dtype));
  for (int i = 0; i < 80; ++i) {
    const ResampleCase c = ups_test::random_case(rng, dtype, false, i % 6 == 5);
    const StridedTensor gpu = run_cuda(c, i % 2 == 0);
    StridedTensor cpu = c.dst;
    ups::detail::resample_cpu(c.plan, c.src.view(), cpu.view(), 2);
    INFO(c.what);
    CHECK(gpu.bytes == cpu.bytes);
  }
}

TEST_CASE("CUDA resample reports a workspace that is too small", "[gpu][resample]") {
  std::mt19937_64 rng(3);
  ResampleCase c = ups_test::random_case(rng, DType::kF32, true);
  while (ups::detail::resample_cuda_workspace(c.plan) == 0)
    c = ups_test::random_case(rng, DType::kF32, true);
  ups_test::CudaStream stream;
  ups::Context ctx(ups::Device::kCUDA, stream.get());
  ups_test::DeviceBuffer ws(64);
  ctx.set_workspace(ws.get(), 64);
  DeviceImage src(c.src, stream.get()), dst(c.dst, stream.get());
  const ups::Error e =
      ups_test::error_of([&] { ups::detail::resample_cuda(ctx, c.plan, src.v, dst.v); });
  CHECK(e.code() == ups::ErrorCode::kOutOfMemory);
  CHECK_THAT(e.what(), Catch::Contains("resample_cuda_workspace"));
}
