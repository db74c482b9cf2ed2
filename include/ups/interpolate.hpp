/// @file interpolate.hpp
/// @brief `ups::interpolate`: PyTorch's `F.interpolate` / `nn.Upsample` on strided tensors.
///
/// Semantics follow PyTorch 2.x exactly; docs/semantics.md writes down every index formula.
///
/// | mode           | input rank      | align_corners | antialias | dtypes                   |
/// |----------------|-----------------|---------------|-----------|--------------------------|
/// | nearest        | 3, 4, 5         | no            | no        | f32 f64 f16 bf16 u8      |
/// | nearest-exact  | 3, 4, 5         | no            | no        | f32 f64 f16 bf16 u8      |
/// | linear         | 3 (N, C, W)     | yes           | no        | f32 f64 f16 bf16         |
/// | bilinear       | 4 (N, C, H, W)  | yes           | yes       | f32 f64 f16 bf16         |
/// | bicubic        | 4 (N, C, H, W)  | yes           | yes       | f32 f64 f16 bf16         |
/// | trilinear      | 5 (N,C,D,H,W)   | yes           | yes (*)   | f32 f64 f16 bf16         |
/// | area           | 3, 4, 5         | no            | no        | f32 f64 f16 bf16         |
/// | lanczos        | 4 (N, C, H, W)  | false only    | required  | f32 f64                  |
/// | tricubic (*)   | 5 (N,C,D,H,W)   | yes           | yes (*)   | f32 f64 f16 bf16         |
///
/// interp_modes() holds this table as data; the validation of every call reads it.
///
/// (*) Beyond PyTorch: "tricubic" is bicubic's formula applied to D, H and W (no PyTorch mode),
/// and antialias for trilinear and tricubic applies PyTorch's 2-D anti-aliasing windows (the
/// triangle, Keys' cubic with a = -0.5) to each of the three dims. "lanczos" is PyTorch 2.15's
/// Lanczos-3 mode (CPU only in PyTorch), here on both backends. These three run on a separable
/// engine that applies per-dim tap tables built once per call (docs/semantics.md); every other
/// case keeps its dedicated kernels. On CUDA the engine takes scratch memory for its tables (see
/// interpolate_workspace_size()).
///
/// f16 and bf16 accumulate in f32; f64 accumulates in f64. Results follow PyTorch's CPU kernels
/// for contiguous inputs, including their rounding of f16/bf16 interpolation weights to the
/// element type; docs/semantics.md lists the rules and the remaining differences. Nearest modes
/// copy elements and are bit-exact on both backends. Input and output may have any strides
/// (contiguous and channels-last are the common cases) but must not overlap; the result does not
/// depend on the layout.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ups/context.hpp"
#include "ups/export.hpp"
#include "ups/tensor.hpp"

namespace ups {

/// @brief Interpolation modes, named as in PyTorch.
enum class InterpMode : std::uint8_t {
  kNearest,       ///< "nearest": src = min(floor(dst * scale), in - 1) (PyTorch's legacy rule).
  kNearestExact,  ///< "nearest-exact": src = min(floor((dst + 0.5) * scale), in - 1).
  kLinear,        ///< "linear": 1-D linear interpolation, rank-3 input.
  kBilinear,      ///< "bilinear": rank-4 input.
  kBicubic,       ///< "bicubic": Keys cubic (A = -0.75), taps clamped to the border; rank 4.
  kTrilinear,     ///< "trilinear": rank-5 input.
  kArea,          ///< "area": adaptive average pooling to the output size.
  /// "lanczos": PyTorch 2.15's Lanczos-3 anti-aliasing filter, sinc(x) * sinc(x / 3) over
  /// |x| < 3 stretched by the downscale; rank 4, antialias required, align_corners false only.
  kLanczos,
  /// "tricubic": bicubic's Keys cubic (A = -0.75, taps clamped to the border) along D, H and W
  /// of a rank-5 input; no PyTorch equivalent.
  kTricubic,
};

/// @brief What F.interpolate accepts for one InterpMode: one row of interp_modes().
///
/// interpolate() and interpolate_output_shape() validate every call against these rows, with
/// PyTorch's messages:
/// - an input rank outside 3..5: "Input Error: Only 3D, 4D and 5D input Tensors supported ...";
///   a rank in 3..5 outside [min_rank, max_rank]: "Got 3D input, but bilinear mode needs 4D
///   input" (kShapeMismatch);
/// - InterpolateOptions::align_corners set (even to false) for a mode whose `align_corners` is
///   false: "align_corners option can only be set with the interpolating modes: linear |
///   bilinear | bicubic | trilinear";
/// - InterpolateOptions::antialias for a mode whose `antialias` is false, or with an input rank
///   other than 4 for the 2-D modes (bilinear, bicubic, lanczos): "Anti-alias option is
///   restricted to bilinear, bicubic, and lanczos modes and requires a 4-D tensor as input"
///   (trilinear and tricubic take antialias with their rank-5 input);
/// - lanczos with align_corners true: "Lanczos mode does not support align_corners=True";
///   lanczos without antialias: "Lanczos mode requires antialias=True" (all kInvalidArgument);
/// - an element type that supports() rejects: "interpolate: mode 'bilinear' does not support
///   dtype u8 (supported: f32, f64, f16, bf16)" (kUnsupportedDType).
struct InterpModeTraits {
  InterpMode mode;  ///< The mode this row describes.
  /// PyTorch's name: what to_string() returns and parse_interp_mode() and the ups program's
  /// `--mode` accept.
  const char* name;
  int min_rank;  ///< Smallest input rank accepted: N, C and 1 to 3 spatial dims.
  int max_rank;  ///< Largest input rank accepted.
  /// `align_corners` may be set (PyTorch's "interpolating modes"; lanczos accepts false only).
  bool align_corners;
  /// `antialias` may be set, with an input rank in [min_rank, max_rank] (lanczos requires it).
  bool antialias;
  /// Every output element is a copy of one input element (no arithmetic), so both backends
  /// give bit-identical results.
  bool copies;
  /// The supported element types: bit `1 << static_cast<unsigned>(dtype)` for each. Read it
  /// with supports().
  std::uint32_t dtypes;

