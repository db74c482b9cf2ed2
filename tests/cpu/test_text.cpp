// Escaping of outside text in messages (src/text.hpp). Expected strings are written by hand.
#include <catch2/catch.hpp>

#include <string>

#include "text.hpp"

using ups::detail::escape_text;

TEST_CASE("escape_text writes control bytes as \\xNN", "[text]") {
  using namespace std::string_literals;
  CHECK(escape_text("plain <f4 (1, 2), }") == "plain <f4 (1, 2), }");
  CHECK(escape_text("\x1b[2J<f4") == "\\x1b[2J<f4");
  CHECK(escape_text("de\0scr"s) == "de\\x00scr");
  CHECK(escape_text("a\nb\tc\rd\x7f") == "a\\x0ab\\x09c\\x0dd\\x7f");
  CHECK(escape_text("") == "");
  // Backslashes are doubled, so that an escaped byte and the text "\x1b" differ; in a message
  // that already holds escapes they are kept.
  CHECK(escape_text("\\x1b") == "\\\\x1b");
  CHECK(escape_text("\\x1b\x1b", false) == "\\x1b\\x1b");
}

TEST_CASE("escape_text keeps printable UTF-8 and escapes the rest byte by byte", "[text]") {
  // Printable characters of two, three and four bytes: e-acute, the euro sign, U+1F600.
  CHECK(escape_text("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80") ==
        "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
  // U+00A0, the first printable code point after the C1 controls, is kept.
  CHECK(escape_text("\xc2\xa0") == "\xc2\xa0");
  // C1 controls (U+0085, U+009B: CSI in 8-bit terminals) are escaped.
  CHECK(escape_text("\xc2\x85") == "\\xc2\\x85");
  CHECK(escape_text("\xc2\x9b") == "\\xc2\\x9b");
  // A Latin-1 byte on its own, as a version 1.0 header may hold, and a raw 8-bit CSI.
  CHECK(escape_text("\xe9t\xe9") == "\\xe9t\\xe9");
  CHECK(escape_text("\x9b"
                    "31m") == "\\x9b31m");
  // Overlong forms, surrogates, code points past U+10FFFF and truncated sequences.
  CHECK(escape_text("\xc0\xaf") == "\\xc0\\xaf");
  CHECK(escape_text("\xe0\x80\xaf") == "\\xe0\\x80\\xaf");
  CHECK(escape_text("\xed\xa0\x80") == "\\xed\\xa0\\x80");
  CHECK(escape_text("\xf4\x90\x80\x80") == "\\xf4\\x90\\x80\\x80");
  CHECK(escape_text("\xe2\x82") == "\\xe2\\x82");
  CHECK(escape_text("\xe2\x82x") == "\\xe2\\x82x");
}
