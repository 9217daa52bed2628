"""The preload library, -- CMD's default: the command runs with
peaktrace-preload.so, whose malloc,
calloc, realloc and free are counted at one site each (src/preload/sites.S).
Every figure must be what the C library's probes give without it: the same
victims, the same exact bytes, counts and frames; a process that runs
without the library is probed in the C library instead, and one that runs
with it after inheriting those probes is counted once.
"""
import json
import os
import shutil
import signal
import subprocess
import time

from .lib import (KiB, MiB, PEAKTRACE, ROOT, assert_complete, check, eq, peaktrace, proc_by_argv,
                  scratch, site_bytes, stack_of, victim, within, LIBC_ALLOWANCE)

PRELOAD = os.path.join(ROOT, "peaktrace-preload.so")
# what the command's LD_PRELOAD names (make builds build/platform/)
PRELOAD_ENTRY = os.path.join(ROOT, "build", "platform", "$PLATFORM", "peaktrace-preload.so")


def figures(r):
    """What both runs must agree on: the tree peak, every stack at it (bytes,
    blocks, frames) and each image's peak, blocks and end state."""
    st = sorted((s["bytes"], s["allocations"], tuple(f["function"] for f in s["frames"]))
                for s in r["tree"]["stacks"])
    procs = sorted((p["comm"], p["peak_bytes"], p["allocations"], p["frees"],
                    p["live_bytes_at_end"]) for p in r["processes"])
    return r["tree"]["peak_bytes"], st, procs


def test_preload_figures_equal_the_c_library_probes():
    """The malloc family (apis: calloc, realloc chains, realloc(p, 0), the
    memalign family still probed in glibc) and phases (stacks at the peak,
    file:line of the caller) give the same exact figures with and without."""
    for name in ("apis", "phases"):
        plain = peaktrace(["--no-preload", "-q", "--exact-stacks", "--", victim(name)])
        pre = peaktrace(["-q", "--exact-stacks", "--preload", "--", victim(name)])
        eq(pre.returncode, plain.returncode, f"{name}: exit status")
        assert_complete(pre.report)
        eq(pre.report["lost"]["unknown_frees"], 0, f"{name}: frees of blocks never seen")
        eq(figures(pre.report), figures(plain.report), f"{name}: figures with --preload")
        eq(pre.report["notes"]["in_process_blocks"], 0, f"{name}: --exact-stacks: no ledger")
    st = pre.report["tree"]["stacks"]
    eq(site_bytes(st, "phase_b"), (50 * MiB, 5), "phase_b at the peak")
    f0 = stack_of(st, "phase_b")["frames"][0]
    check(f0["function"] == "phase_b" and f0["file"].endswith("phases.c") and f0["line"] > 0,
          f"the stack starts at the caller of malloc, with its line: {f0}")


def test_preload_ledger_counts_small_blocks_exactly():
    """The ledger (src/preload/ledger.c) counts in the process the small
    blocks the sampling passes by: ledger.c's figures, known by
    construction, are exact and the same as the C library's probes give;
    its fork's child frees 20000 inherited blocks (inherited, not lost);
    threads, an exec'd child, and one whose ledger fd was closed and its
    number reused for a file (the file is not touched; the ledger finds
    the map by its id: the command runs as root)."""
    peak = 20000 * 1000 + 5000 * 1000 + 1000 * 300 + 4 * MiB + 100 + 8 * MiB
    plain = peaktrace(["--no-preload", "-q", "--", victim("ledger")])
    with scratch() as d:
        path = os.path.join(d, "mine")
        with open(path, "w") as f:
            f.write("the victim's own file\n")
        pre = peaktrace(["-q", "--preload", "--", victim("ledger")],
                        env=dict(os.environ, LEDGER_FILE=path))
        with open(path) as f:
            eq(f.read(), "the victim's own file\n", "the file on a reused fd number")
    eq(pre.stdout.splitlines(), ["exec: 2 BPF map mappings", "closed: 2 BPF map mappings"],
       "the children's ledgers: the model's two maps mapped")
    eq(plain.stdout.splitlines(), ["exec: 0 BPF map mappings"], "no ledger with --no-preload")
    for run, what in ((plain, "without --preload"), (pre, "with --preload")):
        r = run.report
        eq(run.returncode, 0, f"{what}: exit status")
        assert_complete(r)
        within(r["tree"]["peak_bytes"], peak, LIBC_ALLOWANCE, f"{what}: tree peak")
        eq(r["notes"]["inherited_frees"], 20000, f"{what}: the child's frees of fill_small's")
        st = r["tree"]["stacks"]
        for fn, size in (("big", 8 * MiB), ("to_large", 4 * MiB)):
            s = stack_of(st, fn)
            eq((s["bytes"], s["allocations"], s["estimated_bytes"]), (size, 1, 0),
               f"{what}: {fn}, a large block: exact")
        s = stack_of(st, "fill_small")
        err = 5 * (16 * 1024 * 20000 * 1000) ** 0.5
        check(s and abs(s["bytes"] - 20000 * 1000) <= err,
              f"{what}: fill_small's 20 MB estimated within {err:.0f}: {s and s['bytes']}")
        # its parent runs "closed" only with a ledger fd to close
        for args, size in [(["exec"], 4000 * 250)] + [(["closed"], 4000 * 250)] * (run is pre):
            p = proc_by_argv(r, victim("ledger"), *args)
            eq((p["peak_bytes"], p["allocations"], p["frees"], p["live_bytes_at_end"]),
               (size + 4000 * 8, 4001, 4001, 0), f"{what}: the {args[0]} child")
            # its peak is made of small blocks: under --preload stamped
            # by the ledger's clock, in the process
            check(p["start_ns"] < p["peak_time_ns"] < p["end_ns"],
                  f"{what}: the {args[0]} child's peak at {p['peak_time_ns']} ns, within its "
                  f"life {p['start_ns']}..{p['end_ns']}")
    counted = pre.report["notes"]["in_process_blocks"]
    check(100000 < counted < max(p["allocations"] for p in pre.report["processes"]) + 3001 + 2 * 4001,
          f"blocks the ledger counted: {counted}")
    eq(plain.report["notes"]["in_process_blocks"], 0, "no ledger with --no-preload")
    keep = ("peak_bytes", "allocations", "frees", "live_bytes_at_end")
    # (the images that allocated nothing: the forks before their exec)
    eq(sorted(tuple(p[k] for k in keep) for p in pre.report["processes"]
              if p["argv"][1:] != ["closed"] and p["allocations"]),
       sorted(tuple(p[k] for k in keep) for p in plain.report["processes"] if p["allocations"]),
       "each process's figures with and without --preload")
    # RSS: the ledger's own memory (its slots, 1/8 of the 20 MB its small
    # blocks span, and the BPF maps' pages it maps) is not the program's;
    # what is left is the library's own code and data
    rss = lambda run: {tuple(p["argv"][1:]): p["rss"]["peak_bytes"] for p in run.report["processes"]
                       if p["allocations"] and p["argv"][1:] != ["closed"]}
    for args, want in rss(plain).items():
        got = rss(pre)[args]
        check(abs(got - want) <= 1 * MiB,
              f"RSS peak of ledger {' '.join(args)}: {got} with --preload, {want} without")


