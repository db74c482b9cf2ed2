# The determinism flag starts from the environment variable UPS_DETERMINISTIC. Each entry runs
# the hidden [determinism-env] test case in a fresh process with the variable set, and tells it
# which start-up value the documented rule ("1", "true" or "on" turn it on) gives.
foreach(setting "1:1" "true:1" "on:1" "0:0" "false:0")
  string(REPLACE ":" ";" parts "${setting}")
  list(GET parts 0 value)
  list(GET parts 1 expected)
  add_test(NAME cpu:env:UPS_DETERMINISTIC=${value} COMMAND ups_tests "[determinism-env]")
  set_tests_properties(cpu:env:UPS_DETERMINISTIC=${value} PROPERTIES
      LABELS cpu
      ENVIRONMENT "UPS_DETERMINISTIC=${value};UPS_EXPECT_DETERMINISTIC=${expected}")
endforeach()
