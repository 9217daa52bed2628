"""The command line and what a run says: usage errors and limits, not root,
targets that cannot run, exit statuses, the text report on stderr, the JSON
report's file (checked first, written safely, '-' for stdout), untrusted
strings, the status line on a terminal, SIGINT and a killed command while
held or running, and runs side by side (probe definitions shared, removed
when unused).
"""
import json
import os
import re
import shlex
import signal
import subprocess
import time

from .lib import (LIBC_ALLOWANCE, ROOT, MiB, check, eq, peaktrace, scratch, site_bytes,
                  victim, within)


def test_usage_errors():
    rc = peaktrace([], json=False)
    eq(rc.returncode, 2, "exit status with nothing to trace")
    check("nothing to trace" in rc.stderr, f"message: {rc.stderr!r}")
    rc = peaktrace(["-p", "1", "--", "true"], json=False)
    eq(rc.returncode, 2, "exit status with both -p and a command")
    # limits are bounded, and say why, before anything loads
    for opt, value in (("--max-allocs", "4294967295"), ("--max-stacks", "8000000"),
                       ("--max-procs", "0"), ("--max-allocs", "-1")):
        rc = peaktrace([opt, value, "--", "true"], json=False)
        eq(rc.returncode, 2, f"exit status for {opt} {value}")
        check(f"invalid {opt}" in rc.stderr and "expected" in rc.stderr, f"message: {rc.stderr!r}")


def test_not_root_fails_clearly():
    rc = peaktrace(["-q", "--", "/bin/true"], json=False,
                   wrapper=["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"])
    eq(rc.returncode, 125, "exit status without root")
    check("must run as root" in rc.stderr and "CAP_BPF" in rc.stderr, f"message: {rc.stderr!r}")


def test_bad_target_reported_at_once():
    for args, code in ((["--", "no-such-command-x"], 127), (["-p", "4194303"], 3)):
        start = time.time()
        p = peaktrace(["-q"] + args, json=False)
        eq(p.returncode, code, f"exit status of {args}")
        check(time.time() - start < 1.0, f"{args} reported within a second: {time.time() - start:.2f} s")


def test_command_not_found_or_not_executable():
    pt = peaktrace(["-q", "--", "/nonexistent/peaktrace-victim"])
    eq(pt.returncode, 127, "exit status for a missing command")
    check("cannot run /nonexistent/peaktrace-victim: No such file" in pt.stderr, f"message: {pt.stderr!r}")
    with scratch() as d:
        script = os.path.join(d, "no-exec.sh")
        with open(script, "w") as f:  # no x bit
            f.write("#!/bin/sh\nexit 0\n")
        pt = peaktrace(["-q", "--", script])
        eq(pt.returncode, 126, "exit status for a command without exec permission")
        check("Permission denied" in pt.stderr, f"message: {pt.stderr!r}")


def test_command_exits_at_once():
    pt = peaktrace(["-q", "--", "/bin/false"])
    r = pt.report
    eq(pt.returncode, 1, "exit status of false")
    eq(len(r["processes"]), 1, "one process")
    eq(r["processes"][0]["exit_code"], 1, "its exit code")
    eq(r["stopped_by"], "exit", "stopped_by")


def test_text_report_on_stderr_only():
    p = peaktrace(["--", victim("phases")], json=False)
    eq(p.returncode, 7, "exit status")
    eq(p.stdout, "", "nothing on stdout but the command's")
    check("Heap peak of the process tree: 80.0 MiB" in p.stderr, f"text report: {p.stderr[:300]!r}")
    check("phase_b (" in p.stderr and "phases.c:" in p.stderr, "symbolized frames in the text report")