def test_preload_ledger_dies_holding_the_lock():
    """A process that ends holding the model lock with its ledger's tag
    (lock_holder.c, as a ledger thread ended by exit in mid-update): the
    lock is let go when its image ends, counted as one unlocked update,
    and ledger.c run after it is counted exactly."""
    pt = peaktrace(["-q", "--preload", "--", "/bin/sh", "-c",
                    f"{victim('lock_holder')} && {victim('ledger')}"], timeout=120)
    r = pt.report
    eq(pt.returncode, 0, "exit status (lock_holder found the ledger's maps and took the lock)")
    eq({k: v for k, v in r["lost"].items() if v}, {"unlocked_updates": 1},
       "the one loss: the update the holder never finished")
    eq(r["complete"], False, "the report says it is incomplete")
    keep = ("peak_bytes", "allocations", "frees", "live_bytes_at_end")
    main = max((p for p in r["processes"] if p["argv"][0] == victim("ledger")),
               key=lambda p: p["allocations"])
    eq(tuple(main[k] for k in keep), (37883012, 128107, 128105, 544), "ledger.c's figures")


def test_updates_queue_while_the_lock_holder_waits():
    """A process holding the model lock with its ledger's tag while it, a
    thread of its and a forked child allocate and free (lock_paused.c, as a
    ledger thread preempted in mid-update): their updates are queued, not
    dropped, and applied in the order they were made once it lets go; the
    thread's free of a block allocated while the lock was held finds it, and
    the ledger's small block made after has the queue applied first (else
    its 100 bytes would be in both peaks).  Then the same process ending
    while it holds the lock, with no allocator call after: peaktrace applies
    the queue (pt_drain_now)."""
    for mode in ("letgo", "exit"):
        pt = peaktrace(["-q", "--preload", "--", victim("lock_paused"), mode], timeout=120)
        r = pt.report
        eq(pt.returncode, 0, f"{mode}: exit status (lock_paused found the ledger's maps and took the lock)")
        # ending with it, its update half made is the one loss (as lock_holder's)
        eq({k: v for k, v in r["lost"].items() if v}, {"unlocked_updates": 1} if mode == "exit" else {},
           f"{mode}: losses")
        check(r["notes"]["deferred_updates"] >= 7,
              f"{mode}: the 7 heap updates made while the lock was held were queued: "
              f"{r['notes']['deferred_updates']}")
        parent, child = r["processes"]
        # glibc's thread made small blocks before the lock was taken, which
        # the ledger counted: still live at the end, in every figure below
        small = parent["live_bytes_at_end"] - (2 * MiB + 512 * KiB if mode == "exit" else 0)
        check(0 < small < 4 * KiB, f"{mode}: small blocks left: {small}")
        eq((parent["peak_bytes"] - small, parent["frees"]), (3 * MiB, 4 if mode == "letgo" else 1),
           f"{mode}: the process peak: a and b")
        eq((child["peak_bytes"], child["allocations"], child["frees"], child["live_bytes_at_end"]),
           (3 * MiB, 1, 1, 0), f"{mode}: the child's block, in and out")
        eq(r["tree"]["peak_bytes"] - small, 5 * MiB + 512 * KiB,
           f"{mode}: the tree peak: b and c with the child's block, a freed before")
        # a queued update's peak is stamped when it was made, not applied
        for p in (parent, child):
            check(p["start_ns"] <= p["peak_time_ns"] <= p["end_ns"],
                  f"{mode}: pid {p['pid']}'s peak at {p['peak_time_ns']} ns, within its life "
                  f"({p['start_ns']}..{p['end_ns']})")
        check(child["start_ns"] <= r["tree"]["peak_time_ns"] <= child["end_ns"],
              f"{mode}: the tree peak at {r['tree']['peak_time_ns']} ns, while the child held its block "
              f"({child['start_ns']}..{child['end_ns']})")


