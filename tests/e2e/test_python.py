"""Python frames from outside (Debian's python3.11): the functions and lines
holding memory at the peak, with exact lines found by markers in the
victims; threads that allocate with the GIL released; a child that exits
before the report; numpy's native frames below the Python ones; deep
recursion cut with the innermost frames kept."""
import glob
import os
import re
import signal
import subprocess
import threading
import time

from .lib import MiB, ROOT, assert_complete, check, eq, peaktrace

PYTHON = "/usr/bin/python3.11"
VICTIMS = os.path.join(ROOT, "tests", "victims")


def lines(name):
    """{marker: line} of a victim's '# LINE:marker' comments."""
    out = {}
    with open(os.path.join(VICTIMS, name)) as f:
        for i, text in enumerate(f, 1):
            if "# LINE:" in text:
                out[text.split("# LINE:")[1].strip()] = i
    return out


def py_frames(stack):
    return [(f["function"], f["line"]) for f in stack["frames"] if f["python"]]


def holding(stacks, nbytes):
    found = [s for s in stacks if s["bytes"] == nbytes]
    check(len(found) == 1, f"one stack holding exactly {nbytes}: "
          f"{[(s['bytes'], py_frames(s)[:2]) for s in stacks[:8]]}")
    return found[0]


def keep_log(name, lines):
    """Writes lines to build/artifacts/<name>.log; returns its path."""
    artifacts = os.path.join(ROOT, "build", "artifacts")
    os.makedirs(artifacts, exist_ok=True)
    path = os.path.join(artifacts, name + ".log")
    with open(path, "w") as f:
        f.writelines(lines)
    return path


def run_py_frames(python):
    """py_frames.py under peaktrace -v, let go at each of its two waits once
    -v said peaktrace has what the next stack needs: the unwind tables of
    libffi and _ctypes and the interpreter's layout for the worker's, the
    child's layout for the child's.  On a loaded machine a fixed pause was
    not always enough.  Returns the finished run."""
    pt = peaktrace(["-v", "-q", "--", python, os.path.join(VICTIMS, "py_frames.py")],
                   wait=False, stdin=subprocess.PIPE)

    def descendants(pid):
        try:
            with open(f"/proc/{pid}/task/{pid}/children") as f:
                children = [int(c) for c in f.read().split()]
        except OSError:
            return []
        return [d for c in children for d in [c] + descendants(c)]

    def kill_run():
        # the victims first, its child (-c) too: they hold peaktrace's
        # stderr, whose end the loop below waits for, and would wait for
        # their stdin forever
        for c in descendants(pt.proc.pid):
            try:
                os.kill(c, signal.SIGKILL)
            except OSError:
                pass
        pt.proc.kill()

    watchdog = threading.Timer(60, kill_run)
    watchdog.start()
    tables, pythons, sent, said, start = set(), [], 0, [], time.monotonic()
    while sent < 2:
        line = pt.proc.stderr.readline()
        said.append(f"{time.monotonic() - start:7.3f} {line}")
        if not line:
            log = keep_log("py_frames_" + os.path.basename(os.path.dirname(os.path.dirname(python))),
                           said)
            check(False, f"{python}: peaktrace ended before py_frames.py was let go "
                  f"(tables {sorted(tables)}, Python images {pythons}); its -v output: {log}")
        if line.startswith("peaktrace: unwind table for "):
            tables.update(m for m in ("libffi", "_ctypes") if m in line)
        found = re.match(r"peaktrace: pid (\d+): Python .*: Python frames on", line)
        if found:
            pythons.append(int(found.group(1)))
        if (sent == 0 and len(tables) == 2 and pythons) or (sent == 1 and len(pythons) == 2):
            pt.proc.stdin.write("x")
            pt.proc.stdin.flush()
            sent += 1
    watchdog.cancel()
    pt.proc.stdin.close()
    pt.finish(timeout=60)
    return pt


