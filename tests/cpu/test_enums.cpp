// Out-of-range enum values (integers cast to DType, Device, InterpMode, ConvTransposeAlgo or
// ShuffleKernel) in every public entry point that takes them: each must be rejected with
// ups::Error(kInvalidArgument) naming the parameter and the value, before anything is written.
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "ups/ups.hpp"

using ups::ConvTransposeAlgo;
using ups::Device;
using ups::DType;
using ups::ErrorCode;
using ups::InterpMode;
using ups::ShuffleKernel;
using ups::TensorView;

namespace {

// One past the last enumerator of each enum, and the largest value of its underlying type.
const std::vector<unsigned> kBadDTypes = {7, 255};
const std::vector<unsigned> kBadDevices = {3, 255};
const std::vector<unsigned> kBadModes = {static_cast<unsigned>(ups::interp_modes().size()), 200};
const std::vector<unsigned> kBadAlgos = {7, 255};
const std::vector<unsigned> kBadKernels = {2, 255};

// Checks that f throws ups::Error(kInvalidArgument) whose message contains `phrase`.
template <class F>
void check_rejected(F&& f, const std::string& phrase) {
  INFO("expected an error containing: " << phrase);
  try {
    f();
    FAIL_CHECK("no ups::Error was thrown");
  } catch (const ups::Error& e) {
    CHECK(e.code() == ErrorCode::kInvalidArgument);
    CHECK_THAT(std::string(e.what()), Catch::Contains(phrase));
  }
}

std::string message(const std::string& what, unsigned value, const char* type) {
  return what + " has the invalid value " + std::to_string(value) + ", which is not an " + type;
}

// A contiguous f32 CPU tensor filled with `fill`.
struct Buf {
  explicit Buf(const ups::Shape& sizes, float fill = 0.0f) : shape(sizes) {
    std::int64_t n = 1;
    for (std::int64_t s : shape)
      n *= s;
    data.assign(static_cast<std::size_t>(n), fill);
  }
  TensorView view() {
    return TensorView::contiguous(data.data(), DType::kF32, Device::kCPU, shape);
  }
  bool all(float v) const {
    for (float x : data) {
      if (x != v) return false;
    }
    return true;
  }
  ups::Shape shape;
  std::vector<float> data;
};

constexpr float kSentinel = 12345.0f;

}  // namespace

TEST_CASE("enums: Context rejects an invalid device", "[enums][context]") {
  for (unsigned v : kBadDevices) {
    check_rejected([&] { ups::Context ctx(static_cast<Device>(v)); },
                   message("device", v, "ups::Device"));
  }
}

TEST_CASE("enums: TensorView helpers reject invalid dtypes and devices", "[enums][tensor]") {
  float x = 0;
  for (unsigned v : kBadDTypes) {
    check_rejected(
        [&] {
          TensorView::contiguous(&x, static_cast<DType>(v), Device::kCPU, {1, 1, 1});
        },
        message("dtype", v, "ups::DType"));
    check_rejected(
        [&] {
          TensorView::channels_last(&x, static_cast<DType>(v), Device::kCPU, {1, 1, 1});
        },
        message("dtype", v, "ups::DType"));
  }
  for (unsigned v : kBadDevices) {
    check_rejected(
        [&] {
          TensorView::contiguous(&x, DType::kF32, static_cast<Device>(v), {1, 1, 1});
        },
        message("device", v, "ups::Device"));
    check_rejected(
        [&] {
          TensorView::channels_last(&x, DType::kF32, static_cast<Device>(v), {1, 1, 1});
        },
        message("device", v, "ups::Device"));
  }
}

