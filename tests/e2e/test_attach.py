"""Attaching to running processes (-p): a tree started before the attach
and children started after it, a large tree, hostile mapped files that must
neither stall the attach nor make peaktrace open planted names, and the pids
-p refuses (not a number, no such process, exited, a kernel thread).
"""
import os
import signal
import subprocess
import time

from .lib import MiB, assert_complete, attach, check, eq, peaktrace, scratch, site_bytes, victim


def test_attach_to_running_tree():
    h = subprocess.Popen([victim("holder")], stdout=subprocess.PIPE, text=True)
    try:
        line = h.stdout.readline().split()
        eq(line[0], "ready", "holder ready")
        pre_child = int(line[1])
        r = attach(h).report
    finally:
        if h.poll() is None:
            h.kill()
    eq(r["tree"]["peak_bytes"], 24 * MiB, "tree peak (16 + 8)")
    eq(r["lost"]["unknown_frees"], 32, "frees of the 32 blocks allocated before the attach")
    eq(r["lost"]["map_full"], 0, "map full")
    eq(r["complete"], False, "a report with unknown frees is not complete")
    procs = {p["pid"]: p for p in r["processes"]}
    eq(procs[h.pid]["peak_bytes"], 16 * MiB, "holder's own peak (pre-attach memory unknown)")
    eq(procs[pre_child]["peak_bytes"], 4 * MiB, "child that existed before the attach")
    news = [p for p in r["processes"] if p["pid"] not in (h.pid, pre_child)]
    eq([p["peak_bytes"] for p in news], [8 * MiB], "child started after the attach")
    st = r["tree"]["stacks"]
    eq(site_bytes(st, "after_attach"), (16 * MiB, 1), "after_attach at the peak")
    eq(site_bytes(st, "new_child"), (8 * MiB, 1), "new_child at the peak")
    eq(site_bytes(st, "pre_child"), (0, 0), "pre_child had exited at the peak")
    rss = procs[h.pid]["rss"]
    check(rss["start_bytes"] > 0, f"RSS at the attach, from smaps_rollup: {rss}")
    check(rss["events"] > 0 and rss["peak_bytes"] >= rss["start_bytes"],
          f"its mm learned at its first RSS change after the attach: {rss}")
    check(procs[pre_child]["rss"]["events"] > 0, "the pre-existing child's mm learned too")


def test_attach_to_a_large_tree():
    """-p on 100 processes of 8 threads each: all traced, the exact tree peak."""
    v = subprocess.Popen([victim("ptree")], stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        eq(v.stdout.readline().strip(), "ready", "victim ready")
        r = attach(v).report
    finally:
        if v.poll() is None:
            os.killpg(v.pid, signal.SIGKILL)
    eq(len(r["processes"]), 101, "every process")
    eq([p["pid"] for p in r["processes"] if p["trace_failed"]], [], "none failed")
    eq(r["tree"]["peak_bytes"], 100 * 8 * MiB, "tree peak: 100 x 8 MiB")
    mine = [site_bytes(p["stacks"], "child_alloc") for p in r["processes"]]
    eq(mine.count((8 * MiB, 1)), 100, "each child's stack at its peak")
    assert_complete(r)


def test_hostile_mapped_files_neither_stall_nor_steer():
    """A target mapping a crafted ELF (a 4 GiB code segment in 16 KiB), a deleted file
    with a FIFO at '<path> (deleted)', and one with symlinks to /etc/shadow: -p attaches
    in seconds and opens none of the planted names."""
    with scratch() as d:
        v = subprocess.Popen([victim("hostile"), d], stdout=subprocess.PIPE, text=True)
        try:
            eq(v.stdout.readline().strip(), "ready", "victim ready")
            log = os.path.join(d, "openat.log")
            pt = attach(v, ["strace", "-f", "-qq", "-e", "trace=openat,open", "-o", log], timeout=30)
            check(pt.attach_seconds < 20, f"attached in {pt.attach_seconds:.1f} s (under strace)")
            r = pt.report
            with open(log) as f:
                opened = [l for l in f if "shadow" in l or "(deleted)" in l or "fifo.so" in l
                          or "link.so" in l]
        finally:
            if v.poll() is None:
                v.kill()
    eq(opened, [], "none of the planted names opened")
    eq(site_bytes(r["tree"]["stacks"], "hostile_alloc"), (2 * MiB, 1), "the allocation counted")


def test_missing_pid():
    pt = peaktrace(["-q", "-p", "12abc"])
    eq(pt.returncode, 2, "exit status for a pid that is not a number (usage)")
    check("invalid pid '12abc'" in pt.stderr, f"message: {pt.stderr!r}")
    pt = peaktrace(["-q", "-p", "4194303"])
    r = pt.report
    eq(pt.returncode, 3, "exit status for a pid with no process")
    check("no process with pid 4194303" in pt.stderr, f"message: {pt.stderr!r}")
    eq(r, None, "no report")


def test_pid_that_already_exited():
    z = subprocess.Popen(["/bin/true"])
    deadline = time.time() + 5
    while time.time() < deadline:  # a zombie until we reap it
        with open(f"/proc/{z.pid}/stat") as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                break
        time.sleep(0.01)
    try:
        pt = peaktrace(["-q", "-p", str(z.pid)])
    finally:
        z.wait()
    eq(pt.returncode, 3, "exit status for a process that has exited")
    check(f"pid {z.pid} has exited" in pt.stderr, f"message: {pt.stderr!r}")


def test_kernel_thread_pid():
    pt = peaktrace(["-q", "-p", "2"])
    eq(pt.returncode, 3, "exit status for a kernel thread")
    check("kernel thread" in pt.stderr, f"message: {pt.stderr!r}")
