// NumPy .npy reading and writing. The format is described in numpy/lib/format.py: a magic
// string, a version, a little-endian header length and a Python dict literal padded with spaces
// and a newline, followed by the raw array data.
#include "cli/npy.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <limits>
#include <new>
#include <utility>

#include "text.hpp"
#include "ups/error.hpp"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the ups program reads and writes little-endian .npy data and needs a little-endian host"
#endif

namespace ups {
namespace cli {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr std::size_t kMagicSize = 6;
constexpr std::size_t kAlign = 64;  // NumPy aligns the data to 64 bytes since 1.14

[[noreturn]] void io_fail(const std::string& message) {
  throw Error(ErrorCode::kIoError, message);
}

// Every name and every piece of header text enters messages through here: bytes that a
// terminal would act on (escape sequences) or that would end the message early (NUL) are
// written as \xNN.
std::string quoted(const std::string& s) {
  return "'" + detail::escape_text(s) + "'";
}

std::string errno_text(int err) {
  return std::strerror(err);
}

struct DescrEntry {
  const char* descr;
  DType dtype;
};

// Accepted type strings. For one-byte types NumPy writes '|' (no byte order); '<' and '=' also
// describe the same bytes on a little-endian host.
constexpr DescrEntry kDescrs[] = {
    {"<f4", DType::kF32}, {"<f8", DType::kF64}, {"<f2", DType::kF16}, {"|u1", DType::kU8},
    {"<u1", DType::kU8},  {"=u1", DType::kU8},  {"<i4", DType::kI32}, {"<i8", DType::kI64},
};

// ---- header dict parser ----------------------------------------------------------------------

// A parser for the tiny subset of Python literals that .npy headers use: a dict of string keys
// whose values are strings, booleans or tuples of non-negative integers.
class DictParser {
 public:
  explicit DictParser(const std::string& text) : s_(text) {}

