// ups::resize on the CPU against ONNX Resize goldens (tests/golden/onnx_resize.txt, from ONNX's
// reference implementation and, where it departs from the specification, the specification;
// see resize_golden.hpp for the tolerances). Every case runs with 1 and 2 threads on contiguous
// operands, on channels-last operands (ranks 3 to 5), and on strided views with gaps between
// elements, whose gaps must stay untouched.
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "resize_golden.hpp"
#include "test_support.hpp"
#include "ups/context.hpp"
#include "ups/resize.hpp"

namespace {

using resize_golden::Case;
using ups_test::HostTensor;
using ups_test::Layout;

const std::vector<Case>& cases() {
  static const std::vector<Case> all = resize_golden::load_cases();
  return all;
}

// A value no case produces (exact in every dtype), to see which output elements were written.
double sentinel(ups::DType dtype) {
  return dtype == ups::DType::kU8 ? 77.0 : -1000.0;
}

std::string run_layout(const Case& c, Layout layout, int threads) {
  HostTensor src(c.dtype, c.in_shape, layout);
  for (std::int64_t i = 0; i < src.numel(); ++i)
    src.set(i, c.in[static_cast<std::size_t>(i)]);
  HostTensor dst(c.dtype, c.out_shape, layout);
  for (std::int64_t i = 0; i < dst.numel(); ++i)
    dst.set(i, sentinel(c.dtype));
  ups::Context ctx(ups::Device::kCPU);
  ctx.set_num_threads(threads);
  ups::resize(ctx, src.view(), dst.view(), c.options);
  std::vector<double> got(static_cast<std::size_t>(dst.numel()));
  for (std::int64_t i = 0; i < dst.numel(); ++i)
    got[static_cast<std::size_t>(i)] = dst.get(i);
  return resize_golden::compare(c, got);
}

std::string run_strided(const Case& c, int threads) {
  if (c.in_shape.empty()) return "";
  resize_golden::Strided src = resize_golden::make_strided(c.dtype, c.in_shape, 2);
  resize_golden::Strided dst = resize_golden::make_strided(c.dtype, c.out_shape, 3);
  const std::int64_t n_in = resize_golden::numel(c.in_shape);
  for (std::int64_t i = 0; i < src.storage.numel(); ++i)
    src.storage.set(i, sentinel(c.dtype));
  for (std::int64_t i = 0; i < n_in; ++i)
    src.storage.set(resize_golden::offset_of(src.view, i), c.in[static_cast<std::size_t>(i)]);
  for (std::int64_t i = 0; i < dst.storage.numel(); ++i)
    dst.storage.set(i, sentinel(c.dtype));
  ups::Context ctx(ups::Device::kCPU);
  ctx.set_num_threads(threads);
  ups::resize(ctx, src.view, dst.view, c.options);
  const std::int64_t n_out = resize_golden::numel(c.out_shape);
  std::vector<double> got(static_cast<std::size_t>(n_out));
  std::vector<char> in_view(static_cast<std::size_t>(dst.storage.numel()), 0);
  for (std::int64_t i = 0; i < n_out; ++i) {
    const std::int64_t off = resize_golden::offset_of(dst.view, i);
    in_view[static_cast<std::size_t>(off)] = 1;
    got[static_cast<std::size_t>(i)] = dst.storage.get(off);
  }
  for (std::int64_t i = 0; i < dst.storage.numel(); ++i) {
    if (!in_view[static_cast<std::size_t>(i)] && dst.storage.get(i) != sentinel(c.dtype))
      return "wrote element " + std::to_string(i) + " outside the strided output view";
  }
  return resize_golden::compare(c, got);
}

}  // namespace

TEST_CASE("resize goldens load and cover the options", "[resize][golden]") {
  const auto& all = cases();
  REQUIRE(all.size() > 500);
  int modes[3] = {}, coords[6] = {}, spec = 0, aa = 0, excl = 0, axes = 0, policy = 0;
  for (const Case& c : all) {
    ++modes[static_cast<int>(c.options.mode)];
    ++coords[static_cast<int>(c.options.coordinate_mode)];
    spec += c.from_spec;
    aa += c.options.antialias;
    excl += c.options.exclude_outside;
    axes += !c.options.axes.empty();
    policy += c.options.keep_aspect_ratio_policy != ups::AspectRatioPolicy::kStretch;
    // The recorded output shape is the library's.
    INFO(c.id);
    CHECK(ups::resize_output_shape(c.in_shape, c.options) == c.out_shape);
    CHECK(static_cast<std::int64_t>(c.out.size()) == resize_golden::numel(c.out_shape));
  }
  for (int m : modes)
    CHECK(m > 50);
  for (int n : coords)
    CHECK(n > 30);
  CHECK(spec > 0);
  CHECK(aa > 50);
  CHECK(excl > 50);
  CHECK(axes > 20);
  CHECK(policy > 10);
}

TEST_CASE("resize on the CPU matches the ONNX goldens", "[resize][golden]") {
  for (const Case& c : cases()) {
    INFO(c.header);
    for (int threads : {1, 2}) {
      INFO("threads " << threads);
      CHECK(run_layout(c, Layout::kContiguous, threads) == "");
      if (c.in_shape.size() >= 3) CHECK(run_layout(c, Layout::kChannelsLast, threads) == "");
      CHECK(run_strided(c, threads) == "");
    }
  }
}

TEST_CASE("the resize golden comparison can fail", "[resize][golden]") {
  // A perturbed expected value, and an output from other options, must be reported.
  const Case* linear = nullptr;
  for (const Case& c : cases()) {
    if (c.options.mode == ups::ResizeMode::kLinear && c.dtype == ups::DType::kF32 &&
        c.out.size() > 4) {
      linear = &c;
      break;
    }
  }
  REQUIRE(linear != nullptr);
  Case perturbed = *linear;
  perturbed.out[2] += 1e-3;
  CHECK(run_layout(perturbed, Layout::kContiguous, 1) != "");
  Case other = *linear;
  other.options.coordinate_mode = other.options.coordinate_mode == ups::CoordinateMode::kAsymmetric
                                      ? ups::CoordinateMode::kHalfPixel
                                      : ups::CoordinateMode::kAsymmetric;
  CHECK(run_layout(other, Layout::kContiguous, 1) != "");
}
