"""Resident memory (RSS): the exact anonymous peak against the victim's own
smaps_rollup reading, the drift of the approximate figure and its bound,
shared memory counted once per process, --rss-only (no probes, static
programs, whole trees), and an mm followed through posix_spawn's CLONE_VM
child and Python's subprocess.
"""
import os

from .lib import (KiB, MiB, PAGE, READ_ALLOWANCE, ROOT, check, eq, peaktrace, printed, victim,
                  within)


# Against the kernel's own figures (smaps_rollup, VmHWM): --no-preload, as
# those include the preload ledger's own pages, which peaktrace's figures
# leave out (test_preload_ledger_counts_small_blocks_exactly compares the
# RSS peaks with the library and without).


def test_rss_exact_anon_matches_smaps():
    """Seed 001 made exact: 16 x 1 MiB touched after allocator holes."""
    pt = peaktrace(["-q", "--no-preload", "--", victim("rss_touch")])
    r = pt.report
    eq(pt.returncode, 0, "exit status")
    (p,) = r["processes"]
    before, peak = printed(pt.stdout, "anon_kb_before") * KiB, printed(pt.stdout, "anon_kb_peak") * KiB
    within(peak - before, 16 * MiB, 2 * PAGE, "anon growth seen by smaps_rollup (the victim's own check)")
    within(p["rss"]["peak_anon_bytes"], peak, READ_ALLOWANCE, "exact anon peak vs smaps_rollup")
    check(p["rss"]["approx_peak_bytes"] <= p["rss"]["peak_bytes"] + r["tree"]["rss"]["drift_bound_bytes"],
          "approximate peak within the drift bound")
    eq(r["tree"]["rss"]["peak_bytes"], p["rss"]["peak_bytes"], "tree RSS peak of a single process")
    check(p["rss"]["events"] >= 16 * 256, f"an event per page touched: {p['rss']['events']}")
    check(0 < p["rss"]["kernel_hiwater_bytes"] <= p["rss"]["peak_bytes"] + r["tree"]["rss"]["drift_bound_bytes"],
          f"VmHWM read at exit: {p['rss']['kernel_hiwater_bytes']}")


def test_rss_drift_between_exact_and_approximate():
    pt = peaktrace(["-q", "--no-preload", "--", victim("rss_drift")])
    r = pt.report
    eq(pt.returncode, 0, "exit status")
    (p,) = r["processes"]
    peak = printed(pt.stdout, "anon_kb_peak") * KiB
    within(p["rss"]["peak_anon_bytes"], peak, READ_ALLOWANCE, "exact anon peak vs smaps_rollup")
    check(p["rss"]["max_drift_bytes"] > 0, "a drift above zero was seen")
    check(p["rss"]["max_drift_bytes"] <= r["tree"]["rss"]["drift_bound_bytes"],
          f"drift {p['rss']['max_drift_bytes']} within the batching bound {r['tree']['rss']['drift_bound_bytes']}")
    check(p["rss"]["approx_peak_bytes"] != p["rss"]["peak_bytes"] or p["rss"]["max_drift_bytes"] > 0,
          "approximate and exact figures differ")


def test_rss_shared_memory_counted_per_process():
    pt = peaktrace(["-q", "--drift", "--", victim("shm_pipeline")])
    r = pt.report
    eq(pt.returncode, 0, "exit status")
    eq(len(r["processes"]), 2, "producer and consumer")
    for p in r["processes"]:
        eq(p["rss"]["peak_shmem_bytes"], 8 * MiB, f"shmem of pid {p['pid']}")
    eq(r["tree"]["rss"]["peak_shmem_bytes"], 16 * MiB, "the tree counts the shared 8 MiB twice")
    check("once per process" in r["tree"]["rss"]["note"], "the report says so")


def test_rss_only_static_binary_and_tree():
    pt = peaktrace(["-q", "--rss-only", "--", victim("static_victim")])
    r = pt.report
    eq(pt.returncode, 5, "exit status")
    (p,) = r["processes"]
    eq(r["heap_traced"], False, "heap not traced")
    eq(r["tree"]["peak_bytes"], 0, "no heap figures")
    within(p["rss"]["peak_anon_bytes"], 3 * MiB, 64 * KiB, "the static program's 3 MiB touched")
    pt = peaktrace(["-q", "--rss-only", "--", victim("forktree")])
    r = pt.report
    eq(pt.returncode, 0, "exit status")
    eq(len(r["processes"]), 4, "the whole tree followed without probes")
    check(all(p["rss"]["peak_bytes"] > 0 for p in r["processes"]), "every process has an RSS peak")
    eq(r["tree"]["peak_bytes"], 0, "no heap figures")
    p = peaktrace(["-v", "--rss-only", "--", "/bin/true"], json=False)
    eq(p.returncode, 0, "exit status")
    check("peaktrace: probe" not in p.stderr, f"no uprobe placed: {p.stderr[:300]!r}")
    p = peaktrace(["-v", "--", "/bin/true"], json=False)
    check("peaktrace: probe malloc" in p.stderr, "while without --rss-only there are (the check can fail)")


def test_rss_followed_through_posix_spawn():
    """posix_spawn's CLONE_VM child: the parent's RSS still followed, counted once."""
    for extra in (["--no-preload"], ["--rss-only"]):
        pt = peaktrace(["-q"] + extra + ["--", victim("spawn_rss")])
        r = pt.report
        eq(pt.returncode, 0, "exit status")
        parent = [p for p in r["processes"] if p["argv"] == [victim("spawn_rss")] and p["rss"]["peak_bytes"]]
        eq(len(parent), 1, f"the parent ({extra})")
        peak = printed(pt.stdout, "anon_kb_peak") * KiB
        check(peak >= 216 * MiB, f"the victim touched 216 MiB: {peak}")
        within(parent[0]["rss"]["peak_anon_bytes"], peak, READ_ALLOWANCE, f"exact anon peak {extra}")
        child = [p for p in r["processes"] if p["argv"] == [victim("spawn_rss")] and p is not parent[0]]
        eq([p["rss"]["peak_bytes"] for p in child], [0], "the CLONE_VM child adds nothing of the shared mm")
        true = [p for p in r["processes"] if p["argv"] == ["/bin/true"]]
        eq(len(true), 1, "what it exec'd")
        check(r["tree"]["rss"]["peak_bytes"] <= parent[0]["rss"]["peak_bytes"] + true[0]["rss"]["peak_bytes"],
              "the tree counts the mm once")


def test_rss_followed_through_python_subprocess():
    pt = peaktrace(["-q", "--no-preload", "--", "/usr/bin/python3",
                    os.path.join(ROOT, "tests", "victims", "subprocess_rss.py")])
    r = pt.report
    eq(pt.returncode, 0, "exit status")
    peak = printed(pt.stdout, "anon_kb_peak") * KiB
    py = [p for p in r["processes"] if p["argv"][:1] == ["/usr/bin/python3"] and p["rss"]["peak_bytes"]]
    eq(len(py), 1, "the python process")
    check(peak >= 216 * MiB, f"the victim touched 216 MiB: {peak}")
    within(py[0]["rss"]["peak_anon_bytes"], peak, 64 * KiB, "exact anon peak vs smaps_rollup")
