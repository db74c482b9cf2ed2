// Captures the ups::Error a call throws, so that tests can check its code and message.
#pragma once

#include <catch2/catch.hpp>

#include "ups/error.hpp"

namespace ups_test {

// Runs `f` and returns the ups::Error it throws; fails the test when it throws nothing.
template <class F>
ups::Error error_of(F&& f) {
  try {
    f();
  } catch (const ups::Error& e) {
    return e;
  }
  FAIL("expected a ups::Error");
  return ups::Error(ups::ErrorCode::kInternal, "unreachable");
}

}  // namespace ups_test