  /// @brief True when the mode runs on tensors of @p dtype.
  constexpr bool supports(DType dtype) const noexcept {
    return static_cast<unsigned>(dtype) < 32 && ((dtypes >> static_cast<unsigned>(dtype)) & 1u);
  }
};

/// @brief Every interpolation mode, one row each, in the order of InterpMode's enumerators
/// (so `interp_modes()[static_cast<std::size_t>(mode)].mode == mode`).
UPS_EXPORT const std::vector<InterpModeTraits>& interp_modes();
/// @brief The row of interp_modes() for @p mode. Throws ups::Error (kInvalidArgument) when
/// @p mode is none of InterpMode's enumerators.
UPS_EXPORT const InterpModeTraits& interp_mode_traits(InterpMode mode);

/// @brief PyTorch's name of @p mode ("nearest-exact", ...), or "?" for a value that is none of
/// InterpMode's enumerators.
UPS_EXPORT const char* to_string(InterpMode mode) noexcept;
/// @brief Parses PyTorch's mode names (the names of interp_modes()); throws ups::Error
/// (kInvalidArgument) otherwise.
UPS_EXPORT InterpMode parse_interp_mode(const std::string& name);

/// @brief The arguments of `F.interpolate`, minus the tensor.
struct InterpolateOptions {
  InterpMode mode = InterpMode::kNearest;
  /// Output spatial size: empty, one value (broadcast to every spatial dim) or one per dim.
  std::vector<std::int64_t> size;
  /// Scale factor: empty, one value (broadcast) or one per spatial dim. Exactly one of `size`
  /// and `scale_factor` must be given. Output size is floor(in * scale). Unless
  /// `recompute_scale_factor` is set (or the mode is area), the index math uses 1 / scale, not
  /// in / out, exactly as PyTorch does.
  std::vector<double> scale_factor;
  /// Only for linear, bilinear, bicubic, trilinear, tricubic and lanczos (which rejects true);
  /// unset means false.
  std::optional<bool> align_corners;
  /// Use in / out rather than the given scale in the index math. Not allowed with `size`.
  bool recompute_scale_factor = false;
  /// Pillow-style anti-aliasing when downsampling: bilinear and bicubic (rank 4), trilinear and
  /// tricubic (rank 5); lanczos requires it.
  bool antialias = false;
};

/// @brief The output shape of interpolate(@p input_shape, @p options), validating the options
/// exactly as interpolate() does. Needs no GPU. Throws ups::Error on invalid arguments, including
/// a mode that is none of InterpMode's enumerators (kInvalidArgument).
UPS_EXPORT Shape interpolate_output_shape(const Shape& input_shape,
                                          const InterpolateOptions& options);

/// @brief Resamples @p src into @p dst.
///
/// @p dst must have the shape interpolate_output_shape(src.shape(), options), the dtype of
/// @p src, and live on the context's device, as must @p src. A batch of 0 is a no-op; every
/// other empty dim is an error. On CUDA the op enqueues its kernel on ctx.stream() and does not
/// synchronise the host. It allocates nothing, except for lanczos, tricubic and anti-aliased
/// trilinear, which copy their per-dim tap tables (on ctx.stream()) into scratch memory taken
/// from ctx.workspace() when set and otherwise from ups's stream-ordered pool;
/// interpolate_workspace_size() gives the size. Every mode is deterministic (each output element
/// is computed by one thread in a fixed order), so the determinism flag never rejects it.
///
/// @throws ups::Error for invalid options, shapes, dtypes or devices, and for CUDA failures.
UPS_EXPORT void interpolate(const Context& ctx, const TensorView& src, const TensorView& dst,
                            const InterpolateOptions& options);

/// @brief Bytes of scratch memory interpolate() needs on @p ctx for an input of shape
/// @p input_shape and dtype @p dtype: 0 on the CPU and for the modes with dedicated kernels; on
/// CUDA, for lanczos, tricubic and anti-aliased trilinear, their per-dim tap tables plus up to
/// 255 bytes of alignment slack. Validates as interpolate_output_shape() does. Needs no GPU.
UPS_EXPORT std::size_t interpolate_workspace_size(const Context& ctx, const Shape& input_shape,
                                                  DType dtype, const InterpolateOptions& options);

/// @brief The gradient of interpolate(): from @p grad_output, the gradient of the loss with
/// respect to interpolate's output, computes @p grad_input, the gradient with respect to its
/// input (what `torch.autograd.grad` returns for `F.interpolate`).
///
/// @p grad_input has the shape of interpolate's input and @p grad_output the shape
/// interpolate_output_shape(grad_input.shape(), options); @p options are those of the forward
/// call, with the same rules (align_corners, size versus scale_factor, recompute_scale_factor,
/// antialias). Dtypes: f32, f64, f16 and bf16 (the gradient of a u8 interpolation is not
/// defined); f16 and bf16 accumulate in f32 and round once per element.
///
/// Every mode, antialias and area included, uses the forward's taps: output o of a dim reads
/// input i with weight w (nearest: weight 1; area: 1 / window size). The gradient is their
/// transpose, computed as a gather: every grad_input element is written once, as
///
///     grad_input[z, y, x] = sum_od wz * (sum_oh wy * (sum_ow wx * grad_output[od, oh, ow]))
///
/// over the outputs (od, oh, ow) whose taps read (z, y, x), each sum in increasing output order,
/// starting from 0. The per-dim lists of those outputs come from inverting each dim's tap table
/// once per call. Nothing is accumulated with atomics, so the result is the same, bit for bit,
/// on every run and for any thread count, and the CPU and CUDA backends agree bit for bit (both
/// round every product and sum separately). PyTorch scatters the same terms into grad_input in
/// another order (with atomics on CUDA), so results differ from PyTorch's in the last bits.
///
/// lanczos, tricubic and anti-aliased trilinear have no gradient here: they throw ups::Error
/// (kInvalidArgument) naming the mode.
///
/// Nearest modes use PyTorch's backward index rule for every rank (nearest_idx, with its 1x and
/// 2x shortcuts); the linear and cubic weights are those of PyTorch's backward kernels, kept in
/// the accumulation type.
///
/// On CUDA the op needs scratch memory for the inverted tables (see
/// interpolate_backward_workspace_size()), which it takes from ctx.workspace() when set and
/// otherwise from ups's stream-ordered pool on ctx.stream(); it copies the tables to the device
/// on ctx.stream() and does not synchronise the host.
///
/// @throws ups::Error for invalid options, shapes, dtypes or devices, and for CUDA failures.
UPS_EXPORT void interpolate_backward(const Context& ctx, const TensorView& grad_output,
                                     const TensorView& grad_input,
                                     const InterpolateOptions& options);

/// @brief Bytes of scratch memory interpolate_backward() needs on @p ctx for a grad_input of
/// shape @p input_shape and dtype @p dtype: 0 on the CPU; on CUDA the transposed tap tables of
/// the three dims, plus up to 255 bytes of alignment slack. Validates as
/// interpolate_output_shape() does. Needs no GPU.
UPS_EXPORT std::size_t interpolate_backward_workspace_size(const Context& ctx,
                                                           const Shape& input_shape, DType dtype,
                                                           const InterpolateOptions& options);

}  // namespace ups
