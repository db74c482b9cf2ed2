// ups._ext: the Python extension module. Every op takes its inputs and the outputs it writes as
// DLPack arrays (allocated by the caller, python/ups/_core.py), the op's options, the CUDA stream
// to run on and an optional determinism override. Shape functions let callers allocate outputs
// and let ups.torch describe outputs to torch.compile without running anything.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ups/ups.hpp"
#include "views.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace ups::python {
namespace {

using Ints = std::vector<std::int64_t>;
using Floats = std::vector<double>;
using Flag = std::optional<bool>;

// ups.Error, created at import; a ValueError, so that callers who catch PyTorch's ValueErrors for
// bad arguments catch ups's too.
PyObject* error_type = nullptr;

void translate_error(const std::exception_ptr& p, void*) {
  try {
    std::rethrow_exception(p);
  } catch (const Error& e) {
    nb::object exc = nb::borrow(error_type)(nb::str(e.what()));
    exc.attr("code") = nb::str(to_string(e.code()));
    PyErr_SetObject(error_type, exc.ptr());
  }
}

InterpolateOptions interp_options(const std::string& mode, const Ints& size,
                                  const Floats& scale_factor, Flag align_corners,
                                  bool recompute_scale_factor, bool antialias) {
  InterpolateOptions o;
  o.mode = parse_interp_mode(mode);
  o.size = size;
  o.scale_factor = scale_factor;
  o.align_corners = align_corners;
  o.recompute_scale_factor = recompute_scale_factor;
  o.antialias = antialias;
  return o;
}

ResizeOptions resize_options(const std::string& mode, const Ints& sizes, const Floats& scales,
                             const Ints& axes, const std::string& coordinate_transformation_mode,
                             const std::optional<std::string>& nearest_mode,
                             std::optional<double> cubic_coeff_a, bool exclude_outside,
                             bool antialias, const Floats& roi, double extrapolation_value,
                             const std::string& keep_aspect_ratio_policy) {
  ResizeOptions o;
  o.mode = parse_resize_mode(mode);
  o.sizes = sizes;
  o.scales = scales;
  o.axes = axes;
  o.coordinate_mode = parse_coordinate_mode(coordinate_transformation_mode);
  if (nearest_mode) o.nearest_mode = parse_nearest_mode(*nearest_mode);
  o.cubic_coeff_a = cubic_coeff_a;
  o.exclude_outside = exclude_outside;
  o.antialias = antialias;
  o.roi = roi;
  o.extrapolation_value = extrapolation_value;
  o.keep_aspect_ratio_policy = parse_aspect_ratio_policy(keep_aspect_ratio_policy);
  return o;
}

ConvTransposeOptions conv_options(const Ints& stride, const Ints& padding,
                                  const Ints& output_padding, const Ints& dilation,
                                  std::int64_t groups, const Ints& output_size,
                                  const std::string& algorithm) {
  ConvTransposeOptions o;
  o.stride = stride;
  o.padding = padding;
  o.output_padding = output_padding;
  o.dilation = dilation;
  o.groups = groups;
  o.output_size = output_size;
  o.algorithm = parse_conv_transpose_algo(algorithm);
  return o;
}

MaxPoolOptions pool_options(const Ints& kernel_size, const Ints& stride, const Ints& padding,
                            const Ints& dilation, bool ceil_mode, int spatial_dims) {
  MaxPoolOptions o;
  o.kernel_size = kernel_size;
  o.stride = stride;
  o.padding = padding;
  o.dilation = dilation;
  o.ceil_mode = ceil_mode;
  o.spatial_dims = spatial_dims;
  return o;
}

MaxUnpoolOptions unpool_options(const Ints& kernel_size, const Ints& stride, const Ints& padding,
                                const Ints& output_size, int spatial_dims) {
  MaxUnpoolOptions o;
  o.kernel_size = kernel_size;
  o.stride = stride;
  o.padding = padding;
  o.output_size = output_size;
  o.spatial_dims = spatial_dims;
  return o;
}

nb::dict build_info_dict() {
  const BuildInfo b = build_info();
  nb::dict d;
  d["version"] = b.version;
  d["has_cuda"] = b.has_cuda;
  d["has_cudnn"] = b.has_cudnn;
  d["cuda_version"] = b.cuda_version;
  d["cuda_archs"] = b.cuda_archs;
  d["cudnn_version"] = b.cudnn_version;
  d["has_onednn"] = b.has_onednn;
  d["onednn_version"] = b.onednn_version;
  d["build_type"] = b.build_type;
  return d;
}

nb::dict runtime_info_dict() {
  const RuntimeInfo r = runtime_info();
  nb::dict d;
  d["cuda_runtime_version"] = r.cuda_runtime_version;
  d["cuda_driver_version"] = r.cuda_driver_version;
  d["cudnn_version"] = r.cudnn_version;
  d["cudnn_cudart_version"] = r.cudnn_cudart_version;
  d["problems"] = r.problems;
  return d;
}

nb::list algorithms_list() {
  nb::list out;
  for (const ConvTransposeAlgoInfo& a : conv_transpose_algorithms()) {
    nb::dict d;
    d["name"] = a.name;
    d["devices"] = a.devices;
    d["determinism"] = a.determinism;
    d["available"] = a.available;
    d["description"] = a.description;
    out.append(d);
  }
  return out;
}

}  // namespace
}  // namespace ups::python

