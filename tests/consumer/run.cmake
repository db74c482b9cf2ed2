# Driver of the consumer:find_package test (cmake -P): installs a ups build into PREFIX, then
# configures, builds and runs tests/consumer against that installation.
#
# Variables: UPS_BUILD_DIR, UPS_CONFIG (may be empty), PREFIX, CONSUMER_SOURCE_DIR,
# CONSUMER_BINARY_DIR, GENERATOR, MAKE_PROGRAM (may be empty), CXX_COMPILER.
foreach(var UPS_BUILD_DIR PREFIX CONSUMER_SOURCE_DIR CONSUMER_BINARY_DIR GENERATOR CXX_COMPILER)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "run.cmake: ${var} is not set")
  endif()
endforeach()

function(run_step name)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${name} failed (${rc}):\n${out}")
  endif()
  message(STATUS "${name}: ok")
  set(last_output "${out}" PARENT_SCOPE)
endfunction()

# Start from nothing, so that a stale installation or cache cannot satisfy the test.
file(REMOVE_RECURSE "${PREFIX}" "${CONSUMER_BINARY_DIR}")

set(config_args)
if(UPS_CONFIG)
  set(config_args --config "${UPS_CONFIG}")
endif()
run_step("install" "${CMAKE_COMMAND}" --install "${UPS_BUILD_DIR}" --prefix "${PREFIX}"
         ${config_args})

set(configure_args -S "${CONSUMER_SOURCE_DIR}" -B "${CONSUMER_BINARY_DIR}" -G "${GENERATOR}"
    "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}" "-DCMAKE_PREFIX_PATH=${PREFIX}"
    "-DUPS_EXPECTED_PREFIX=${PREFIX}" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
    -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF)
if(MAKE_PROGRAM)
  list(APPEND configure_args "-DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM}")
endif()
if(UPS_CONFIG)
  list(APPEND configure_args "-DCMAKE_BUILD_TYPE=${UPS_CONFIG}")
endif()
run_step("configure" "${CMAKE_COMMAND}" ${configure_args})
run_step("build" "${CMAKE_COMMAND}" --build "${CONSUMER_BINARY_DIR}" ${config_args})

file(GLOB_RECURSE programs LIST_DIRECTORIES false "${CONSUMER_BINARY_DIR}/*ups_consumer")
list(LENGTH programs count)
if(NOT count EQUAL 1)
  message(FATAL_ERROR "expected one ups_consumer program, found: ${programs}")
endif()
run_step("run" "${programs}")
message(STATUS "${last_output}")