def test_report_file_checked_first_and_written_safely():
    with scratch() as d:
        marker = os.path.join(d, "ran")
        # an unwritable path: refused before the command runs
        p = peaktrace(["-q", "--json", os.path.join(d, "no", "such", "dir.json"), "--", "/bin/touch", marker],
                      json=False)
        eq(p.returncode, 125, "exit status")
        check("cannot write a report" in p.stderr, f"the message: {p.stderr!r}")
        check(not os.path.exists(marker), "the command did not run")
        # "--json -- cmd" is a forgotten file name, not a file named "--"
        p = peaktrace(["--json", "--", "/bin/true"], json=False, cwd=d)
        eq(p.returncode, 2, "usage error")
        check(not os.path.exists(os.path.join(d, "--")), "no file named --")
        # a symlink at the report's path (planted in a shared directory) is refused
        target = os.path.join(d, "target")
        with open(target, "w") as f:
            f.write("keep")
        link = os.path.join(d, "r.json")
        os.symlink(target, link)
        p = peaktrace(["-q", "--json", link, "--", "/bin/touch", marker], json=False)
        eq(p.returncode, 125, "exit status")
        check("symbolic link" in p.stderr, f"the message: {p.stderr!r}")
        check(not os.path.exists(marker), "the command did not run")
        with open(target) as f:
            eq(f.read(), "keep", "the symlink's target untouched")
        # a report file is written whole, beside which nothing is left
        os.unlink(link)
        p = peaktrace(["-q", "--json", link, "--", "/bin/true"], json=False)
        eq(p.returncode, 0, "exit status")
        with open(link) as f:
            eq(json.load(f)["processes"][0]["argv"], ["/bin/true"], "the report")
        eq(sorted(os.listdir(d)), ["r.json", "target"], "no temporary file left")
    # --json -: stdout is the report alone; the command's output goes to stderr
    p = peaktrace(["-q", "--json", "-", "--", "/bin/echo", "hello"], json=False)
    eq(p.returncode, 0, "exit status")
    eq(json.loads(p.stdout)["processes"][0]["argv"], ["/bin/echo", "hello"], "stdout is the JSON report")
    eq(p.stderr, "hello\n", "the command's stdout on stderr")


def test_reader_gone_is_not_fatal():
    """The report's reader goes away (| head): peaktrace lives on, the JSON file is written."""
    pt = peaktrace(["--", victim("phases")],
                   wrapper=lambda argv: ["/bin/sh", "-c", shlex.join(argv) + " 2>&1 | head -c 1"])
    eq(pt.report["tree"]["peak_bytes"], 80 * MiB, "the JSON report, whole")


def test_untrusted_strings_escaped():
    """Invalid UTF-8 and escape sequences in argv: valid JSON, nothing raw on the terminal."""
    arg = b"\xff\x1b[2Jbad".decode("utf-8", "surrogateescape")
    p = peaktrace(["--json", "-", "--", "/bin/sh", "-c", "exit 0", arg], json=False, text=False)
    eq(p.returncode, 0, "exit status")
    r = json.loads(p.stdout.decode("utf-8"))  # strict: the bytes must be UTF-8
    eq(r["processes"][0]["argv"][-1], "\ufffd\x1b[2Jbad", "argv in JSON")
    check(b"\x1b" not in p.stderr, "no escape byte reaches the terminal")
    check(b"\\xff\\x1b[2Jbad" in p.stderr, f"shown escaped: {p.stderr[-400:]!r}")


def test_status_line_not_over_the_command():
    """On a terminal the command shares, no status line unless --status asks for it."""
    cmd = "for i in 1 2 3; do echo line$i; sleep 0.7; done"
    def on_a_tty(extra):
        return peaktrace(extra + ["--", "sh", "-c", cmd], json=False,
                         wrapper=lambda argv: ["script", "-qec", shlex.join(argv), "/dev/null"]).stdout
    out = on_a_tty([])
    check("line3" in out, f"the command ran on the terminal: {out[-300:]!r}")
    check("traced, heap" not in out, f"no status line over it: {out[:300]!r}")
    out = on_a_tty(["--status"])
    check("traced, heap" in out, f"--status draws it: {out[:300]!r}")


def test_sigint_while_the_command_is_held():
    """Ctrl-C before the command was released: it never runs, the report is written, 130."""
    with scratch() as d:
        marker = os.path.join(d, "ran")
        pt = peaktrace(["-q", "--", "/bin/touch", marker], wait=False, stdout=None, stderr=None)
        time.sleep(0.05)  # set-up takes a few hundred ms: the command is still held
        pt.proc.send_signal(signal.SIGINT)
        eq(pt.finish(timeout=60), 130, "exit status")
        check(not os.path.exists(marker), "the command did not run")
        r = pt.report
        eq(r["stopped_by"], "signal", "stopped_by")


