"""Scopes beyond one tree: a cgroup v2 (--cgroup) with processes that enter
from outside, start inside, or leave; bystanders outside untouched."""
import os
import signal
import subprocess
import threading
import time

from .lib import LIBC_ALLOWANCE, MiB, check, eq, peaktrace, site_bytes, victim, within


def cgroup2_mount():
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, right = line.split(" - ", 1)
            if right.split()[0] == "cgroup2":
                return left.split()[4]
    raise AssertionError("no cgroup2 mount: the --cgroup tests need cgroup v2 "
                         "(mount -t cgroup2 none /sys/fs/cgroup)")


class Stepper:
    """tests/victims/stepper: allocates N MiB on "a", frees on "f"."""

    def __init__(self, mib, pre=None, late=False, started=None):
        argv = [victim("stepper"), str(mib)]
        if pre:  # a shell line run first (joining a cgroup), then exec
            argv = ["sh", "-c", pre + ' && exec "$0" "$@"'] + argv
        if late:  # 0.5 s in a loader that maps no C library, then exec
            argv = [victim("late_libc")] + argv
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        if started:
            started(self.p.pid)
        eq(self.p.stdout.readline().strip(), "ready", "stepper ready")

    def do(self, cmd, answer):
        self.p.stdin.write(cmd)
        self.p.stdin.flush()
        eq(self.p.stdout.readline().strip(), answer, f"stepper {cmd}")

    def end(self):
        self.p.stdin.close()
        eq(self.p.wait(timeout=10), 0, "stepper exit")

    def has_uprobes(self):
        with open(f"/proc/{self.p.pid}/maps") as f:
            return "[uprobes]" in f.read()


def wait_line(pt, prefix, timeout=30):
    """The first line of pt's stderr starting with prefix; pt is killed (and
    the test fails) if none comes within timeout seconds."""
    timer = threading.Timer(timeout, pt.proc.kill)
    timer.start()
    try:
        while True:
            line = pt.proc.stderr.readline()
            check(line, f"peaktrace printed no line starting {prefix!r} "
                        f"(ended, or killed after {timeout} s)")
            if line.startswith(prefix):
                return line
    finally:
        timer.cancel()


def test_cgroup_members_entering_and_leaving():
    cg = os.path.join(cgroup2_mount(), f"peaktrace-test-{os.getpid()}")
    os.mkdir(cg)
    procs = os.path.join(cg, "cgroup.procs")
    outside = os.path.join(os.path.dirname(cg), "cgroup.procs")
    movers = []
    try:
        a = Stepper(16)              # outside at first, moved in
        c = Stepper(8)               # outside all along: untraced
        movers += [a, c]
        pt = peaktrace(["-v", "-q", "--cgroup", os.path.basename(cg)], wait=False, stdout=None)
        wait_line(pt, "peaktrace: cgroup ")
        b = Stepper(32, pre=f"echo $$ > {procs}")   # starts inside
        movers.append(b)
        wait_line(pt, f"peaktrace: pid {b.p.pid} entered the cgroup")
        with open(procs, "w") as f:
            f.write(str(a.p.pid))
        wait_line(pt, f"peaktrace: pid {a.p.pid} entered the cgroup")
        a.do("a", "held")            # 16
        c.do("a", "held")            # outside: not counted
        b.do("a", "held")            # 16 + 32: the peak
        b.do("f", "freed")
        with open(outside, "w") as f:  # a leaves: its 16 MiB leave with it
            f.write(str(a.p.pid))
        time.sleep(0.2)
        a.do("f", "freed")           # after leaving: not counted
        check(not c.has_uprobes(), "the process outside has no uprobes in its address space")
        check(a.has_uprobes(), "the one moved in has (the check above can fail)")
        for s in movers:
            s.end()
        movers = []
        pt.proc.send_signal(signal.SIGINT)
        eq(pt.finish(timeout=30), 0, "peaktrace exit status")
        r = pt.report
        # what each image counted and what was lost, should the peak be off
        seen = [(p["pid"], p["comm"], p["peak_bytes"], p["allocations"]) for p in r["processes"]]
        within(r["tree"]["peak_bytes"], 48 * MiB, LIBC_ALLOWANCE,
               f"the cgroup's heap peak (a {a.p.pid}, b {b.p.pid}; images {seen}; "
               f"lost {dict((k, v) for k, v in r['lost'].items() if v)})")
        st = r["tree"]["stacks"]
        by_pid = {s["pid"]: s["bytes"] for s in st
                  if s["frames"] and s["frames"][0]["function"] == "scope_alloc"}
        eq(by_pid, {a.p.pid: 16 * MiB, b.p.pid: 32 * MiB}, "the stacks at the peak, by process")
        pids = {p["pid"]: p for p in r["processes"]}
        check(c.p.pid not in pids, f"the bystander is not in the report: {sorted(pids)}")
        eq(pids[a.p.pid]["left_scope"], True, "a left the cgroup")
        eq(pids[a.p.pid]["live_bytes_at_end"], 16 * MiB, "a's bytes when it left")
        eq(pids[b.p.pid]["peak_bytes"] >= 32 * MiB, True, "b's own peak")
        eq(r["scope"], {"kind": "cgroup", "cgroup": cg}, "the scope in the report")
    finally:
        for s in movers:
            s.p.kill()
            s.p.wait()
        os.rmdir(cg)


