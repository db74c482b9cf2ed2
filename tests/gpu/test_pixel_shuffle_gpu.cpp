// The CUDA backend of ups::pixel_shuffle / ups::pixel_unshuffle against the CPU backend (itself
// checked against PyTorch goldens in tests/cpu), bit for bit on random bit patterns: the generic
// kernel and the 16-byte-store fast path (ShuffleKernel::kAuto) on shapes chosen so that the
// fast path applies, on shapes and alignments where it must fall back, and beyond 2^31 elements.
#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "gpu_support.hpp"
#include "test_support.hpp"
#include "ups/context.hpp"
#include "ups/error.hpp"
#include "ups/pixel_shuffle.hpp"

namespace {

using ups::DType;
using ups::Shape;
using ups::ShuffleKernel;
using ups_test::GuardedDeviceTensor;
using ups_test::HostTensor;
using ups_test::Layout;

const DType kAllTypes[] = {DType::kF32, DType::kF64, DType::kF16, DType::kBF16,
                           DType::kU8,  DType::kI32, DType::kI64};

HostTensor random_bits(DType dt, const Shape& shape, std::uint64_t seed) {
  HostTensor t(dt, shape);
  std::mt19937_64 rng(seed);
  auto* p = static_cast<unsigned char*>(t.data());
  for (std::size_t i = 0; i < t.nbytes(); ++i)
    p[i] = static_cast<unsigned char>(rng());
  return t;
}

std::string join(const std::string& a, const std::string& b) {
  if (a.empty()) return b;
  if (b.empty()) return a;
  return a + "; " + b;
}

void run(bool unshuffle, const ups::Context& ctx, const ups::TensorView& src,
         const ups::TensorView& dst, std::int64_t r, ShuffleKernel kernel) {
  if (unshuffle) {
    ups::pixel_unshuffle(ctx, src, dst, r, kernel);
  } else {
    ups::pixel_shuffle(ctx, src, dst, r, kernel);
  }
}

// CPU reference (contiguous) against CUDA with both kernels, in the given layouts.
std::string shuffle_vs_cpu(bool unshuffle, DType dt, const Shape& in_shape, std::int64_t r,
                           Layout in_layout, Layout out_layout, std::uint64_t seed,
                           cudaStream_t stream) {
  const HostTensor x = random_bits(dt, in_shape, seed);
  const Shape out_shape = unshuffle ? ups::pixel_unshuffle_output_shape(in_shape, r)
                                    : ups::pixel_shuffle_output_shape(in_shape, r);
  HostTensor want(dt, out_shape);
  run(unshuffle, ups::Context(ups::Device::kCPU), x.view(), want.view(), r, ShuffleKernel::kAuto);
  const ups::Context gpu(ups::Device::kCUDA, stream);
  GuardedDeviceTensor src(dt, in_shape, in_layout, stream);
  src.upload(x.to_layout(in_layout));
  std::string err;
  for (ShuffleKernel k : {ShuffleKernel::kAuto, ShuffleKernel::kGeneric}) {
    GuardedDeviceTensor dst(dt, out_shape, out_layout, stream);
    dst.fill(0xFF);
    run(unshuffle, gpu, src.view(), dst.view(), r, k);
    const std::string e = join(ups_test::compare_bitwise(dst.download(), want), dst.check_guards());
    if (!e.empty()) err = join(err, (k == ShuffleKernel::kAuto ? "auto: " : "generic: ") + e);
  }
  return join(err, ups_test::compare_bitwise(src.download(), x));
}

TEST_CASE("CUDA pixel shuffles equal the CPU backend bit for bit", "[gpu][pixel_shuffle]") {
  ups_test::CudaStream stream;
  std::uint64_t seed = 1;
  for (bool unshuffle : {false, true}) {
    for (std::int64_t r : {1, 2, 3, 4}) {
      // Shapes where the fast path applies (the unit-stride output dim is a multiple of 16 bytes
      // for every element size in contiguous and in channels-last outputs), and odd ones where
      // it must not.
      const std::vector<Shape> shapes = unshuffle ? std::vector<Shape>{{16, 8 * r, 16 * r},
                                                                       {2, 16, 4 * r, 16 * r},
                                                                       {2, 3, 16, 8 * r, 16 * r},
                                                                       {3, 5, 3 * r, 7 * r},
                                                                       {1, 1, 1, r, r}}
                                                  : std::vector<Shape>{{16 * r * r, 8, 16},
                                                                       {2, 16 * r * r, 4, 16},
                                                                       {2, 3, 16 * r * r, 2, 16},
                                                                       {3, 5 * r * r, 3, 7},
                                                                       {1, 1, r * r, 1, 1}};
      for (const Shape& shape : shapes) {
        for (DType dt : kAllTypes) {
          for (auto lc : {std::make_pair(Layout::kContiguous, Layout::kContiguous),
                          std::make_pair(Layout::kChannelsLast, Layout::kChannelsLast),
                          std::make_pair(Layout::kContiguous, Layout::kChannelsLast),
                          std::make_pair(Layout::kChannelsLast, Layout::kContiguous)}) {
            INFO((unshuffle ? "unshuffle" : "shuffle")
                 << " r=" << r << " " << ups::shape_to_string(shape) << " " << ups::to_string(dt)
                 << " " << ups_test::to_string(lc.first) << " -> "
                 << ups_test::to_string(lc.second));
            CHECK(shuffle_vs_cpu(unshuffle, dt, shape, r, lc.first, lc.second, ++seed,
                                 stream.get()) == "");
          }
        }
      }
    }
  }
}

TEST_CASE("CUDA pixel shuffle fast path falls back on a misaligned output",
          "[gpu][pixel_shuffle][memcheck]") {
  // The output starts one element past a 256-byte-aligned address: every 16-byte store would be
  // misaligned, so the op must use the generic kernel and still be exact.
  ups_test::CudaStream stream;
  for (DType dt : kAllTypes) {
    INFO(ups::to_string(dt));
    const Shape in_shape{2, 16, 8, 16}, out_shape{2, 4, 16, 32};
    const HostTensor x = random_bits(dt, in_shape, 77);
    HostTensor want(dt, out_shape);
    ups::pixel_shuffle(ups::Context(ups::Device::kCPU), x.view(), want.view(), 2);
    GuardedDeviceTensor src(dt, in_shape, Layout::kContiguous, stream.get());
    src.upload(x);
    const std::size_t es = ups::dtype_size(dt);
    ups_test::DeviceBuffer buf((want.numel() + 1) * es);
    const auto dst = ups::TensorView::contiguous(buf.as<unsigned char>() + es, dt,
                                                 ups::Device::kCUDA, out_shape);
    ups::pixel_shuffle(ups::Context(ups::Device::kCUDA, stream.get()), src.view(), dst, 2);
    HostTensor got(dt, out_shape);
    ups_test::download_bytes(got.data(), dst.data, got.nbytes(), stream.get());
    CHECK(ups_test::compare_bitwise(got, want) == "");
  }
}

TEST_CASE("CUDA pixel shuffle beyond 2^31 elements", "[gpu][pixel_shuffle][large]") {
  // u8 (1, 4, 2^15, 2^15 + 16) -> (1, 1, 2^16, 2^16 + 32): 2^32 + 2^21 elements. The input byte
  // at position p is (p * 2654435761) >> 24 (mod 256), so that samples of the output can be
  // checked against the index map on the host.
  const std::int64_t H = std::int64_t(1) << 15, W = (std::int64_t(1) << 15) + 16;
  const Shape in_shape{1, 4, H, W}, out_shape{1, 1, 2 * H, 2 * W};
  const std::int64_t n = 4 * H * W;
  const std::size_t bytes = static_cast<std::size_t>(n);
  if (ups_test::device_memory_info().first < 2 * bytes + (std::size_t(1) << 30)) {
    WARN("not enough device memory for the > 2^32-element pixel shuffle test; skipped");
    return;
  }
  auto value = [](std::int64_t p) {
    return static_cast<unsigned char>((static_cast<std::uint64_t>(p) * 2654435761u) >> 24);
  };
  std::vector<unsigned char> host(bytes);
  for (std::int64_t p = 0; p < n; ++p)
    host[static_cast<std::size_t>(p)] = value(p);
  ups_test::CudaStream stream;
  ups_test::DeviceBuffer in(bytes), out(bytes);
  ups_test::upload_bytes(in.get(), host.data(), bytes, stream.get());
  const auto src = ups::TensorView::contiguous(in.get(), DType::kU8, ups::Device::kCUDA, in_shape);
  const auto dst =
      ups::TensorView::contiguous(out.get(), DType::kU8, ups::Device::kCUDA, out_shape);
  for (ShuffleKernel k : {ShuffleKernel::kAuto, ShuffleKernel::kGeneric}) {
    UPS_TEST_CUDA_CHECK(cudaMemsetAsync(out.get(), 0, bytes, stream.get()));
    ups::pixel_shuffle(ups::Context(ups::Device::kCUDA, stream.get()), src, dst, 2, k);
    std::mt19937_64 rng(3);
    for (int s = 0; s < 2000; ++s) {
      // Output (oh, ow) <- input channel (oh % 2) * 2 + ow % 2 at (oh / 2, ow / 2).
      const std::int64_t oh = static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(2 * H));
      const std::int64_t ow =
          s == 0 ? 2 * W - 1 : static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(2 * W));
      const std::int64_t ip = (((oh % 2) * 2 + ow % 2) * H + oh / 2) * W + ow / 2;
      unsigned char got = 0;
      ups_test::download_bytes(&got, out.as<unsigned char>() + oh * 2 * W + ow, 1, stream.get());
      INFO("kernel " << (k == ShuffleKernel::kAuto ? "auto" : "generic") << " oh " << oh << " ow "
                     << ow);
      REQUIRE(static_cast<int>(got) == static_cast<int>(value(ip)));
    }
  }
}

}  // namespace
