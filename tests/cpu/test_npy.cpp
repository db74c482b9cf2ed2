// The .npy module of the ups program, compiled into this suite from its source file.
#include <catch2/catch.hpp>

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "cli/npy.cpp"  // NOLINT: the program's sources are not part of the library

namespace {

using ups::DType;
using ups::Shape;
using ups::cli::HostArray;

class TempDir {
 public:
  TempDir() {
    char templ[] = "/tmp/ups-npy-test-XXXXXX";
    REQUIRE(::mkdtemp(templ) != nullptr);
    path_ = templ;
  }
  ~TempDir() {
    for (const std::string& f : files_)
      std::remove(f.c_str());
    ::rmdir(path_.c_str());
  }
  std::string file(const std::string& name) {
    files_.push_back(path_ + "/" + name);
    return files_.back();
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::vector<std::string> files_;
};

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

void spit(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// The names in a folder, sorted, without "." and "..".
std::vector<std::string> entries(const std::string& dir) {
  std::vector<std::string> names;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (const dirent* e = ::readdir(d)) {
      const std::string name = e->d_name;
      if (name != "." && name != "..") names.push_back(name);
    }
    ::closedir(d);
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string error_of(const std::string& header_dict) {
  try {
    ups::cli::parse_npy_header_dict(header_dict);
  } catch (const ups::Error& e) {
    CHECK(e.code() == ups::ErrorCode::kIoError);
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("npy: the header NumPy writes, byte for byte", "[cli][npy]") {
  // numpy.save of np.zeros((2, 3), np.float32) writes this 128-byte prefix.
  const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  std::string expected = std::string("\x93NUMPY\x01\x00", 8) + std::string("\x76\x00", 2) + dict;
  expected += std::string(128 - expected.size() - 1, ' ') + "\n";
  CHECK(ups::cli::make_npy_header(DType::kF32, {2, 3}) == expected);
  // A 1-D shape is a one-element tuple, a 0-D shape an empty one.
  CHECK(ups::cli::make_npy_header(DType::kU8, {5}).find("'descr': '|u1'") != std::string::npos);
  CHECK(ups::cli::make_npy_header(DType::kI64, {5}).find("'shape': (5,)") != std::string::npos);
  CHECK(ups::cli::make_npy_header(DType::kF64, {}).find("'shape': ()") != std::string::npos);
}

TEST_CASE("npy: header dicts", "[cli][npy]") {
  const auto h = ups::cli::parse_npy_header_dict(
      "{'descr': '<i8', 'fortran_order': False, 'shape': (4, 0, 7), }   \n");
  CHECK(h.dtype == DType::kI64);
  CHECK(h.shape == Shape{4, 0, 7});
  CHECK(ups::cli::parse_npy_header_dict("{\"shape\":(),\"descr\":\"<i4\",\"fortran_order\":False}")
            .shape.empty());
  CHECK(ups::cli::parse_npy_header_dict("{'descr': '|u1', 'fortran_order': False, 'shape': (3,)}")
            .shape == Shape{3});

  CHECK_THAT(error_of("(1, 2)"), Catch::Contains("not a Python dict"));
  CHECK_THAT(error_of("{'descr': '<f4', 'fortran_order': True, 'shape': (2,)}"),
             Catch::Contains("Fortran-order"));
  CHECK_THAT(error_of("{'descr': '>f8', 'fortran_order': False, 'shape': (2,)}"),
             Catch::Contains("big-endian"));
  CHECK_THAT(error_of("{'descr': '<c16', 'fortran_order': False, 'shape': (2,)}"),
             Catch::Contains("unsupported .npy dtype '<c16'"));
  CHECK_THAT(error_of("{'descr': '<f4', 'fortran_order': False}"),
             Catch::Contains("no 'shape' key"));
  CHECK_THAT(error_of("{'descr': '<f4', 'fortran_order': False, 'shape': (9223372036854775808,)}"),
             Catch::Contains("exceeds the int64 range"));
  CHECK_THAT(error_of("{'descr': '<f4', 'fortran_order': False, 'shape': (9223372036854775807,)}"),
             Catch::Equals(""));
}

TEST_CASE("npy: header text in messages is escaped", "[cli][npy]") {
  using namespace std::string_literals;
  // An escape sequence in the type string, a NUL in a key, a Latin-1 byte in a key.
  std::string e = error_of("{'descr': '\x1b[2J<f4', 'fortran_order': False, 'shape': (1,), }");
  CHECK_THAT(e, Catch::Contains("unsupported .npy dtype '\\x1b[2J<f4'"));
  CHECK(e.find('\x1b') == std::string::npos);
  e = error_of("{'de\0scr': '<f4', 'fortran_order': False, 'shape': (1,), }"s);
  CHECK_THAT(e, Catch::Contains("unexpected key 'de\\x00scr' (an .npy header has exactly"));
  CHECK(e.find('\0') == std::string::npos);
  e = error_of("{'sh\xe9pe': (1,), }");
  CHECK_THAT(e, Catch::Contains("unexpected key 'sh\\xe9pe'"));
  e = error_of("{'descr': '>f4\x1b]0;x\x07', 'fortran_order': False, 'shape': (1,), }");
  CHECK_THAT(e, Catch::Contains("'>f4\\x1b]0;x\\x07'"));
  CHECK_THAT(e, Catch::Contains("array.astype('<f4\\x1b]0;x\\x07')"));
  CHECK(e.find('\x1b') == std::string::npos);
  CHECK(e.find('\x07') == std::string::npos);
}

TEST_CASE("npy: byte counts are checked for overflow", "[cli][npy]") {
  CHECK(ups::cli::checked_nbytes(DType::kF64, {2, 3}, "x") == 48);
  CHECK(ups::cli::checked_nbytes(DType::kF64, {}, "x") == 8);
  CHECK(ups::cli::checked_nbytes(DType::kF32, {std::int64_t(1) << 62, 0}, "x") == 0);
  CHECK_THROWS_AS(ups::cli::checked_nbytes(DType::kF32, {std::int64_t(1) << 62}, "x"), ups::Error);
  CHECK_THROWS_AS(ups::cli::checked_nbytes(DType::kU8, {1 << 30, 1 << 30, 1 << 30}, "x"),
                  ups::Error);
  CHECK_THROWS_AS(ups::cli::npy_descr(DType::kBF16), ups::Error);
}

TEST_CASE("npy: every dtype and rank round-trips through a file", "[cli][npy]") {
  TempDir dir;
  const std::string path = dir.file("a.npy");
  for (DType dtype :
       {DType::kF32, DType::kF64, DType::kF16, DType::kU8, DType::kI32, DType::kI64}) {
    for (const Shape& shape : {Shape{}, Shape{3}, Shape{2, 3}, Shape{1, 2, 3}, Shape{2, 1, 2, 3},
                               Shape{1, 2, 1, 2, 2}, Shape{2, 1, 1, 1, 2, 2}, Shape{2, 0, 3}}) {
      HostArray a(dtype, shape);
      auto* bytes = static_cast<unsigned char*>(a.data());
      for (std::size_t i = 0; i < a.nbytes(); ++i)
        bytes[i] = static_cast<unsigned char>(i * 7 + 1);
      ups::cli::AtomicFile f(path);
      ups::cli::write_npy(f, dtype, shape, a.data());
      f.commit();

      const std::string raw = slurp(path);
      REQUIRE(raw.size() % 64 == a.nbytes() % 64);
      const HostArray b = ups::cli::read_npy(path);
      CHECK(b.dtype() == dtype);
      CHECK(b.shape() == shape);
      REQUIRE(b.nbytes() == a.nbytes());
      CHECK((a.nbytes() == 0 || std::memcmp(a.data(), b.data(), a.nbytes()) == 0));
    }
  }
}

TEST_CASE("npy: headers longer than 64 KiB use format version 2.0", "[cli][npy]") {
  TempDir dir;
  const std::string path = dir.file("long.npy");
  const Shape shape(25000, 1);  // "1, " times 25000 does not fit a 16-bit length
  const std::string header = ups::cli::make_npy_header(DType::kI32, shape);
  REQUIRE(header.size() > 65536);
  CHECK(header[6] == 2);
  CHECK(header.size() % 64 == 0);
  const std::int32_t value = -123456;
  spit(path, header + std::string(reinterpret_cast<const char*>(&value), 4));
  const HostArray a = ups::cli::read_npy(path);
  CHECK(a.shape() == shape);
  CHECK(*static_cast<const std::int32_t*>(a.data()) == value);
}

TEST_CASE("npy: an abandoned AtomicFile leaves the old file alone", "[cli][npy]") {
  TempDir dir;
  const std::string path = dir.file("keep.npy");
  spit(path, "old");
  {
    ups::cli::AtomicFile f(path);
    f.write("new", 3);
  }
  CHECK(slurp(path) == "old");
  ups::cli::AtomicFile g(path);
  g.write("new", 3);
  g.commit();
  CHECK(slurp(path) == "new");
  // Nothing but the file itself is left in the folder.
  CHECK(entries(dir.path()) == std::vector<std::string>{"keep.npy"});
}