def test_preload_forked_children():
    """Children forked after the sites were hit (not exec'd: the library's
    code as the parent left it) are counted as without it: forktree's
    processes, forkbranches' 200 leaves, a Python multiprocessing pipeline."""
    for args in ([victim("forktree")], [victim("forkbranches")],
                 ["/usr/bin/python3", os.path.join(ROOT, "tests", "victims", "mp_queue.py"), "1"]):
        env = dict(os.environ, PYTHONHASHSEED="0")
        plain = peaktrace(["--no-preload", "-q", "--"] + args, env=env)
        pre = peaktrace(["-q", "--preload", "--"] + args, env=env)
        eq(pre.returncode, 0, f"{args[-1]}: exit status")
        assert_complete(plain.report)
        assert_complete(pre.report)
        died = [p["pid"] for p in pre.report["processes"] if p["exit_signal"]]
        eq(died, [], f"{args[-1]}: processes killed by a signal")
        if args[0] == "/usr/bin/python3":
            # the interpreters' own figures move a little from run to run
            held = sorted(s["bytes"] for s in pre.report["tree"]["stacks"] if s["bytes"] > 2 * MiB)
            eq(held, [32 * MiB + 1, 48 * MiB + 1], "mp_queue: the two bytearrays at the peak")
            continue
        eq(figures(pre.report), figures(plain.report), f"{args[-1]}: figures with --preload")


def test_preload_threads():
    """Threads allocating and freeing at once: each call counted once."""
    pt = peaktrace(["-q", "--preload", "--", victim("threads")])
    r = pt.report
    eq(pt.returncode, 0, "exit status")
    assert_complete(r)
    within(r["tree"]["peak_bytes"], 146 * MiB, LIBC_ALLOWANCE, "tree peak")
    eq(site_bytes(r["tree"]["stacks"], "worker_alloc"), (144 * MiB, 32), "the 32 worker blocks")
    eq(r["lost"]["unknown_frees"], 0, "frees of blocks never seen")


def test_preload_in_the_environment():
    """The command and its children see the library in LD_PRELOAD, after
    what the user preloads (it may be an allocator: then glibc's own probes
    count from the command's first instruction; here a program, which
    defines no malloc and which glibc's loader does not preload), and the
    figures stay exact."""
    pt = peaktrace(["-q", "--preload", "--", "/bin/sh", "-c", 'echo "$LD_PRELOAD"'], json=False)
    eq(pt.returncode, 0, "exit status")
    eq(pt.stdout.strip(), PRELOAD_ENTRY, "LD_PRELOAD of the command")
    plain = peaktrace(["--no-preload", "-q", "--exact-stacks", "--", victim("apis")])
    env = dict(os.environ, LD_PRELOAD=victim("musl_victim"))  # not a glibc library: skipped
    pt = peaktrace(["--exact-stacks", "--preload", "--", "/bin/sh", "-c",
                    'echo "$LD_PRELOAD"; exec ' + victim("apis")], env=env)
    eq(pt.stdout.strip(), victim("musl_victim") + ":" + PRELOAD_ENTRY, "the user's first, then ours")
    check("runs without peaktrace-preload.so first" not in pt.stderr, f"said: {pt.stderr[-600:]}")
    (apis,) = [p for p in pt.report["processes"] if p["comm"] == "apis"]
    (want,) = plain.report["processes"]
    eq((apis["peak_bytes"], apis["allocations"], apis["frees"], apis["live_bytes_at_end"]),
       (want["peak_bytes"], want["allocations"], want["frees"], want["live_bytes_at_end"]),
       "apis counted by glibc's probes, exactly")


def test_preload_leaves_an_asan_command_alone():
    """A command whose AddressSanitizer runtime is a shared library (GCC's
    default) stops unless that runtime comes first in LD_PRELOAD: peaktrace
    runs it without the library, says why, and counts it as with
    --no-preload; such a child runs, as peaktrace turns that check off in
    the command's ASAN_OPTIONS; one whose options turn it back on stops,
    and peaktrace says why."""
    plain = peaktrace(["--no-preload", "--", victim("asan_victim")])
    figures = lambda run: [(p["peak_bytes"], p["allocations"], p["frees"]) for p in run.report["processes"]]
    for opts in ([], ["--preload"]):
        pt = peaktrace(opts + ["--", victim("asan_victim")])
        eq((pt.returncode, pt.stdout), (0, "LD_PRELOAD=\n"),
           f"{opts}: exit status and LD_PRELOAD of the command")
        check("peaktrace: " + victim("asan_victim") + " needs libasan.so" in pt.stderr and
              "as with --no-preload" in pt.stderr, f"{opts}: said why: {pt.stderr[-600:]}")
        eq(figures(pt), figures(plain), f"{opts}: each process's figures, as with --no-preload")
    check("needs libasan" not in peaktrace(["-q", "--", victim("asan_victim")]).stderr,
          "-q: not said")
    # a child exec'd with the library first would stop at its start (ASan's
    # own check), which the command's ASAN_OPTIONS turn off: it runs, its
    # allocator ASan's, counted by no probe as with --no-preload
    for opts in ([], ["--no-preload"]):
        pt = peaktrace(["-q"] + opts + ["--", "/bin/sh", "-c", victim("asan_victim")])
        eq(pt.returncode, 0, f"{opts}: exit status: the ASan child ran")
        eq(pt.stdout, f"LD_PRELOAD={'' if opts else PRELOAD_ENTRY}\n", f"{opts}: the child's LD_PRELOAD")
        check(not any("libasan" in w for w in pt.report["warnings"]),
              f"{opts}: nothing said: {pt.report['warnings']}")
        # (with LeakSanitizer's tracer, a clone of it that makes nothing)
        eq(sorted(f for p, f in zip(pt.report["processes"], figures(pt))
                  if p["argv"] == [victim("asan_victim")]), sorted(figures(plain)),
           f"{opts}: the child's figures, as the command's own with --no-preload")
    # the user's own options setting the check back on: it stops, said why
    pt = peaktrace(["-q", "--", "/bin/sh", "-c",
                    f"ASAN_OPTIONS=verify_asan_link_order=1 {victim('asan_victim')}"])
    eq(pt.returncode, 1, "exit status: the ASan child stopped")
    check(any(w.startswith("pid ") and f"runs {victim('asan_victim')}, which needs libasan.so" in w
              and w.endswith("trace it with --no-preload") for w in pt.report["warnings"]),
          f"said why: {pt.report['warnings']}")


