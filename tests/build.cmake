# Tests of the build itself (label cpu, no GPU needed):
# - build:cuda-runtime: libups.so needs the shared CUDA runtime and carries no copy of the static
#   one (a CUDA build only).
# - build:find-cudnn: cmake/FindCUDNN.cmake takes the header and the library from one prefix,
#   CUDNN_PATH first, and skips a prefix whose library and header disagree.
if(UPS_HAVE_CUDA)
  find_program(UPS_READELF readelf)
  find_program(UPS_NM nm)
  if(UPS_READELF AND UPS_NM)
    add_test(NAME build:cuda-runtime
        COMMAND ${CMAKE_COMMAND} "-DLIB=$<TARGET_FILE:ups>" "-DREADELF=${UPS_READELF}"
            "-DNM=${UPS_NM}" -P ${CMAKE_CURRENT_SOURCE_DIR}/build/check_cuda_runtime.cmake)
    set_tests_properties(build:cuda-runtime PROPERTIES LABELS cpu)
  endif()
endif()
add_test(NAME build:find-cudnn
    COMMAND ${CMAKE_COMMAND} "-DSOURCE_DIR=${PROJECT_SOURCE_DIR}"
        "-DWORK_DIR=${CMAKE_CURRENT_BINARY_DIR}/find-cudnn" "-DGENERATOR=${CMAKE_GENERATOR}"
        "-DMAKE_PROGRAM=${CMAKE_MAKE_PROGRAM}"
        -P ${CMAKE_CURRENT_SOURCE_DIR}/build/check_find_cudnn.cmake)
set_tests_properties(build:find-cudnn PROPERTIES LABELS cpu TIMEOUT 300)
