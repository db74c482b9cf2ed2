# Driver of the consumer:find_package test (cmake -P): installs a ups build into PREFIX, then
# configures, builds and runs tests/consumer against that installation. Then it builds the same
# program without CMake, as a plain compiler call with the flags of the
# installed pkg-config file, `c++ main.cpp $(pkg-config --cflags --libs ups)`, and runs it.
#
# Variables: UPS_BUILD_DIR, UPS_CONFIG (may be empty), PREFIX, CONSUMER_SOURCE_DIR,
# CONSUMER_BINARY_DIR, GENERATOR, MAKE_PROGRAM (may be empty), CXX_COMPILER, PKG_CONFIG.
foreach(var UPS_BUILD_DIR PREFIX CONSUMER_SOURCE_DIR CONSUMER_BINARY_DIR GENERATOR CXX_COMPILER
        PKG_CONFIG)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "" OR "${${var}}" MATCHES "-NOTFOUND$")
    message(FATAL_ERROR "run.cmake: ${var} is not set (PKG_CONFIG: install pkg-config)")
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

# pkg-config: the file must be found through PKG_CONFIG_PATH alone and name this installation.
file(GLOB pc_files "${PREFIX}/*/pkgconfig/ups.pc" "${PREFIX}/*/*/pkgconfig/ups.pc")
list(LENGTH pc_files count)
if(NOT count EQUAL 1)
  message(FATAL_ERROR "expected one installed ups.pc under ${PREFIX}, found: ${pc_files}")
endif()
get_filename_component(pc_dir "${pc_files}" DIRECTORY)
set(ENV{PKG_CONFIG_PATH} "${pc_dir}")
set(ENV{PKG_CONFIG_LIBDIR} "${pc_dir}")
run_step("pkg-config --modversion" "${PKG_CONFIG}" --modversion ups)
string(STRIP "${last_output}" pc_version)
file(STRINGS "${PREFIX}/include/ups/version.hpp" version_line REGEX "define UPS_VERSION_STRING")
if(NOT version_line MATCHES "\"${pc_version}\"")
  message(FATAL_ERROR "ups.pc says version ${pc_version}; version.hpp says: ${version_line}")
endif()
set(pc_program "${CONSUMER_BINARY_DIR}/ups_consumer_pkg_config")
run_step("c++ $(pkg-config --cflags --libs ups)" sh -c
         "\"$1\" \"$2\" $(\"$3\" --cflags --libs ups) -o \"$4\"" sh "${CXX_COMPILER}"
         "${CONSUMER_SOURCE_DIR}/main.cpp" "${PKG_CONFIG}" "${pc_program}")
run_step("run (pkg-config build)" "${pc_program}")
message(STATUS "${last_output}")