def without_the_library(*opts, pause_ms):
    """env drops LD_PRELOAD and runs spawn_env, which runs phases without
    the library, then apis with it again."""
    return peaktrace(list(opts) + ["--preload", "--", "env", "-u", "LD_PRELOAD", victim("spawn_env"),
                                   str(pause_ms), "-", victim("phases"), ";",
                                   "LD_PRELOAD=" + PRELOAD, victim("apis")])


def check_without_the_library(pt, plain):
    """phases counted whole by glibc's probes; apis, with both glibc's
    probes and the sites, counted once: what glibc's realloc calls inside
    it (free, malloc) not counted again."""
    r = pt.report
    eq(pt.returncode, 3, "exit status (spawn_env's)")
    eq(r["lost"]["unknown_frees"], 0, "frees of blocks never seen (none counted twice)")
    by = {p["comm"]: p for p in r["processes"]}
    eq(by["phases"]["peak_bytes"], 80 * MiB, "phases, probed in glibc: its peak")
    eq(by["phases"]["live_bytes_at_end"], 60 * MiB, "phases: live at exit")
    eq((by["apis"]["peak_bytes"], by["apis"]["allocations"], by["apis"]["frees"],
        by["apis"]["live_bytes_at_end"]),
       (plain["peak_bytes"], plain["allocations"], plain["frees"], 0),
       "apis, with both glibc's probes and the sites: counted once")


def test_both_probes_under_mmap_lock_contention():
    """A process with the library that carries glibc's probes too (from a
    parent without it) tells its own calls from the sites' by the caller's
    mapping: with another thread taking the mmap lock for writing without
    pause (mmap_contend), 100000 small blocks are still counted once."""
    plain = peaktrace(["--no-preload", "-q", "--", victim("mmap_contend")]).report["processes"][0]
    pt = peaktrace(["-q", "--preload", "--", "env", "-u", "LD_PRELOAD", victim("spawn_env"), "0",
                    "-", "/bin/true", ";", "LD_PRELOAD=" + PRELOAD, victim("mmap_contend")])
    eq(pt.returncode, 3, "exit status (spawn_env's)")
    eq(pt.report["lost"]["unknown_frees"], 0, "frees of blocks never seen")
    (m,) = [p for p in pt.report["processes"] if p["comm"] == "mmap_contend"]
    keep = ("peak_bytes", "allocations", "frees", "live_bytes_at_end")
    eq(tuple(m[k] for k in keep), tuple(plain[k] for k in keep), "mmap_contend counted once")
    check(plain["allocations"] > 100000, f"its blocks: {plain['allocations']}")


def test_preload_after_a_library_of_the_users():
    """A library before peaktrace-preload.so in LD_PRELOAD may take the
    process's malloc, and what a library gives the loader cannot be told
    for sure from outside (src/util/ldpreload.h): after any, even one that
    defines no malloc (libchain.so), glibc's own probes are attached
    before the program runs (-v says so), and the program is counted
    exactly; with the library first, none are."""
    plain = peaktrace(["--no-preload", "-q", "--", victim("apis")]).report["processes"][0]
    said = "glibc's own malloc, calloc, realloc and free probed"
    for first in (victim("libchain.so"), victim("libownalloc.so"), None):
        value = f"{first}:{PRELOAD_ENTRY}" if first else PRELOAD_ENTRY
        pt = peaktrace(["-v", "--preload", "--", "env", f"LD_PRELOAD={value}", victim("apis")])
        check((said in pt.stderr) == bool(first), f"after {first}: glibc's probes said "
              f"{'' if first else 'not '}to be attached: {pt.stderr[-800:]}")
        if first != victim("libownalloc.so"):   # (its allocator is its own)
            apis_counted_exactly(pt, plain, f"after {first}")
        if not first:
            check(pt.report["notes"]["in_process_blocks"] > 0, "the ledger counted its small blocks")