  NpyHeader parse() {
    bool have_descr = false, have_fortran = false, have_shape = false;
    std::string descr;
    bool fortran = false;
    Shape shape;
    skip_space();
    if (!eat('{')) fail("the header is not a Python dict (it does not start with '{')");
    skip_space();
    while (!eat('}')) {
      const std::string key = parse_string("a dict key");
      skip_space();
      if (!eat(':')) fail("expected ':' after the key " + quoted(key));
      skip_space();
      if (key == "descr") {
        if (have_descr) fail("the key 'descr' appears twice");
        have_descr = true;
        if (peek() == '[') fail("structured dtypes (a list as 'descr') are not supported");
        descr = parse_string("a string as 'descr'");
      } else if (key == "fortran_order") {
        if (have_fortran) fail("the key 'fortran_order' appears twice");
        have_fortran = true;
        fortran = parse_bool("'fortran_order'");
      } else if (key == "shape") {
        if (have_shape) fail("the key 'shape' appears twice");
        have_shape = true;
        shape = parse_shape();
      } else {
        fail("unexpected key " + quoted(key) +
             " (an .npy header has exactly 'descr', 'fortran_order' and 'shape')");
      }
      skip_space();
      if (eat(',')) {
        skip_space();
      } else if (peek() != '}') {
        fail("expected ',' or '}' after the value of " + quoted(key));
      }
    }
    skip_space();
    if (pos_ != s_.size()) fail("unexpected text after the header dict");
    if (!have_descr) fail("the header has no 'descr' key");
    if (!have_fortran) fail("the header has no 'fortran_order' key");
    if (!have_shape) fail("the header has no 'shape' key");
    if (fortran) {
      io_fail(
          "Fortran-order arrays (fortran_order: True) are not supported; save a C-order array "
          "(numpy.ascontiguousarray)");
    }
    NpyHeader h;
    h.dtype = dtype_from_npy_descr(descr);
    h.shape = std::move(shape);
    return h;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    io_fail("malformed .npy header: " + what);
  }
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  bool eat(char c) {
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool eat_word(const char* w) {
    const std::size_t n = std::strlen(w);
    if (s_.compare(pos_, n, w) != 0) return false;
    const char next = pos_ + n < s_.size() ? s_[pos_ + n] : '\0';
    if (std::isalnum(static_cast<unsigned char>(next)) || next == '_') return false;
    pos_ += n;
    return true;
  }
  void skip_space() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' ||
                                s_[pos_] == '\r' || s_[pos_] == '\f' || s_[pos_] == '\v')) {
      ++pos_;
    }
  }
  std::string parse_string(const char* what) {
    const char q = peek();
    if (q != '\'' && q != '"') fail(std::string("expected ") + what);
    ++pos_;
    std::string out;
    while (pos_ < s_.size() && s_[pos_] != q) {
      if (s_[pos_] == '\\') fail("escape sequences in strings are not supported");
      if (s_[pos_] == '\n') fail("unterminated string");
      out += s_[pos_++];
    }
    if (!eat(q)) fail("unterminated string");
    return out;
  }
  bool parse_bool(const char* what) {
    if (eat_word("True")) return true;
    if (eat_word("False")) return false;
    fail(std::string("expected True or False as ") + what);
  }
  Shape parse_shape() {
    if (!eat('(')) fail("'shape' is not a tuple");
    Shape shape;
    bool trailing_comma = false;
    skip_space();
    while (!eat(')')) {
      shape.push_back(parse_dim());
      skip_space();
      trailing_comma = eat(',');
      skip_space();
      if (!trailing_comma && peek() != ')') fail("expected ',' or ')' in 'shape'");
    }
    // "(3)" is the integer 3 in Python, not a tuple; NumPy writes "(3,)".
    if (shape.size() == 1 && !trailing_comma) fail("'shape' is not a tuple");
    return shape;
  }
  std::int64_t parse_dim() {
    const std::size_t start = pos_;
    if (peek() == '-') fail("negative dimension in 'shape'");
    std::int64_t v = 0;
    bool overflow = false;
    while (std::isdigit(static_cast<unsigned char>(peek()))) {
      const int d = s_[pos_++] - '0';
      if (v > (std::numeric_limits<std::int64_t>::max() - d) / 10) overflow = true;
      if (!overflow) v = v * 10 + d;
    }
    if (pos_ == start) fail("expected a non-negative integer in 'shape'");
    if (overflow) {
      io_fail("dimension " + s_.substr(start, pos_ - start) +
              " in the .npy header's shape exceeds the int64 range");
    }
    return v;
  }

  const std::string& s_;
  std::size_t pos_ = 0;
};

// ---- plain file I/O ------------------------------------------------------------------------

// What a non-regular file is, for messages.
const char* file_kind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISLNK(mode)) return "a symbolic link";
  return "not a regular file";
}

[[noreturn]] void not_an_npy_file(const std::string& path, mode_t mode) {
  if (S_ISDIR(mode)) io_fail(quoted(path) + " is a directory, not an .npy file");
  io_fail(quoted(path) + " is " + file_kind(mode) + ", not a regular .npy file");
}