def test_cgroup_member_caught_before_its_c_library():
    """Processes moved into the cgroup while their loader has not mapped a C
    library yet (tests/victims/lateld: 0.5 s in a loader of its own), the
    window just after any exec: one whose loader then maps glibc is probed
    then, not written off as having none; one that execs the stepper has its
    32 MiB counted; one that exits without a C library is said to have
    entered all the same.  -v says each entered once that is settled."""
    cg = os.path.join(cgroup2_mount(), f"peaktrace-test-late-{os.getpid()}")
    os.mkdir(cg)
    procs = os.path.join(cg, "cgroup.procs")
    started = []

    def move(pid):
        with open(procs, "w") as f:
            f.write(str(pid))

    try:
        pt = peaktrace(["-v", "-q", "--cgroup", os.path.basename(cg)], wait=False, stdout=None)
        wait_line(pt, "peaktrace: cgroup ")
        mapper = subprocess.Popen([victim("late_libc")], stdin=subprocess.PIPE)
        started.append(mapper)
        move(mapper.pid)
        wait_line(pt, f"peaktrace: pid {mapper.pid} entered the cgroup")
        check(mapper.poll() is None, "said once its C library was probed, while it runs")
        mapper.stdin.close()
        eq(mapper.wait(timeout=10), 0, "the mapping loader's exit")

        b = Stepper(32, late=True, started=move)
        started.append(b.p)
        wait_line(pt, f"peaktrace: pid {b.p.pid} entered the cgroup")
        b.do("a", "held")
        b.do("f", "freed")
        b.end()

        quitter = subprocess.Popen([victim("late_libc"), "exit"])
        started.append(quitter)
        move(quitter.pid)
        wait_line(pt, f"peaktrace: pid {quitter.pid} entered the cgroup")
        eq(quitter.wait(timeout=10), 0, "the quitting loader's exit")

        pt.proc.send_signal(signal.SIGINT)
        eq(pt.finish(timeout=30), 0, "peaktrace exit status")
        r = pt.report
        images = {}
        for p in r["processes"]:
            images.setdefault(p["pid"], []).append(p)
        (m,) = images[mapper.pid]
        eq((m["heap_traced"], m["heap_note"]), (True, None),
           "the loader that mapped glibc: probed, not 'no C library'")
        stepper = [p for p in images[b.p.pid] if p["comm"] == "stepper"]
        eq(len(stepper), 1, f"the stepper's image: {images[b.p.pid]}")
        eq(stepper[0]["heap_traced"], True, "the stepper's heap traced")
        check(stepper[0]["peak_bytes"] >= 32 * MiB, f"the stepper's peak: {stepper[0]['peak_bytes']}")
        within(r["tree"]["peak_bytes"], 32 * MiB, LIBC_ALLOWANCE, "the cgroup's heap peak")
        (q,) = images[quitter.pid]
        eq((q["peak_bytes"], q["allocations"]), (0, 0),
           "the loader that exited without a C library: nothing to count")
    finally:
        for p in started:
            if p.poll() is None:
                p.kill()
                p.wait()
        os.rmdir(cg)


def all_run(extra=()):
    """peaktrace -a -v, once it says every process is followed."""
    pt = peaktrace(["-v", "-q", "-a"] + list(extra), wait=False, stdout=None)
    wait_line(pt, "peaktrace: tracing every process")
    return pt