def test_command_killed_while_held():
    """The gated child killed before its release: said so, 128 + the signal."""
    pt = peaktrace(["-q", "--", "/bin/true"], json=False, wait=False, stdout=None)
    held = None
    deadline = time.time() + 10
    while held is None and time.time() < deadline:
        try:
            with open(f"/proc/{pt.proc.pid}/task/{pt.proc.pid}/children") as f:
                kids = {int(c): open(f"/proc/{c}/comm").read().strip() for c in f.read().split()}
            # the gated child is forked after the anchor helper has named itself
            if "peaktrace-anchr" in kids.values():
                held = next((c for c, n in kids.items() if n == "peaktrace"), None)
        except OSError:
            pass
    check(held, "found the held child")
    os.kill(held, signal.SIGKILL)
    eq(pt.finish(timeout=60), 128 + 9, "exit status")
    # killed while held: said so; killed just after its release (it still had
    # peaktrace's name): its status, as a shell gives it, and nothing else
    err = pt.stderr
    check(err in ("", f"peaktrace: the command's process (pid {held}) was killed by signal 9 "
                      "before it could start\n"), f"the message: {err!r}")


def test_sigint_mid_run_writes_report():
    pt = peaktrace(["-q", "--", victim("sleeper")], wait=False)  # killed after the test if left going
    eq(pt.proc.stdout.readline().strip(), "ready", "sleeper ready")
    pt.proc.send_signal(signal.SIGINT)
    eq(pt.finish(timeout=30), 130, "exit status: the command died of the forwarded SIGINT")
    r = pt.report
    eq(r["stopped_by"], "signal", "stopped_by")
    within(r["tree"]["peak_bytes"], 12 * MiB, LIBC_ALLOWANCE, "tree peak (stdout buffer allowed)")
    eq(site_bytes(r["tree"]["stacks"], "hold"), (12 * MiB, 1), "held block")
    eq(r["processes"][0]["end_ns"], None, "still alive when tracing stopped")


def test_runs_do_not_wait_for_each_other():
    """Two runs 0.2 s apart, and one right after a run ended: each done within a second
    of its victim (a run's teardown no longer holds the kernel's event mutex for seconds)."""
    def timed(victim_args):
        start = time.time()
        return peaktrace(["-q", "--"] + victim_args, json=False, wait=False, stdout=None, stderr=None), start

    a, ta = timed(["/bin/sleep", "1"])
    time.sleep(0.2)
    b, tb = timed([victim("phases")])
    eq(b.finish(timeout=60), 7, "second run's status")
    check(time.time() - tb < 1.0, f"second run took {time.time() - tb:.2f} s")
    eq(a.finish(timeout=60), 0, "first run's status")
    check(time.time() - ta < 2.0, f"first run (a 1 s victim) took {time.time() - ta:.2f} s")
    c, tc = timed([victim("phases")])
    eq(c.finish(timeout=60), 7, "third run's status")
    check(time.time() - tc < 1.0, f"a run right after another ended took {time.time() - tc:.2f} s")


def test_teardown_holds_nothing_of_the_callers():
    """The probes are removed by a detached child after peaktrace exits
    (src/run/teardown.c), for seconds: it must hold none of the files the
    caller gave peaktrace.  A caller reading a pipe to its end (a benchmark
    harness, a shell's $(...)) got its end only once the probes were gone:
    with the pipe on fd 7 too, 12.6 s after peaktrace exited."""
    import fcntl
    r, w = os.pipe()
    try:
        pt = peaktrace(["-q", "--", "/bin/true"], json=False, stdout=w, stderr=w,
                       pass_fds=(w,))
        os.close(w)
        eq(pt.returncode, 0, "exit status")
        def comm(pid):
            try:
                with open(f"/proc/{pid}/comm") as f:
                    return f.read().strip()
            except OSError:
                return None
        teardowns = [p for p in os.listdir("/proc") if p.isdigit() and comm(p) == "peaktrace-detac"]
        check(teardowns, "a teardown still running (it lasts seconds): the test means something")
        fcntl.fcntl(r, fcntl.F_SETFL, os.O_NONBLOCK)
        try:
            end = os.read(r, 1)
        except BlockingIOError:
            end = None
        eq(end, b"", "the pipe's end, with peaktrace gone and its teardown running")
    finally:
        os.close(r)


