# Finds cuDNN: its header cudnn_version.h and its library libcudnn.so, both from ONE prefix, so
# that the headers ups compiles against and the library it links and loads are the same release.
# Prefixes are tried in this order: CUDNN_PATH (cache variable, then environment), the CUDA
# toolkit (CUDAToolkit_LIBRARY_ROOT, CUDAToolkit_TARGET_DIR, the parent of its include folder),
# then the system's default prefixes. PyTorch's nvidia-cudnn wheel layout (<prefix>/include,
# <prefix>/lib/libcudnn.so.9) is one such prefix.
#
# A library whose file name carries a version (libcudnn.so.9, libcudnn.so.9.19.0) must agree with
# the header on every component the name gives; otherwise that prefix is skipped with a warning.
#
# Defines CUDNN_FOUND, CUDNN_VERSION, CUDNN_INCLUDE_DIR, CUDNN_LIBRARY and the imported target
# CUDNN::cudnn.

# The version in <dir>/cudnn_version.h as MAJOR.MINOR.PATCH, or "" when unreadable.
function(_cudnn_header_version dir out)
  set(${out} "" PARENT_SCOPE)
  if(NOT EXISTS "${dir}/cudnn_version.h")
    return()
  endif()
  file(STRINGS "${dir}/cudnn_version.h" _v REGEX "#define CUDNN_(MAJOR|MINOR|PATCHLEVEL) +[0-9]+")
  string(REGEX REPLACE ".*CUDNN_MAJOR +([0-9]+).*" "\\1" _maj "${_v}")
  string(REGEX REPLACE ".*CUDNN_MINOR +([0-9]+).*" "\\1" _min "${_v}")
  string(REGEX REPLACE ".*CUDNN_PATCHLEVEL +([0-9]+).*" "\\1" _pat "${_v}")
  if(_maj MATCHES "^[0-9]+$" AND _min MATCHES "^[0-9]+$" AND _pat MATCHES "^[0-9]+$")
    set(${out} "${_maj}.${_min}.${_pat}" PARENT_SCOPE)
  endif()
endfunction()

# TRUE when the version in the library's resolved file name (if any) agrees with `version`.
function(_cudnn_library_agrees lib version out)
  get_filename_component(_real "${lib}" REALPATH)
  get_filename_component(_name "${_real}" NAME)
  set(${out} TRUE PARENT_SCOPE)
  if(_name MATCHES "\\.so\\.([0-9.]+)$")
    string(REPLACE "." ";" _lib_parts "${CMAKE_MATCH_1}")
    string(REPLACE "." ";" _hdr_parts "${version}")
    list(LENGTH _lib_parts _n)
    math(EXPR _last "${_n} - 1")
    foreach(i RANGE ${_last})
      list(GET _lib_parts ${i} _a)
      list(GET _hdr_parts ${i} _b)
      if(NOT _a STREQUAL _b)
        set(${out} FALSE PARENT_SCOPE)
      endif()
    endforeach()
  endif()
endfunction()

set(_cudnn_prefixes ${CUDNN_PATH} $ENV{CUDNN_PATH} ${CUDAToolkit_LIBRARY_ROOT}
    ${CUDAToolkit_TARGET_DIR})
foreach(_inc IN LISTS CUDAToolkit_INCLUDE_DIRS)
  get_filename_component(_parent "${_inc}" DIRECTORY)
  list(APPEND _cudnn_prefixes "${_parent}")
endforeach()
list(APPEND _cudnn_prefixes ${CMAKE_SYSTEM_PREFIX_PATH})
list(REMOVE_DUPLICATES _cudnn_prefixes)
# A result cached by an earlier search stands only while the prefixes are the same (a new
# CUDNN_PATH searches again). CUDNN_INCLUDE_DIR and CUDNN_LIBRARY given on the first configure
# are taken as they are.
if(DEFINED _CUDNN_SEARCHED AND NOT "${_CUDNN_SEARCHED}" STREQUAL "${_cudnn_prefixes}")
  unset(CUDNN_INCLUDE_DIR CACHE)
  unset(CUDNN_LIBRARY CACHE)
endif()
set(_CUDNN_SEARCHED "${_cudnn_prefixes}" CACHE INTERNAL "prefixes FindCUDNN searched")

if(NOT CUDNN_INCLUDE_DIR OR NOT CUDNN_LIBRARY)
  foreach(_prefix IN LISTS _cudnn_prefixes)
    if(NOT IS_DIRECTORY "${_prefix}")
      continue()
    endif()
    unset(_cudnn_inc CACHE)
    unset(_cudnn_lib CACHE)
    find_path(_cudnn_inc cudnn_version.h PATHS "${_prefix}" PATH_SUFFIXES include
        NO_DEFAULT_PATH)
    find_library(_cudnn_lib NAMES cudnn libcudnn.so.9 NAMES_PER_DIR PATHS "${_prefix}"
        PATH_SUFFIXES lib lib64 lib/x64 lib/x86_64-linux-gnu NO_DEFAULT_PATH)
    if(_cudnn_inc AND _cudnn_lib)
      _cudnn_header_version("${_cudnn_inc}" _ver)
      set(_agrees FALSE)
      if(_ver)
        _cudnn_library_agrees("${_cudnn_lib}" "${_ver}" _agrees)
      endif()
      if(_agrees)
        set(CUDNN_INCLUDE_DIR "${_cudnn_inc}" CACHE PATH "cuDNN include folder" FORCE)
        set(CUDNN_LIBRARY "${_cudnn_lib}" CACHE FILEPATH "cuDNN library" FORCE)
        break()
      endif()
      message(WARNING "FindCUDNN: skipping ${_prefix}: its header says cuDNN '${_ver}', which its "
              "library ${_cudnn_lib} does not match")
    endif()
  endforeach()
  unset(_cudnn_inc CACHE)
  unset(_cudnn_lib CACHE)
endif()

if(CUDNN_INCLUDE_DIR)
  _cudnn_header_version("${CUDNN_INCLUDE_DIR}" CUDNN_VERSION)
endif()
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(CUDNN REQUIRED_VARS CUDNN_LIBRARY CUDNN_INCLUDE_DIR VERSION_VAR CUDNN_VERSION)
if(CUDNN_FOUND AND NOT TARGET CUDNN::cudnn)
  add_library(CUDNN::cudnn UNKNOWN IMPORTED)
  set_target_properties(CUDNN::cudnn PROPERTIES
      IMPORTED_LOCATION "${CUDNN_LIBRARY}" INTERFACE_INCLUDE_DIRECTORIES "${CUDNN_INCLUDE_DIR}")
endif()
mark_as_advanced(CUDNN_INCLUDE_DIR CUDNN_LIBRARY)
