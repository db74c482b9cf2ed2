# consumer:find_package: installs this build into a prefix inside the build tree, then builds and
# runs tests/consumer, a separate project that finds it with find_package(ups), and builds the same
# program with a plain compiler call using the installed pkg-config file (ups.pc). The consumer
# finds libups at run time through the build RPATH CMake gives it (the imported library's
# directory); LD_LIBRARY_PATH names the same directory for platforms that ignore RPATH.
set(UPS_CONSUMER_PREFIX ${CMAKE_CURRENT_BINARY_DIR}/consumer/prefix)
find_program(UPS_PKG_CONFIG NAMES pkg-config pkgconf)
add_test(NAME consumer:find_package
    COMMAND ${CMAKE_COMMAND}
        "-DUPS_BUILD_DIR=${PROJECT_BINARY_DIR}"
        "-DUPS_CONFIG=$<CONFIG>"
        "-DPREFIX=${UPS_CONSUMER_PREFIX}"
        "-DCONSUMER_SOURCE_DIR=${CMAKE_CURRENT_SOURCE_DIR}/consumer"
        "-DCONSUMER_BINARY_DIR=${CMAKE_CURRENT_BINARY_DIR}/consumer/build"
        "-DGENERATOR=${CMAKE_GENERATOR}"
        "-DMAKE_PROGRAM=${CMAKE_MAKE_PROGRAM}"
        "-DCXX_COMPILER=${CMAKE_CXX_COMPILER}"
        "-DPKG_CONFIG=${UPS_PKG_CONFIG}"
        -P ${CMAKE_CURRENT_SOURCE_DIR}/consumer/run.cmake)
set_tests_properties(consumer:find_package PROPERTIES
    LABELS cpu
    TIMEOUT 600
    ENVIRONMENT "LD_LIBRARY_PATH=${UPS_CONSUMER_PREFIX}/${CMAKE_INSTALL_LIBDIR}")