def test_all_exact_rss_of_a_process_started_later():
    """-a: a victim started afterwards (rss_touch: 16 x 1 MiB touched) has its
    exact anon peak matching smaps_rollup, and ranks in the JSON."""
    pt = all_run()
    v = subprocess.run([victim("rss_touch")], capture_output=True, text=True, timeout=30)
    eq(v.returncode, 0, "victim exit")
    pt.proc.send_signal(signal.SIGINT)
    eq(pt.finish(timeout=30), 0, "peaktrace exit status")
    r = pt.report
    eq(r["scope"], {"kind": "all"}, "scope")
    words = v.stdout.split()
    peak = int(words[words.index("anon_kb_peak") + 1]) * 1024
    (p,) = [p for p in r["processes"] if p["argv"][:1] == [victim("rss_touch")]]
    within(p["rss"]["peak_anon_bytes"], peak, 4 * 4096, "exact anon peak vs smaps_rollup")
    eq(p["heap_traced"], False, "-a traces RSS only")
    trees = [t for t in r["trees"] if t["root_pid"] == p["pid"]]
    check(not trees, "the victim is in its parent's tree (started by a traced process)")
    check(any(t["rss_peak_bytes"] >= p["rss"]["peak_bytes"] for t in r["trees"]),
          f"its tree's exact peak holds the victim's: {r['trees']}")


def test_all_churn_every_process_seen():
    """-a while a shell starts 1000 short-lived processes (2000 images: a fork
    and an exec each) with room for 1024 in the process map: every one seen,
    nothing lost (ended ones are swept out of the map as the run goes), and
    peaktrace's own memory stays small."""
    pt = all_run(["--max-procs", "1024"])
    sh = subprocess.Popen(["sh", "-c", "i=0; while [ $i -lt 1000 ]; do /bin/true; i=$((i+1)); done"])
    eq(sh.wait(timeout=120), 0, "the loop's exit status")
    with open(f"/proc/{pt.proc.pid}/status") as f:
        kb = int(next(line for line in f if line.startswith("VmHWM")).split()[1])
    pt.proc.send_signal(signal.SIGINT)
    eq(pt.finish(timeout=60), 0, "peaktrace exit status")
    r = pt.report
    # (the machine may run other /bin/true meanwhile: only the loop's)
    trues = [p for p in r["processes"] if p["argv"][:1] == ["/bin/true"] and p["ppid"] == sh.pid]
    eq(len(trues), 1000, "every /bin/true seen")
    eq(sum(r["lost"].values()), 0, f"nothing lost: {r['lost']}")
    print(f"    peaktrace's own peak RSS while tracing: {kb} KiB; "
          f"{len(r['processes'])} process images")
    check(kb < 64 * 1024, f"peaktrace's own RSS bounded: {kb} KiB")


def test_scope_errors():
    """Clear errors: no such cgroup, a directory that is not a cgroup v2,
    scopes given together."""
    pt = peaktrace(["--cgroup", "no-such-cgroup-here"], json=False)
    eq(pt.returncode, 3, "no such cgroup: exit 3")
    check("no cgroup 'no-such-cgroup-here'" in pt.stderr, f"says so: {pt.stderr}")
    pt = peaktrace(["--cgroup", "/tmp"], json=False)
    eq(pt.returncode, 3, "not a cgroup: exit 3")
    check("is not a cgroup v2 directory" in pt.stderr, f"says so: {pt.stderr}")
    pt = peaktrace(["-a", "-p", "1"], json=False)
    eq(pt.returncode, 2, "two scopes: usage error")
    check("give one of -p PID, --cgroup PATH, -a or -- CMD" in pt.stderr, f"says so: {pt.stderr}")


def test_all_heap_when_asked():
    """-a --heap: every process's heap too (said to be costly at start); a
    program started afterwards has its exact heap peak and stacks."""
    pt = peaktrace(["-v", "-a", "--heap"], wait=False, stdout=None)
    wait_line(pt, "peaktrace: tracing every process")
    v = subprocess.run([victim("phases")], timeout=60)
    eq(v.returncode, 7, "victim exit (its own status)")
    pt.proc.send_signal(signal.SIGINT)
    eq(pt.finish(timeout=60), 0, "peaktrace exit status")
    r = pt.report
    check(any("every malloc and free on this machine traps" in w for w in r["warnings"]),
          f"the cost said at start: {r['warnings']}")
    (p,) = [p for p in r["processes"] if p["argv"][:1] == [victim("phases")]]
    eq(p["heap_traced"], True, "heap traced")
    eq(p["peak_bytes"], 80 * MiB, "the victim's exact heap peak")
    eq(site_bytes(p["stacks"], "phase_b"), (50 * MiB, 5), "its stacks at its peak")
    pt = peaktrace(["-q", "--heap", "-p", "1"], json=False)
    eq(pt.returncode, 2, "--heap without -a: usage error")