def test_process_without_the_preload_library():
    """A program exec'd without the library first in its LD_PRELOAD gets
    glibc's own probes before it runs: the exec gate reads the environment
    the exec passes and holds it until they are on, so nothing it makes is
    missed and nothing needs saying; its children inherit them.  Without
    the gate (--frame-pointers has none) they come when peaktrace finds its
    C library, which is said, and a process that waits for them (spawn_env
    makes no allocation and pauses) is counted whole all the same."""
    plain = peaktrace(["--no-preload", "-q", "--", victim("apis")]).report["processes"][0]
    # no pause: spawn_env runs phases at once, covered only by the gate
    pt = without_the_library(pause_ms=0)
    check("runs without peaktrace-preload.so first" not in pt.stderr, f"said: {pt.stderr[-600:]}")
    eq(pt.report["warnings"], [], "the report's warnings")
    check_without_the_library(pt, plain)
    pt = without_the_library("--frame-pointers", pause_ms=1000)
    check("runs without peaktrace-preload.so first" in pt.stderr, f"said: {pt.stderr[-600:]}")
    check(any("runs without peaktrace-preload.so first" in w for w in pt.report["warnings"]),
          f"in the report's warnings: {pt.report['warnings']}")
    check_without_the_library(pt, plain)


def test_preload_keeps_the_programs_own_allocator():
    """A program linked with an allocator of its own (a library defining
    malloc but not glibc's __libc_malloc, which jemalloc and tcmalloc
    export too, and which the sites call): the preload library comes first in
    the loader's order, but its malloc, calloc, realloc and free go on to
    that allocator's, from the first call (the allocator's constructor
    allocates before the preload library's runs).  Its blocks are counted
    by nobody, with the library or without."""
    plain = peaktrace(["--no-preload", "--", victim("ownalloc_main")])
    pt = peaktrace(["--preload", "--", victim("ownalloc_main")])
    for run, what in ((plain, "without the library"), (pt, "with it")):
        eq(run.returncode, 0, f"exit status {what}")
        eq(run.stdout.strip(), "early 1 a 1 b 1 c 1 calls 4", f"the program's allocator, {what}")
    (want,) = plain.report["processes"]
    (got,) = pt.report["processes"]
    eq((got["peak_bytes"], got["allocations"]), (want["peak_bytes"], want["allocations"]),
       "the same figures")
    eq(pt.report["notes"]["in_process_blocks"], 0, "blocks the ledger counted")


def wrapped(stacks, wrapper, caller):
    """Bytes and blocks of the stack whose two innermost frames are these."""
    for s in stacks:
        if [f["function"] for f in s["frames"][:2]] == [wrapper, caller]:
            return (s["bytes"], s["allocations"])
    return (0, 0)


def test_preload_counts_a_malloc_wrapper_ending_in_glibc():
    """A program whose malloc is a wrapper ending in glibc's __libc_malloc,
    in a library it links (peaktrace-preload.so forwards to it, past its
    sites) or in the program itself (the library's malloc is never
    called), or that defines free alone, or malloc and free but not calloc
    (blocks from the library's sites freed past them): the library asks for
    glibc's own probes in its process, waits for them and leaves every
    block to the BPF side (no ledger), so every call is counted once, as
    with --no-preload (before: nothing counted; then, for the last two,
    the ledger's blocks never freed)."""
    runs = [(name, [victim(name)]) for name in ("wrap_lib", "wrap_exe", "wrap_free", "wrap_mixed")]
    runs += [(name, ["/bin/sh", "-c", victim(name) + "; exit $?"]) for name in ("wrap_lib", "wrap_exe")]
    for name, cmd in runs:
        # (--exact-stacks: the 10 000-byte blocks' stack exact, not sampled)
        plain = peaktrace(["--no-preload", "-q", "--exact-stacks", "--"] + cmd)
        pt = peaktrace(["-v", "--exact-stacks", "--"] + cmd)
        ledger = peaktrace(["-q", "--"] + cmd)
        for run, what in ((plain, f"{cmd}, --no-preload"), (pt, f"{cmd}, with the library"),
                          (ledger, f"{cmd}, with the library and its ledger")):
            eq((run.returncode, run.stdout), (0, "wrapped 1\n"), f"{what}: exit status, the wrapper's calls")
            (p,) = [p for p in run.report["processes"] if p["argv"] == [victim(name)]]
            eq((p["peak_bytes"], p["allocations"], p["frees"], p["live_bytes_at_end"]),
               (5194304, 102, 101, 4096), f"{what}: peak, allocations, frees, live at the end "
               "(stdout's buffer)")
            assert_complete(run.report)
            if run is ledger or name not in ("wrap_lib", "wrap_exe"):
                continue
            # the wrapper's own frame innermost, then its caller
            eq(wrapped(p["stacks"], "malloc", "wrap_big"), (4 * MiB, 1), f"{what}: the 4 MiB block's stack")
            eq(wrapped(p["stacks"], "calloc", "wrap_small"), (1000000, 100),
               f"{what}: the small blocks' stack")
        if len(cmd) == 1:   # (a shell's own blocks are its ledger's)
            eq(ledger.report["notes"]["in_process_blocks"], 0, f"{cmd}: no block counted by the ledger")
        check("its malloc passes peaktrace-preload.so's sites by" in pt.stderr,
              f"{cmd}: -v says glibc's own probes were attached: {pt.stderr[-800:]}")


def test_preload_and_a_32_bit_program():
    """The command's LD_PRELOAD names build/platform/$PLATFORM/: a 32-bit
    program in the tree loads an empty library from i686/ without a word
    (the 64-bit library would make its loader print an error), and is
    reported as without --preload."""
    pt = peaktrace(["--preload", "--", "/bin/sh", "-c", victim("m32_victim") + "; exit $?"])
    r = pt.report
    eq(pt.returncode, 3, "exit status")
    check("ld.so" not in pt.stderr and "ERROR" not in pt.stderr, f"stderr: {pt.stderr[-600:]}")
    (m,) = [p for p in r["processes"] if p["argv"][:1] == [victim("m32_victim")]]
    eq((m["heap_traced"], m["peak_bytes"]), (False, 0), "its heap not traced, no figure made up")
    check("not an x86-64 program" in m["heap_note"], f"the note: {m['heap_note']}")


