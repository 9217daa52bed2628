"""Heap figures of one program: the peak and the stacks at it (not each
site's own maximum), the malloc family (C++ new/delete: test_unwind, whose
frames it mostly asserts), threads, mmap/munmap/mremap, what is not heap
(allocator arenas, thread stacks, reserved address space, file mappings),
another libc (musl), programs whose heap is not traced (32-bit, static),
and a full allocation map counted as a loss.
"""
import os

from .lib import (KiB, LIBC_ALLOWANCE, MiB, ROOT, assert_complete, check, eq, peaktrace, printed,
                  site_bytes, stack_of, victim, within)


def test_phases_attribution_at_peak():
    """Stacks at the peak differ from each site's own maximum and from the end state."""
    pt = peaktrace(["-q", "--", victim("phases")])
    r = pt.report
    eq(pt.returncode, 7, "exit status (the command's)")
    assert_complete(r)
    eq(r["tree"]["peak_bytes"], 80 * MiB, "tree peak")
    st = r["tree"]["stacks"]
    eq(site_bytes(st, "phase_a"), (30 * MiB, 30), "phase_a at the peak")
    eq(site_bytes(st, "phase_b"), (50 * MiB, 5), "phase_b at the peak")
    eq(site_bytes(st, "phase_c"), (0, 0), "phase_c at the peak (its own max was 40 MiB)")
    eq(site_bytes(st, "phase_d"), (0, 0), "phase_d at the peak")
    eq(len(st), 2, "stacks at the peak")
    frames = [f["function"] for f in stack_of(st, "phase_b")["frames"]]
    eq(frames[:2], ["phase_b", "main"], "frames, innermost first")
    f0 = stack_of(st, "phase_b")["frames"][0]
    check(f0["file"] and f0["file"].endswith("phases.c") and f0["line"] > 0,
          f"file:line of phase_b: {f0}")
    check(f0["module"].endswith("/phases"), f"module of phase_b: {f0['module']}")
    (p,) = r["processes"]
    eq(p["peak_bytes"], 80 * MiB, "process peak")
    eq(p["live_bytes_at_end"], 60 * MiB, "live at exit (C 40 + D 20)")
    eq(p["exit_code"], 7, "exit code in the report")
    eq(site_bytes(p["stacks"], "phase_a"), (30 * MiB, 30), "process stacks at its peak")


def test_threads_at_barrier():
    """With peaktrace-preload.so (the default) and with glibc's probes."""
    for opts in ([], ["--no-preload"]):
        pt = peaktrace(["-q"] + opts + ["--", victim("threads")])
        r = pt.report
        eq(pt.returncode, 0, f"{opts}: exit status")
        assert_complete(r)
        # glibc frees each thread's tcache (allocated inside malloc) at exit:
        # the C library's own blocks, a note, not a loss (with the library,
        # that free is a call inside glibc, seen by no probe)
        if opts:
            check(r["notes"]["allocator_frees"] >= 8, f"the tcache frees noted: {r['notes']}")
        within(r["tree"]["peak_bytes"], 146 * MiB, LIBC_ALLOWANCE, f"{opts}: tree peak")
        st = r["tree"]["stacks"]
        eq(site_bytes(st, "worker_alloc"), (144 * MiB, 32), f"{opts}: all 32 worker blocks at the peak")
        eq(site_bytes(st, "make_stack"), (2 * MiB, 8), f"{opts}: thread stacks")
        eq(r["lost"]["unlocked_updates"], 0, f"{opts}: updates without the model lock")


def test_allocation_apis():
    """Each allocator entry point, at the preload library's sites (the
    default) and in glibc's own probes (--no-preload)."""
    for opts in ([], ["--no-preload"]):
        pt = peaktrace(["-q"] + opts + ["--", victim("apis")])
        r = pt.report
        eq(pt.returncode, 0, f"{opts}: exit status")
        assert_complete(r)
        eq(r["tree"]["peak_bytes"], 1000000 + 1024000 + 29 * MiB, f"{opts}: tree peak")
        st = r["tree"]["stacks"]
        eq(site_bytes(st, "use_calloc"), (1000000, 1), f"{opts}: calloc")
        eq(site_bytes(st, "grow_chain"), (3 * MiB, 1), f"{opts}: realloc chain")
        eq(site_bytes(st, "use_posix_memalign"), (5 * MiB, 1), f"{opts}: posix_memalign")
        eq(site_bytes(st, "use_aligned_alloc"), (6 * MiB, 1), f"{opts}: aligned_alloc")
        eq(site_bytes(st, "use_memalign"), (7 * MiB, 1), f"{opts}: memalign")
        eq(site_bytes(st, "use_valloc"), (8 * MiB, 1), f"{opts}: valloc")
        eq(site_bytes(st, "use_reallocarray"), (1024000, 1), f"{opts}: reallocarray")
        eq(site_bytes(st, "small_chain"), (0, 0), f"{opts}: realloc(p, 0) freed")
        (p,) = r["processes"]
        eq(p["live_bytes_at_end"], 0, f"{opts}: all freed")


