# Fuzz targets (tests/fuzz). Each target is a function of the fuzzer's bytes that either
# returns or reports a finding, so the same code serves two programs:
# - ups_tests (any compiler) links the targets, and tests/cpu/test_fuzz_regressions.cpp replays
#   every committed input of tests/fuzz/corpus/<target>/ through them;
# - with UPS_BUILD_FUZZERS=ON (clang only), one libFuzzer program per target, ups_fuzz_<target>,
#   built with -fsanitize=fuzzer,address,undefined against an instrumented static copy of the
#   library's CPU sources, plus a CTest entry fuzz:replay:<target> (label fuzz) that runs the
#   committed corpus through it. scripts/run-fuzzers runs them for a while.
option(UPS_BUILD_FUZZERS "Build the libFuzzer programs of tests/fuzz (needs clang)" OFF)

set(UPS_FUZZ_DIR ${CMAKE_CURRENT_SOURCE_DIR}/fuzz)
set(UPS_FUZZ_TARGETS npy interpolate resize conv_transpose pool pixel_shuffle)

# ---- replay in the CPU suite ----
# The npy target needs the program's npy.cpp, which tests/cpu/test_npy.cpp already compiles into
# ups_tests; the other targets use the public API only.
set(UPS_FUZZ_TARGET_SOURCES)
foreach(target ${UPS_FUZZ_TARGETS})
  list(APPEND UPS_FUZZ_TARGET_SOURCES ${UPS_FUZZ_DIR}/fuzz_${target}.cpp)
endforeach()
target_sources(ups_tests PRIVATE ${UPS_FUZZ_TARGET_SOURCES})
target_include_directories(ups_tests PRIVATE ${UPS_FUZZ_DIR})
target_compile_definitions(ups_tests PRIVATE UPS_FUZZ_CORPUS_DIR="${UPS_FUZZ_DIR}/corpus")

# ---- libFuzzer programs ----
if(UPS_BUILD_FUZZERS)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "UPS_BUILD_FUZZERS needs clang (libFuzzer), but the C++ compiler is "
                        "${CMAKE_CXX_COMPILER_ID}; configure with -DCMAKE_CXX_COMPILER=clang++ "
                        "(or use the fuzz preset)")
  endif()
  set(UPS_FUZZ_FLAGS -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
      -fno-omit-frame-pointer -g)
  include(CheckCXXSourceCompiles)
  set(CMAKE_REQUIRED_FLAGS "-fsanitize=fuzzer")
  check_cxx_source_compiles(
      "#include <cstdint>
       #include <cstddef>
       extern \"C\" int LLVMFuzzerTestOneInput(const std::uint8_t*, std::size_t) { return 0; }"
      UPS_HAVE_LIBFUZZER)
  unset(CMAKE_REQUIRED_FLAGS)
  if(NOT UPS_HAVE_LIBFUZZER)
    message(FATAL_ERROR "UPS_BUILD_FUZZERS: ${CMAKE_CXX_COMPILER} cannot link -fsanitize=fuzzer; "
                        "install clang's runtime libraries (Debian: libclang-rt-14-dev)")
  endif()

  # The library's CPU sources, instrumented for coverage and the sanitizers, linked statically.
  file(GLOB UPS_FUZZ_LIB_SOURCES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/*.cpp
       ${PROJECT_SOURCE_DIR}/src/cpu/*.cpp ${PROJECT_SOURCE_DIR}/src/cuda/*_stub.cpp)
  add_library(ups_fuzz_lib STATIC ${UPS_FUZZ_LIB_SOURCES})
  target_include_directories(ups_fuzz_lib
      PUBLIC ${PROJECT_SOURCE_DIR}/include ${PROJECT_BINARY_DIR}/include
      PRIVATE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/kernels)
  target_compile_definitions(ups_fuzz_lib PUBLIC UPS_STATIC_DEFINE
      PRIVATE UPS_BUILD_TYPE="fuzz")
  target_compile_options(ups_fuzz_lib PRIVATE -fsanitize=fuzzer-no-link,address,undefined
      -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g -ffp-contract=off)
  target_compile_features(ups_fuzz_lib PUBLIC cxx_std_17)
  target_link_libraries(ups_fuzz_lib PUBLIC Threads::Threads hwy::hwy)

  foreach(target ${UPS_FUZZ_TARGETS})
    set(sources ${UPS_FUZZ_DIR}/libfuzzer_entry.cpp ${UPS_FUZZ_DIR}/fuzz_${target}.cpp)
    if(target STREQUAL "npy")
      list(APPEND sources ${PROJECT_SOURCE_DIR}/src/cli/npy.cpp)
    endif()
    add_executable(ups_fuzz_${target} ${sources})
    target_include_directories(ups_fuzz_${target} PRIVATE ${UPS_FUZZ_DIR} ${PROJECT_SOURCE_DIR}/src)
    target_compile_definitions(ups_fuzz_${target} PRIVATE UPS_FUZZ_TARGET=run_${target})
    target_compile_options(ups_fuzz_${target} PRIVATE ${UPS_FUZZ_FLAGS})
    target_link_options(ups_fuzz_${target} PRIVATE ${UPS_FUZZ_FLAGS})
    target_link_libraries(ups_fuzz_${target} PRIVATE ups_fuzz_lib)
    ups_set_warnings(ups_fuzz_${target})

    # Replays the committed inputs (seeds and regressions); -runs=0 runs each input once.
    add_test(NAME fuzz:replay:${target}
             COMMAND ups_fuzz_${target} -runs=0 ${UPS_FUZZ_DIR}/corpus/${target})
    set_tests_properties(fuzz:replay:${target} PROPERTIES LABELS fuzz TIMEOUT 300
        ENVIRONMENT "ASAN_OPTIONS=detect_leaks=1:halt_on_error=1;UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1")
  endforeach()
endif()
