// Fuzz target: the .npy reader of the ups program (src/cli/npy.cpp).
//
// The first byte picks what the rest of the input is:
//   0: a header dict, given to parse_npy_header_dict;
//   1: a whole file, given to read_npy;
//   2: a header dict wrapped in a well-formed prefix (magic, a version, the length), followed by
//      a few data bytes, given to read_npy (reaches the dict parser through the file path).
// Whatever parses must describe itself consistently: the header ups writes for the parsed dtype
// and shape parses back to them, and read_npy returns exactly the bytes after the header.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "cli/npy.hpp"
#include "fuzz_support.hpp"
#include "fuzz_targets.hpp"

namespace ups_fuzz {
namespace {

// The file read_npy opens: an in-memory file, rewritten for every input.
class ScratchFile {
 public:
  ScratchFile() {
    fd_ = ::memfd_create("ups-fuzz-npy", MFD_CLOEXEC);
    if (fd_ < 0) {
      // No memfd: an unlinked temporary file, reopened through /proc as well.
      char templ[] = "/tmp/ups-fuzz-npy-XXXXXX";
      fd_ = ::mkstemp(templ);
      if (fd_ < 0) {
        std::perror("ups fuzz: cannot create a scratch file");
        std::abort();
      }
      ::unlink(templ);
    }
    path_ = "/proc/self/fd/" + std::to_string(fd_);
  }
  const std::string& write(const std::string& bytes) {
    if (::ftruncate(fd_, 0) != 0 ||
        ::pwrite(fd_, bytes.data(), bytes.size(), 0) != static_cast<ssize_t>(bytes.size())) {
      std::perror("ups fuzz: cannot write the scratch file");
      std::abort();
    }
    return path_;
  }

 private:
  int fd_ = -1;
  std::string path_;
};

void check_header_round_trip(const ups::cli::NpyHeader& h) {
  // make_npy_header writes one number per dim; keep the header small.
  if (h.shape.size() > 64) return;
  const std::string header = ups::cli::make_npy_header(h.dtype, h.shape);
  expect(header.size() % 64 == 0, "make_npy_header does not align the data to 64 bytes");
  expect(header.compare(0, 6, "\x93NUMPY") == 0, "make_npy_header writes no magic");
  const std::size_t len_bytes = header[6] == 1 ? 2 : 4;
  const std::string dict = header.substr(8 + len_bytes);
  const ups::cli::NpyHeader back = ups::cli::parse_npy_header_dict(dict);
  expect(back.dtype == h.dtype && back.shape == h.shape,
         "the header written for " + describe(h.shape) + " does not parse back to it");
}

void read_file(const std::string& bytes) {
  static ScratchFile file;
  const std::string& path = file.write(bytes);
  ups::cli::HostArray a;
  if (!succeeds([&] { a = ups::cli::read_npy(path); })) return;
  // The data is the tail of the file, and its size is what the header declares.
  expect(a.nbytes() <= bytes.size(), "read_npy returned more bytes than the file holds");
  const std::uint64_t declared = ups::cli::checked_nbytes(a.dtype(), a.shape(), "fuzz");
  expect(declared == a.nbytes(), "read_npy's buffer size differs from its shape's byte count");
  expect(a.nbytes() == 0 || bytes.compare(bytes.size() - a.nbytes(), a.nbytes(),
                                          static_cast<const char*>(a.data()), a.nbytes()) == 0,
         "read_npy's data differs from the bytes after the header");
  ups::cli::NpyHeader h;
  h.dtype = a.dtype();
  h.shape = a.shape();
  check_header_round_trip(h);
}

}  // namespace

void run_npy(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return;
  const std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0: {
      ups::cli::NpyHeader h;
      if (succeeds([&] { h = ups::cli::parse_npy_header_dict(rest); })) check_header_round_trip(h);
      break;
    }
    case 1:
      read_file(rest);
      break;
    default: {
      // rest = version byte, data length byte, dict..., data (the last `data length` bytes).
      if (rest.size() < 2) return;
      const int major = 1 + static_cast<unsigned char>(rest[0]) % 3;
      const std::size_t tail =
          std::min<std::size_t>(static_cast<unsigned char>(rest[1]), rest.size() - 2);
      const std::string dict = rest.substr(2, rest.size() - 2 - tail);
      std::string file("\x93NUMPY", 6);
      file += static_cast<char>(major);
      file += '\0';
      const int len_bytes = major == 1 ? 2 : 4;
      for (int i = 0; i < len_bytes; ++i)
        file += static_cast<char>((dict.size() >> (8 * i)) & 0xff);
      file += dict;
      file += rest.substr(rest.size() - tail);
      read_file(file);
      break;
    }
  }
}

}  // namespace ups_fuzz