class InFile {
 public:
  // Only regular files are read: their size is checked against the header before anything is
  // allocated. The path is checked before it is opened, because opening a FIFO that has no
  // writer blocks, and opening some devices has side effects; the open itself is non-blocking
  // and checked again, in case the path changed in between.
  explicit InFile(const std::string& path) : path_(path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
      io_fail("cannot open " + quoted(path) + ": " + errno_text(errno));
    }
    if (!S_ISREG(st.st_mode)) not_an_npy_file(path, st.st_mode);
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd_ < 0) io_fail("cannot open " + quoted(path) + ": " + errno_text(errno));
    try {
      if (::fstat(fd_, &st) != 0) io_fail("cannot stat " + quoted(path) + ": " + errno_text(errno));
      if (!S_ISREG(st.st_mode)) not_an_npy_file(path, st.st_mode);
      const int flags = ::fcntl(fd_, F_GETFL);
      if (flags < 0 || ::fcntl(fd_, F_SETFL, flags & ~O_NONBLOCK) != 0) {
        io_fail("cannot read " + quoted(path) + ": " + errno_text(errno));
      }
    } catch (...) {
      ::close(fd_);
      throw;
    }
    size_ = static_cast<std::uint64_t>(st.st_size);
  }
  ~InFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  InFile(const InFile&) = delete;
  InFile& operator=(const InFile&) = delete;

  std::uint64_t size() const noexcept { return size_; }

  // Reads exactly n bytes; the caller has checked that the file holds them, so a short read
  // means the file changed or failed underneath us.
  void read_exact(void* dst, std::size_t n) {
    auto* p = static_cast<unsigned char*>(dst);
    while (n > 0) {
      const std::size_t chunk = std::min<std::size_t>(n, std::size_t(1) << 30);
      const ssize_t got = ::read(fd_, p, chunk);
      if (got < 0) {
        if (errno == EINTR) continue;
        io_fail("cannot read " + quoted(path_) + ": " + errno_text(errno));
      }
      if (got == 0) io_fail("cannot read " + quoted(path_) + ": the file shrank while reading");
      p += got;
      n -= static_cast<std::size_t>(got);
    }
  }

 private:
  std::string path_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
};

std::uint32_t read_le(const unsigned char* p, int bytes) {
  std::uint32_t v = 0;
  for (int i = bytes - 1; i >= 0; --i)
    v = (v << 8) | p[i];
  return v;
}

// ---- removal of temporary files on fatal signals ----------------------------------------------

constexpr int kMaxTempFiles = 8;
constexpr std::size_t kMaxTempPath = 4096;
char g_temp_paths[kMaxTempFiles][kMaxTempPath];
volatile std::sig_atomic_t g_temp_active[kMaxTempFiles];

extern "C" void remove_temp_files_and_reraise(int sig) {
  for (int i = 0; i < kMaxTempFiles; ++i) {
    if (g_temp_active[i]) ::unlink(g_temp_paths[i]);
  }
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

void install_signal_handlers() {
  static const bool installed = [] {
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
      struct sigaction sa {};
      sa.sa_handler = remove_temp_files_and_reraise;
      sigemptyset(&sa.sa_mask);
      struct sigaction old {};
      // Keep a disposition of SIG_IGN (e.g. under nohup) as the caller set it.
      if (::sigaction(sig, nullptr, &old) == 0 && old.sa_handler == SIG_IGN) continue;
      ::sigaction(sig, &sa, nullptr);
    }
    return true;
  }();
  (void)installed;
}

// Paths that do not fit, or more than kMaxTempFiles at once, are only removed by the
// destructor, not on signals.
void register_temp(const std::string& path) {
  if (path.size() >= kMaxTempPath) return;
  for (int i = 0; i < kMaxTempFiles; ++i) {
    if (!g_temp_active[i]) {
      std::memcpy(g_temp_paths[i], path.c_str(), path.size() + 1);
      g_temp_active[i] = 1;
      return;
    }
  }
}

void unregister_temp(const std::string& path) {
  for (int i = 0; i < kMaxTempFiles; ++i) {
    if (g_temp_active[i] && path == g_temp_paths[i]) g_temp_active[i] = 0;
  }
}

}  // namespace

// ---- dtypes ------------------------------------------------------------------------------------

std::string npy_descr(DType dtype) {
  switch (dtype) {
    case DType::kF32:
      return "<f4";
    case DType::kF64:
      return "<f8";
    case DType::kF16:
      return "<f2";
    case DType::kU8:
      return "|u1";
    case DType::kI32:
      return "<i4";
    case DType::kI64:
      return "<i8";
    case DType::kBF16:
      break;
  }
  throw Error(ErrorCode::kUnsupportedDType,
              std::string("dtype ") + to_string(dtype) + " has no .npy equivalent");
}

