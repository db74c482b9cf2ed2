// The libFuzzer entry point of one fuzz target. UPS_FUZZ_TARGET names the ups_fuzz function it
// runs (tests/fuzz.cmake builds one program per target). A finding or any exception other than
// ups::Error (which the targets handle) aborts, so that libFuzzer saves the input.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>

#include "fuzz_targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    ups_fuzz::UPS_FUZZ_TARGET(data, size);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    std::abort();
  }
  return 0;
}
