# Driver of the python:pip-install test (cmake -P): `pip install .` of SOURCE_DIR into
# WORK_DIR/site, with scikit-build-core's build folder kept in WORK_DIR/build so that a rerun
# rebuilds only what changed; then checks the installed files and imports the package from
# there.
#
# Variables: PYTHON, SOURCE_DIR, WORK_DIR, DEFINES (NAME=VALUE entries passed to CMake).
foreach(var PYTHON SOURCE_DIR WORK_DIR)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "pip_install.cmake: ${var} is not set")
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

set(site "${WORK_DIR}/site")
file(REMOVE_RECURSE "${site}")
set(config_settings -C "build-dir=${WORK_DIR}/build")
foreach(define IN LISTS DEFINES)
  list(APPEND config_settings -C "cmake.define.${define}")
endforeach()
# Two compile jobs, as in the rest of the build.
set(ENV{CMAKE_BUILD_PARALLEL_LEVEL} 2)
set(ENV{PIP_DISABLE_PIP_VERSION_CHECK} 1)
set(ENV{PIP_ROOT_USER_ACTION} ignore)
string(TIMESTAMP start "%s")
run_step("pip install ${SOURCE_DIR}" "${PYTHON}" -m pip install --no-build-isolation --no-deps
         --no-cache-dir --no-index --target "${site}" ${config_settings} "${SOURCE_DIR}")
string(TIMESTAMP end "%s")
math(EXPR seconds "${end} - ${start}")
message(STATUS "pip install took ${seconds} s")

# The wheel holds the package, its stubs, the extension and libups; no C++ headers or CMake files.
foreach(file ups/__init__.py ups/__init__.pyi ups/py.typed ups/libups.so ups/torch/__init__.py
        ups/torch/nn.py)
  if(NOT EXISTS "${site}/${file}")
    message(FATAL_ERROR "pip install did not install ${file}")
  endif()
endforeach()
file(GLOB extension "${site}/ups/_ext*.so")
file(GLOB_RECURSE stray "${site}/*.hpp" "${site}/*.cmake" "${site}/*.pc")
if(NOT extension OR stray)
  message(FATAL_ERROR "extension: '${extension}'; files that do not belong in the wheel: ${stray}")
endif()

# Import from the installed copy only (run from WORK_DIR, with PYTHONPATH naming the site).
set(ENV{PYTHONPATH} "${site}")
set(check [=[
import pathlib, sys
import numpy as np
import ups
site = pathlib.Path(sys.argv[1]).resolve()
assert pathlib.Path(ups.__file__).resolve().is_relative_to(site), ups.__file__
y = ups.interpolate(np.arange(4, dtype=np.float32).reshape(1, 1, 2, 2), size=3, mode="bilinear",
                    align_corners=True)
assert isinstance(y, np.ndarray) and y.shape == (1, 1, 3, 3) and y[0, 0, 1, 1] == 1.5, y
try:
    ups.pixel_shuffle(np.zeros((1, 3, 2, 2), np.float32), 2)
    raise AssertionError("no ups.Error")
except ups.Error as e:
    assert "divisible by the square of upscale_factor" in str(e), e
import torch, ups.torch
x = torch.randn(1, 2, 4, 4, requires_grad=True)
y = ups.torch.interpolate(x, scale_factor=2, mode="bicubic")
y.sum().backward()
assert x.grad.shape == x.shape
print("ups", ups.__version__, "from", ups.__file__, "build", ups.info()["build"])
]=])
run_step("import the installed package" "${PYTHON}" -c "${check}" "${site}")
message(STATUS "${last_output}")
