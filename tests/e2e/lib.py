"""What the end-to-end tests share: the paths and units, the checks (Failure,
check, eq, within), the one way to run peaktrace (peaktrace(), and attach()
built on it), temporary files (scratch()) and the readers of a report
(stack_of, site_bytes, proc_by_argv, assert_complete, printed).
"""
import atexit
import json as jsonlib
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PEAKTRACE = os.path.join(ROOT, "peaktrace")
VICTIMS = os.path.join(ROOT, "build", "tests")
MiB = 1024 * 1024
KiB = 1024
PAGE = 4096

# What libc itself may allocate on a victim's behalf (stdio buffers, TLS
# vectors of new threads, libstdc++'s exception pool): the stated allowance.
LIBC_ALLOWANCE = 128 * KiB
# pages the victims' own smaps reading and printing may touch after it
READ_ALLOWANCE = 4 * PAGE
# the outermost frames of every complete native stack
LIBC_START = ["__libc_start_call_main", "__libc_start_main", "_start"]


class Failure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def eq(actual, expected, what):
    check(actual == expected, f"{what}: expected {expected}, got {actual}")


def within(actual, expected, allowance, what):
    check(expected <= actual <= expected + allowance,
          f"{what}: expected {expected} (+ at most {allowance} for libc), got {actual}")


def victim(name):
    return os.path.join(VICTIMS, name)


# --- temporary files --------------------------------------------------------

_tmp_root = None


def scratch():
    """A new temporary directory, as a context manager that removes it.  Every
    temporary file of the suite is in one directory, removed at the end."""
    global _tmp_root
    if _tmp_root is None:
        _tmp_root = tempfile.mkdtemp(prefix="peaktrace-e2e-")
        atexit.register(shutil.rmtree, _tmp_root, True)
    return tempfile.TemporaryDirectory(dir=_tmp_root)


# --- running peaktrace --------------------------------------------------------

_unfinished = []  # runs started and not yet finished: ended after each test


class Run:
    """One run of peaktrace.  .proc is its Popen; once finish() returned:
    .returncode, .stdout and .stderr (None where not captured), and .report,
    the JSON report parsed (None if it was not asked for or not written)."""

    def __init__(self, args, json, wrapper, text, stdout, stderr, popen_kw):
        self.returncode = self.stdout = self.stderr = self.report = None
        self.json_path = None
        self._dir = None
        self._readers = []
        argv = [PEAKTRACE]
        if json:
            self._dir = scratch()
            self.json_path = os.path.join(self._dir.name, "report.json")
            argv += ["--json", self.json_path]
        argv += list(args)
        argv = wrapper(argv) if callable(wrapper) else list(wrapper) + argv
        try:
            self.proc = subprocess.Popen(argv, stdout=stdout, stderr=stderr, text=text, **popen_kw)
        except BaseException:
            self._remove_files()
            raise
        _unfinished.append(self)

    def _read(self, name, pipe):
        setattr(self, name, pipe.read())

    def finish(self, timeout=60):
        """Waits for the run to end, reading what it prints meanwhile; kills it
        (and raises TimeoutExpired, as subprocess.run does) after timeout
        seconds.  Reads the report, removes its files, returns the exit status."""
        for name in ("stdout", "stderr"):
            pipe = getattr(self.proc, name)
            if pipe is not None:
                # .read() on the file object: what a test already took with
                # readline() stays out, what readline() buffered stays in
                t = threading.Thread(target=self._read, args=(name, pipe), daemon=True)
                t.start()
                self._readers.append(t)
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            self.proc.wait(timeout=timeout)
            for t in self._readers:
                t.join(None if deadline is None else max(0, deadline - time.monotonic()))
                if t.is_alive():  # its output still open (by a process it left behind)
                    raise subprocess.TimeoutExpired(self.proc.args, timeout)
            self.returncode = self.proc.returncode
            if self.json_path and os.path.exists(self.json_path) and os.path.getsize(self.json_path):
                with open(self.json_path) as f:
                    self.report = jsonlib.load(f)
        finally:
            self.close()
        return self.returncode

    def close(self):
        """Ends the run if it is still going (SIGKILL) and removes its files."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if not any(t.is_alive() for t in self._readers):
            for pipe in (self.proc.stdout, self.proc.stderr):
                if pipe is not None:
                    pipe.close()
        self._remove_files()
        if self in _unfinished:
            _unfinished.remove(self)

    def _remove_files(self):
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None


def peaktrace(args, json=True, timeout=60, wait=True, wrapper=(), text=True,
              stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen_kw):
    """Runs peaktrace with args: the one way the tests run it.

    json: adds '--json <a temporary file>' before args, and the run's .report
    is that file parsed (the file is removed).  Without it, args alone.
    wrapper: a command to run peaktrace under (a list, put before it), or a
    function given peaktrace's argv that returns the command to run.
    wait=False returns at once, the run going on (.proc is its Popen): the
    test calls .finish(timeout) itself.  Otherwise the run is finished (within
    timeout seconds).  Output is captured (stdout=None/stderr=None: not);
    other keywords go to Popen (env, cwd)."""
    run = Run(args, json, wrapper, text, stdout, stderr, popen_kw)
    if wait:
        run.finish(timeout)
    return run


def attach(v, wrapper=(), timeout=60):
    """Attaches peaktrace -v -q -p (under wrapper, if given) to the waiting
    victim v; once -v says every probe is in place, lets the victim go on
    (SIGUSR1) and waits for both.  Returns the finished run: .report, and
    .attach_seconds, from the start of peaktrace to its being attached."""
    start = time.time()
    pt = peaktrace(["-v", "-q", "-p", str(v.pid)], wait=False, wrapper=wrapper, stdout=None)
    while True:
        line = pt.proc.stderr.readline()
        check(line, "peaktrace -p ended before saying it was attached")
        if line.startswith(f"peaktrace: attached to pid {v.pid}"):
            break
    pt.attach_seconds = time.time() - start
    v.send_signal(signal.SIGUSR1)
    eq(v.wait(timeout=timeout), 0, "victim exit")
    eq(pt.finish(timeout=timeout), 0, "peaktrace -p exit status")
    return pt


def end_unfinished_runs():
    """Kills the runs a test left going (it failed before finishing them) and
    removes their files."""
    for run in list(_unfinished):
        run.close()


# --- reading a report ----------------------------------------------------------

def stack_of(stacks, function):
    """The stack whose innermost named frame is function."""
    for s in stacks:
        names = [f["function"] for f in s["frames"] if f["function"]]
        if names and names[0] == function:
            return s
    return None


def site_bytes(stacks, function):
    s = stack_of(stacks, function)
    return (s["bytes"], s["allocations"]) if s else (0, 0)


def proc_by_argv(report, *argv):
    for p in report["processes"]:
        if p["argv"][-len(argv):] == list(argv) and p["peak_bytes"] >= 0:
            if p["argv"] and (len(argv) > 1 or p["argv"][0].endswith(argv[0])):
                return p
    raise Failure(f"no process with argv ending {argv} in {[p['argv'] for p in report['processes']]}")


def assert_complete(r):
    eq(r["lost"], {k: 0 for k in r["lost"]}, "losses")
    eq(r["complete"], True, "complete")


def printed(stdout, key):
    """The figure a victim printed after key on its stdout."""
    words = stdout.split()
    return int(words[words.index(key) + 1])