def test_preload_under_musl():
    """A musl program: musl's loader does not read $PLATFORM, so the entry
    peaktrace writes loads nothing there and musl's probes count as usual;
    named by its own path, the library is loaded, its calls go on to
    musl's functions past no site, and musl's probes count them all the
    same.  Its aligned_alloc and posix_memalign still work (musl turns them
    off when malloc alone is replaced)."""
    for how, mapped in (("", "not mapped"), (f"LD_PRELOAD={PRELOAD} ", "mapped")):
        pt = peaktrace(["-q", "--preload", "--", "/bin/sh", "-c",
                        how + victim("musl_victim") + "; exit $?"])
        r = pt.report
        eq(pt.returncode, 0, f"{how}exit status (the victim's: its aligned allocations succeeded)")
        eq(pt.stdout.strip(), "preload library " + mapped, f"{how}what the victim saw")
        eq(site_bytes(r["tree"]["stacks"], "musl_alloc"), (6 * MiB, 1), f"{how}musl_alloc at the peak")
        eq(r["lost"]["unknown_frees"], 0, f"{how}frees of blocks never seen")


def test_preload_platform_names():
    """Every name glibc's 64-bit loader may give $PLATFORM (x86_64, and
    haswell or xeon_phi on Intel CPUs, which this machine may not be) has
    its directory with the library in it, and the 32-bit names (i686, i586)
    an empty 32-bit library: the names are read from this machine's
    loader, so a glibc with a new one fails here, not on a user's CPU."""
    import re
    loader = open("/lib64/ld-linux-x86-64.so.2", "rb").read()
    names = set(re.findall(rb"\0(x86_64|haswell|xeon_phi|i[3-6]86)\0", loader))
    check({b"x86_64", b"haswell"} <= names, f"platform names in ld.so: {names}")
    # the names the entry is checked against (src/util/ldpreload.c)
    src = open(os.path.join(ROOT, "src", "util", "ldpreload.c")).read()
    listed = re.search(r"platforms64\[\] = \{([^}]*)\}", src)
    check(listed, "platforms64 in src/util/ldpreload.c")
    eq(set(re.findall(r'"(\w+)"', listed.group(1))),
       {n.decode() for n in names if not n.startswith(b"i")}, "64-bit names ldpreload.c checks")
    for name in sorted(n.decode() for n in names):
        path = os.path.join(ROOT, "build", "platform", name, "peaktrace-preload.so")
        check(os.path.exists(path), f"{path}: missing")
        head = open(path, "rb").read(20)
        want = (1, 3) if name.startswith("i") else (2, 62)   # ELFCLASS32/EM_386, 64/EM_X86_64
        eq((head[4], head[18]), want, f"{name}: its library's class and machine")
        if not name.startswith("i"):
            check(os.path.samefile(path, PRELOAD), f"{name}: the library itself")


def apis_counted_exactly(pt, plain, what):
    (apis,) = [p for p in pt.report["processes"] if p["comm"] == "apis"]
    keep = ("peak_bytes", "allocations", "frees", "live_bytes_at_end")
    eq(tuple(apis[k] for k in keep), tuple(plain[k] for k in keep), f"{what}: apis counted exactly")


