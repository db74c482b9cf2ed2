#!/usr/bin/env python3
"""Tests of how the `ups` program treats its environment: threads that cannot start under an
address-space limit, what stands at its input and output paths (FIFOs, devices, directories,
symbolic links, 255-byte names, read-only files), and file contents and paths in its messages.
Standard library only.

Usage: test_cli_files.py PATH_TO_UPS [unittest arguments, e.g. a test class name]

The .npy helpers and the error-checking test case are those of test_cli.py.
"""

import array
import os
import stat
import subprocess
import sys
import threading
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

    def assert_refused(self, out, contains):
        """Runs with OUT as it stands (unlike assert_fails, which first makes OUT a file):
        one error line, and no entry of the folder appears, disappears or changes."""
        names = sorted(os.listdir(self.dir))
        before = self.snapshot()
        r = run(self.args(out))
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertEqual(r.stdout, "")
        self.assertEqual(r.stderr.count("\n"), 1, r.stderr)
        self.assertTrue(r.stderr.startswith("ups: error: "), r.stderr)
        self.assertIn(contains, r.stderr)
        self.assertEqual(sorted(os.listdir(self.dir)), names)
        self.assertEqual(self.snapshot(), before)
        return r.stderr

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

    def test_symbolic_link_keeps_pointing_at_its_target(self):
        os.mkdir(self.path("data"))
        real = self.write("data/real.npy", b"old contents")
        os.chmod(real, 0o640)
        # A relative link (resolved against the link's folder, not the working directory) to a
        # second link, to the file.
        os.symlink("real.npy", self.path("data/inner.npy"))
        os.symlink("data/inner.npy", self.path("link.npy"))
        r = run(self.args(self.path("link.npy")), cwd="/")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(os.readlink(self.path("link.npy")), "data/inner.npy")
        self.assertEqual(os.readlink(self.path("data/inner.npy")), "real.npy")
        self.assert_result(real)
        self.assertEqual(stat.S_IMODE(os.lstat(real).st_mode), 0o640)
        # No temporary file is left in either folder.
        self.assertEqual(sorted(os.listdir(self.dir)), ["data", "in.npy", "link.npy"])
        self.assertEqual(sorted(os.listdir(self.path("data"))), ["inner.npy", "real.npy"])

    def test_dangling_symbolic_link_creates_its_target(self):
        os.mkdir(self.path("data"))
        os.symlink("data/new.npy", self.path("link.npy"))
        self.produce(self.path("link.npy"))
        self.assertEqual(os.readlink(self.path("link.npy")), "data/new.npy")
        self.assert_result(self.path("data/new.npy"))
        self.assertEqual(os.listdir(self.path("data")), ["new.npy"])
        # A link into a folder that does not exist cannot be written.
        os.symlink("nowhere/new.npy", self.path("lost.npy"))
        line = self.assert_refused(self.path("lost.npy"), "No such file or directory")
        self.assertIn("a symbolic link to '%s'" % self.path("nowhere/new.npy"), line)
        self.assertEqual(os.readlink(self.path("lost.npy")), "nowhere/new.npy")
        # A loop of links.
        os.symlink("loop2.npy", self.path("loop1.npy"))
        os.symlink("loop1.npy", self.path("loop2.npy"))
        self.assert_refused(self.path("loop1.npy"), "Too many levels of symbolic links")

    def test_character_devices(self):
        # A device node stays the device: a rename would have replaced it with a regular file.
        # A private node first, where the system lets us make one (root), so that a program that
        # replaced device nodes would fail here rather than replace the system's /dev/null.
        if not os.path.exists("/dev/null"):
            self.skipTest("no /dev/null")
        null_dev = os.stat("/dev/null").st_rdev
        node = self.path("null")
        try:
            os.mknod(node, stat.S_IFCHR | 0o666, null_dev)
            with open(node, "wb") as f:
                f.write(b"x")
        except OSError:
            if os.path.lexists(node):
                os.unlink(node)
        else:
            self.produce(node)
            self.assertTrue(stat.S_ISCHR(os.lstat(node).st_mode), "the device node was replaced")
            self.assertEqual(os.lstat(node).st_rdev, null_dev)
            os.unlink(node)
        before = os.stat("/dev/null")
        self.produce("/dev/null")
        after = os.stat("/dev/null")
        self.assertTrue(stat.S_ISCHR(after.st_mode))
        self.assertEqual((after.st_ino, after.st_rdev), (before.st_ino, before.st_rdev))
        self.assertEqual(sorted(os.listdir(self.dir)), ["in.npy"])
        # /dev/stdout: the .npy file goes to standard output, here a pipe.
        if os.path.exists("/dev/stdout"):
            r = subprocess.run([test_cli.UPS] + self.args("/dev/stdout"), capture_output=True,
                               timeout=120)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stderr, b"")
            self.assert_result(self.write("stdout.npy", r.stdout))

    def test_fifo(self):
        fifo = self.path("out.fifo")
        os.mkfifo(fifo)
        received = []

        def reader():
            with open(fifo, "rb") as f:
                received.append(f.read())

        thread = threading.Thread(target=reader)
        thread.start()
        try:
            r = run(self.args(fifo))
        finally:
            if thread.is_alive() and not received:
                # Unblock the reader should the program have failed before opening the FIFO.
                with open(fifo, "wb"):
                    pass
            thread.join(60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(stat.S_ISFIFO(os.lstat(fifo).st_mode))
        self.assertEqual(len(received), 1)
        self.assert_result(self.write("received.npy", received[0]))
        self.assertEqual(sorted(os.listdir(self.dir)), ["in.npy", "out.fifo", "received.npy"])

    def test_directories(self):
        os.mkdir(self.path("adir"))
        self.assert_refused(self.path("adir"), "it is a directory")
        os.symlink("adir", self.path("dirlink"))
        self.assert_refused(self.path("dirlink"), "it is a directory")
        self.assertEqual(os.listdir(self.path("adir")), [])
        self.assertEqual(os.readlink(self.path("dirlink")), "adir")

    def test_two_outputs_that_are_one_file_through_a_link(self):
        src = self.write("x.npy", npy_bytes("<f4", (1, 1, 4), [1, 2, 3, 4]))
        self.write("real.npy", b"old")
        os.symlink("real.npy", self.path("link.npy"))
        self.assert_fails(["max-pool", src, self.path("link.npy"), self.path("real.npy"),
                           "--kernel-size", "2"], 2, "name the same file")

    def test_read_only_file_is_not_replaced(self):
        # Root may write any file, so the check runs as an unprivileged user when the test runs
        # as root; the folder is writable by that user, so only the file's mode protects it.
        as_root = os.geteuid() == 0
        if as_root:
            try:
                import pwd
                ids = pwd.getpwnam("nobody")
                uid, gid = ids.pw_uid, ids.pw_gid
            except (ImportError, KeyError):
                uid = gid = 65534
            os.chmod(self.dir, 0o777)

            def drop():
                os.setgroups([])
                os.setgid(gid)
                os.setuid(uid)
        else:
            drop = None
        protected = self.write("protected.npy", b"precious contents")
        os.chmod(protected, 0o444)
        writable = self.write("writable.npy", b"old contents")
        os.chmod(writable, 0o666)
        os.symlink("protected.npy", self.path("link.npy"))
        for out in (protected, self.path("link.npy")):
            with self.subTest(out=out):
                r = run(self.args(out), preexec_fn=drop)
                if as_root and r.returncode != 0 and "Permission denied" in r.stderr \
                        and "protected.npy" not in r.stderr:
                    self.skipTest("the unprivileged user cannot run the program here: "
                                  + r.stderr)
                self.assertEqual(r.returncode, 1, r.stderr)
                self.assertEqual(r.stderr.count("\n"), 1, r.stderr)
                self.assertIn("cannot write '%s'" % out, r.stderr)
                self.assertIn("Permission denied (the file is not writable; it is not replaced)",
                              r.stderr)
                self.assertEqual(slurp(protected), b"precious contents")
        self.assertTrue(os.path.islink(self.path("link.npy")))
        # The same user may replace a file it may write.
        r = run(self.args(writable), preexec_fn=drop)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assert_result(writable)
        self.assertEqual(sorted(os.listdir(self.dir)),
                         ["in.npy", "link.npy", "protected.npy", "writable.npy"])


# ---- file contents in messages ------------------------------------------------------------------


class MessageTextTests(CliTestCase):
    def error_bytes(self, args):
        """Runs ups and returns its stderr as bytes, checking the single error line."""
        r = subprocess.run([test_cli.UPS] + args, capture_output=True, timeout=120)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertEqual(r.stdout, b"")
        self.assertTrue(r.stderr.startswith(b"ups: error: "), r.stderr)
        self.assertTrue(r.stderr.endswith(b"\n"), r.stderr)
        self.assertEqual(r.stderr.count(b"\n"), 1, r.stderr)
        for byte in range(32):
            if byte != 10:
                self.assertNotIn(bytes([byte]), r.stderr, "control byte %d reached stderr" % byte)
        self.assertNotIn(b"\x7f", r.stderr)
        self.assertNotIn(b"\x9b", r.stderr)
        return r.stderr.decode("ascii")

    def interpolate_error(self, header_text, data=b""):
        src = self.write("in.npy", npy_header("<f4", (1, 1, 1), text=header_text) + data)
        return self.error_bytes(["interpolate", src, self.path("out.npy"), "--mode", "nearest",
                                 "--scale", "2"])

    def test_header_bytes_are_escaped(self):
        # A terminal escape sequence (clear the screen, then red text) in the type string.
        line = self.interpolate_error(
            "{'descr': '\x1b[2J\x1b[31m<f4', 'fortran_order': False, 'shape': (1,), }")
        self.assertIn("unsupported .npy dtype '\\x1b[2J\\x1b[31m<f4'", line)
        # A NUL byte in a key: the message goes on after it.
        line = self.interpolate_error(
            "{'de\x00scr': '<f4', 'fortran_order': False, 'shape': (1,), }")
        self.assertIn("unexpected key 'de\\x00scr' (an .npy header has exactly 'descr', "
                      "'fortran_order' and 'shape')", line)
        # An 8-bit CSI and a DEL in a big-endian type string, repeated in the advice.
        line = self.interpolate_error(
            "{'descr': '>f4\x9b2J\x7f', 'fortran_order': False, 'shape': (1,), }")
        self.assertIn("big-endian data (descr '>f4\\x9b2J\\x7f')", line)
        self.assertIn("array.astype('<f4\\x9b2J\\x7f')", line)

    def test_paths_are_escaped(self):
        # A file name with an escape sequence and a line break in it.
        name = "in\x1b[31m\nx.npy"
        src = self.write(name, npy_header("<f4", (1, 1, 1), text="{'descr': '<f4', }"))
        line = self.error_bytes(["interpolate", src, self.path("out.npy"), "--mode", "nearest",
                                 "--scale", "2"])
        self.assertIn("in\\x1b[31m\\x0ax.npy", line)
        self.assertIn("the header has no 'fortran_order' key", line)


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: test_cli_files.py PATH_TO_UPS [unittest arguments]")
    test_cli.UPS = os.path.abspath(sys.argv[1])
    unittest.main(argv=[sys.argv[0]] + sys.argv[2:], verbosity=2)


if __name__ == "__main__":
    main()