DType dtype_from_npy_descr(const std::string& descr) {
  for (const DescrEntry& e : kDescrs) {
    if (descr == e.descr) return e.dtype;
  }
  if (!descr.empty() && descr[0] == '>') {
    io_fail("big-endian data (descr " + quoted(descr) +
            ") is not supported; save little-endian data (e.g. array.astype(" +
            quoted("<" + descr.substr(1)) + "))");
  }
  io_fail("unsupported .npy dtype " + quoted(descr) +
          " (supported: '<f4', '<f8', '<f2', '|u1', '<i4', '<i8')");
}

NpyHeader parse_npy_header_dict(const std::string& text) {
  return DictParser(text).parse();
}

std::uint64_t checked_nbytes(DType dtype, const Shape& shape, const std::string& what) {
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  for (std::int64_t d : shape) {
    if (d < 0) io_fail(what + ": negative size in shape " + shape_to_string(shape));
  }
  for (std::int64_t d : shape) {
    if (d == 0) return 0;
  }
  std::int64_t n = static_cast<std::int64_t>(dtype_size(dtype));
  for (std::int64_t d : shape) {
    if (n > kMax / d) {
      io_fail(what + ": shape " + shape_to_string(shape) + " of " + to_string(dtype) +
              " needs more than 2^63 bytes");
    }
    n *= d;
  }
  return static_cast<std::uint64_t>(n);
}

std::string make_npy_header(DType dtype, const Shape& shape) {
  std::string dict = "{'descr': '" + npy_descr(dtype) + "', 'fortran_order': False, 'shape': (";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    dict += std::to_string(shape[i]);
    dict += shape.size() == 1 ? "," : (i + 1 < shape.size() ? ", " : "");
  }
  dict += "), }";
  // Version 1.0 stores the header length in 16 bits; longer headers need version 2.0.
  std::size_t prefix = kMagicSize + 2 + 2;
  auto padded = [&](std::size_t pre) {
    return (pre + dict.size() + 1 + kAlign - 1) / kAlign * kAlign;
  };
  unsigned char major = 1;
  if (padded(prefix) - prefix > 0xffff) {
    major = 2;
    prefix = kMagicSize + 2 + 4;
  }
  const std::size_t total = padded(prefix);
  const std::size_t header_len = total - prefix;
  std::string out(kMagic, kMagicSize);
  out += static_cast<char>(major);
  out += '\0';
  const int len_bytes = major == 1 ? 2 : 4;
  for (int i = 0; i < len_bytes; ++i)
    out += static_cast<char>((header_len >> (8 * i)) & 0xff);
  out += dict;
  out.append(total - out.size() - 1, ' ');
  out += '\n';
  return out;
}

// ---- HostArray ---------------------------------------------------------------------------------

HostArray::HostArray(DType dtype, const Shape& shape) : dtype_(dtype), shape_(shape) {
  std::uint64_t bytes = 0;
  try {
    bytes = checked_nbytes(dtype, shape, "array");
  } catch (const Error& e) {
    throw Error(ErrorCode::kOutOfMemory, e.what());
  }
  numel_ = static_cast<std::int64_t>(bytes / dtype_size(dtype));
  nbytes_ = static_cast<std::size_t>(bytes);
  if (nbytes_ == 0) return;
  try {
    data_.reset(new unsigned char[nbytes_]);
  } catch (const std::bad_alloc&) {
    throw Error(ErrorCode::kOutOfMemory,
                "out of memory: cannot allocate " + std::to_string(nbytes_) + " bytes for " +
                    to_string(dtype) + " data of shape " + shape_to_string(shape));
  }
}