def test_preload_entries_are_not_opened_for_the_program():
    """The exec gate, as root, must open nothing a traced program names in
    its LD_PRELOAD before peaktrace-preload.so (an entry before it makes
    the process one without the library, unread).  The program, run as
    nobody, names first a device node, then (another run) a root-only
    library it can reach but not read; inotify watches both: neither is
    opened, and glibc's own probes count the program exactly."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    plain = peaktrace(["--no-preload", "-q", "--", victim("apis")]).report["processes"][0]
    with scratch() as d:
        os.chmod(os.path.dirname(d), 0o711)
        os.chmod(d, 0o711)
        secret, node = os.path.join(d, "secret.so"), os.path.join(d, "null")
        with open(secret, "wb") as f:
            f.write(open(victim("libfwd.so"), "rb").read())
        os.chmod(secret, 0o600)
        os.mknod(node, 0o600 | 0o020000, os.makedev(1, 3))  # /dev/null's, root only
        for first in (node, secret):
            ino = libc.inotify_init1(os.O_NONBLOCK)
            check(ino >= 0, "inotify_init1")
            check(libc.inotify_add_watch(ino, first.encode(), 0x20) >= 0, f"watch {first}")  # IN_OPEN
            try:
                pt = peaktrace(["-q", "--preload", "--", "setpriv", "--reuid=65534",
                                "--regid=65534", "--clear-groups", "env",
                                f"LD_PRELOAD={first}:{PRELOAD_ENTRY}", victim("apis")])
                try:
                    events = os.read(ino, 4096)
                except BlockingIOError:
                    events = b""
            finally:
                os.close(ino)
            eq(events, b"", f"opens of {first} (inotify)")
            apis_counted_exactly(pt, plain, f"after {first}")


def cut_dynsym(src, dst):
    """A copy of the shared object src whose .dynsym section header says
    one symbol: the loader, which reads PT_DYNAMIC, still finds them all."""
    import struct
    data = bytearray(open(src, "rb").read())
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3a)
    for k in range(shnum):
        at = shoff + k * shentsize
        if struct.unpack_from("<I", data, at + 4)[0] == 11:      # SHT_DYNSYM
            entsize, = struct.unpack_from("<Q", data, at + 0x38)
            struct.pack_into("<Q", data, at + 0x20, entsize)     # sh_size
    with open(dst, "wb") as f:
        f.write(data)


def test_preload_entries_read_in_the_programs_view():
    """Each case below brings a malloc that forwards to glibc's
    (tests/victims/fwd) before the library's, in a way a check that reads
    the entries before it as ELF files was fooled by (each counted apis 4
    or 5 allocations and 0 frees; entries before the library are no longer
    read): /proc/self/fd/N and /dev/fd/N (peaktrace's files when peaktrace
    looks), a filter library (its filtee comes first), a symbol table cut
    in the section headers (the loader reads PT_DYNAMIC); and an exec with
    real and effective users apart (secure: the loader ignores our entry).
    glibc's own probes must count the program exactly.  Named by its own
    path, with no other entry, the library is first: no glibc probes."""
    plain = peaktrace(["--no-preload", "-q", "--", victim("apis")]).report["processes"][0]
    said = "glibc's own malloc, calloc, realloc and free probed"
    fwd = victim("libfwd.so")
    with scratch() as d:
        cut = os.path.join(d, "cut.so")
        cut_dynsym(fwd, cut)
        cases = [("/proc/self/fd/900", f"exec 900<{fwd}; "),
                 ("/dev/fd/900", f"exec 900<{fwd}; "),
                 (fwd, ""),
                 (victim("libfilter.so"), ""),
                 (cut, "")]
        for entry, setup in cases:
            # (bash: dash takes no fd above 9, and peaktrace has fds that low)
            pt = peaktrace(["-q", "--preload", "--", "/bin/bash", "-c",
                            f"{setup}LD_PRELOAD='{entry}:{PRELOAD_ENTRY}' exec {victim('apis')}"])
            eq(pt.returncode, 0, f"{entry}: exit status")
            check("ERROR: ld.so" not in pt.stderr, f"{entry}: the loader's complaint: {pt.stderr[-400:]}")
            apis_counted_exactly(pt, plain, entry)
    secure = ("import os; os.setresuid(0, 65534, 0); "
              f"os.execv('{victim('apis')}', ['{victim('apis')}'])")
    pt = peaktrace(["-q", "--preload", "--", "/usr/bin/python3", "-c", secure])
    eq(pt.returncode, 0, "secure exec: exit status")
    apis_counted_exactly(pt, plain, "secure exec")
    pt = peaktrace(["-v", "--preload", "--", "env", f"LD_PRELOAD={PRELOAD}", victim("apis")])
    check(said not in pt.stderr, f"the library by its path: glibc's probes said attached: {pt.stderr[-600:]}")
    apis_counted_exactly(pt, plain, "the library by its path")


def test_preload_library_the_program_cannot_read():
    """A program whose loader cannot read the library (peaktrace's copy,
    root-only, the program run as nobody) runs without it, though the
    entry names it and nobody can reach it: it gets glibc's own probes and
    is counted exactly."""
    import shutil
    plain = peaktrace(["--no-preload", "-q", "--", victim("apis")]).report["processes"][0]
    with scratch() as d:
        os.chmod(os.path.dirname(d), 0o711)
        os.chmod(d, 0o711)
        shutil.copy(os.path.join(ROOT, "peaktrace"), d)
        lib = os.path.join(d, "peaktrace-preload.so")
        shutil.copy(PRELOAD, lib)
        os.chmod(lib, 0o700)
        for name in ("x86_64", "haswell", "xeon_phi"):
            os.makedirs(os.path.join(d, "build", "platform", name))
            os.symlink("../../../peaktrace-preload.so",
                       os.path.join(d, "build", "platform", name, "peaktrace-preload.so"))
        for dirpath, _, _ in os.walk(os.path.join(d, "build")):
            os.chmod(dirpath, 0o755)
        pt = peaktrace(["-q", "--preload", "--", "setpriv", "--reuid=65534", "--regid=65534",
                        "--clear-groups", victim("apis")],
                       wrapper=lambda argv: [os.path.join(d, "peaktrace")] + argv[1:])
        check("cannot be preloaded" in pt.stderr, f"the loader could not read it: {pt.stderr[-400:]}")
        apis_counted_exactly(pt, plain, "apis without the library it could not read")


def test_preload_entries_the_gate_cannot_judge():
    """What the loader does that the gate does not follow makes the process
    one without the library, counted exactly by glibc's own probes: an
    audit library (LD_AUDIT) that loads libfwd.so where LD_PRELOAD names
    peaktrace's; an environment past the entries the gate reads (70 000)
    whose last LD_PRELOAD, the loader's, brings libfwd.so first, its first
    the library alone (a check of the first 256 KiB saw only that one)."""
    plain = peaktrace(["--no-preload", "-q", "--", victim("apis")]).report["processes"][0]
    fwd = victim("libfwd.so")
    pt = peaktrace(["-q", "--preload", "--", "env", f"LD_AUDIT={victim('libaudit.so')}",
                    f"AUDIT_SWAP={fwd}", victim("apis")])
    eq(pt.returncode, 0, "LD_AUDIT: exit status")
    apis_counted_exactly(pt, plain, "LD_AUDIT")
    pt = peaktrace(["-q", "--preload", "--", victim("envexec"), "70000",
                    f"LD_PRELOAD={PRELOAD_ENTRY}", f"LD_PRELOAD={fwd}:{PRELOAD_ENTRY}",
                    victim("apis")])
    eq(pt.returncode, 0, "a long environment: exit status")
    apis_counted_exactly(pt, plain, "a long environment")


def test_many_trapped_calls_suggest_preload():
    """A command that made many allocator calls, each stopped at a
    breakpoint (150000 bytearrays of 1000 B: malloc and free each: with
    --no-preload), is told that the library counts them far cheaper; with
    it (the default), or with -q, nothing is said; the figures are the
    same either way."""
    code = "for i in range(150000): bytearray(1000)"
    said = "allocator calls were each stopped at a breakpoint; peaktrace-preload.so"
    runs = {}
    for extra in (["--no-preload"], [], ["--no-preload", "-q"]):
        pt = peaktrace(extra + ["--", "/usr/bin/python3", "-c", code])
        eq(pt.returncode, 0, f"{extra}: exit status")
        runs[tuple(extra)] = pt
        check((said in pt.stderr) == (extra == ["--no-preload"]), f"{extra}: the hint: {pt.stderr[-500:]}")
    no = runs[("--no-preload",)]
    calls = sum(p["allocations"] + p["frees"] for p in no.report["processes"])
    check(f"peaktrace: {calls} allocator calls" in no.stderr,
          f"the count said is the report's ({calls}): {no.stderr[-500:]}")
    check(calls >= 300000, f"calls counted: {calls}")


def test_preload_wrapper_is_answered_or_said():
    """A process asking for glibc's own probes that peaktrace keeps no
    record of (the process table full: --max-procs) is let go at once,
    unprobed, not left to wait for nothing; one that waited in vain (the
    peaktrace process stopped meanwhile) goes on after 2 s, and that is
    said."""
    loop = "; ".join([victim("wrap_exe") + " >/dev/null"] * 14)
    pt = peaktrace(["-q", "--max-procs", "16", "--", "/bin/sh", "-c", loop])
    eq(pt.returncode, 0, "--max-procs 16: exit status")
    check(pt.report["lost"]["procs_map_full"] > 0, f"processes not recorded: {pt.report['lost']}")
    check(not any("went on after waiting" in w for w in pt.report["warnings"]),
          f"no process waited in vain: {pt.report['warnings']}")
    # (--frame-pointers: no exec gate, which would hold the exec until
    # peaktrace answers)
    pt = peaktrace(["--frame-pointers", "--", "/bin/sh", "-c", f"sleep 0.5; {victim('wrap_exe')}"],
                   wait=False)
    time.sleep(0.3)
    pt.proc.send_signal(signal.SIGSTOP)
    time.sleep(3)
    pt.proc.send_signal(signal.SIGCONT)
    pt.finish()
    eq(pt.returncode, 0, "stopped peaktrace: exit status")
    check(any(w.startswith("pid ") and "went on after waiting 2 s for glibc's own malloc probes" in w
              for w in pt.report["warnings"]), f"said: {pt.report['warnings']}")


def test_preload_library_missing_runs_as_without():
    """A peaktrace binary without peaktrace-preload.so beside it runs the
    command as with --no-preload, saying so (not with -q), with the same
    figures; --preload asked for explicitly fails instead."""
    plain = peaktrace(["--no-preload", "-q", "--", victim("apis")]).report["processes"][0]
    with scratch() as d:
        lone = os.path.join(d, "peaktrace")
        shutil.copy(PEAKTRACE, lone)
        for quiet in ([], ["-q"]):
            out = os.path.join(d, "r.json")
            run = subprocess.run([lone] + quiet + ["--json", out, "--", victim("apis")],
                                 capture_output=True, text=True, timeout=60)
            eq(run.returncode, 0, f"{quiet}: exit status")
            said = f"{d}/peaktrace-preload.so: No such file or directory: the command runs without"
            eq(said in run.stderr, not quiet, f"{quiet}: said: {run.stderr[:300]}")
            with open(out) as f:
                (p,) = json.load(f)["processes"]
            eq((p["peak_bytes"], p["allocations"], p["frees"]),
               (plain["peak_bytes"], plain["allocations"], plain["frees"]), f"{quiet}: figures")
        run = subprocess.run([lone, "-q", "--preload", "--", victim("apis")], capture_output=True,
                             text=True, timeout=60)
        check(run.returncode != 0 and "peaktrace-preload.so: No such file" in run.stderr,
              f"--preload without the library: exit status {run.returncode}, {run.stderr[:300]}")


def test_preload_needs_a_command():
    for args in (["--preload", "-p", "1"], ["--preload", "--rss-only", "--", "true"]):
        pt = peaktrace(args, json=False)
        eq(pt.returncode, 2, f"exit status of {args}")
        check("--preload" in pt.stderr and "-- CMD" in pt.stderr, f"said why: {pt.stderr}")


def test_preload_library_marked_for_cet():
    """The library carries the CET property glibc's code carries (IBT and
    shadow stacks): an unmarked library would turn them off for the whole
    command where the C library turns them on.  Read from the built file as
    the loader reads it, the GNU property note."""
    out = subprocess.run(["readelf", "-n", PRELOAD], capture_output=True, text=True, check=True).stdout
    check("x86 feature: IBT, SHSTK" in out, f"readelf -n {PRELOAD}: {out}")
