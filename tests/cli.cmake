# Tests of the ups program. The scripts need only Python 3's standard library: they write .npy
# files with struct, run the program and parse what it writes. Each entry is
# NAME:SCRIPT:SUITE, SCRIPT a file in tests/cli and SUITE a unittest class in it; the test is
# called cli:NAME.
if(TARGET ups_cli)
  foreach(entry
      "interpolate:test_cli.py:InterpolateTests"
      "npy-errors:test_cli.py:NpyErrorTests"
      "usage-errors:test_cli.py:UsageErrorTests"
      "commands:test_cli.py:CommandTests"
      "interpolate-modes:test_cli.py:ModeTableTests"
      "conv-transpose:test_cli_conv.py:ConvTransposeTests"
      "conv-transpose-errors:test_cli_conv.py:ConvTransposeErrorTests"
      "conv-transpose-commands:test_cli_conv.py:ConvTransposeCommandTests"
      "conv-transpose-backward:test_cli_conv_backward.py:ConvTransposeBackwardTests"
      "conv-transpose-backward-errors:test_cli_conv_backward.py:ConvTransposeBackwardErrorTests"
      "pool-references:test_cli_pool.py:ReferenceSelfTests"
      "max-pool:test_cli_pool.py:MaxPoolTests"
      "max-unpool:test_cli_pool.py:MaxUnpoolTests"
      "pixel-shuffle:test_cli_pool.py:PixelShuffleTests"
      "pool-shuffle-errors:test_cli_pool.py:PoolShuffleErrorTests"
      "pool-shuffle-commands:test_cli_pool.py:PoolShuffleCommandTests"
      "resize:test_cli_resize.py:ResizeTests"
      "resize-errors:test_cli_resize.py:ResizeErrorTests"
      "interpolate-backward:test_cli_backward.py:InterpolateBackwardTests"
      "interpolate-backward-errors:test_cli_backward.py:InterpolateBackwardErrorTests"
      "max-pool-backward:test_cli_pool_backward.py:MaxPoolBackwardTests"
      "max-unpool-backward:test_cli_pool_backward.py:MaxUnpoolBackwardTests"
      "backward-errors:test_cli_pool_backward.py:BackwardErrorTests"
      "bench:test_cli_bench.py:BenchTests"
      "bench-errors:test_cli_bench.py:BenchErrorTests"
      "bench-report:test_cli_bench.py:BenchReportTests"
      "thread-limits:test_cli_files.py:ThreadLimitTests"
      "input-paths:test_cli_files.py:InputPathTests"
      "output-paths:test_cli_files.py:OutputPathTests"
      "message-text:test_cli_files.py:MessageTextTests")
    string(REPLACE ":" ";" entry "${entry}")
    list(GET entry 0 name)
    list(GET entry 1 script)
    list(GET entry 2 suite)
    add_test(NAME cli:${name}
             COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/cli/${script} $<TARGET_FILE:ups_cli>
                     ${suite})
    set_tests_properties(cli:${name} PROPERTIES LABELS cpu TIMEOUT 300)
  endforeach()
endif()
