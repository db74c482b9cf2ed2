// Fuzz target: ups::conv_transpose_output_shape, conv_transpose_workspace_size and
// conv_transpose on the CPU.
//
// Shapes are mostly consistent (C_in = groups * C_in/groups, weight rank = input rank) so that
// calls reach the backends, with fuzz-chosen departures; options take small and extreme values.
// Checked:
// - the shape query and the op agree (with a dst of the returned shape, valid dtypes and a CPU
//   algorithm the op succeeds; with 'scatter' or 'cudnn' it fails on the CPU);
// - the workspace query succeeds with 0 bytes on the CPU whenever the op succeeds;
// - the output equals a direct evaluation of the formula in conv_transpose.hpp: exactly for f32
//   and f64 (the inputs are multiples of 1/4, so every sum is exact), within the rounding of one
//   conversion for f16 and bf16;
// - src, weight and bias are never written, nor the bytes of dst's buffer outside its view.
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "fuzz_targets.hpp"
#include "ups/conv_transpose.hpp"

namespace ups_fuzz {
namespace {

// A small value (lo..lo+3), or sometimes any int_arg().
std::int64_t small_or_any(ByteReader& in, std::int64_t lo) {
  return in.byte() < 216 ? lo + in.range(0, 3) : in.int_arg();
}

std::vector<std::int64_t> param_list(ByteReader& in, std::size_t sp, std::int64_t lo) {
  const std::uint8_t sel = in.byte();
  std::size_t n = sel < 64 ? 0 : sel < 160 ? 1 : sel < 240 ? sp : sel % 5;
  std::vector<std::int64_t> v(n);
  for (auto& x : v)
    x = small_or_any(in, lo);
  return v;
}

std::int64_t element_index(const Tensor& t, const std::int64_t* idx) {
  std::int64_t lin = 0;
  for (int d = 0; d < t.view.ndim; ++d)
    lin = lin * t.view.sizes[d] + idx[d];
  return lin;
}

// out[n, co, o] = bias[co] + sum over ci of the group and taps k with o + pad - k * dil =
// i * stride, 0 <= i < in, of src[n, ci, i] * weight[ci, co % cout_g, k]; in double.
std::vector<double> reference(const Tensor& src, const Tensor& weight, const Tensor* bias,
                              const ups::Shape& out_shape, std::int64_t groups,
                              const std::int64_t* stride, const std::int64_t* pad,
                              const std::int64_t* dil) {
  const ups::DType dt = src.view.dtype;
  const int sp = src.view.ndim - 2;
  const std::int64_t n_batch = out_shape[0], cout = out_shape[1];
  const std::int64_t cin = src.view.sizes[1], cin_g = cin / groups;
  const std::int64_t cout_g = weight.view.sizes[1];
  std::int64_t out_sp[3] = {1, 1, 1}, in_sp[3] = {1, 1, 1}, k_sp[3] = {1, 1, 1};
  std::int64_t out_count = 1, k_count = 1;
  for (int d = 0; d < sp; ++d) {
    out_sp[d] = out_shape[static_cast<std::size_t>(2 + d)];
    in_sp[d] = src.view.sizes[2 + d];
    k_sp[d] = weight.view.sizes[2 + d];
    out_count *= out_sp[d];
    k_count *= k_sp[d];
  }
  std::vector<double> out;
  out.reserve(static_cast<std::size_t>(n_batch * cout * out_count));
  std::int64_t o[3], k[3], i[3], idx[5];
  for (std::int64_t n = 0; n < n_batch; ++n) {
    for (std::int64_t co = 0; co < cout; ++co) {
      const std::int64_t g = co / cout_g;
      for (std::int64_t oi = 0; oi < out_count; ++oi) {
        for (int d = sp - 1; d >= 0; --d) {
          std::int64_t div = 1;
          for (int e = d + 1; e < sp; ++e)
            div *= out_sp[e];
          o[d] = (oi / div) % out_sp[d];
        }
        double acc = bias != nullptr ? load_value(dt, bias->at(co)) : 0.0;
        for (std::int64_t ci = g * cin_g; ci < (g + 1) * cin_g; ++ci) {
          for (std::int64_t ki = 0; ki < k_count; ++ki) {
            bool hit = true;
            for (int d = 0; d < sp; ++d) {
              std::int64_t div = 1;
              for (int e = d + 1; e < sp; ++e)
                div *= k_sp[e];
              k[d] = (ki / div) % k_sp[d];
              const std::int64_t q = o[d] + pad[d] - k[d] * dil[d];
              if (q < 0 || q % stride[d] != 0 || q / stride[d] >= in_sp[d]) {
                hit = false;
                break;
              }
              i[d] = q / stride[d];
            }
            if (!hit) continue;
            idx[0] = n;
            idx[1] = ci;
            for (int d = 0; d < sp; ++d)
              idx[2 + d] = i[d];
            const double x = load_value(dt, src.at(element_index(src, idx)));
            idx[0] = ci;
            idx[1] = co % cout_g;
            for (int d = 0; d < sp; ++d)
              idx[2 + d] = k[d];
            acc += x * load_value(dt, weight.at(element_index(weight, idx)));
          }
        }
        out.push_back(acc);
      }
    }
  }
  return out;
}

}  // namespace

void run_conv_transpose(const std::uint8_t* data, std::size_t size) {
  ByteReader in(data, size);
  const std::uint8_t rank_sel = in.byte();
  const int rank = rank_sel < 232 ? 3 + rank_sel % 3 : rank_sel % 7;
  const std::size_t sp = rank >= 2 ? static_cast<std::size_t>(rank - 2) : 0;
  const std::int64_t groups_wanted = in.range(1, 3);
  const std::int64_t cin_g = in.range(1, 3);

  ups::Shape x_shape(static_cast<std::size_t>(rank));
  for (std::size_t d = 0; d < x_shape.size(); ++d)
    x_shape[d] = d == 1 && in.byte() < 232 ? groups_wanted * cin_g : in.size_arg();
  const std::uint8_t w_rank_sel = in.byte();
  const int w_rank = w_rank_sel < 240 ? rank : w_rank_sel % 7;
  ups::Shape w_shape(static_cast<std::size_t>(w_rank));
  for (std::size_t d = 0; d < w_shape.size(); ++d) {
    if (d == 0) {
      w_shape[d] = x_shape.size() > 1 && in.byte() < 232 ? x_shape[1] : in.size_arg();
    } else if (d == 1) {
      w_shape[d] = small_or_any(in, 0);
    } else {
      w_shape[d] = small_or_any(in, 1);
    }
  }

  ups::ConvTransposeOptions opt;
  opt.stride = param_list(in, sp, 1);
  opt.padding = param_list(in, sp, 0);
  opt.output_padding = param_list(in, sp, 0);
  opt.dilation = param_list(in, sp, 1);
  opt.groups = in.byte() < 232 ? groups_wanted : in.int_arg();
  const std::uint8_t extra = in.byte();
  if ((extra & 7) == 7) {
    opt.output_size.resize((extra & 8) ? sp + 2 : sp);
    for (auto& s : opt.output_size)
      s = in.byte() < 200 ? in.range(1, 12) : in.int_arg();
  }
  if ((extra & 0x30) == 0x30) opt.padding_mode = "reflect";
  opt.algorithm = static_cast<ups::ConvTransposeAlgo>(in.byte() % 6);

  std::string context = "input " + describe(x_shape) + ", weight " + describe(w_shape);
  ups::Shape out_shape;
  std::string error;
  const bool shape_ok = succeeds(
      [&] { out_shape = ups::conv_transpose_output_shape(x_shape, w_shape, opt); }, &error);
  auto param = [](const std::vector<std::int64_t>& v, std::size_t d, std::int64_t dflt) {
    return v.empty() ? dflt : v.size() == 1 ? v[0] : v[d];
  };
  if (shape_ok) {
    expect(out_shape.size() == x_shape.size() && out_shape[0] == x_shape[0],
           "conv_transpose_output_shape changed the rank or N: " + describe(out_shape));
    // out = (in - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1, or
    // the requested output_size.
    for (std::size_t d = 0; d < sp; ++d) {
      std::int64_t want = 0;
      if (!opt.output_size.empty()) {
        want = opt.output_size[opt.output_size.size() - sp + d];
      } else {
        std::int64_t a = 0, b = 0, c = 0;
        const bool overflow =
            __builtin_mul_overflow(x_shape[2 + d] - 1, param(opt.stride, d, 1), &a) ||
            __builtin_mul_overflow(param(opt.dilation, d, 1), w_shape[2 + d] - 1, &b) ||
            __builtin_mul_overflow(param(opt.padding, d, 0), 2, &c) ||
            __builtin_sub_overflow(a, c, &want) || __builtin_add_overflow(want, b, &want) ||
            __builtin_add_overflow(want, param(opt.output_padding, d, 0), &want) ||
            __builtin_add_overflow(want, 1, &want);
        expect(!overflow, "conv_transpose_output_shape accepted an overflowing size");
      }
      expect(out_shape[2 + d] == want && want > 0,
             "conv_transpose_output_shape returned " + describe(out_shape) + "; dim " +
                 std::to_string(d) + " should be " + std::to_string(want));
    }
    context += ", output " + describe(out_shape);
  }

  // The op, on small tensors.
  const std::uint8_t dsel = in.byte();
  const ups::DType dtype = dsel < 224 ? static_cast<ups::DType>(dsel % 4) : pick_dtype(in);
  const bool exact = in.byte() < 224;
  Tensor src, weight, bias, dst;
  if (!make_tensor(in, dtype, x_shape, false, &src)) return;
  Expectation e;
  e.may_fail(huge_span(src.view));
  e.must_fail(!shape_ok, "conv_transpose_output_shape rejected the arguments");
  e.must_fail(!(dtype == ups::DType::kF32 || dtype == ups::DType::kF64 ||
                dtype == ups::DType::kF16 || dtype == ups::DType::kBF16),
              "the dtype is not supported");
  const std::uint8_t wsel = in.byte();
  const ups::DType w_dtype = wsel < 240 ? dtype : pick_dtype(in);
  e.must_fail(w_dtype != dtype, "weight has another dtype");
  if (!make_tensor(in, w_dtype, w_shape, false, &weight)) return;
  e.may_fail(huge_span(weight.view));
  const std::uint8_t bsel = in.byte();
  const bool has_bias = (bsel & 1) != 0;
  if (has_bias) {
    const std::int64_t cout = shape_ok ? out_shape[1] : (w_shape.size() > 1 ? w_shape[1] : 1);
    ups::Shape b_shape{cout};
    if (bsel >= 240) {
      b_shape = {in.size_arg()};
      e.must_fail(!shape_ok || b_shape[0] != cout, "bias has the wrong size");
    }
    if (bsel >= 232 && bsel < 240) {
      b_shape = {cout, 1};
      e.must_fail(true, "bias is not 1-D");
    }
    const ups::DType b_dtype = (bsel & 2) && bsel >= 200 ? pick_dtype(in) : dtype;
    e.must_fail(b_dtype != dtype, "bias has another dtype");
    if (!make_tensor(in, b_dtype, b_shape, false, &bias)) return;
    e.may_fail(huge_span(bias.view));
  }
  // The work of one call (and of the reference) is N * C_out * out * C_in/g * taps, at most
  // numel(dst) * C_in * taps.
  if (shape_ok) {
    ups::Shape per_output(w_shape.begin() + 2, w_shape.end());
    per_output.push_back(x_shape[1]);
    std::int64_t work = bounded_numel(out_shape, kMaxWork);
    const std::int64_t taps = bounded_numel(per_output, kMaxWork);
    if (work < 0 || taps < 0 || __builtin_mul_overflow(work, taps, &work) || work > kMaxWork) {
      return;
    }
  }
  if (!make_output(in, shape_ok ? out_shape : x_shape, dtype, src, &dst, e)) return;
  const bool cpu_algo = opt.algorithm != ups::ConvTransposeAlgo::kScatter &&
                        opt.algorithm != ups::ConvTransposeAlgo::kCudnn;
  e.must_fail(!cpu_algo, "the algorithm runs only on CUDA");

  fill(src, in.u64(), exact);
  fill(weight, in.u64(), exact);
  if (has_bias) fill(bias, in.u64(), exact);
  ups::Context ctx(ups::Device::kCPU);
  ctx.set_num_threads(1 + in.byte() % 3);
  ctx.set_deterministic(in.flag());
  const ups::TensorView* bias_view = has_bias ? &bias.view : nullptr;

  std::size_t ws = 0;
  std::string ws_error;
  const bool ws_ok = succeeds(
      [&] {
        ws = ups::conv_transpose_workspace_size(ctx, src.view, weight.view, bias_view, dst.view,
                                                opt);
      },
      &ws_error);
  const auto src_before = snapshot(src), weight_before = snapshot(weight);
  const auto bias_before = snapshot(bias);
  ups::ConvTransposeResult result;
  const bool ok = succeeds(
      [&] { result = ups::conv_transpose(ctx, src.view, weight.view, bias_view, dst.view, opt); },
      &error);
  e.check("conv_transpose", ok, error, context);
  expect(unchanged(src, src_before) && unchanged(weight, weight_before) &&
             unchanged(bias, bias_before),
         "conv_transpose wrote into an input; " + context);
  if (!ok) return;
  expect(ws_ok && ws == 0, "conv_transpose_workspace_size on the CPU: " +
                               (ws_ok ? std::to_string(ws) : ws_error) + "; " + context);
  expect(padding_untouched(dst), "conv_transpose wrote outside dst's view; " + context);
  const bool empty = dst.numel() == 0;
  expect(empty || result.algorithm == ups::ConvTransposeAlgo::kGemm ||
             result.algorithm == ups::ConvTransposeAlgo::kGather,
         std::string("conv_transpose on the CPU reports algorithm ") +
             ups::to_string(result.algorithm));
  if (!exact || empty) return;

  // Resolved parameters, per spatial dim.
  std::int64_t stride[3], pad[3], dil[3];
  for (std::size_t d = 0; d < sp; ++d) {
    stride[d] = param(opt.stride, d, 1);
    pad[d] = param(opt.padding, d, 0);
    dil[d] = param(opt.dilation, d, 1);
  }
  const std::vector<double> want =
      reference(src, weight, has_bias ? &bias : nullptr, out_shape, opt.groups, stride, pad, dil);
  const double rel = dtype == ups::DType::kBF16  ? 1.0 / 256
                     : dtype == ups::DType::kF16 ? 1.0 / 2048
                                                 : 0.0;
  for (std::int64_t i = 0; i < dst.numel(); ++i) {
    const double got = load_value(dtype, dst.at(i));
    const double w = want[static_cast<std::size_t>(i)];
    if (dtype == ups::DType::kF16 && std::fabs(w) > 60000) continue;  // beyond f16's range
    expect(std::fabs(got - w) <= rel * std::fabs(w),
           "output element " + std::to_string(i) + " is " + std::to_string(got) + ", expected " +
               std::to_string(w) + " (" + ups::to_string(result.algorithm) + ", " +
               ups::to_string(dtype) + "); " + context);
  }
}

}  // namespace ups_fuzz