def test_allocator_arenas_and_thread_stacks_are_not_heap():
    """Threads whose first allocator call is free(): glibc's arenas and
    stacks stay out, with peaktrace-preload.so (the default) and without."""
    for opts in ([], ["--no-preload"]):
        pt = peaktrace(["-q", "--exact-stacks"] + opts + ["--", victim("arena_free")])  # 2 KiB blocks
        r = pt.report
        eq(pt.returncode, 0, f"{opts}: exit status")
        assert_complete(r)
        # 32 MiB + 8 x 2 KiB asked for; glibc's TLS blocks of new threads (by calloc) beside
        within(r["tree"]["peak_bytes"], 32 * MiB + 8 * 2 * KiB, 8 * 512, f"{opts}: tree peak")
        st = r["tree"]["stacks"]
        eq(site_bytes(st, "hold_main"), (32 * MiB, 1), f"{opts}: main's 32 MiB")
        eq(site_bytes(st, "thread_alloc"), (8 * 2 * KiB, 8), f"{opts}: each thread's 2 KiB")
        names = {f["function"] for s in st for f in s["frames"]}
        for internal in ("alloc_new_heap", "new_heap", "_int_new_arena", "arena_get2", "tcache_init"):
            check(internal not in names, f"{opts}: no allocator-internal mapping at the peak ({internal})")
        eq(sum(s["bytes"] for s in st), r["tree"]["peak_bytes"], f"{opts}: every byte at the peak in a stack")
        if opts:  # with the library, glibc's own free of them is seen by no probe
            check(r["notes"]["allocator_frees"] >= 8,
                  f"the threads' tcache frees noted apart: {r['notes']}")


def test_python_queue_pipeline_peak_is_what_it_holds():
    """A multiprocessing Queue pipeline: the tree peak grows by exactly what the
    producer and consumer hold (no glibc arena of the Queue's feeder thread)."""
    env = dict(os.environ, PYTHONHASHSEED="0")
    script = os.path.join(ROOT, "tests", "victims", "mp_queue.py")
    peaks = []
    for scale in ("0", "1"):
        pt = peaktrace(["-q", "--", "/usr/bin/python3", script, scale], env=env)
        r = pt.report
        eq(pt.returncode, 0, f"exit status (scale {scale})")
        assert_complete(r)
        eq(len(r["processes"]), 2, "producer and consumer")
        peaks.append(r["tree"]["peak_bytes"])
    # 32 + 48 MiB held at once; the interpreters' own allocations cancel out
    within(peaks[1] - peaks[0] + 256 * KiB, 80 * MiB, 512 * KiB, "tree peak growth")
    held = sorted(s["bytes"] for s in r["tree"]["stacks"] if s["bytes"] > 2 * MiB)  # not pymalloc arenas
    eq(held, [32 * MiB + 1, 48 * MiB + 1], "the two bytearrays at the peak, one per process")


def test_many_live_blocks_grow_the_tables():
    """2 M hash-map nodes and a doubling vector: more blocks than the first
    table holds (--exact-stacks: every block to the tables, none counted by
    the preload library's ledger, which the default run checks at scale)."""
    for opts in (["--exact-stacks"], []):
        pt = peaktrace(["-q", "-v"] + opts + ["--", victim("cxx_nodes")])
        r = pt.report
        eq(pt.returncode, 0, f"{opts}: exit status")
        assert_complete(r)
        own = printed(pt.stdout, "own_peak_bytes")
        # libstdc++'s emergency exception pool (~72 KiB) is allocated by malloc, not new
        within(r["tree"]["peak_bytes"], own, 128 * KiB, f"{opts}: tree peak vs the program's own count")
        if opts:
            check("peaktrace: allocation table 1 added" in pt.stderr,
                  f"the tables grew: {pt.stderr[-600:]}")


