// More than 2^31 output elements: every index and offset in the CUDA path must be 64-bit. The
// expected values come from integer index arithmetic written here, not from the library's math.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "gpu_support.hpp"
#include "test_support.hpp"
#include "ups/interpolate.hpp"

namespace {

using ups::DType;
using ups::InterpMode;

// u8 input (1, 16, 3900, 3900) upscaled by the integer factor 3 to (1, 16, 11700, 11700):
// 2,190,240,000 output elements (2^31 = 2,147,483,648), 2.04 GiB of output, 0.23 GiB of input.
constexpr std::int64_t kC = 16;
constexpr std::int64_t kIn = 3900;
constexpr std::int64_t kFactor = 3;
constexpr std::int64_t kOut = kIn * kFactor;
constexpr std::int64_t kInNumel = kC * kIn * kIn;
constexpr std::int64_t kOutNumel = kC * kOut * kOut;
static_assert(kOutNumel > (std::int64_t(1) << 31), "the output must exceed 2^31 elements");

// The input pattern: neighbouring rows, columns and channels all differ, so reading a wrong
// source element shows.
std::uint8_t input_value(std::int64_t c, std::int64_t h, std::int64_t w) {
  return static_cast<std::uint8_t>((h * 131 + w * 31 + c * 17) % 251);
}

// Expected output at logical (c, h, w): for an integer scale both nearest and nearest-exact pick
// source index floor(dst * in / out) (for nearest-exact floor((dst + 0.5) / 3) is the same).
std::uint8_t expected_value(std::int64_t c, std::int64_t h, std::int64_t w) {
  return input_value(c, h * kIn / kOut, w * kIn / kOut);
}

// Logical (c, h, w) of the output element stored at memory offset `off`.
struct Chw {
  std::int64_t c, h, w;
};
Chw coords_at(std::int64_t off, bool channels_last) {
  if (channels_last) return {off % kC, off / (kC * kOut), (off / kC) % kOut};
  return {off / (kOut * kOut), (off / kOut) % kOut, off % kOut};
}

// Checks the output bytes [begin, begin + n) against expected_value; returns the number of
// mismatches and records the first one in `first`.
std::int64_t check_range(const std::vector<std::uint8_t>& got, std::int64_t begin,
                         bool channels_last, std::string& first) {
  std::int64_t bad = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const std::int64_t off = begin + static_cast<std::int64_t>(i);
    const Chw p = coords_at(off, channels_last);
    const std::uint8_t want = expected_value(p.c, p.h, p.w);
    if (got[i] != want) {
      if (bad == 0) {
        first = "offset " + std::to_string(off) + " (c=" + std::to_string(p.c) +
                ", h=" + std::to_string(p.h) + ", w=" + std::to_string(p.w) + "): got " +
                std::to_string(got[i]) + ", expected " + std::to_string(want);
      }
      ++bad;
    }
  }
  return bad;
}

}  // namespace

