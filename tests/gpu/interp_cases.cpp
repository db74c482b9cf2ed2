#include "interp_cases.hpp"

#include <optional>

namespace ups_test {

using ups::DType;
using ups::InterpMode;
using ups::Shape;

namespace {

// How the output size is asked for.
struct SizeSpec {
  Shape in_spatial;
  std::vector<std::int64_t> size;
  std::vector<double> scale;
  bool recompute = false;
};

Shape doubled(const Shape& s) {
  Shape out;
  for (std::int64_t v : s)
    out.push_back(2 * v);
  return out;
}

// Values for k = 1, 2, 3 spatial dims.
Shape pick_shape(int k, const Shape& one, const Shape& two, const Shape& three) {
  return k == 1 ? one : (k == 2 ? two : three);
}
std::vector<double> pick_scale(int k, const std::vector<double>& one,
                               const std::vector<double>& two, const std::vector<double>& three) {
  return k == 1 ? one : (k == 2 ? two : three);
}

std::vector<SizeSpec> size_specs(int k) {
  const Shape base = pick_shape(k, {11}, {7, 10}, {5, 4, 6});
  const Shape big = pick_shape(k, {13}, {13, 11}, {9, 7, 8});
  std::vector<SizeSpec> s;
  s.push_back({base, doubled(base), {}});  // integer upscale by size
  s.push_back({base, {}, {3.0}});          // integer scale factor
  s.push_back({base, {}, {1.7}});          // fractional scale factor
  s.push_back({base, {}, pick_scale(k, {2.25}, {1.5, 2.25}, {1.5, 2.25, 0.75})});  // per dim
  s.push_back({base, {}, {1.7}, true});  // recomputed scale
  // 2.05: nearest's out == 2 * in shortcut gives other indices than the general formula.
  s.push_back({pick_shape(k, {20}, {20, 9}, {10, 4, 7}), {}, {2.05}});
  s.push_back({big, {}, {0.6}});  // downscale by a scale factor
  s.push_back({base, {}, {0.5}});
  s.push_back({big, pick_shape(k, {5}, {5, 4}, {4, 3, 5}), {}});  // downscale by size
  s.push_back({pick_shape(k, {37}, {37, 29}, {17, 13, 11}),
               pick_shape(k, {5}, {5, 8}, {4, 3, 5}),
               {}});  // large downscale (wide anti-aliasing and area windows)
  s.push_back({pick_shape(k, {7}, {7, 5}, {7, 5, 3}),
               pick_shape(k, {11}, {11, 3}, {3, 11, 4}),
               {}});  // odd sizes, up in one dim and down in another
  // A 2-D output with H + W > 128 takes the bodies that follow PyTorch's generic CPU kernel
  // (nearest without the 1x/2x shortcuts, bilinear with weights stored in the element type).
  s.push_back({pick_shape(k, {37}, {37, 29}, {9, 7, 8}),
               pick_shape(k, {150}, {100, 61}, {20, 15, 18}),
               {}});
  s.push_back({base, base, {}});  // same size: a copy
  s.push_back({pick_shape(k, {1}, {1, 6}, {1, 6, 1}),
               pick_shape(k, {4}, {4, 1}, {4, 1, 3}),
               {}});  // unit input and output dims (align_corners scale 0)
  return s;
}

const Layout kLayoutPairs[][2] = {
    {Layout::kContiguous, Layout::kContiguous},
    {Layout::kChannelsLast, Layout::kChannelsLast},
    {Layout::kContiguous, Layout::kChannelsLast},
    {Layout::kChannelsLast, Layout::kContiguous},
};

// Appends one case per dtype x align_corners x antialias x layout pair.
void add_combinations(std::vector<InterpCase>& out, InterpMode mode, const Shape& in_shape,
                      const SizeSpec& spec, std::uint64_t& seed) {
  const ups::InterpModeTraits& traits = ups::interp_mode_traits(mode);
  const std::vector<std::optional<bool>> aligns =
      traits.align_corners ? std::vector<std::optional<bool>>{false, true}
                           : std::vector<std::optional<bool>>{std::nullopt};
  const std::vector<bool> aas = traits.antialias && in_shape.size() == 4
                                    ? std::vector<bool>{false, true}
                                    : std::vector<bool>{false};
  for (DType dtype : dtypes_for(mode)) {
    for (const auto& align : aligns) {
      for (bool aa : aas) {
        for (const auto& layouts : kLayoutPairs) {
          InterpCase c;
          c.in_shape = in_shape;
          c.dtype = dtype;
          c.options.mode = mode;
          c.options.size = spec.size;
          c.options.scale_factor = spec.scale;
          c.options.recompute_scale_factor = spec.recompute;
          c.options.align_corners = align;
          c.options.antialias = aa;
          c.in_layout = layouts[0];
          c.out_layout = layouts[1];
          c.seed = seed++;
          out.push_back(c);
        }
      }
    }
  }
}

}  // namespace

std::vector<DType> dtypes_for(InterpMode mode) {
  const ups::InterpModeTraits& traits = ups::interp_mode_traits(mode);
  std::vector<DType> out;
  for (DType d : {DType::kF32, DType::kF64, DType::kF16, DType::kBF16, DType::kU8, DType::kI32,
                  DType::kI64}) {
    if (traits.supports(d)) out.push_back(d);
  }
  return out;
}

std::vector<InterpCase> sweep_cases(InterpMode mode, std::int64_t n, std::int64_t c,
                                    std::uint64_t first_seed) {
  const ups::InterpModeTraits& traits = ups::interp_mode_traits(mode);
  std::vector<InterpCase> out;
  std::uint64_t seed = first_seed;
  for (int rank = traits.min_rank; rank <= traits.max_rank; ++rank) {
    for (const SizeSpec& spec : size_specs(rank - 2)) {
      Shape in_shape = {n, c};
      in_shape.insert(in_shape.end(), spec.in_spatial.begin(), spec.in_spatial.end());
      add_combinations(out, mode, in_shape, spec, seed);
    }
  }
  return out;
}

std::vector<InterpCase> batch_cases(std::uint64_t first_seed) {
  struct Item {
    InterpMode mode;
    Shape in;
    std::vector<std::int64_t> size;
  };
  const std::vector<Item> items = {
      {InterpMode::kNearest, {8, 256, 4, 4}, {8, 8}},
      {InterpMode::kNearest, {8, 256, 5, 3}, {3, 7}},
      {InterpMode::kNearestExact, {8, 256, 4, 4}, {8, 8}},
      {InterpMode::kNearestExact, {8, 256, 5, 3}, {3, 7}},
      {InterpMode::kLinear, {8, 256, 4}, {8}},
      {InterpMode::kLinear, {8, 256, 5}, {3}},
      {InterpMode::kBilinear, {8, 256, 4, 4}, {8, 8}},
      {InterpMode::kBilinear, {8, 256, 5, 3}, {3, 7}},
      {InterpMode::kBicubic, {8, 256, 4, 4}, {8, 8}},
      {InterpMode::kBicubic, {8, 256, 5, 3}, {3, 7}},
      {InterpMode::kTrilinear, {8, 256, 4, 4, 4}, {8, 8, 8}},
      {InterpMode::kTrilinear, {8, 256, 3, 5, 3}, {2, 7, 5}},
      {InterpMode::kArea, {8, 256, 4, 4}, {8, 8}},
      {InterpMode::kArea, {8, 256, 5, 3}, {3, 7}},
      {InterpMode::kArea, {8, 256, 3, 5, 4}, {2, 3, 3}},
  };
  std::vector<InterpCase> out;
  std::uint64_t seed = first_seed;
  for (const Item& it : items)
    add_combinations(out, it.mode, it.in, {{}, it.size, {}}, seed);
  return out;
}

}  // namespace ups_test
