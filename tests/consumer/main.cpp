// Uses the installed library through its public header only: a small bilinear resize on the
// CPU, the version, and an error thrown across the library boundary.
#include <ups/ups.hpp>

#include <cstdio>
#include <string>

namespace {

int failures = 0;

void expect(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "FAILED: %s\n", what);
    ++failures;
  }
}

}  // namespace

int main() {
  try {
    // 2x2 -> 3x3 with align_corners samples at 0, 1/2 and 1 along each dim: the output of
    // 1 + 2 h + w is 1 + h' + w' / 2 for h', w' in 0..2.
    float src[4] = {1, 2, 3, 4};
    float dst[9] = {};
    const ups::Context ctx(ups::Device::kCPU);
    ups::InterpolateOptions options;
    options.mode = ups::InterpMode::kBilinear;
    options.size = {3, 3};
    options.align_corners = true;
    const auto in =
        ups::TensorView::contiguous(src, ups::DType::kF32, ups::Device::kCPU, {1, 1, 2, 2});
    const auto out =
        ups::TensorView::contiguous(dst, ups::DType::kF32, ups::Device::kCPU, {1, 1, 3, 3});
    expect(ups::interpolate_output_shape(in.shape(), options) == ups::Shape({1, 1, 3, 3}),
           "output shape");
    ups::interpolate(ctx, in, out, options);
    for (int h = 0; h < 3; ++h) {
      for (int w = 0; w < 3; ++w) {
        const float want = 1.0f + static_cast<float>(h) + 0.5f * static_cast<float>(w);
        if (dst[h * 3 + w] != want) {
          std::fprintf(stderr, "dst[%d][%d] = %g, expected %g\n", h, w, dst[h * 3 + w], want);
          ++failures;
        }
      }
    }

    expect(ups::build_info().version == UPS_VERSION_STRING, "library and header versions agree");

    // An ups::Error thrown inside the library is caught here by type.
    options.align_corners.reset();
    options.mode = ups::InterpMode::kNearest;
    options.scale_factor = {2.0};
    bool caught = false;
    try {
      ups::interpolate(ctx, in, out, options);
    } catch (const ups::Error& e) {
      caught = e.code() == ups::ErrorCode::kInvalidArgument &&
               std::string(e.what()).find("only one of size or scale_factor") != std::string::npos;
    }
    expect(caught, "ups::Error with kInvalidArgument for size and scale_factor together");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "unexpected exception: %s\n", e.what());
    return 1;
  }
  if (failures != 0) return 1;
  std::printf("ups %s consumer: ok\n", UPS_VERSION_STRING);
  return 0;
}