TEST_CASE("CUDA nearest and nearest-exact beyond 2^31 output elements",
          "[gpu][interpolate][large]") {
  constexpr std::size_t kGuard = ups_test::GuardedDeviceTensor::kGuardBytes;
  constexpr unsigned char kSentinel = ups_test::GuardedDeviceTensor::kSentinel;
  const auto in_bytes = static_cast<std::size_t>(kInNumel);
  const auto out_bytes = static_cast<std::size_t>(kOutNumel);
  const std::size_t need = in_bytes + out_bytes + 2 * kGuard + (std::size_t(512) << 20);
  const auto mem = ups_test::device_memory_info();
  if (mem.first < need) {
    // Not enough free device memory: the test is not applicable here. WARN records why and the
    // test still counts as passed (it makes no assertion), so check the log on small GPUs.
    WARN("skipping: needs " << (need >> 20) << " MiB of free device memory, " << (mem.first >> 20)
                            << " MiB free");
    return;
  }

  ups_test::CudaStream stream;
  const ups::Context gpu(ups::Device::kCUDA, stream.get());

  std::vector<std::uint8_t> host_in(in_bytes);
  for (std::int64_t c = 0; c < kC; ++c) {
    for (std::int64_t h = 0; h < kIn; ++h) {
      std::uint8_t* row = host_in.data() + (c * kIn + h) * kIn;
      for (std::int64_t w = 0; w < kIn; ++w)
        row[w] = input_value(c, h, w);
    }
  }
  ups_test::DeviceBuffer d_in(in_bytes);
  ups_test::DeviceBuffer d_out(out_bytes + 2 * kGuard);
  ups_test::upload_bytes(d_in.get(), host_in.data(), in_bytes, stream.get());
  unsigned char* out_data = d_out.as<unsigned char>() + kGuard;

  const ups::TensorView src =
      ups::TensorView::contiguous(d_in.get(), DType::kU8, ups::Device::kCUDA, {1, kC, kIn, kIn});

  for (const bool channels_last : {false, true}) {
    const InterpMode mode = channels_last ? InterpMode::kNearestExact : InterpMode::kNearest;
    INFO(
        ups::to_string(mode) << (channels_last ? ", channels-last output" : ", contiguous output"));
    const ups::Shape out_shape = {1, kC, kOut, kOut};
    const ups::TensorView dst =
        channels_last
            ? ups::TensorView::channels_last(out_data, DType::kU8, ups::Device::kCUDA, out_shape)
            : ups::TensorView::contiguous(out_data, DType::kU8, ups::Device::kCUDA, out_shape);
    ups::InterpolateOptions opt;
    opt.mode = mode;
    opt.scale_factor = {static_cast<double>(kFactor)};
    REQUIRE(ups::interpolate_output_shape(src.shape(), opt) == out_shape);

    UPS_TEST_CUDA_CHECK(cudaMemsetAsync(d_out.get(), kSentinel, d_out.size(), stream.get()));
    ups::interpolate(gpu, src, dst, opt);
    stream.synchronize();
    UPS_TEST_CUDA_CHECK(cudaGetLastError());

    // Samples (by memory offset): the first 64 Ki elements, 64 Ki on each side of offset 2^31,
    // the last 64 Ki, and 512 random runs of 4 Ki anywhere.
    constexpr std::int64_t kChunk = 1 << 16;
    std::vector<std::int64_t> starts = {0, (std::int64_t(1) << 31) - kChunk,
                                        (std::int64_t(1) << 31), kOutNumel - kChunk};
    std::vector<std::int64_t> lengths(starts.size(), kChunk);
    std::mt19937_64 rng(2024);
    std::uniform_int_distribution<std::int64_t> pick(0, kOutNumel - 4096);
    for (int i = 0; i < 512; ++i) {
      starts.push_back(pick(rng));
      lengths.push_back(4096);
    }
    std::int64_t checked = 0, bad = 0;
    std::string first;
    for (std::size_t i = 0; i < starts.size(); ++i) {
      std::vector<std::uint8_t> got(static_cast<std::size_t>(lengths[i]));
      ups_test::download_bytes(got.data(), out_data + starts[i], got.size(), stream.get());
      std::string where;
      const std::int64_t b = check_range(got, starts[i], channels_last, where);
      if (b > 0 && bad == 0) first = where;
      bad += b;
      checked += lengths[i];
    }
    INFO(checked << " sampled elements, " << bad << " wrong; first: " << first);
    CHECK(bad == 0);
    CHECK(checked > 2 * 1000 * 1000);

    // Nothing written before or after the output.
    std::vector<unsigned char> guard(kGuard);
    ups_test::download_bytes(guard.data(), d_out.get(), kGuard, stream.get());
    CHECK(ups_test::check_sentinel(guard, kSentinel, "leading") == "");
    ups_test::download_bytes(guard.data(), out_data + out_bytes, kGuard, stream.get());
    CHECK(ups_test::check_sentinel(guard, kSentinel, "trailing") == "");
  }
}
