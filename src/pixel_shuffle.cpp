// Validation and planning of ups::pixel_shuffle and ups::pixel_unshuffle, following ATen's
// check_pixel_shuffle_shapes / check_pixel_unshuffle_shapes (PixelShuffle.h), messages included;
// then dispatch to a backend.
#include <algorithm>
#include <limits>
#include <vector>

#include "check.hpp"
#include "cuda/runtime.hpp"
#include "pixel_shuffle_plan.hpp"
#include "ups/pixel_shuffle.hpp"
#include "validate.hpp"

namespace ups {

namespace {

Shape resolve_shuffle(const Shape& in, std::int64_t r) {
  const std::size_t rank = in.size();
  UPS_CHECK(rank >= 3, ErrorCode::kShapeMismatch,
            "pixel_shuffle expects input to have at least 3 dimensions, but got input with ", rank,
            " dimension(s)");
  UPS_CHECK(r > 0, ErrorCode::kInvalidArgument,
            "pixel_shuffle expects a positive upscale_factor, but got ", r);
  UPS_CHECK(r <= std::numeric_limits<std::int64_t>::max() / r, ErrorCode::kInvalidArgument,
            "upscale factor is too large, (upscale_factor)^2 overflowed: upscale_factor=", r);
  const std::int64_t c = in[rank - 3];
  UPS_CHECK(c % (r * r) == 0, ErrorCode::kShapeMismatch,
            "pixel_shuffle expects its input's 'channel' dimension to be divisible by the square "
            "of upscale_factor, but input.size(-3)=",
            c, " is not divisible by ", r * r);
  Shape out = in;
  out[rank - 3] = c / (r * r);
  std::int64_t h = 0, w = 0;
  UPS_CHECK(
      !__builtin_mul_overflow(in[rank - 2], r, &h) && !__builtin_mul_overflow(in[rank - 1], r, &w),
      ErrorCode::kOutOfMemory, "pixel_shuffle: output size overflows int64");
  out[rank - 2] = h;
  out[rank - 1] = w;
  detail::checked_numel(out, "pixel_shuffle output");
  return out;
}

Shape resolve_unshuffle(const Shape& in, std::int64_t r) {
  const std::size_t rank = in.size();
  UPS_CHECK(rank >= 3, ErrorCode::kShapeMismatch,
            "pixel_unshuffle expects input to have at least 3 dimensions, but got input with ",
            rank, " dimension(s)");
  UPS_CHECK(r > 0, ErrorCode::kInvalidArgument,
            "pixel_unshuffle expects a positive downscale_factor, but got ", r);
  const std::int64_t h = in[rank - 2];
  const std::int64_t w = in[rank - 1];
  UPS_CHECK(h % r == 0, ErrorCode::kShapeMismatch,
            "pixel_unshuffle expects height to be divisible by downscale_factor, but "
            "input.size(-2)=",
            h, " is not divisible by ", r);
  UPS_CHECK(w % r == 0, ErrorCode::kShapeMismatch,
            "pixel_unshuffle expects width to be divisible by downscale_factor, but "
            "input.size(-1)=",
            w, " is not divisible by ", r);
  Shape out = in;
  // r divides H and W, so C * r^2 <= C * H * W and cannot overflow unless H * W is empty.
  std::int64_t c = 0;
  UPS_CHECK(r <= std::numeric_limits<std::int64_t>::max() / r &&
                !__builtin_mul_overflow(in[rank - 3], r * r, &c),
            ErrorCode::kOutOfMemory, "pixel_unshuffle: output size overflows int64");
  out[rank - 3] = c;
  out[rank - 2] = h / r;
  out[rank - 1] = w / r;
  detail::checked_numel(out, "pixel_unshuffle output");
  return out;
}

// The names of the op and its tensors in messages: the forward ops' src and dst, or the backward
// ops' grad_output and grad_input.
struct Names {
  const char* op;
  const char* src;
  const char* dst;
};

void run(const Context& ctx, const TensorView& src, const TensorView& dst, std::int64_t r,
         ShuffleKernel kernel, bool unshuffle, const Names& names) {
  const char* op = names.op;
  detail::check_enum(kernel, "kernel");
  detail::check_view(src, names.src);
  detail::check_view(dst, names.dst);
  const Shape out_shape =
      unshuffle ? resolve_unshuffle(src.shape(), r) : resolve_shuffle(src.shape(), r);
  UPS_CHECK(dst.dtype == src.dtype, ErrorCode::kUnsupportedDType, op, ": ", names.dst,
            " has dtype ", to_string(dst.dtype), " but ", names.src, " has dtype ",
            to_string(src.dtype));
  UPS_CHECK(dst.shape() == out_shape, ErrorCode::kShapeMismatch, op, ": expected ", names.dst,
            " of shape ", shape_to_string(out_shape), " but got ", shape_to_string(dst.shape()));
  detail::check_device(ctx, src, names.src);
  detail::check_device(ctx, dst, names.dst);
  detail::check_no_self_overlap(dst, names.dst);
  detail::check_no_overlap(src, dst);

  const std::int64_t total = detail::checked_numel(out_shape, "pixel_shuffle output");
  if (total == 0) return;

  // The plan has two leading dims before (C, H, W), which covers every rank a TensorView can
  // have. The caller's leading dims are merged where the strides of both tensors allow, so that
  // the index math has fewer dims to unravel.
  constexpr int kPlanLead = 2;
  static_assert(kMaxDims - 3 <= kPlanLead,
                "a TensorView may have more leading dims than the shuffle plan holds");
  const int rank = src.ndim;
  const std::vector<detail::ShuffleLeadDim> lead =
      detail::collapse_shuffle_lead_dims(rank - 3, src.sizes, src.strides, dst.strides);
  const int n_lead = static_cast<int>(lead.size());

  detail::PixelShufflePlan plan{};
  plan.dtype = src.dtype;
  plan.allow_vector = kernel == ShuffleKernel::kAuto;
  kern::ShuffleGeometry& g = plan.geometry;
  g.r = r;
  g.unshuffle = unshuffle;
  for (int d = 0; d < kPlanLead; ++d) {
    // Index in `lead`; negative for the unit dims that pad fewer than two leading dims.
    const int i = n_lead - kPlanLead + d;
    const bool real = i >= 0;
    g.out_size[d] = real ? lead[static_cast<std::size_t>(i)].size : 1;
    g.dst_stride[d] = real ? lead[static_cast<std::size_t>(i)].dst_stride : 0;
    g.src_stride[d] = real ? lead[static_cast<std::size_t>(i)].src_stride : 0;
  }
  for (int d = kPlanLead; d < 5; ++d) {
    const int axis = rank - 5 + d;
    g.out_size[d] = dst.sizes[axis];
    g.dst_stride[d] = dst.strides[axis];
    g.src_stride[d] = src.strides[axis];
  }
  plan.total = total;
  // Every dividend is an element index or a coordinate (< total) and every divisor a size or
  // r^2 <= C (or r <= H), so one bound on the total covers them all.
  g.narrow = plan.total < (std::int64_t(1) << 32);
  // Iterate in the output's memory order: unit dims outermost (they do not move the address),
  // then by decreasing |stride|; ties keep the logical order.
  int order[5] = {0, 1, 2, 3, 4};
  std::stable_sort(order, order + 5, [&](int a, int b) {
    const bool ua = g.out_size[a] == 1, ub = g.out_size[b] == 1;
    if (ua != ub) return ua;
    const std::int64_t sa = g.dst_stride[a] < 0 ? -g.dst_stride[a] : g.dst_stride[a];
    const std::int64_t sb = g.dst_stride[b] < 0 ? -g.dst_stride[b] : g.dst_stride[b];
    return sa > sb;
  });
  std::copy(order, order + 5, g.order);

  if (ctx.device() == Device::kCPU) {
    detail::pixel_shuffle_cpu(plan, src.data, dst.data, ctx.num_threads());
  } else {
    const detail::CudaDeviceScope scope(ctx, {{names.src, &src}, {names.dst, &dst}});
    detail::pixel_shuffle_cuda(plan, src.data, dst.data, ctx.stream());
  }
}

}  // namespace

Shape pixel_shuffle_output_shape(const Shape& input_shape, std::int64_t upscale_factor) {
  return resolve_shuffle(input_shape, upscale_factor);
}

Shape pixel_unshuffle_output_shape(const Shape& input_shape, std::int64_t downscale_factor) {
  return resolve_unshuffle(input_shape, downscale_factor);
}

void pixel_shuffle(const Context& ctx, const TensorView& src, const TensorView& dst,
                   std::int64_t upscale_factor, ShuffleKernel kernel) {
  run(ctx, src, dst, upscale_factor, kernel, false, {"pixel_shuffle", "src", "dst"});
}

void pixel_unshuffle(const Context& ctx, const TensorView& src, const TensorView& dst,
                     std::int64_t downscale_factor, ShuffleKernel kernel) {
  run(ctx, src, dst, downscale_factor, kernel, true, {"pixel_unshuffle", "src", "dst"});
}

namespace {

// The backward of a shuffle is the inverse shuffle of grad_output into grad_input. grad_input
// has the forward input's shape: it is validated by the forward's rules first, then grad_output
// must have the forward output's shape.
void run_backward(const Context& ctx, const TensorView& grad_output, const TensorView& grad_input,
                  std::int64_t r, bool unshuffle_forward) {
  const char* op = unshuffle_forward ? "pixel_unshuffle_backward" : "pixel_shuffle_backward";
  detail::check_view(grad_output, "grad_output");
  detail::check_view(grad_input, "grad_input");
  const Shape out_shape = unshuffle_forward ? resolve_unshuffle(grad_input.shape(), r)
                                            : resolve_shuffle(grad_input.shape(), r);
  UPS_CHECK(grad_output.dtype == grad_input.dtype, ErrorCode::kUnsupportedDType, op,
            ": grad_output has dtype ", to_string(grad_output.dtype), " but grad_input has dtype ",
            to_string(grad_input.dtype));
  UPS_CHECK(grad_output.shape() == out_shape, ErrorCode::kShapeMismatch, op,
            ": expected grad_output of shape ", shape_to_string(out_shape), " (the ",
            unshuffle_forward ? "pixel_unshuffle" : "pixel_shuffle",
            " output shape for grad_input of shape ", shape_to_string(grad_input.shape()),
            ") but got ", shape_to_string(grad_output.shape()));
  run(ctx, grad_output, grad_input, r, ShuffleKernel::kAuto, !unshuffle_forward,
      {op, "grad_output", "grad_input"});
}

}  // namespace

void pixel_shuffle_backward(const Context& ctx, const TensorView& grad_output,
                            const TensorView& grad_input, std::int64_t upscale_factor) {
  run_backward(ctx, grad_output, grad_input, upscale_factor, false);
}

void pixel_unshuffle_backward(const Context& ctx, const TensorView& grad_output,
                              const TensorView& grad_input, std::int64_t downscale_factor) {
  run_backward(ctx, grad_output, grad_input, downscale_factor, true);
}

}  // namespace ups
