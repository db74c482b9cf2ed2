# Builds fake cuDNN prefixes under WORK_DIR and configures tests/build/find_cudnn_project with
# them (the toolkit's own cuDNN, where installed, is searched after CUDNN_PATH):
#  1. CUDNN_PATH=good: header and library both come from good, never one from elsewhere.
#  2. CUDNN_PATH=split (a header, no library): the search moves on; nothing from split is used.
#  3. CUDNN_PATH=mismatch (header 9.99.0, library libcudnn.so.8): the prefix is skipped.
#  4. A cached result is searched again when CUDNN_PATH changes.
function(make_prefix dir major minor patch libname)
  file(MAKE_DIRECTORY ${dir}/include ${dir}/lib)
  file(WRITE ${dir}/include/cudnn_version.h
      "#define CUDNN_MAJOR ${major}\n#define CUDNN_MINOR ${minor}\n#define CUDNN_PATCHLEVEL ${patch}\n")
  if(libname)
    file(WRITE ${dir}/lib/${libname} "")
    if(NOT libname STREQUAL "libcudnn.so")
      file(CREATE_LINK ${libname} ${dir}/lib/libcudnn.so SYMBOLIC)
    endif()
  endif()
endfunction()

# configure(BUILD_DIR CUDNN_PATH OUT): the RESULT line of a configure.
function(configure build path out)
  execute_process(
      COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/build/find_cudnn_project -B ${build}
          -G ${GENERATOR} -DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM} -DUPS_SOURCE_DIR=${SOURCE_DIR}
          -DCUDNN_PATH=${path}
      OUTPUT_VARIABLE log ERROR_VARIABLE err RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "configure with CUDNN_PATH=${path} failed:\n${log}\n${err}")
  endif()
  string(REGEX MATCH "RESULT [^\n]*" line "${log}")
  set(${out} "${line}" PARENT_SCOPE)
  set(${out}_err "${err}" PARENT_SCOPE)
endfunction()

file(REMOVE_RECURSE ${WORK_DIR})
make_prefix(${WORK_DIR}/good 9 77 1 libcudnn.so.9.77.1)
make_prefix(${WORK_DIR}/split 9 88 0 "")
make_prefix(${WORK_DIR}/mismatch 9 99 0 libcudnn.so.8)

configure(${WORK_DIR}/b1 ${WORK_DIR}/good r)
if(NOT r MATCHES "found=(TRUE|1) include=${WORK_DIR}/good/include library=${WORK_DIR}/good/lib/libcudnn.so version=9.77.1")
  message(FATAL_ERROR "CUDNN_PATH=good: expected header and library from ${WORK_DIR}/good, got: ${r}")
endif()

configure(${WORK_DIR}/b2 ${WORK_DIR}/split r)
if(r MATCHES "${WORK_DIR}/split")
  message(FATAL_ERROR "CUDNN_PATH=split (a header without a library): its header was used: ${r}")
endif()

configure(${WORK_DIR}/b3 ${WORK_DIR}/mismatch r)
if(r MATCHES "${WORK_DIR}/mismatch")
  message(FATAL_ERROR "CUDNN_PATH=mismatch (header 9.99.0, libcudnn.so.8) was used: ${r}")
endif()
# CMake wraps long warnings at spaces: compare with the line breaks undone.
string(REGEX REPLACE "[ \t\r\n]+" " " r_err_flat "${r_err}")
if(NOT r_err_flat MATCHES "skipping ${WORK_DIR}/mismatch")
  message(FATAL_ERROR "CUDNN_PATH=mismatch: no warning that the prefix was skipped:\n${r_err}")
endif()

# The same build folder, a new CUDNN_PATH: found again there.
configure(${WORK_DIR}/b3 ${WORK_DIR}/good r)
if(NOT r MATCHES "include=${WORK_DIR}/good/include library=${WORK_DIR}/good/lib/libcudnn.so")
  message(FATAL_ERROR "a changed CUDNN_PATH was not searched again: ${r}")
endif()
message(STATUS "FindCUDNN: one prefix for header and library")