TensorView HostArray::view() {
  if (rank() > kMaxDims) {
    throw Error(ErrorCode::kShapeMismatch, "arrays of rank " + std::to_string(rank()) +
                                               " are not supported (at most " +
                                               std::to_string(kMaxDims) + " dims)");
  }
  return TensorView::contiguous(data_.get(), dtype_, Device::kCPU, shape_);
}

// ---- reading -----------------------------------------------------------------------------------

HostArray read_npy(const std::string& path) {
  InFile in(path);
  const std::uint64_t file_size = in.size();
  const std::string name = quoted(path);

  unsigned char prefix[12] = {};
  const std::size_t head = static_cast<std::size_t>(std::min<std::uint64_t>(file_size, 8));
  in.read_exact(prefix, head);
  if (head < kMagicSize || std::memcmp(prefix, kMagic, kMagicSize) != 0) {
    if (file_size == 0) io_fail(name + " is empty, not an .npy file");
    io_fail(name + " is not an .npy file (it does not start with \"\\x93NUMPY\")");
  }
  if (head < 8) io_fail(name + ": truncated .npy file (it ends inside the version field)");
  const int major = prefix[6], minor = prefix[7];
  if ((major != 1 && major != 2 && major != 3) || minor != 0) {
    io_fail(name + ": unsupported .npy format version " + std::to_string(major) + "." +
            std::to_string(minor) + " (supported: 1.0, 2.0, 3.0)");
  }
  const std::size_t len_bytes = major == 1 ? 2 : 4;
  if (file_size < 8 + len_bytes) io_fail(name + ": truncated .npy file (no header length)");
  in.read_exact(prefix + 8, len_bytes);
  const std::uint64_t header_len = read_le(prefix + 8, static_cast<int>(len_bytes));
  const std::uint64_t data_offset = 8 + len_bytes + header_len;
  if (data_offset > file_size) {
    io_fail(name + ": truncated .npy header (it declares " + std::to_string(header_len) +
            " bytes, but the file has " + std::to_string(file_size - 8 - len_bytes) +
            " after the length field)");
  }
  std::string text(static_cast<std::size_t>(header_len), '\0');
  in.read_exact(text.data(), text.size());

  NpyHeader h;
  std::uint64_t bytes = 0;
  try {
    h = parse_npy_header_dict(text);
    bytes = checked_nbytes(h.dtype, h.shape, "invalid .npy header");
  } catch (const Error& e) {
    throw Error(e.code(), name + ": " + e.what());
  }
  const std::uint64_t available = file_size - data_offset;
  if (bytes > available) {
    io_fail(name + ": truncated .npy data (shape " + shape_to_string(h.shape) + " of " +
            to_string(h.dtype) + " needs " + std::to_string(bytes) + " bytes, but only " +
            std::to_string(available) + " follow the header)");
  }
  if (bytes < available) {
    io_fail(name + ": " + std::to_string(available - bytes) +
            " unexpected trailing bytes after the .npy data (shape " + shape_to_string(h.shape) +
            " of " + to_string(h.dtype) + " needs " + std::to_string(bytes) + " bytes)");
  }
  HostArray array(h.dtype, h.shape);
  in.read_exact(array.data(), array.nbytes());
  return array;
}

// ---- writing -----------------------------------------------------------------------------------