def test_reserved_address_space_is_not_heap():
    """1 GiB reserved PROT_NONE, 4 MiB of it mapped for use (the Go runtime's way)."""
    pt = peaktrace(["-q", "--", victim("reserve")])
    r = pt.report
    eq(pt.returncode, 0, "exit status")
    assert_complete(r)
    eq(r["tree"]["peak_bytes"], 4 * MiB, "tree peak")
    eq(site_bytes(r["tree"]["stacks"], "use_piece"), (4 * MiB, 1), "the piece in use")


def test_mmap_munmap_mremap():
    pt = peaktrace(["-q", "--", victim("mmaps")])
    r = pt.report
    eq(pt.returncode, 0, "exit status")
    assert_complete(r)
    eq(r["tree"]["peak_bytes"], 24 * MiB, "tree peak")
    st = r["tree"]["stacks"]
    eq(site_bytes(st, "map_region"), (12 * MiB, 2), "region A, cut in two by a partial munmap")
    eq(site_bytes(st, "grow_region"), (12 * MiB, 1), "mremap-grown region")
    eq(site_bytes(st, "map_small"), (0, 0), "the region mremap moved away")
    eq(site_bytes(st, "map_file"), (0, 0), "file mapping is not heap")
    (p,) = r["processes"]
    eq(p["live_bytes_at_end"], 10 * MiB, "live at exit (A tail 7 + fixed 1 + shrunk 2)")
    eq(site_bytes(p["stacks"], "grow_region"), (12 * MiB, 1), "process stacks at its peak")


def test_exec_into_another_libc():
    """A glibc shell execs a musl program: musl's malloc is probed from the start."""
    pt = peaktrace(["-q", "--", "/bin/sh", "-c", victim("musl_victim") + "; exit 4"])
    r = pt.report
    eq(pt.returncode, 4, "exit status (the shell's)")
    eq(r["lost"]["map_full"], 0, "map full")
    eq(site_bytes(r["tree"]["stacks"], "musl_alloc"), (6 * MiB, 1), "musl_alloc at the peak")
    m = [p for p in r["processes"] if p["argv"] and p["argv"][0].endswith("musl_victim")]
    eq(len(m), 1, "the musl process")
    within(m[0]["peak_bytes"], 6 * MiB, LIBC_ALLOWANCE, "its peak")
    frame = stack_of(r["tree"]["stacks"], "musl_alloc")["frames"][0]
    check(frame["module"].endswith("/musl_victim"), f"module: {frame['module']}")


def test_32bit_program_refused_clearly():
    """A 32-bit program is not probed with 64-bit conventions: its heap is said untraced."""
    pt = peaktrace(["--", "/bin/sh", "-c", victim("m32_victim") + "; exit $?"])
    r = pt.report
    eq(pt.returncode, 3, "exit status")
    (m,) = [p for p in r["processes"] if p["argv"][:1] == [victim("m32_victim")]]
    eq((m["heap_traced"], m["peak_bytes"]), (False, 0), "its heap not traced, no figure made up")
    check("not an x86-64 program" in m["heap_note"], f"the note: {m['heap_note']}")
    check("not an x86-64 program" in pt.stderr, "said on stderr")
    check(r["tree"]["peak_bytes"] < 64 * KiB, f"the shell's heap only: {r['tree']['peak_bytes']}")


def test_static_binary():
    pt = peaktrace(["--", victim("static_victim")])
    r = pt.report
    eq(pt.returncode, 5, "exit status (the command's)")
    check("statically linked" in pt.stderr, f"warning on stderr: {pt.stderr!r}")
    eq(len([w for w in r["warnings"] if "statically linked" in w]), 1, f"one warning in the report: {r['warnings']}")
    procs = [p for p in r["processes"] if p["argv"] and p["argv"][0].endswith("static_victim")]
    eq(len(procs), 1, "the static process is in the tree")
    eq(procs[0]["heap_traced"], False, "heap_traced")
    eq(r["tree"]["peak_bytes"], 0, "nothing counted")


