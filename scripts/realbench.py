#!/usr/bin/env python3
"""Real workloads, whole-run wall time (start and report included): each
untraced, under peaktrace (peaktrace-preload.so, the default), peaktrace
--no-preload, peaktrace --rss-only, heaptrack and memray (if
found: MEMRAY=path, or /opt/memray-venv/bin/memray), interleaved round by
round, medians of RUNS; printed with the ratio to untraced.  Beside it the
CPU time (user + system) of the tool and everything it ran, which time the
shared VM's host takes away does not inflate as much as wall time.

    scripts/realbench.py [RUNS] [WORKLOAD...]      (root; from scripts/bench)
"""
import os
import resource
import shutil
import statistics
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
W = os.path.join(ROOT, "scripts", "workloads")
PY = "/usr/bin/python3"  # Debian's, with Debian's numpy and pandas
PEAKTRACE = os.path.join(ROOT, "peaktrace")

WORKLOADS = {
    "numpy-pipeline": ("numpy producer -> consumer (fork, Queue)", [PY, f"{W}/numpy_pipeline.py"], True),
    "py-objects": ("Python objects (2 M small dicts)", [PY, f"{W}/py_objects.py"], True),
    "pandas": ("pandas, 2 M rows, groupby + merge", [PY, f"{W}/pandas_groupby.py"], True),
    "torch": ("PyTorch MLP trained on CPU, DataLoader with 2 workers (fork)", [PY, f"{W}/torch_train.py"], True),
    "cxx": ("C++ vector growth + 2 M-node hash map", [os.path.join(ROOT, "build", "bench", "cxx_work")], False),
}


# The Python module each Python workload needs (Debian's packages).
NEEDS = {"numpy-pipeline": "numpy", "pandas": "pandas", "torch": "torch"}


def memray_path():
    for p in (os.environ.get("MEMRAY"), "/opt/memray-venv/bin/memray", shutil.which("memray")):
        if p and os.access(p, os.X_OK):
            return p
    return None


def tools(python, tmp):
    t = [("untraced", lambda cmd: cmd),
         ("peaktrace", lambda cmd: [PEAKTRACE, "-q", "--"] + cmd),
         ("--no-preload", lambda cmd: [PEAKTRACE, "-q", "--no-preload", "--"] + cmd),
         ("--rss-only", lambda cmd: [PEAKTRACE, "-q", "--rss-only", "--"] + cmd)]
    if shutil.which("heaptrack"):
        t.append(("heaptrack", lambda cmd: ["heaptrack", "-o", f"{tmp}/ht"] + cmd))
    m = memray_path()
    if m and python:
        t.append(("memray", lambda cmd: [m, "run", "--quiet", "--force", "-o", f"{tmp}/m.bin"] + cmd[1:]))
    return t


# A run this many times slower than the untraced one (and over a minute) is
# stuck: heaptrack deadlocks at fork in the numpy pipeline here now and then.
# Its whole process group is killed, the run failed, and that tool is not
# run again on that workload.
STUCK_RATIO, STUCK_MIN = 100, 60
STUCK = "stuck"


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(argv, tmp, timeout):
    """(wall seconds, CPU seconds of the run and all it waited for), STUCK or None."""
    cpu = children_cpu()
    t = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        sys.stderr.write(f"  stuck: killed after {timeout:.0f} s: {' '.join(argv)}\n")
        return STUCK
    p = subprocess.CompletedProcess(argv, proc.returncode, None, err)
    dt = time.perf_counter() - t
    dcpu = children_cpu() - cpu
    for f in os.listdir(tmp):
        os.unlink(os.path.join(tmp, f))
    if p.returncode != 0:
        sys.stderr.write(f"  failed ({p.returncode}): {' '.join(argv)}\n{p.stderr[-400:]}\n")
        return None
    return dt, dcpu


def main():
    args = sys.argv[1:]
    runs = int(args.pop(0)) if args and args[0].isdigit() else 5
    chosen = args or list(WORKLOADS)
    unknown = [n for n in chosen if n not in WORKLOADS]
    if unknown:
        sys.exit(f"realbench: unknown workload {', '.join(unknown)}; known: {', '.join(WORKLOADS)}")
    if os.geteuid() != 0:
        sys.exit("realbench: run as root (BPF)")
    if not memray_path():
        print("memray: not found (not a Debian package; build it from source and set MEMRAY=path)")
    for name in chosen:
        what, cmd, python = WORKLOADS[name]
        need = NEEDS.get(name)
        if need and subprocess.run([PY, "-c", f"import {need}"], capture_output=True).returncode:
            print(f"\n{what}: skipped, {PY} cannot import {need} "
                  "(scripts/install-deps --bench installs it)")
            continue
        with tempfile.TemporaryDirectory() as tmp:
            ts = tools(python, tmp)
            res = {n: [] for n, _ in ts}
            cpu = {n: [] for n, _ in ts}
            stuck = set()
            for _ in range(runs):
                for n, wrap in ts:
                    if n in stuck:
                        continue
                    base = res["untraced"]
                    limit = max(STUCK_MIN, STUCK_RATIO * min(base)) if base else None
                    v = timed(wrap(cmd), tmp, limit)
                    if v is STUCK:
                        stuck.add(n)
                    elif v is not None:
                        res[n].append(v[0])
                        cpu[n].append(v[1])
        base = statistics.median(res["untraced"]) if res["untraced"] else None
        cbase = statistics.median(cpu["untraced"]) if cpu["untraced"] else None
        print(f"\n{what}: median of {runs} interleaved runs, wall seconds; CPU seconds")
        for n, _ in ts:
            if not res[n]:
                print(f"  {n:<12} {'stuck (killed)' if n in stuck else 'failed'}")
                continue
            med, cmed = statistics.median(res[n]), statistics.median(cpu[n])
            ratio = f"{med / base:.2f}x" if base else ""
            cratio = f"{cmed / cbase:.2f}x" if cbase else ""
            print(f"  {n:<12} {med:8.2f} s  {ratio:>7}   (min {min(res[n]):.2f}, max {max(res[n]):.2f})"
                  f"   CPU {cmed:6.2f} s  {cratio:>7}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
