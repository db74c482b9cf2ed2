# Tests of the ups program. The script needs only Python 3's standard library: it writes .npy
# files with struct, runs the program and parses what it writes.
if(TARGET ups_cli)
  set(UPS_CLI_TEST_SCRIPT ${CMAKE_CURRENT_SOURCE_DIR}/cli/test_cli.py)
  foreach(pair "interpolate:InterpolateTests" "npy-errors:NpyErrorTests"
               "usage-errors:UsageErrorTests" "commands:CommandTests")
    string(REPLACE ":" ";" pair "${pair}")
    list(GET pair 0 name)
    list(GET pair 1 suite)
    add_test(NAME cli:${name}
             COMMAND python3 ${UPS_CLI_TEST_SCRIPT} $<TARGET_FILE:ups_cli> ${suite})
    set_tests_properties(cli:${name} PROPERTIES LABELS cpu TIMEOUT 300)
  endforeach()
endif()