NB_MODULE(_ext, m) {
  using namespace ups;
  using namespace ups::python;

  m.doc() = "ups's C++ ops on DLPack arrays; the public API is the ups package.";
  m.attr("__version__") = UPS_VERSION_STRING;

  error_type = PyErr_NewExceptionWithDoc(
      "ups.Error",
      "Raised by every ups op for invalid arguments, shapes, dtypes or devices and for failures of "
      "the CUDA runtime or cuDNN. The message is ups's C++ message (PyTorch's words where PyTorch "
      "has them); `code` names the category (\"invalid argument\", \"shape mismatch\", ...).",
      PyExc_ValueError, nullptr);
  m.attr("Error") = nb::borrow(error_type);
  nb::register_exception_translator(translate_error);

  // ---- process-wide settings and build information ----
  m.def("set_deterministic", &ups::set_deterministic, "on"_a);
  m.def("deterministic", []() { return ups::deterministic(); });
  m.def("cuda_available", &ups::cuda_available);
  m.def("cuda_device_count", &ups::cuda_device_count);
  m.def("build_info", &build_info_dict);
  m.def("runtime_info", &runtime_info_dict);
  m.def("conv_transpose_algorithms", &algorithms_list);
  m.def("interp_modes", []() {
    std::vector<std::string> names;
    for (const InterpModeTraits& t : interp_modes())
      names.emplace_back(t.name);
    return names;
  });

  // ---- interpolate ----
  m.def(
      "interpolate_output_shape",
      [](const Ints& shape, const std::string& mode, const Ints& size, const Floats& scale_factor,
         Flag align_corners, bool recompute_scale_factor, bool antialias) {
        return interpolate_output_shape(
            shape, interp_options(mode, size, scale_factor, align_corners, recompute_scale_factor,
                                  antialias));
      },
      "shape"_a, "mode"_a, "size"_a, "scale_factor"_a, "align_corners"_a.none(),
      "recompute_scale_factor"_a, "antialias"_a);
  m.def(
      "interpolate",
      [](const InArray& src, const OutArray& dst, const std::string& mode, const Ints& size,
         const Floats& scale_factor, Flag align_corners, bool recompute_scale_factor,
         bool antialias, std::uintptr_t stream, Flag deterministic) {
        const InterpolateOptions o = interp_options(mode, size, scale_factor, align_corners,
                                                    recompute_scale_factor, antialias);
        const TensorView s = to_view(src, "input"), d = to_view(dst, "output");
        nb::gil_scoped_release release;
        interpolate(make_context(s.device, stream, deterministic), s, d, o);
      },
      "src"_a, "dst"_a, "mode"_a, "size"_a, "scale_factor"_a, "align_corners"_a.none(),
      "recompute_scale_factor"_a, "antialias"_a, "stream"_a, "deterministic"_a.none());
  m.def(
      "interpolate_backward",
      [](const InArray& grad_output, const OutArray& grad_input, const std::string& mode,
         const Ints& size, const Floats& scale_factor, Flag align_corners,
         bool recompute_scale_factor, bool antialias, std::uintptr_t stream, Flag deterministic) {
        const InterpolateOptions o = interp_options(mode, size, scale_factor, align_corners,
                                                    recompute_scale_factor, antialias);
        const TensorView g = to_view(grad_output, "grad_output");
        const TensorView gi = to_view(grad_input, "grad_input");
        nb::gil_scoped_release release;
        interpolate_backward(make_context(g.device, stream, deterministic), g, gi, o);
      },
      "grad_output"_a, "grad_input"_a, "mode"_a, "size"_a, "scale_factor"_a,
      "align_corners"_a.none(), "recompute_scale_factor"_a, "antialias"_a, "stream"_a,
      "deterministic"_a.none());

  // ---- resize (ONNX Resize) ----
  m.def(
      "resize_output_shape",
      [](const Ints& shape, const std::string& mode, const Ints& sizes, const Floats& scales,
         const Ints& axes, const std::string& coordinate_transformation_mode,
         const std::optional<std::string>& nearest_mode, std::optional<double> cubic_coeff_a,
         bool exclude_outside, bool antialias, const Floats& roi, double extrapolation_value,
         const std::string& keep_aspect_ratio_policy) {
        return resize_output_shape(
            shape, resize_options(mode, sizes, scales, axes, coordinate_transformation_mode,
                                  nearest_mode, cubic_coeff_a, exclude_outside, antialias, roi,
                                  extrapolation_value, keep_aspect_ratio_policy));
      },
      "shape"_a, "mode"_a, "sizes"_a, "scales"_a, "axes"_a, "coordinate_transformation_mode"_a,
      "nearest_mode"_a.none(), "cubic_coeff_a"_a.none(), "exclude_outside"_a, "antialias"_a,
      "roi"_a, "extrapolation_value"_a, "keep_aspect_ratio_policy"_a);
  m.def(
      "resize",
      [](const InArray& src, const OutArray& dst, const std::string& mode, const Ints& sizes,
         const Floats& scales, const Ints& axes, const std::string& coordinate_transformation_mode,
         const std::optional<std::string>& nearest_mode, std::optional<double> cubic_coeff_a,
         bool exclude_outside, bool antialias, const Floats& roi, double extrapolation_value,
         const std::string& keep_aspect_ratio_policy, std::uintptr_t stream, Flag deterministic) {
        const ResizeOptions o = resize_options(
            mode, sizes, scales, axes, coordinate_transformation_mode, nearest_mode, cubic_coeff_a,
            exclude_outside, antialias, roi, extrapolation_value, keep_aspect_ratio_policy);
        const TensorView s = to_view(src, "input"), d = to_view(dst, "output");
        nb::gil_scoped_release release;
        resize(make_context(s.device, stream, deterministic), s, d, o);
      },
      "src"_a, "dst"_a, "mode"_a, "sizes"_a, "scales"_a, "axes"_a,
      "coordinate_transformation_mode"_a, "nearest_mode"_a.none(), "cubic_coeff_a"_a.none(),
      "exclude_outside"_a, "antialias"_a, "roi"_a, "extrapolation_value"_a,
      "keep_aspect_ratio_policy"_a, "stream"_a, "deterministic"_a.none());

  // ---- conv_transpose ----
  m.def(
      "conv_transpose_output_shape",
      [](const Ints& input_shape, const Ints& weight_shape, const Ints& stride, const Ints& padding,
         const Ints& output_padding, const Ints& dilation, std::int64_t groups,
         const Ints& output_size) {
        return conv_transpose_output_shape(
            input_shape, weight_shape,
            conv_options(stride, padding, output_padding, dilation, groups, output_size, "auto"));
      },
      "input_shape"_a, "weight_shape"_a, "stride"_a, "padding"_a, "output_padding"_a, "dilation"_a,
      "groups"_a, "output_size"_a);
  m.def(
      "conv_transpose",
      [](const InArray& src, const InArray& weight, std::optional<InArray> bias,
         const OutArray& dst, const Ints& stride, const Ints& padding, const Ints& output_padding,
         const Ints& dilation, std::int64_t groups, const Ints& output_size,
         const std::string& algorithm, std::uintptr_t stream, Flag deterministic) {
        const ConvTransposeOptions o =
            conv_options(stride, padding, output_padding, dilation, groups, output_size, algorithm);
        const TensorView s = to_view(src, "input"), w = to_view(weight, "weight");
        const TensorView d = to_view(dst, "output");
        std::optional<TensorView> b;
        if (bias) b = to_view(*bias, "bias");
        ConvTransposeResult result;
        {
          nb::gil_scoped_release release;
          result = conv_transpose(make_context(s.device, stream, deterministic), s, w,
                                  b ? &*b : nullptr, d, o);
        }
        return std::string(to_string(result.algorithm));
      },
      "src"_a, "weight"_a, "bias"_a.none(), "dst"_a, "stride"_a, "padding"_a, "output_padding"_a,
      "dilation"_a, "groups"_a, "output_size"_a, "algorithm"_a, "stream"_a,
      "deterministic"_a.none());

  m.def(
      "conv_transpose_backward",
      [](const InArray& grad_output, const InArray& input, const InArray& weight,
         std::optional<OutArray> grad_input, std::optional<OutArray> grad_weight,
         std::optional<OutArray> grad_bias, const Ints& stride, const Ints& padding,
         const Ints& output_padding, const Ints& dilation, std::int64_t groups,
         const Ints& output_size, const std::string& algorithm, std::uintptr_t stream,
         Flag deterministic) {
        const ConvTransposeOptions o =
            conv_options(stride, padding, output_padding, dilation, groups, output_size, algorithm);
        const TensorView g = to_view(grad_output, "grad_output");
        const TensorView x = to_view(input, "input"), w = to_view(weight, "weight");
        std::optional<TensorView> gi, gw, gb;
        if (grad_input) gi = to_view(*grad_input, "grad_input");
        if (grad_weight) gw = to_view(*grad_weight, "grad_weight");
        if (grad_bias) gb = to_view(*grad_bias, "grad_bias");
        nb::gil_scoped_release release;
        conv_transpose_backward(make_context(g.device, stream, deterministic), g, x, w,
                                gi ? &*gi : nullptr, gw ? &*gw : nullptr, gb ? &*gb : nullptr, o);
      },
      "grad_output"_a, "input"_a, "weight"_a, "grad_input"_a.none(), "grad_weight"_a.none(),
      "grad_bias"_a.none(), "stride"_a, "padding"_a, "output_padding"_a, "dilation"_a, "groups"_a,
      "output_size"_a, "algorithm"_a, "stream"_a, "deterministic"_a.none());

  // ---- max_pool ----
  m.def(
      "max_pool_output_shape",
      [](const Ints& shape, const Ints& kernel_size, const Ints& stride, const Ints& padding,
         const Ints& dilation, bool ceil_mode, int spatial_dims) {
        return max_pool_output_shape(
            shape, pool_options(kernel_size, stride, padding, dilation, ceil_mode, spatial_dims));
      },
      "shape"_a, "kernel_size"_a, "stride"_a, "padding"_a, "dilation"_a, "ceil_mode"_a,
      "spatial_dims"_a);
  m.def(
      "max_pool",
      [](const InArray& src, const OutArray& dst, const OutArray& indices, const Ints& kernel_size,
         const Ints& stride, const Ints& padding, const Ints& dilation, bool ceil_mode,
         int spatial_dims, std::uintptr_t stream, Flag deterministic) {
        const MaxPoolOptions o =
            pool_options(kernel_size, stride, padding, dilation, ceil_mode, spatial_dims);
        const TensorView s = to_view(src, "input"), d = to_view(dst, "output");
        const TensorView i = to_view(indices, "indices");
        nb::gil_scoped_release release;
        max_pool(make_context(s.device, stream, deterministic), s, d, i, o);
      },
      "src"_a, "dst"_a, "indices"_a, "kernel_size"_a, "stride"_a, "padding"_a, "dilation"_a,
      "ceil_mode"_a, "spatial_dims"_a, "stream"_a, "deterministic"_a.none());
  m.def(
      "max_pool_backward",
      [](const InArray& grad_output, const InArray& indices, const OutArray& grad_input,
         const Ints& kernel_size, const Ints& stride, const Ints& padding, const Ints& dilation,
         bool ceil_mode, int spatial_dims, std::uintptr_t stream, Flag deterministic) {
        const MaxPoolOptions o =
            pool_options(kernel_size, stride, padding, dilation, ceil_mode, spatial_dims);
        const TensorView g = to_view(grad_output, "grad_output");
        const TensorView i = to_view(indices, "indices");
        const TensorView gi = to_view(grad_input, "grad_input");
        nb::gil_scoped_release release;
        max_pool_backward(make_context(g.device, stream, deterministic), g, i, gi, o);
      },
      "grad_output"_a, "indices"_a, "grad_input"_a, "kernel_size"_a, "stride"_a, "padding"_a,
      "dilation"_a, "ceil_mode"_a, "spatial_dims"_a, "stream"_a, "deterministic"_a.none());

  // ---- max_unpool ----
  m.def(
      "max_unpool_output_shape",
      [](const Ints& shape, const Ints& kernel_size, const Ints& stride, const Ints& padding,
         const Ints& output_size, int spatial_dims) {
        return max_unpool_output_shape(
            shape, unpool_options(kernel_size, stride, padding, output_size, spatial_dims));
      },
      "shape"_a, "kernel_size"_a, "stride"_a, "padding"_a, "output_size"_a, "spatial_dims"_a);
  m.def(
      "max_unpool",
      [](const InArray& src, const InArray& indices, const OutArray& dst, const Ints& kernel_size,
         const Ints& stride, const Ints& padding, const Ints& output_size, int spatial_dims,
         std::uintptr_t stream, Flag deterministic) {
        const MaxUnpoolOptions o =
            unpool_options(kernel_size, stride, padding, output_size, spatial_dims);
        const TensorView s = to_view(src, "input"), i = to_view(indices, "indices");
        const TensorView d = to_view(dst, "output");
        nb::gil_scoped_release release;
        max_unpool(make_context(s.device, stream, deterministic), s, i, d, o);
      },
      "src"_a, "indices"_a, "dst"_a, "kernel_size"_a, "stride"_a, "padding"_a, "output_size"_a,
      "spatial_dims"_a, "stream"_a, "deterministic"_a.none());
  m.def(
      "max_unpool_backward",
      [](const InArray& grad_output, const InArray& indices, const OutArray& grad_input,
         const Ints& kernel_size, const Ints& stride, const Ints& padding, const Ints& output_size,
         int spatial_dims, std::uintptr_t stream, Flag deterministic) {
        const MaxUnpoolOptions o =
            unpool_options(kernel_size, stride, padding, output_size, spatial_dims);
        const TensorView g = to_view(grad_output, "grad_output");
        const TensorView i = to_view(indices, "indices");
        const TensorView gi = to_view(grad_input, "grad_input");
        nb::gil_scoped_release release;
        max_unpool_backward(make_context(g.device, stream, deterministic), g, i, gi, o);
      },
      "grad_output"_a, "indices"_a, "grad_input"_a, "kernel_size"_a, "stride"_a, "padding"_a,
      "output_size"_a, "spatial_dims"_a, "stream"_a, "deterministic"_a.none());

  // ---- pixel_shuffle / pixel_unshuffle ----
  m.def("pixel_shuffle_output_shape", &pixel_shuffle_output_shape, "shape"_a, "upscale_factor"_a);
  m.def("pixel_unshuffle_output_shape", &pixel_unshuffle_output_shape, "shape"_a,
        "downscale_factor"_a);
  m.def(
      "pixel_shuffle",
      [](const InArray& src, const OutArray& dst, std::int64_t factor, std::uintptr_t stream) {
        const TensorView s = to_view(src, "input"), d = to_view(dst, "output");
        nb::gil_scoped_release release;
        pixel_shuffle(make_context(s.device, stream, std::nullopt), s, d, factor);
      },
      "src"_a, "dst"_a, "upscale_factor"_a, "stream"_a);
  m.def(
      "pixel_unshuffle",
      [](const InArray& src, const OutArray& dst, std::int64_t factor, std::uintptr_t stream) {
        const TensorView s = to_view(src, "input"), d = to_view(dst, "output");
        nb::gil_scoped_release release;
        pixel_unshuffle(make_context(s.device, stream, std::nullopt), s, d, factor);
      },
      "src"_a, "dst"_a, "downscale_factor"_a, "stream"_a);
  m.def(
      "pixel_shuffle_backward",
      [](const InArray& grad_output, const OutArray& grad_input, std::int64_t factor,
         std::uintptr_t stream) {
        const TensorView g = to_view(grad_output, "grad_output");
        const TensorView gi = to_view(grad_input, "grad_input");
        nb::gil_scoped_release release;
        pixel_shuffle_backward(make_context(g.device, stream, std::nullopt), g, gi, factor);
      },
      "grad_output"_a, "grad_input"_a, "upscale_factor"_a, "stream"_a);
  m.def(
      "pixel_unshuffle_backward",
      [](const InArray& grad_output, const OutArray& grad_input, std::int64_t factor,
         std::uintptr_t stream) {
        const TensorView g = to_view(grad_output, "grad_output");
        const TensorView gi = to_view(grad_input, "grad_input");
        nb::gil_scoped_release release;
        pixel_unshuffle_backward(make_context(g.device, stream, std::nullopt), g, gi, factor);
      },
      "grad_output"_a, "grad_input"_a, "downscale_factor"_a, "stream"_a);
}
