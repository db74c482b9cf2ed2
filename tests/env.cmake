# The determinism flag starts from the environment variable UPS_DETERMINISTIC. Each entry runs
# the hidden [determinism-env] test case in a fresh process with the variable set, and tells it
# which start-up value the documented rule gives and whether the rule asks for a warning on
# stderr: case-insensitively, "1", "true", "yes" and "on" turn the flag on; "0", "false", "no",
# "off" and the empty string leave it off; any other value leaves it off with a warning.
# Each entry is VALUE:EXPECTED:WARNING (an empty VALUE is the empty string).
foreach(setting "1:1:0" "true:1:0" "on:1:0" "yes:1:0" "TRUE:1:0" "Yes:1:0" "ON:1:0" "tRuE:1:0"
        "0:0:0" "false:0:0" "off:0:0" "no:0:0" "OFF:0:0" "False:0:0" "NO:0:0" ":0:0"
        "bogus:0:1" "2:0:1" "enabled:0:1" "y:0:1")
  string(REPLACE ":" ";" parts "${setting}")
  # A leading empty VALUE makes the list two long: VALUE is then the empty string.
  list(LENGTH parts count)
  if(count EQUAL 2)
    set(value "")
    list(GET parts 0 expected)
    list(GET parts 1 warning)
  else()
    list(GET parts 0 value)
    list(GET parts 1 expected)
    list(GET parts 2 warning)
  endif()
  set(name "cpu:env:UPS_DETERMINISTIC=${value}")
  add_test(NAME ${name} COMMAND ups_tests "[determinism-env]")
  set_tests_properties(${name} PROPERTIES
      LABELS cpu
      ENVIRONMENT
      "UPS_DETERMINISTIC=${value};UPS_EXPECT_DETERMINISTIC=${expected};UPS_EXPECT_WARNING=${warning}")
endforeach()
