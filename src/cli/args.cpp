#include "cli/args.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>

namespace ups {
namespace cli {
namespace {

std::string quoted(const std::string& s) {
  return "'" + s + "'";
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// A word that looks like a negative number ("-2", "-.5") is a value, not an option.
bool looks_like_option(const std::string& arg) {
  if (arg.size() < 2 || arg[0] != '-') return false;
  return !(is_digit(arg[1]) || arg[1] == '.');
}

std::string show(const std::string& text) {
  return text.empty() ? std::string("an empty string") : quoted(text);
}

}  // namespace

// ---- ArgSpec -----------------------------------------------------------------------------------

ArgSpec& ArgSpec::flag(const std::string& name, const std::string& help) {
  options_.push_back({name, "", help, false});
  return *this;
}

ArgSpec& ArgSpec::option(const std::string& name, const std::string& metavar,
                         const std::string& help, bool required) {
  options_.push_back({name, metavar, help, required});
  return *this;
}

ArgSpec& ArgSpec::positional(const std::string& name, const std::string& help, bool required) {
  positionals_.push_back({name, "", help, required});
  return *this;
}

const ArgSpec::Entry* ArgSpec::find(const std::string& name) const {
  for (const Entry& e : options_) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

ParsedArgs ArgSpec::parse(const std::vector<std::string>& args) const {
  ParsedArgs out;
  // Help wins over every other mistake, so that `ups CMD --bogus --help` still shows help.
  for (const std::string& a : args) {
    if (a == "--") break;
    if (a == "-h" || a == "--help") {
      out.help_ = true;
      return out;
    }
  }
  std::size_t npos = 0;
  bool only_positionals = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (!only_positionals && a == "--") {
      only_positionals = true;
      continue;
    }
    if (!only_positionals && looks_like_option(a)) {
      const std::size_t eq = a.find('=');
      const std::string name = a.substr(0, eq);
      const Entry* e = find(name);
      if (e == nullptr) throw UsageError("unknown option " + quoted(name));
      if (out.values_.count(name) != 0) {
        throw UsageError("option " + name + " is given more than once");
      }
      std::string value;
      if (e->metavar.empty()) {
        if (eq != std::string::npos) throw UsageError("option " + name + " takes no value");
      } else if (eq != std::string::npos) {
        value = a.substr(eq + 1);
      } else {
        if (i + 1 >= args.size() || args[i + 1] == "--" ||
            (args[i + 1].rfind("--", 0) == 0 && args[i + 1].size() > 2)) {
          throw UsageError("option " + name + " needs a value (" + name + " " + e->metavar + ")");
        }
        value = args[++i];
      }
      out.values_[name] = value;
      continue;
    }
    if (npos >= positionals_.size()) throw UsageError("unexpected argument " + quoted(a));
    out.positionals_[positionals_[npos++].name] = a;
  }
  if (npos < positionals_.size() && positionals_[npos].required) {
    throw UsageError("missing argument " + positionals_[npos].name);
  }
  for (const Entry& e : options_) {
    if (e.required && out.values_.count(e.name) == 0) {
      throw UsageError("missing required option " + e.name + " " + e.metavar);
    }
  }
  return out;
}

std::vector<std::string> ArgSpec::synopsis() const {
  std::vector<std::string> items;
  for (const Entry& e : positionals_)
    items.push_back(e.required ? e.name : "[" + e.name + "]");
  for (const Entry& e : options_) {
    const std::string item = e.name + (e.metavar.empty() ? "" : " " + e.metavar);
    items.push_back(e.required ? item : "[" + item + "]");
  }
  return items;
}

std::string ArgSpec::describe() const {
  std::size_t width = 0;
  auto label = [](const Entry& e) { return e.name + (e.metavar.empty() ? "" : " " + e.metavar); };
  for (const Entry& e : positionals_)
    width = std::max(width, label(e).size());
  for (const Entry& e : options_)
    width = std::max(width, label(e).size());
  width = std::max<std::size_t>(width, std::string("-h, --help").size());
  std::string s;
  auto line = [&](const std::string& l, const std::string& help) {
    s += "  " + l + std::string(width - l.size() + 2, ' ');
    // Continuation lines of a multi-line help text line up with its first line.
    for (char c : help) {
      s += c;
      if (c == '\n') s += std::string(width + 4, ' ');
    }
    s += '\n';
  };
  for (const Entry& e : positionals_)
    line(label(e), e.help);
  for (const Entry& e : options_)
    line(label(e), e.help);
  line("-h, --help", "show this help and exit");
  return s;
}

// ---- ParsedArgs --------------------------------------------------------------------------------

std::optional<std::string> ParsedArgs::get(const std::string& name) const {
  const auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

const std::string& ParsedArgs::positional(const std::string& name) const {
  const auto it = positionals_.find(name);
  if (it == positionals_.end()) throw UsageError("missing argument " + name);
  return it->second;
}

// ---- numbers -----------------------------------------------------------------------------------

std::int64_t parse_int(const std::string& text, const std::string& what, std::int64_t min,
                       std::int64_t max) {
  std::size_t i = 0;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) ++i;
  const std::size_t digits = i;
  while (i < text.size() && is_digit(text[i]))
    ++i;
  if (i == digits || i != text.size()) {
    throw UsageError(what + ": expected an integer, got " + show(text));
  }
  errno = 0;
  const long long v = std::strtoll(text.c_str(), nullptr, 10);
  if (errno == ERANGE) throw UsageError(what + ": " + text + " is out of range");
  if (v < min || v > max) {
    if (min == 0 && v < 0)
      throw UsageError(what + ": expected a non-negative integer, got " + text);
    throw UsageError(what + ": " + text + " is out of range (expected " + std::to_string(min) +
                     " to " + std::to_string(max) + ")");
  }
  return static_cast<std::int64_t>(v);
}

double parse_real(const std::string& text, const std::string& what) {
  // Plain decimal notation only: strtod alone would also take "nan", "inf", hex and leading
  // spaces.
  std::size_t i = 0;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) ++i;
  std::size_t mantissa = 0;
  while (i < text.size() && is_digit(text[i]))
    ++i, ++mantissa;
  if (i < text.size() && text[i] == '.') {
    ++i;
    while (i < text.size() && is_digit(text[i]))
      ++i, ++mantissa;
  }
  bool ok = mantissa > 0;
  if (ok && i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) ++i;
    const std::size_t exp_start = i;
    while (i < text.size() && is_digit(text[i]))
      ++i;
    ok = i > exp_start;
  }
  if (!ok || i != text.size()) {
    throw UsageError(what + ": expected a finite number, got " + show(text));
  }
  errno = 0;
  const double v = std::strtod(text.c_str(), nullptr);
  if (!std::isfinite(v)) throw UsageError(what + ": " + text + " is out of range");
  return v;
}

std::vector<std::string> split_tuple(const std::string& text, const std::string& what) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = text.find(',', start);
    std::string part =
        text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    const std::size_t b = part.find_first_not_of(' ');
    const std::size_t e = part.find_last_not_of(' ');
    part = b == std::string::npos ? std::string() : part.substr(b, e - b + 1);
    if (part.empty()) {
      throw UsageError(what + ": empty element in " + show(text) +
                       " (expected comma-separated values, e.g. 2 or 2,3)");
    }
    parts.push_back(part);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return parts;
}

std::vector<std::int64_t> parse_int_tuple(const std::string& text, const std::string& what,
                                          std::int64_t min, std::int64_t max) {
  std::vector<std::int64_t> out;
  for (const std::string& p : split_tuple(text, what))
    out.push_back(parse_int(p, what, min, max));
  return out;
}

std::vector<double> parse_real_tuple(const std::string& text, const std::string& what) {
  std::vector<double> out;
  for (const std::string& p : split_tuple(text, what))
    out.push_back(parse_real(p, what));
  return out;
}

}  // namespace cli
}  // namespace ups
