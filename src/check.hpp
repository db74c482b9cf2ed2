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