def check_load(r, python, listcomp):
    """The stack of py_frames.py's load (the peak) in report r: its Python
    frames, innermost first; returns it."""
    victim = os.path.join(VICTIMS, "py_frames.py")
    at = lines("py_frames.py")
    # bytearray(n) asks for n + 1 bytes
    load = holding(r["tree"]["stacks"], 5 * (10 * MiB + 1))
    eq(load["allocations"], 5, "the five bytearrays")
    # 3.11 runs a list comprehension as a frame of its own; 3.12 inlines it
    comp = [("Loader.load.<locals>.<listcomp>", at["load"])] if listcomp else []
    eq(py_frames(load), comp + [("Loader.load", at["load"]), ("main", at["main"]),
                                ("<module>", at["module"])],
       f"{python}: Python frames of the load, innermost first")
    f = next(f for f in load["frames"] if f["python"])
    eq((f["file"], f["kind"], f["module"]), (victim, "python", None), "a Python frame's fields")
    natives = [f["function"] for f in load["frames"] if not f["python"]]
    check("PyByteArray_Resize" in natives, f"the C code that allocated stays below: {natives}")
    return natives


def check_frames(python, listcomp):
    """py_frames.py under python: its stacks at the peak, its worker's and
    its child's, each with exact functions and lines; CPython's eval loop
    and glue hidden, unless -v."""
    at = lines("py_frames.py")
    # by default (nothing waited for: the load's frames need only the
    # interpreter's layout, found long before)
    pt = peaktrace(["-q", "--", python, os.path.join(VICTIMS, "py_frames.py")],
                   stdin=subprocess.DEVNULL)
    eq(pt.returncode, 0, f"{python}: exit status")
    natives = check_load(pt.report, python, listcomp)
    check("_PyEval_EvalFrameDefault" not in natives and "PyEval_EvalCode" not in natives,
          f"the eval loop and CPython's glue are hidden by default: {natives}")
    # with -v, each wait of the victim let go once peaktrace has what it needs
    pt = run_py_frames(python)
    r = pt.report
    eq(pt.returncode, 0, f"{python}: exit status")
    assert_complete(r)
    check(not r["warnings"], f"{python}: no warnings: {r['warnings']}")
    st = r["tree"]["stacks"]
    natives = check_load(r, python, listcomp)
    check("PyEval_EvalCode" in natives, f"-v shows CPython's glue: {natives}")
    # the worker allocated with the GIL released while the spinner held it
    work = holding(st, 20 * MiB)
    eq(py_frames(work)[0], ("worker", at["worker"]), "the worker's allocation names the worker")
    check(all(fn != "spin" for fn, _ in py_frames(work)), f"not the spinner: {py_frames(work)}")
    check("ffi_call" in [f["function"] for f in work["frames"]], "ctypes' native frames stay")
    # the child exited long before the report
    child = [p for p in r["processes"] if p["argv"][1:2] == ["-c"]]
    eq(len(child), 1, "the child")
    cs = holding(child[0]["stacks"], 30 * MiB + 1)
    eq([(f["function"], f["file"], f["line"]) for f in cs["frames"] if f["python"]],
       [("<module>", "<string>", 1)], "the exited child's frames")


def test_python_functions_and_lines_at_the_peak():
    victim = os.path.join(VICTIMS, "py_frames.py")
    check_frames(PYTHON, listcomp=True)

    # --python native: no Python frames; merged with -v: the eval loop shown
    pt = peaktrace(["-q", "--python", "native", "--", PYTHON, victim], stdin=subprocess.DEVNULL)
    load = holding(pt.report["tree"]["stacks"], 5 * (10 * MiB + 1))
    eq(py_frames(load), [], "--python native")
    check("_PyEval_EvalFrameDefault" in [f["function"] for f in load["frames"]],
          "--python native keeps the eval loop")


def other_pythons():
    """CPython builds besides Debian's, with libpython shared (pyenv's)."""
    root = os.environ.get("PYENV_ROOT", "/root/.pyenv")
    found = {}
    for v in sorted(glob.glob(os.path.join(root, "versions", "3.1[1-9].*", "bin", "python3"))):
        minor = v.split("versions/")[1].split("/")[0].rsplit(".", 1)[0]
        found[minor] = v
    return found


