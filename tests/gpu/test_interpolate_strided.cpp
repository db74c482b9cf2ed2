// The CUDA backend on non-dense views: input and output with padded strides, in NCHW order and
// in channels-last order. The gaps between elements lie inside the allocation and hold a
// sentinel, so a write that strays outside the output's elements (but stays inside its
// allocation) is caught, not only writes past either end.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "gpu_compare.hpp"
#include "gpu_support.hpp"
#include "test_support.hpp"
#include "ups/interpolate.hpp"

namespace {

using ups::DType;
using ups::InterpMode;
using ups::Shape;
using ups_test::HostTensor;

// A device tensor with strides of our choosing: dims laid out in `order` (innermost first),
// the innermost with stride `inner`, each next one with stride (previous extent + pad).
class PaddedDeviceTensor {
 public:
  static constexpr std::size_t kGuardBytes = ups_test::GuardedDeviceTensor::kGuardBytes;
  static constexpr unsigned char kSentinel = ups_test::GuardedDeviceTensor::kSentinel;

  PaddedDeviceTensor(DType dtype, const Shape& sizes, const std::vector<int>& order,
                     std::int64_t inner, std::int64_t pad, cudaStream_t stream)
      : dtype_(dtype), sizes_(sizes), strides_(sizes.size()), stream_(stream) {
    strides_[static_cast<std::size_t>(order[0])] = inner;
    for (std::size_t k = 1; k < order.size(); ++k) {
      const auto prev = static_cast<std::size_t>(order[k - 1]);
      strides_[static_cast<std::size_t>(order[k])] = strides_[prev] * sizes_[prev] + pad;
    }
    std::int64_t extent = 1;
    for (std::size_t d = 0; d < sizes_.size(); ++d)
      extent += (sizes_[d] - 1) * strides_[d];
    es_ = ups::dtype_size(dtype);
    image_bytes_ = static_cast<std::size_t>(extent) * es_;
    buffer_ = ups_test::DeviceBuffer(image_bytes_ + 2 * kGuardBytes);
    UPS_TEST_CUDA_CHECK(cudaMemsetAsync(buffer_.get(), kSentinel, buffer_.size(), stream_));
  }

  ups::TensorView view() const {
    ups::TensorView v;
    v.data = buffer_.as<unsigned char>() + kGuardBytes;
    v.dtype = dtype_;
    v.device = ups::Device::kCUDA;
    v.ndim = static_cast<int>(sizes_.size());
    for (std::size_t d = 0; d < sizes_.size(); ++d) {
      v.sizes[d] = sizes_[d];
      v.strides[d] = strides_[d];
    }
    return v;
  }

  // Scatters a contiguous host tensor into the elements; the gaps keep the sentinel.
  void upload(const HostTensor& t) {
    std::vector<unsigned char> image(image_bytes_, kSentinel);
    const auto* src = static_cast<const unsigned char*>(t.data());
    for (std::int64_t i = 0; i < t.numel(); ++i) {
      std::memcpy(image.data() + offset(i) * es_, src + static_cast<std::size_t>(i) * es_, es_);
    }
    ups_test::upload_bytes(buffer_.as<unsigned char>() + kGuardBytes, image.data(), image.size(),
                           stream_);
    UPS_TEST_CUDA_CHECK(cudaStreamSynchronize(stream_));  // `image` dies at return
  }

  // Gathers the elements into a contiguous host tensor and checks that every other byte of the
  // allocation (guards and gaps) still holds the sentinel; `err` receives what did not.
  HostTensor download(std::string& err) const {
    std::vector<unsigned char> all(buffer_.size());
    ups_test::download_bytes(all.data(), buffer_.get(), all.size(), stream_);
    HostTensor t(dtype_, sizes_);
    std::vector<bool> is_element(image_bytes_, false);
    auto* dst = static_cast<unsigned char*>(t.data());
    for (std::int64_t i = 0; i < t.numel(); ++i) {
      const std::size_t at = offset(i) * es_;
      std::memcpy(dst + static_cast<std::size_t>(i) * es_, all.data() + kGuardBytes + at, es_);
      for (std::size_t b = 0; b < es_; ++b)
        is_element[at + b] = true;
    }
    std::size_t bad = 0;
    for (std::size_t b = 0; b < all.size(); ++b) {
      const bool inside = b >= kGuardBytes && b < kGuardBytes + image_bytes_;
      if (inside && is_element[b - kGuardBytes]) continue;
      if (all[b] != kSentinel) ++bad;
    }
    if (bad > 0) err = std::to_string(bad) + " byte(s) outside the view's elements were written";
    return t;
  }

