/// @file npy.hpp
/// @brief NumPy .npy files for the ups program: reading into an owned host buffer, and writing
/// from a contiguous host buffer atomically (temporary file in the target's folder, then
/// rename), or in place to a character device or FIFO.
///
/// Supported: format versions 1.0, 2.0 and 3.0; C order; little-endian data; the dtypes
/// '<f4' (f32), '<f8' (f64), '<f2' (f16), '|u1' (u8), '<i4' (i32) and '<i8' (i64); any rank.
/// Every malformed file is reported as ups::Error with code kIoError, naming the file and the
/// problem, before any buffer for the data is allocated.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "ups/tensor.hpp"

namespace ups {
namespace cli {

/// @brief The .npy type string of @p dtype ("<f4", ...). Throws ups::Error (kUnsupportedDType)
/// for bf16, which NumPy has no type string for.
std::string npy_descr(DType dtype);

/// @brief The dtype of the .npy type string @p descr. Throws ups::Error (kIoError) for
/// big-endian and unsupported type strings.
DType dtype_from_npy_descr(const std::string& descr);

/// @brief What the header dict of an .npy file declares.
struct NpyHeader {
  DType dtype = DType::kF32;
  Shape shape;
};

/// @brief Parses the header dict of an .npy file, e.g.
/// "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }" followed by padding. Throws
/// ups::Error (kIoError) when it is not such a dict, misses or repeats a key, has an unknown
/// key, declares Fortran order, an unsupported type or a dimension beyond int64.
NpyHeader parse_npy_header_dict(const std::string& text);

/// @brief The complete header (magic, version, length, dict, padding) of an .npy file holding
/// @p dtype data of @p shape. Version 1.0 unless the dict needs more than 65535 bytes; the data
/// that follows starts at a multiple of 64 bytes, as NumPy writes it.
std::string make_npy_header(DType dtype, const Shape& shape);

/// @brief Product of @p shape times the element size of @p dtype, or ups::Error (kIoError for
/// file contents, see @p what) when a size is negative or the product exceeds int64.
std::uint64_t checked_nbytes(DType dtype, const Shape& shape, const std::string& what);

/// @brief An owned, contiguous (C-order) host array.
class HostArray {
 public:
  HostArray() = default;
  /// @brief Uninitialised storage for @p shape of @p dtype. Throws ups::Error (kOutOfMemory)
  /// when the size overflows or cannot be allocated.
  HostArray(DType dtype, const Shape& shape);

  DType dtype() const noexcept { return dtype_; }
  const Shape& shape() const noexcept { return shape_; }
  int rank() const noexcept { return static_cast<int>(shape_.size()); }
  std::int64_t numel() const noexcept { return numel_; }
  std::size_t nbytes() const noexcept { return nbytes_; }
  void* data() noexcept { return data_.get(); }
  const void* data() const noexcept { return data_.get(); }

  /// @brief A contiguous CPU view. Throws ups::Error (kShapeMismatch) when the rank exceeds
  /// ups::kMaxDims.
  TensorView view();

 private:
  DType dtype_ = DType::kF32;
  Shape shape_;
  std::int64_t numel_ = 0;
  std::size_t nbytes_ = 0;
  std::unique_ptr<unsigned char[]> data_;
};

/// @brief Reads the .npy file at @p path. The declared data size must equal the bytes that
/// follow the header exactly (no truncation, no trailing bytes); this is checked against the
/// file size before the data buffer is allocated. @p path must name a regular file (or a
/// symbolic link to one): a directory, FIFO, device or socket is an error (kIoError), found
/// without waiting for a writer.
HostArray read_npy(const std::string& path);

/// @brief The file that writing to @p path replaces: @p path with the symbolic links of its last
/// component followed to their end, also when the last link names a file that does not exist yet
/// (that file is then created). Throws ups::Error (kIoError) for a loop of links.
std::string output_target(const std::string& path);

/// @brief An output file, written whole or not at all where the file system allows it.
///
/// - A regular file, or a path where nothing exists yet: data goes to a temporary file in the
///   target's folder, which commit() renames over the target (see output_target(): a symbolic
///   link keeps pointing where it did, and its target is replaced). Until then an existing file
///   is left untouched, and the destructor (or a SIGINT, SIGTERM or SIGHUP) removes the
///   temporary file. The replacement keeps the permission bits of the file it replaces. A file
///   the caller may not write (access(W_OK) fails) is not replaced.
/// - A character device or a FIFO (/dev/stdout, /dev/null, a named pipe): written in place, as
///   a stream; opening a FIFO waits for a reader.
/// - A directory, block device or socket: an error.
class AtomicFile {
 public:
  /// @brief Opens the output. Throws ups::Error (kIoError) when @p path cannot be written as
  /// described above, or its folder is missing or not writable.
  explicit AtomicFile(std::string path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  /// @brief Appends @p bytes bytes. Throws ups::Error (kIoError) on a write error.
  void write(const void* data, std::size_t bytes);
  /// @brief Flushes to disk and renames the temporary file to the target (closes a stream).
  void commit();
  /// @brief The path as given.
  const std::string& path() const noexcept { return path_; }
  /// @brief The file written: output_target(path()), or path() for a stream.
  const std::string& target() const noexcept { return target_; }
  /// @brief Whether something existed at the target when the file was opened.
  bool existed() const noexcept { return existed_; }
  /// @brief Whether the output is a stream written in place (no temporary file).
  bool in_place() const noexcept { return in_place_; }

 private:
  void open_in_place();
  void discard() noexcept;
  std::string path_;
  std::string target_;
  std::string temp_path_;
  int fd_ = -1;
  bool existed_ = false;
  bool in_place_ = false;
};

/// @brief Writes the header and the @p dtype data of @p shape at @p data into @p file (it does
/// not commit).
void write_npy(AtomicFile& file, DType dtype, const Shape& shape, const void* data);

/// @brief Writes a contiguous CPU view to @p path through an AtomicFile.
void write_npy(const std::string& path, const TensorView& view);

}  // namespace cli
}  // namespace ups