namespace {

std::string folder_of(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// The contents of the symbolic link at `path`.
std::string read_link(const std::string& path, const std::string& shown) {
  std::string buf(256, '\0');
  for (;;) {
    const ssize_t n = ::readlink(path.c_str(), buf.data(), buf.size());
    if (n < 0) io_fail("cannot write " + shown + ": " + errno_text(errno));
    if (static_cast<std::size_t>(n) < buf.size()) {
      buf.resize(static_cast<std::size_t>(n));
      return buf;
    }
    buf.resize(buf.size() * 2);
  }
}

}  // namespace

std::string output_target(const std::string& path) {
  // As the kernel resolves the last component of a path (at most 40 links, relative targets
  // relative to the link's folder), but also through a link to nothing, which names the file
  // to create.
  constexpr int kMaxLinks = 40;
  std::string current = path;
  for (int links = 0;; ++links) {
    struct stat st {};
    if (::lstat(current.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) return current;
    if (links == kMaxLinks) {
      io_fail("cannot write " + quoted(path) + ": " + errno_text(ELOOP));
    }
    const std::string next = read_link(current, quoted(path));
    if (next.empty()) io_fail("cannot write " + quoted(path) + ": " + errno_text(ENOENT));
    if (next[0] == '/' || current.find('/') == std::string::npos) {
      current = next;
    } else {
      const std::string folder = folder_of(current);
      current = (folder == "/" ? std::string() : folder) + "/" + next;
    }
  }
}

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  if (path_.empty()) io_fail("the output path is empty");
  if (path_.back() == '/') io_fail("cannot write " + quoted(path_) + ": it is a directory");
  // What the path leads to, following every symbolic link (the kernel's view, which also
  // resolves links such as /proc/self/fd/1 that name no file in any folder).
  struct stat st {};
  existed_ = ::stat(path_.c_str(), &st) == 0;
  // A name too long for the file system, a folder that is not one or a loop of links fails
  // here rather than at the rename after the computation.
  if (!existed_ && errno != ENOENT) {
    io_fail("cannot write " + quoted(path_) + ": " + errno_text(errno));
  }
  if (existed_ && S_ISDIR(st.st_mode)) {
    io_fail("cannot write " + quoted(path_) + ": it is a directory");
  }
  if (existed_ && (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode))) {
    // A stream (/dev/stdout, /dev/null, a FIFO) is written in place: a rename would replace the
    // device node or FIFO with a regular file.
    open_in_place();
    return;
  }
  if (existed_ && !S_ISREG(st.st_mode)) {
    io_fail("cannot write " + quoted(path_) + ": it is " + file_kind(st.st_mode) +
            " (outputs are regular files, character devices or FIFOs)");
  }

  // A regular file, or nothing yet: the file a chain of symbolic links ends at is replaced, in
  // its own folder, and the links are kept.
  target_ = output_target(path_);
  const std::string shown = target_ == path_
                                ? quoted(path_)
                                : quoted(path_) + " (a symbolic link to " + quoted(target_) + ")";
  if (existed_) {
    struct stat tst {};
    if (::stat(target_.c_str(), &tst) != 0 || tst.st_dev != st.st_dev || tst.st_ino != st.st_ino) {
      io_fail("cannot write " + shown + ": the file its symbolic links lead to has no path");
    }
    // Renaming over a file needs only a writable folder; a file its owner made read-only is
    // not replaced behind their back. AT_EACCESS: the effective ids decide, as for open().
    if (::faccessat(AT_FDCWD, target_.c_str(), W_OK, AT_EACCESS) != 0) {
      const int err = errno;
      io_fail(
          "cannot write " + shown + ": " + errno_text(err) +
          (err == EACCES || err == EPERM ? " (the file is not writable; it is not replaced)" : ""));
    }
  }
  const std::string dir = folder_of(target_);
  install_signal_handlers();
  static unsigned counter = 0;
  // Signals stay blocked between creating the file and registering it for removal, so that
  // an interrupt cannot leave it behind, nor remove a file of the same name that is not ours.
  sigset_t block, saved;
  sigemptyset(&block);
  for (int sig : {SIGINT, SIGTERM, SIGHUP})
    sigaddset(&block, sig);
  int err = 0;
  for (int attempt = 0; attempt < 100; ++attempt) {
    // The temporary name does not contain the final one, so that it stays short whatever the
    // length of the final name (at most NAME_MAX, 255 bytes on Linux file systems).
    temp_path_ = (dir == "/" ? std::string("/") : dir + "/") + ".ups-tmp-" +
                 std::to_string(::getpid()) + "-" + std::to_string(counter++);
    ::sigprocmask(SIG_BLOCK, &block, &saved);
    fd_ = ::open(temp_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    err = errno;
    if (fd_ >= 0) register_temp(temp_path_);
    ::sigprocmask(SIG_SETMASK, &saved, nullptr);
    if (fd_ >= 0) break;
    if (err != EEXIST) {
      temp_path_.clear();
      io_fail("cannot write " + shown + ": " + errno_text(err));
    }
  }
  if (fd_ < 0) {
    temp_path_.clear();
    io_fail("cannot write " + shown + ": cannot create a temporary file next to it");
  }
  // Replacing a file keeps its permission bits, as editing it in place would.
  if (existed_) (void)::fchmod(fd_, st.st_mode & 07777);
}

void AtomicFile::open_in_place() {
  target_ = path_;
  in_place_ = true;
  // Opening a FIFO for writing waits for a reader, as a shell redirection does.
  do {
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CLOEXEC | O_NOCTTY);
  } while (fd_ < 0 && errno == EINTR);
  if (fd_ < 0) io_fail("cannot write " + quoted(path_) + ": " + errno_text(errno));
  struct stat st {};
  if (::fstat(fd_, &st) != 0 || !(S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode))) {
    // Replaced by something else between the stat and the open: writing into a regular file
    // in place would not be atomic.
    ::close(fd_);
    fd_ = -1;
    io_fail("cannot write " + quoted(path_) + ": it changed while it was being opened");
  }
}