 private:
  std::size_t offset(std::int64_t logical) const {
    std::int64_t off = 0;
    for (int d = static_cast<int>(sizes_.size()) - 1; d >= 0; --d) {
      const auto ud = static_cast<std::size_t>(d);
      off += (logical % sizes_[ud]) * strides_[ud];
      logical /= sizes_[ud];
    }
    return static_cast<std::size_t>(off);
  }

  DType dtype_;
  Shape sizes_;
  std::vector<std::int64_t> strides_;
  cudaStream_t stream_;
  std::size_t es_ = 0;
  std::size_t image_bytes_ = 0;
  ups_test::DeviceBuffer buffer_;
};

// Dim orders, innermost first: NC(D)HW order and channels-last order.
std::vector<int> nchw_order(int rank) {
  std::vector<int> o;
  for (int d = rank - 1; d >= 0; --d)
    o.push_back(d);
  return o;
}
std::vector<int> channels_last_order(int rank) {
  std::vector<int> o = {1};
  for (int d = rank - 1; d >= 2; --d)
    o.push_back(d);
  o.push_back(0);
  return o;
}

}  // namespace

TEST_CASE("CUDA interpolate on padded strided views writes only the output's elements",
          "[gpu][interpolate][strided][memcheck]") {
  struct Item {
    InterpMode mode;
    DType dtype;
    Shape in;
    std::vector<std::int64_t> size;
    bool antialias;
  };
  const std::vector<Item> items = {
      {InterpMode::kNearest, DType::kU8, {2, 3, 5, 7}, {9, 4}, false},
      {InterpMode::kNearestExact, DType::kF16, {2, 3, 5, 7}, {9, 4}, false},
      {InterpMode::kLinear, DType::kF32, {2, 3, 7}, {12}, false},
      {InterpMode::kBilinear, DType::kF32, {2, 3, 5, 7}, {9, 4}, false},
      {InterpMode::kBilinear, DType::kBF16, {2, 3, 13, 11}, {4, 5}, true},
      {InterpMode::kBicubic, DType::kF64, {2, 3, 5, 7}, {9, 4}, false},
      {InterpMode::kBicubic, DType::kF16, {2, 3, 13, 11}, {4, 5}, true},
      {InterpMode::kTrilinear, DType::kF64, {2, 3, 3, 4, 5}, {5, 3, 8}, false},
      {InterpMode::kArea, DType::kF32, {2, 3, 9, 7}, {4, 3}, false},
  };
  ups_test::CudaStream stream;
  const ups::Context gpu(ups::Device::kCUDA, stream.get());
  std::uint64_t seed = 77;
  for (const Item& it : items) {
    for (bool channels_last : {false, true}) {
      const int rank = static_cast<int>(it.in.size());
      const std::vector<int> order = channels_last ? channels_last_order(rank) : nchw_order(rank);
      ups::InterpolateOptions opt;
      opt.mode = it.mode;
      opt.size = it.size;
      opt.antialias = it.antialias;
      const Shape out = ups::interpolate_output_shape(it.in, opt);
      ups_test::InterpCase c;  // for describe() and the bound
      c.in_shape = it.in;
      c.dtype = it.dtype;
      c.options = opt;
      c.seed = seed++;
      INFO(ups_test::describe(c) << (channels_last ? " padded channels-last order"
                                                   : " padded NCHW order"));

      HostTensor src(it.dtype, it.in);
      if (it.dtype == DType::kU8) {
        ups_test::fill_random(src, c.seed, 0.0, 256.0);
      } else {
        ups_test::fill_random(src, c.seed);
      }
      HostTensor want(it.dtype, out);
      ups::interpolate(ups::Context(ups::Device::kCPU), src.view(), want.view(), opt);

      // Inner strides of 3 (src) and 2 (NCHW dst) leave gaps between neighbours, pads of 5 and 3
      // between rows. The channels-last dst keeps C dense (stride 1), so the backend still
      // takes its channels-last iteration order, with gaps between pixels.
      PaddedDeviceTensor d_src(it.dtype, it.in, order, 3, 5, stream.get());
      PaddedDeviceTensor d_dst(it.dtype, out, order, channels_last ? 1 : 2, 3, stream.get());
      d_src.upload(src);
      ups::interpolate(gpu, d_src.view(), d_dst.view(), opt);
      stream.synchronize();

      std::string dst_err, src_err;
      const HostTensor got = d_dst.download(dst_err);
      const HostTensor src_after = d_src.download(src_err);
      CHECK(dst_err == "");
      CHECK(src_err == "");
      CHECK(ups_test::compare_bitwise(src_after, src) == "");
      const std::string err =
          ups_test::copies_elements(it.mode)
              ? ups_test::compare_bitwise(got, want)
              : ups_test::compare_close(got, want, ups_test::accumulation_bound(c));
      CHECK(err == "");
    }
  }
}
