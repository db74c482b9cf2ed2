// Text from outside the program (file contents, paths, environment variables) made safe to put in
// a message: a terminal must not receive control sequences from it, and a NUL byte must not end
// the message early.
#pragma once

#include <cstddef>
#include <string>

namespace ups {
namespace detail {

// Length of the well-formed UTF-8 sequence of a printable character (U+00A0 or above, no C1
// control, no surrogate, no overlong form) that starts at s[i], or 0.
inline std::size_t printable_utf8_length(const std::string& s, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char b0 = byte(i);
  std::size_t len = 0;
  char32_t cp = 0;
  char32_t min = 0;
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    len = 2, cp = b0 & 0x1f, min = 0x80;
  } else if (b0 >= 0xe0 && b0 <= 0xef) {
    len = 3, cp = b0 & 0x0f, min = 0x800;
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    len = 4, cp = b0 & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    if ((byte(i + k) & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  if (cp < 0xa0) return 0;  // C1 controls U+0080..U+009F
  return len;
}

// `s` with every byte that is not printable ASCII or part of a printable UTF-8 character
// written as \xNN (lower-case hex), e.g. ESC as \x1b and NUL as \x00. With escape_backslash a
// backslash becomes \\, so that the result reads back unambiguously; without it, text that
// already holds escapes (a message) keeps them.
inline std::string escape_text(const std::string& s, bool escape_backslash = true) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '\\' && escape_backslash) {
      out += "\\\\";
      ++i;
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
      ++i;
    } else if (const std::size_t n = c >= 0x80 ? printable_utf8_length(s, i) : 0) {
      out.append(s, i, n);
      i += n;
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
      ++i;
    }
  }
  return out;
}

}  // namespace detail
}  // namespace ups