AtomicFile::~AtomicFile() {
  discard();
}

void AtomicFile::discard() noexcept {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  if (!temp_path_.empty()) {
    ::unlink(temp_path_.c_str());
    unregister_temp(temp_path_);
    temp_path_.clear();
  }
}

void AtomicFile::write(const void* data, std::size_t bytes) {
  if (fd_ < 0) io_fail("cannot write " + quoted(path_) + ": the file is closed");
  const auto* p = static_cast<const unsigned char*>(data);
  while (bytes > 0) {
    const std::size_t chunk = std::min<std::size_t>(bytes, std::size_t(1) << 30);
    const ssize_t put = ::write(fd_, p, chunk);
    if (put < 0) {
      if (errno == EINTR) continue;
      io_fail("cannot write " + quoted(path_) + ": " + errno_text(errno));
    }
    p += put;
    bytes -= static_cast<std::size_t>(put);
  }
}

void AtomicFile::commit() {
  if (fd_ < 0) io_fail("cannot write " + quoted(path_) + ": the file is closed");
  if (in_place_) {
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) io_fail("cannot write " + quoted(path_) + ": " + errno_text(errno));
    return;
  }
  if (::fsync(fd_) != 0 && errno != EINVAL && errno != EROFS) {
    io_fail("cannot write " + quoted(path_) + ": " + errno_text(errno));
  }
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) io_fail("cannot write " + quoted(path_) + ": " + errno_text(errno));
  if (::rename(temp_path_.c_str(), target_.c_str()) != 0) {
    io_fail("cannot write " + quoted(path_) + ": " + errno_text(errno));
  }
  unregister_temp(temp_path_);
  temp_path_.clear();
}

void write_npy(AtomicFile& file, DType dtype, const Shape& shape, const void* data) {
  const std::string header = make_npy_header(dtype, shape);
  const std::uint64_t bytes = checked_nbytes(dtype, shape, "array");
  file.write(header.data(), header.size());
  if (bytes > 0) file.write(data, static_cast<std::size_t>(bytes));
}

void write_npy(const std::string& path, const TensorView& view) {
  if (view.device != Device::kCPU || !view.is_contiguous()) {
    throw Error(ErrorCode::kInvalidArgument, "write_npy needs a contiguous CPU view");
  }
  AtomicFile file(path);
  write_npy(file, view.dtype, view.shape(), view.data);
  file.commit();
}

}  // namespace cli
}  // namespace ups
