#!/usr/bin/env python3
"""Tests of how the `ups` program treats its environment: thread start-up under an address-space
limit, and (in later classes) what stands at the input and output paths. Standard library only.

Usage: test_cli_files.py PATH_TO_UPS [unittest arguments, e.g. a test class name]

The .npy helpers and the error-checking test case are those of test_cli.py.
"""

import array
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_cli  # noqa: E402
from test_cli import CliTestCase, npy_bytes, npy_header, read_npy, run, slurp  # noqa: E402


# ---- threads that cannot start ------------------------------------------------------------------


@unittest.skipIf(os.environ.get("UPS_TEST_SANITIZER"),
                 "sanitizer runtimes reserve terabytes of address space and cannot start under "
                 "an RLIMIT_AS limit")
class ThreadLimitTests(CliTestCase):
    # 400,000 KiB of address space: enough for the program, the 16 MiB input and the 64 MiB
    # output on one thread, but not for 64 threads with 8 MiB stacks each (512 MiB).
    LIMIT = 400000 * 1024
    STACK = 8 << 20

    def limited(self):
        import resource
        resource.setrlimit(resource.RLIMIT_STACK, (self.STACK, self.STACK))
        resource.setrlimit(resource.RLIMIT_AS, (self.LIMIT, self.LIMIT))

    def test_threads_that_cannot_start_leave_their_work_to_the_others(self):
        side = 2048
        values = array.array("f", (float(i % 65521) for i in range(side * side)))
        src = self.write("in.npy", npy_header("<f4", (1, 1, side, side)) + values.tobytes())
        outputs = {}
        for threads in (1, 64):
            out = self.path("out%d.npy" % threads)
            r = run(["interpolate", src, out, "--mode", "nearest", "--scale", "2", "--threads",
                     str(threads), "--device", "cpu"], preexec_fn=self.limited)
            self.assertEqual(r.returncode, 0, "--threads %d: status %d, stderr %r"
                             % (threads, r.returncode, r.stderr))
            self.assertEqual((r.stdout, r.stderr), ("", ""))
            outputs[threads] = out
        # No temporary file is left behind, and every thread count gives the same bytes.
        self.assertEqual(sorted(os.listdir(self.dir)), ["in.npy", "out1.npy", "out64.npy"])
        self.assertEqual(slurp(outputs[64]), slurp(outputs[1]))
        # Nearest 2x: out[y][x] = in[y // 2][x // 2]. Rows spread over the whole output, so
        # over the chunks of every thread.
        raw = slurp(outputs[64])
        expected_header = npy_header("<f4", (1, 1, 2 * side, 2 * side))
        self.assertEqual(raw[:len(expected_header)], expected_header)
        out = array.array("f")
        out.frombytes(raw[len(expected_header):])
        self.assertEqual(len(out), 4 * side * side)
        for y in list(range(0, 2 * side, 97)) + [2 * side - 1]:
            row = out[y * 2 * side:(y + 1) * 2 * side].tolist()
            want = [values[(y // 2) * side + x // 2] for x in range(2 * side)]
            self.assertEqual(row, want, "output row %d" % y)


# ---- inputs that are not regular files ----------------------------------------------------------


class InputPathTests(CliTestCase):
    def fails_quickly(self, src, contains):
        """Runs `ups interpolate SRC OUT` with a time limit: it must fail with one error line
        rather than wait for data, and leave OUT alone."""
        out = self.path("out.npy")
        r = subprocess.run([test_cli.UPS, "interpolate", src, out, "--mode", "nearest", "--scale",
                            "2"], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertEqual(r.stdout, "")
        self.assertEqual(r.stderr.count("\n"), 1, r.stderr)
        self.assertTrue(r.stderr.startswith("ups: error: "), r.stderr)
        self.assertIn(contains, r.stderr)
        self.assertFalse(os.path.lexists(out))
        return r.stderr

    def test_fifo_without_writer(self):
        fifo = self.path("in.fifo")
        os.mkfifo(fifo)
        line = self.fails_quickly(fifo, "is a FIFO, not a regular .npy file")
        self.assertIn("'%s'" % fifo, line)
        # The same through a symbolic link.
        os.symlink(fifo, self.path("link.npy"))
        self.fails_quickly(self.path("link.npy"), "is a FIFO, not a regular .npy file")

    def test_character_device(self):
        if not os.path.exists("/dev/null"):
            self.skipTest("no /dev/null")
        self.fails_quickly("/dev/null", "'/dev/null' is a character device, not a regular .npy file")

    def test_directory(self):
        os.mkdir(self.path("sub"))
        self.fails_quickly(self.path("sub"), "is a directory, not an .npy file")


# ---- output paths -------------------------------------------------------------------------------


class OutputPathTests(CliTestCase):
    def setUp(self):
        super().setUp()
        self.src = self.write("in.npy", npy_bytes("<f4", (1, 1, 2), [1, 2]))

    def args(self, out):
        return ["interpolate", self.src, out, "--mode", "nearest", "--size", "4"]

    def produce(self, out):
        r = run(self.args(out))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual((r.stdout, r.stderr), ("", ""))

    def assert_result(self, path):
        self.assertEqual(read_npy(path)[:3], ("<f4", (1, 1, 4), [1, 1, 2, 2]))

    def test_longest_file_name(self):
        # NAME_MAX is 255 bytes on Linux file systems; the temporary file must fit it too.
        name = "o" * 251 + ".npy"
        self.produce(self.path(name))
        self.assert_result(self.path(name))
        self.assertEqual(sorted(os.listdir(self.dir)), sorted(["in.npy", name]))
        # Replacing an existing file of that name works the same way.
        self.produce(self.path(name))
        self.assert_result(self.path(name))
        self.assertEqual(sorted(os.listdir(self.dir)), sorted(["in.npy", name]))
        # One byte more is refused before the computation, by the file system's own words.
        self.assert_fails(self.args(self.path("o" * 252 + ".npy")), 1, "File name too long")
        self.assertEqual(sorted(os.listdir(self.dir)), sorted(["in.npy", name, "out.npy"]))


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: test_cli_files.py PATH_TO_UPS [unittest arguments]")
    test_cli.UPS = os.path.abspath(sys.argv[1])
    unittest.main(argv=[sys.argv[0]] + sys.argv[2:], verbosity=2)


if __name__ == "__main__":
    main()