TEST_CASE("enums: interpolate rejects an invalid mode, dtype or device", "[enums][interpolate]") {
  const ups::Context ctx(Device::kCPU);
  Buf src({1, 1, 4}, 1.0f), dst({1, 1, 8}, kSentinel);
  ups::InterpolateOptions opt;
  opt.size = {8};
  for (unsigned v : kBadModes) {
    ups::InterpolateOptions bad = opt;
    bad.mode = static_cast<InterpMode>(v);
    const std::string phrase = message("options.mode", v, "ups::InterpMode");
    check_rejected([&] { ups::interpolate_output_shape({1, 1, 4}, bad); }, phrase);
    check_rejected([&] { ups::interpolate(ctx, src.view(), dst.view(), bad); }, phrase);
  }
  for (unsigned v : kBadDTypes) {
    TensorView s = src.view(), d = dst.view();
    s.dtype = static_cast<DType>(v);
    check_rejected([&] { ups::interpolate(ctx, s, dst.view(), opt); },
                   message("src.dtype", v, "ups::DType"));
    d.dtype = static_cast<DType>(v);
    check_rejected([&] { ups::interpolate(ctx, src.view(), d, opt); },
                   message("dst.dtype", v, "ups::DType"));
  }
  for (unsigned v : kBadDevices) {
    TensorView s = src.view(), d = dst.view();
    s.device = static_cast<Device>(v);
    check_rejected([&] { ups::interpolate(ctx, s, dst.view(), opt); },
                   message("src.device", v, "ups::Device"));
    d.device = static_cast<Device>(v);
    check_rejected([&] { ups::interpolate(ctx, src.view(), d, opt); },
                   message("dst.device", v, "ups::Device"));
  }
  CHECK(dst.all(kSentinel));
  // The valid call writes: the checks above did not pass by rejecting everything.
  ups::interpolate(ctx, src.view(), dst.view(), opt);
  CHECK(dst.all(1.0f));
}

TEST_CASE("enums: conv_transpose rejects an invalid algorithm, dtype or device",
          "[enums][conv_transpose]") {
  const ups::Context ctx(Device::kCPU);
  Buf src({1, 1, 3}, 1.0f), w({1, 1, 2}, 1.0f), bias({1}, 0.5f), dst({1, 1, 4}, kSentinel);
  ups::ConvTransposeOptions opt;
  for (unsigned v : kBadAlgos) {
    ups::ConvTransposeOptions bad = opt;
    bad.algorithm = static_cast<ConvTransposeAlgo>(v);
    const std::string phrase = message("options.algorithm", v, "ups::ConvTransposeAlgo");
    check_rejected([&] { ups::conv_transpose_output_shape({1, 1, 3}, {1, 1, 2}, bad); }, phrase);
    check_rejected(
        [&] {
          const TensorView b = bias.view();
          ups::conv_transpose_workspace_size(ctx, src.view(), w.view(), &b, dst.view(), bad);
        },
        phrase);
    check_rejected(
        [&] {
          const TensorView b = bias.view();
          ups::conv_transpose(ctx, src.view(), w.view(), &b, dst.view(), bad);
        },
        phrase);
  }
  // Each tensor in turn gets a bad dtype, then a bad device, in both entry points.
  for (int which = 0; which < 4; ++which) {
    static const char* const kNames[] = {"src", "weight", "bias", "dst"};
    for (int field = 0; field < 2; ++field) {
      const std::vector<unsigned>& values = field == 0 ? kBadDTypes : kBadDevices;
      for (unsigned v : values) {
        TensorView views[4] = {src.view(), w.view(), bias.view(), dst.view()};
        if (field == 0) {
          views[which].dtype = static_cast<DType>(v);
        } else {
          views[which].device = static_cast<Device>(v);
        }
        const std::string phrase =
            field == 0 ? message(std::string(kNames[which]) + ".dtype", v, "ups::DType")
                       : message(std::string(kNames[which]) + ".device", v, "ups::Device");
        check_rejected(
            [&] {
              ups::conv_transpose_workspace_size(ctx, views[0], views[1], &views[2], views[3], opt);
            },
            phrase);
        check_rejected(
            [&] { ups::conv_transpose(ctx, views[0], views[1], &views[2], views[3], opt); },
            phrase);
      }
    }
  }
  CHECK(dst.all(kSentinel));
  const TensorView b = bias.view();
  ups::conv_transpose(ctx, src.view(), w.view(), &b, dst.view(), opt);
  CHECK(dst.data == std::vector<float>{1.5f, 2.5f, 2.5f, 1.5f});  // [1 1 1] * [1 1] + 0.5
}