def attached_programs():
    """Names of peaktrace's BPF programs (pt_*) that a BPF link attaches."""
    progs = json.loads(subprocess.run(["bpftool", "-j", "prog", "show"], capture_output=True,
                                      text=True, check=True).stdout)
    ours = {p["id"]: p.get("name", "") for p in progs if p.get("name", "").startswith("pt_")}
    links = json.loads(subprocess.run(["bpftool", "-j", "link", "show"], capture_output=True,
                                      text=True, check=True).stdout)
    return sorted(ours[l["prog_id"]] for l in links if l.get("prog_id") in ours)


def test_probe_definitions_shared_and_removed_when_unused():
    """Runs reuse one set of tracefs definitions; the last teardown removes them."""
    group = "/sys/kernel/tracing/events/peaktrace"
    eq(peaktrace(["-q", "--", "/bin/true"], json=False, stdout=None, stderr=None).returncode, 0, "first run")
    n = len(os.listdir(group))
    eq(peaktrace(["-q", "--", "/bin/true"], json=False, stdout=None, stderr=None).returncode, 0, "second run")
    eq(len(os.listdir(group)), n, "the second run defined nothing new")
    with open("/sys/kernel/tracing/uprobe_events") as f:
        check(not [l for l in f if l.split()[0].split(":")[1].startswith("peaktrace_")],
              "no per-run group")
    # the teardowns keep the probes registered 10 s for the next run, but
    # the programs leave at once: none of them runs for nothing meanwhile
    deadline = time.time() + 3
    while time.time() < deadline and attached_programs():
        time.sleep(0.2)
    eq(attached_programs(), [], "peaktrace's programs still attached after the run")
    check(os.path.exists(group), "the definitions are kept for the next run")
    deadline = time.time() + 60
    while time.time() < deadline and os.path.exists(group):
        time.sleep(0.5)
    check(not os.path.exists(group), f"{group} left behind")


def test_counters_and_frame_kinds_one_list():
    """PT_COUNTER_LIST and PT_FRAME_KIND_LIST (bpf/peaktrace.h) are the one
    definition: the JSON report's lost and notes keys, and the README's
    schema, must name exactly what they list."""
    header = open(os.path.join(ROOT, "bpf", "peaktrace.h")).read()
    counters = re.findall(r'X\((\w+), "(\w+)", (LOSS|NOTE),', header)
    kinds = re.findall(r'X\((\w+), "(\w+)"\)', header.split("PT_FRAME_KIND_LIST(X)")[1].split("\n")[0])
    check(len(counters) >= 15 and len(kinds) == 3, f"lists parsed: {counters} {kinds}")
    losses = {j for _, j, k in counters if k == "LOSS"} | {"map_full"}
    notes = {j for _, j, k in counters if k == "NOTE"}
    rc = peaktrace(["-q", "--", victim("phases")])
    eq(set(rc.report["lost"]), losses, "JSON lost keys")
    eq(set(rc.report["notes"]), notes, "JSON notes keys")
    frame_kinds = {f["kind"] for s in rc.report["tree"]["stacks"] for f in s["frames"]}
    check(frame_kinds and frame_kinds <= {j for _, j in kinds}, f"frame kinds {frame_kinds}")
    readme = open(os.path.join(ROOT, "README.md")).read()
    schema = readme.split('"lost": {', 1)[1].split("STACK =", 1)[0]
    lost_block, notes_block = schema.split('"notes": {', 1)
    for name in losses:
        check(f'"{name}"' in lost_block, f"README's lost schema lacks {name}")
    for name in notes:
        check(f'"{name}"' in notes_block, f"README's notes schema lacks {name}")
    check('"kind": "' + "|".join(j for _, j in kinds) + '"' in readme,
          "README's frame schema lacks the kinds " + "|".join(j for _, j in kinds))
