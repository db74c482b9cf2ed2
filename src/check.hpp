// Internal error helpers.
#pragma once

#include <sstream>
#include <string>
#include <utility>

#include "ups/error.hpp"

namespace ups {
namespace detail {

template <class... Args>
std::string concat(Args&&... args) {
  std::ostringstream os;
  (os << ... << std::forward<Args>(args));
  return os.str();
}

// A boolean environment variable (context.cpp): case-insensitively 1, true, yes, on or 0, false,
// no, off, empty or unset; anything else means off, with a warning on stderr.
bool env_flag(const char* name);

[[noreturn]] inline void fail(ErrorCode code, const std::string& message) {
  throw Error(code, message);
}

}  // namespace detail
}  // namespace ups

/// Throws ups::Error(code, concat(args...)) unless cond holds.
#define UPS_CHECK(cond, code, ...)                                                \
  do {                                                                            \
    if (!(cond)) ::ups::detail::fail((code), ::ups::detail::concat(__VA_ARGS__)); \
  } while (0)