TEST_CASE("enums: pixel shuffles reject an invalid kernel, dtype or device",
          "[enums][pixel_shuffle]") {
  const ups::Context ctx(Device::kCPU);
  Buf src({1, 4, 1, 1}, 1.0f), dst({1, 1, 2, 2}, kSentinel);
  Buf usrc({1, 1, 2, 2}, 1.0f), udst({1, 4, 1, 1}, kSentinel);
  for (unsigned v : kBadKernels) {
    const std::string phrase = message("kernel", v, "ups::ShuffleKernel");
    check_rejected(
        [&] { ups::pixel_shuffle(ctx, src.view(), dst.view(), 2, static_cast<ShuffleKernel>(v)); },
        phrase);
    check_rejected(
        [&] {
          ups::pixel_unshuffle(ctx, usrc.view(), udst.view(), 2, static_cast<ShuffleKernel>(v));
        },
        phrase);
  }
  for (unsigned v : kBadDTypes) {
    TensorView s = src.view();
    s.dtype = static_cast<DType>(v);
    check_rejected([&] { ups::pixel_shuffle(ctx, s, dst.view(), 2); },
                   message("src.dtype", v, "ups::DType"));
    TensorView d = udst.view();
    d.dtype = static_cast<DType>(v);
    check_rejected([&] { ups::pixel_unshuffle(ctx, usrc.view(), d, 2); },
                   message("dst.dtype", v, "ups::DType"));
  }
  for (unsigned v : kBadDevices) {
    TensorView s = src.view();
    s.device = static_cast<Device>(v);
    check_rejected([&] { ups::pixel_shuffle(ctx, s, dst.view(), 2); },
                   message("src.device", v, "ups::Device"));
  }
  CHECK(dst.all(kSentinel));
  CHECK(udst.all(kSentinel));
  ups::pixel_shuffle(ctx, src.view(), dst.view(), 2, ShuffleKernel::kGeneric);
  CHECK(dst.all(1.0f));
}

TEST_CASE("enums: max_pool and max_unpool reject invalid dtypes and devices", "[enums][pool]") {
  const ups::Context ctx(Device::kCPU);
  Buf src({1, 1, 4}, 1.0f), dst({1, 1, 2}, kSentinel);
  std::vector<std::int64_t> idx(2, -7);
  const TensorView indices =
      TensorView::contiguous(idx.data(), DType::kI64, Device::kCPU, {1, 1, 2});
  ups::MaxPoolOptions pool;
  pool.kernel_size = {2};
  for (unsigned v : kBadDTypes) {
    TensorView s = src.view();
    s.dtype = static_cast<DType>(v);
    check_rejected([&] { ups::max_pool(ctx, s, dst.view(), indices, pool); },
                   message("src.dtype", v, "ups::DType"));
    TensorView i = indices;
    i.dtype = static_cast<DType>(v);
    check_rejected([&] { ups::max_pool(ctx, src.view(), dst.view(), i, pool); },
                   message("indices.dtype", v, "ups::DType"));
  }
  for (unsigned v : kBadDevices) {
    TensorView d = dst.view();
    d.device = static_cast<Device>(v);
    check_rejected([&] { ups::max_pool(ctx, src.view(), d, indices, pool); },
                   message("dst.device", v, "ups::Device"));
  }
  CHECK(dst.all(kSentinel));
  CHECK(idx == std::vector<std::int64_t>{-7, -7});

  Buf usrc({1, 1, 2}, 1.0f), udst({1, 1, 4}, kSentinel);
  std::vector<std::int64_t> uidx = {0, 3};
  const TensorView uindices =
      TensorView::contiguous(uidx.data(), DType::kI64, Device::kCPU, {1, 1, 2});
  ups::MaxUnpoolOptions unpool;
  unpool.kernel_size = {2};
  for (unsigned v : kBadDTypes) {
    TensorView i = uindices;
    i.dtype = static_cast<DType>(v);
    check_rejected([&] { ups::max_unpool(ctx, usrc.view(), i, udst.view(), unpool); },
                   message("indices.dtype", v, "ups::DType"));
  }
  for (unsigned v : kBadDevices) {
    TensorView s = usrc.view();
    s.device = static_cast<Device>(v);
    check_rejected([&] { ups::max_unpool(ctx, s, uindices, udst.view(), unpool); },
                   message("src.device", v, "ups::Device"));
  }
  CHECK(udst.all(kSentinel));
}