def test_python_other_versions():
    """3.11 (a libpython build), 3.12 (shim frames, inlined comprehensions)
    and 3.13 (layout from _Py_DebugOffsets), where this machine has them:
    the versions checked are printed; Debian 12 itself has 3.11 only."""
    found = other_pythons()
    print(f"    Python builds checked: {found or 'none besides Debian 3.11 on this machine'}")
    for minor, python in found.items():
        check_frames(python, listcomp=minor == "3.11")


def test_python_frames_above_numpy():
    at = lines("py_numpy.py")
    pt = peaktrace(["-q", "--", PYTHON, os.path.join(VICTIMS, "py_numpy.py")])
    r = pt.report
    assert_complete(r)
    c = holding(r["tree"]["stacks"], 80 * MiB)
    # Debian's numpy 1.24 dispatches concatenate through a Python function
    # of its own (overrides.py's public_api) first
    ours = [(f["function"], f["line"]) for f in c["frames"]
            if f["python"] and f["file"].endswith("py_numpy.py")]
    eq(ours, [("transform", at["transform"]), ("main", at["main"]), ("<module>", at["main"] + 4)],
       "transform and its line")
    first_py = next(i for i, f in enumerate(c["frames"]) if f["python"])
    below = [f["module"] or "" for f in c["frames"][:first_py]]
    check(any("_multiarray_umath" in m for m in below), f"numpy's native frames below: {below}")


def test_python_deep_recursion_keeps_innermost():
    at = lines("py_deep.py")
    pt = peaktrace(["-q", "--", PYTHON, os.path.join(VICTIMS, "py_deep.py")])
    r = pt.report
    s = holding(r["tree"]["stacks"], 16 * MiB + 1)
    fr = py_frames(s)
    eq(len(fr), 64, "Python frames kept (the limit)")
    eq(fr[0], ("down", at["bottom"]), "the allocating frame")
    eq(fr[1:], [("down", at["down"])] * 63, "the innermost callers")
    check(r["notes"]["python_frames_cut"] >= 1, f"the cut counted: {r['notes']}")


def test_python_malloc_option():
    """--python-malloc: the command runs with PYTHONMALLOC=malloc, so each
    small object is its own block on its own line; refused with -p."""
    src = "import os\nx = [str(i) for i in range(100000)]\nprint(os.environ['PYTHONMALLOC'])\n"
    pt = peaktrace(["-q", "--python-malloc", "--exact-stacks", "--", PYTHON, "-c", src])
    eq(pt.stdout.strip(), "malloc", "the command's environment")
    st = pt.report["tree"]["stacks"]
    strs = [s for s in st if py_frames(s)[:1] == [("<listcomp>", 2)]]
    # (single-character strs are interned: a few of the 100000 are not blocks)
    check(strs and max(s["allocations"] for s in strs) >= 99900,
          f"each str a block of its own at line 2: {[(s['allocations'], py_frames(s)) for s in st[:5]]}")
    pt = peaktrace(["-q", "--python-malloc", "-p", "1"])
    eq(pt.returncode, 2, "--python-malloc with -p: a usage error")
    check("needs -- CMD" in pt.stderr, f"says why: {pt.stderr}")


def test_python_multiprocessing_each_process_its_own_frames():
    """A forked consumer and its producer (mp_queue.py): each process's
    stack at the tree peak names its own function and line; the forked
    child's Python frames continue through the fork in its parent's code."""
    at = lines("mp_queue.py")
    pt = peaktrace(["-q", "--", PYTHON, os.path.join(VICTIMS, "mp_queue.py"), "1"])
    r = pt.report
    eq(pt.returncode, 0, "exit status")
    st = r["tree"]["stacks"]
    cons, prod = holding(st, (48 << 20) + 1), holding(st, (32 << 20) + 1)
    check(cons["pid"] != prod["pid"], "two processes")
    eq(py_frames(cons)[0], ("consumer", at["consumer"]), "the consumer's own frame")
    check(any(fn == "BaseProcess._bootstrap" for fn, _ in py_frames(cons)),
          f"run by multiprocessing in the child: {py_frames(cons)}")
    eq(py_frames(prod), [("main", at["producer"]), ("<module>", at["producer"] + 10)],
       "the producer's frames")