def test_map_full_is_counted():
    """Glibc's probes (--no-preload) and the library's sites (--exact-stacks:
    every block to the map, none counted by the ledger) fill the map alike."""
    for opts in (["--no-preload"], ["--exact-stacks"]):
        pt = peaktrace(["--max-allocs", "1024"] + opts + ["--", victim("many")])
        r = pt.report
        eq(pt.returncode, 0, f"{opts}: exit status")
        full = r["lost"]["allocs_map_full"]
        check(3000 - 1024 <= full <= 3000, f"{opts}: allocations over the map's 1024 entries counted: {full}")
        eq(r["lost"]["map_full"], full, f"{opts}: map_full sums the maps")
        eq(r["complete"], False, f"{opts}: complete")
        check(r["tree"]["peak_bytes"] <= 1024 * 100 + LIBC_ALLOWANCE, f"{opts}: peak only of what was counted")
        check("INCOMPLETE" in pt.stderr.split("\n\n")[0],
              f"{opts}: the text report says so at its top: {pt.stderr[:200]!r}")


def test_small_block_stacks_sampled():
    """Blocks under --sample-bytes have their stacks sampled: the peak stays
    exact, large blocks keep exact stacks, and each stack's small bytes are
    an estimate within 5 standard errors (sqrt(rate x bytes)) whose parts
    sum exactly to the small-block bytes at the peak; --exact-stacks gives
    every stack exactly.  The draw made by the preload library's ledger (the
    default) and by the BPF programs (--no-preload)."""
    rate = 16 * KiB
    for opts in ([], ["--no-preload"]):
        pt = peaktrace(opts + ["--", victim("smallblocks")])
        r = pt.report
        eq(pt.returncode, 0, f"{opts}: exit status")
        assert_complete(r)
        within(r["tree"]["peak_bytes"], 60 * MiB, LIBC_ALLOWANCE, f"{opts}: tree peak (exact)")
        sm = r["stack_sampling"]
        eq(sm["sample_bytes"], rate, f"{opts}: the default sampling rate")
        within(sm["small_bytes_at_peak"], 40 * MiB, LIBC_ALLOWANCE, f"{opts}: small-block bytes at the peak")
        # 40 MiB at one sample per 16 KiB: 2560 expected, Poisson
        check(abs(sm["sampled_blocks_at_peak"] - 2560) < 5 * 2560 ** 0.5,
              f"{opts}: sampled blocks at the peak: {sm}")
        st = r["tree"]["stacks"]
        big = stack_of(st, "big")
        eq((big["bytes"], big["allocations"], big["estimated_bytes"]), (20 * MiB, 1, 0),
           f"{opts}: the 20 MiB block: exact")
        eq(sum(s["estimated_bytes"] for s in st), sm["small_bytes_at_peak"],
           f"{opts}: the estimates sum to the exact small-block bytes")
        eq(sum(s["bytes"] for s in st), r["tree"]["peak_bytes"], f"{opts}: the stacks sum to the peak")
        for fn, true_bytes in (("fill_a", 32 * MiB), ("fill_b", 8 * MiB)):
            s = stack_of(st, fn)
            check(s is not None, f"{opts}: {fn} sampled at all: {[x['frames'][:1] for x in st]}")
            eq(s["estimated_bytes"], s["bytes"], f"{opts}: {fn}: all its bytes are estimated")
            err = 5 * (rate * true_bytes) ** 0.5
            check(abs(s["bytes"] - true_bytes) <= err,
                  f"{opts}: {fn}: {s['bytes']} estimated, {true_bytes} true, allowed +-{err:.0f}")
            check(abs(s["allocations"] - true_bytes // KiB) <= err / KiB,
                  f"{opts}: {fn}: {s['allocations']} blocks estimated, {true_bytes // KiB} true")
        check("~ estimated: " in pt.stderr and "  #1  ~" in pt.stderr,
              f"{opts}: the text report marks the estimates: {pt.stderr}")

    pt = peaktrace(["-q", "--exact-stacks", "--", victim("smallblocks")])
    r = pt.report
    assert_complete(r)
    eq(r["stack_sampling"]["sample_bytes"], 0, "--exact-stacks: no sampling")
    st = r["tree"]["stacks"]
    eq(site_bytes(st, "fill_a"), (32 * MiB, 32768), "fill_a exactly")
    eq(site_bytes(st, "fill_b"), (8 * MiB, 8192), "fill_b exactly")
    eq(sum(s["estimated_bytes"] for s in st), 0, "nothing estimated")
