# Tests of the Python package (label python; built with UPS_BUILD_PYTHON, which the ci preset
# turns on). They need NumPy, pytest and PyTorch in the environment of the Python the extension
# was built for (scripts/install-deps installs them).
# - python:SUITE runs tests/python/test_SUITE.py with pytest against the package assembled in the
#   build tree (PYTHONPATH=<build>/python: the extension next to links to python/ups).
# - python:pip-install runs `pip install .` of this source tree into a folder of the build tree
#   (no build isolation: nanobind and scikit-build-core come from the environment), then imports
#   the installed package and runs an op through NumPy and through ups.torch.
if(NOT UPS_BUILD_PYTHON)
  return()
endif()

set(UPS_PYTHON_ENV
    "PYTHONPATH=${UPS_PYTHON_PACKAGE_DIR}/.."
    "PYTHONDONTWRITEBYTECODE=1"
    # One OpenMP thread per process (PyTorch's, and oneDNN's inside libups): ctest runs two
    # tests at once, and the DDP test starts two processes.
    "OMP_NUM_THREADS=1")
foreach(suite core torch_ops opcheck models ddp)
  string(REPLACE "_" "-" name "${suite}")
  add_test(NAME python:${name}
           COMMAND ${UPS_PYTHON_EXECUTABLE} -m pytest -q -p no:cacheprovider -rs
                   ${CMAKE_CURRENT_SOURCE_DIR}/python/test_${suite}.py
           WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/python)
  set_tests_properties(python:${name} PROPERTIES LABELS python TIMEOUT 900
                       ENVIRONMENT "${UPS_PYTHON_ENV}")
endforeach()

# The installed copy is configured as this build is (same backends and CUDA architectures).
set(UPS_PIP_DEFINES "UPS_ENABLE_CUDA=${UPS_HAVE_CUDA}" "UPS_ENABLE_CUDNN=${UPS_HAVE_CUDNN}"
    "UPS_ENABLE_ONEDNN=${UPS_HAVE_ONEDNN}")
if(UPS_HAVE_CUDA)
  string(JOIN "\\;" archs ${CMAKE_CUDA_ARCHITECTURES})
  list(APPEND UPS_PIP_DEFINES "CMAKE_CUDA_ARCHITECTURES=${archs}")
endif()
add_test(NAME python:pip-install
         COMMAND ${CMAKE_COMMAND} "-DPYTHON=${UPS_PYTHON_EXECUTABLE}"
                 "-DSOURCE_DIR=${PROJECT_SOURCE_DIR}"
                 "-DWORK_DIR=${CMAKE_CURRENT_BINARY_DIR}/pip-install"
                 "-DDEFINES=${UPS_PIP_DEFINES}"
                 -P ${CMAKE_CURRENT_SOURCE_DIR}/python/pip_install.cmake)
# The longest test (it compiles libups again): a high cost makes ctest start it first.
set_tests_properties(python:pip-install PROPERTIES LABELS python TIMEOUT 1800 COST 10000)
