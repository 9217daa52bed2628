"""Stacks: frames named with file:line and inlined levels (C++ new/delete),
unwinding without frame pointers by .eh_frame (a library and program built
without them, libstdc++, Debian's python3), tables read before a program
reached through env or a shell runs, a walk that replays the thread's last
one where they meet, and the depth limit (--stack-depth,
127 frames): the innermost frames kept, the cut noted, never a loss.
"""
import os

from .lib import (LIBC_ALLOWANCE, LIBC_START, MiB, ROOT, assert_complete, check, eq, peaktrace,
                  stack_of, victim, within)


def test_cxx_new_delete():
    pt = peaktrace(["-q", "--exact-stacks", "--", victim("cxx")])  # a 24-byte block
    r = pt.report
    eq(pt.returncode, 0, "exit status")
    assert_complete(r)
    within(r["tree"]["peak_bytes"], 19 * MiB + 24, LIBC_ALLOWANCE, "tree peak")
    st = r["tree"]["stacks"]
    s = stack_of(st, "operator new(unsigned long)") and [
        x for x in st if len(x["frames"]) > 2 and x["frames"][1]["function"] == "fill_buffer"]
    check(s, f"the inlined function as its own frame: {[[f['function'] for f in x['frames']][:3] for x in st]}")
    f = s[0]["frames"]
    eq((s[0]["bytes"], f[1]["inlined"], f[2]["function"]), (MiB, True, "make_inlined()"),
       "fill_buffer inlined into make_inlined")
    eq(f[1]["address"], f[2]["address"], "one address, two frames")
    check(f[2]["file"].endswith("cxx.cc") and f[2]["line"] > 0, f"the call site of the inlined call: {f[2]}")
    # unwound through libstdc++ (no frame pointers) by its .eh_frame table,
    # from the preload library's site and from glibc's return probe
    for run in (st, peaktrace(["-q", "--exact-stacks", "--no-preload", "--", victim("cxx")]).report["tree"]["stacks"]):
        for fn, size in [("make_buffer()", 12 * MiB), ("make_object()", 2 * MiB)]:
            s = [x for x in run if [f["function"] for f in x["frames"]][:2] == ["operator new(unsigned long)", fn]]
            eq([(x["bytes"], x["allocations"]) for x in s], [(size, 1)],
               f"operator new called from {fn}{'' if run is st else ', --no-preload'}")
    vec = sorted((x["bytes"], x["allocations"]) for x in st
                 if "make_vector()" in [f["function"] for f in x["frames"]])
    eq(vec, [(24, 1), (4 * MiB, 1)], "the vector object and its storage, two call paths")
    four = [x for x in st if x["bytes"] == 4 * MiB][0]["frames"]
    names = [f["function"] for f in four]
    i = names.index("make_vector()")
    eq(names[i - 1], "std::vector<int, std::allocator<int> >::reserve(unsigned long)",
       "nested inlining: reserve, inlined into make_vector")
    check(all(f["inlined"] for f in four[1:i]) and not four[i]["inlined"],
          f"every inlined level flagged: {[(f['function'], f['inlined']) for f in four]}")
    for s in st:
        if s["bytes"] >= MiB:
            names = [f["function"] for f in s["frames"]]
            eq(names[-4:], ["main", "__libc_start_call_main", "__libc_start_main", "_start"],
               "complete down to _start")
            check(s["frames"][1]["file"].startswith("/"), f"source file made absolute: {s['frames'][1]['file']}")
    eq(r["processes"][0]["live_bytes_at_end"], 72704 if r["tree"]["peak_bytes"] > 19 * MiB + 24 else 0,
       "only libstdc++'s exception pool left")


def test_unwind_without_frame_pointers():
    """-O2 -fomit-frame-pointer library and program: every frame, by
    .eh_frame, from the preload library's site (the default) and from
    glibc's return probe (--no-preload)."""
    for opts in ([], ["--no-preload"]):
        pt = peaktrace(["-q"] + opts + ["--", victim("nofp_main")])
        r = pt.report
        eq(pt.returncode, 0, f"{opts}: exit status")
        assert_complete(r)
        s = stack_of(r["tree"]["stacks"], "chain_d")
        check(s, f"{opts}: the chain's stack: {[[f['function'] for f in x['frames']] for x in r['tree']['stacks']]}")
        eq((s["bytes"], s["allocations"]), (7 * MiB, 1), f"{opts}: chain_d's block")
        eq([f["function"] for f in s["frames"]],
           ["chain_d", "chain_c", "chain_b", "chain_a", "run_chain", "main"] + LIBC_START,
           f"{opts}: every function of the chain in order, then the caller, main and libc's start-up")
        check(s["frames"][0]["module"].endswith("/libchain.so"), f"{opts}: the library frames' module")


def test_unwind_rows_over_several_tables():
    """--max-unwind-rows 65536: 16 row tables of 4096, so the C library's
    28 k rows run over seven of them and the victim's library lies in a
    table made while the run goes on: the same stack as with one table.
    At 16384 (tables of 1024) the C library does not fit: said, and the
    chain, whose library does, is still unwound by its table."""
    pt = peaktrace(["-q", "--max-unwind-rows", "65536", "--", victim("nofp_main")])
    r = pt.report
    eq(pt.returncode, 0, "exit status")
    assert_complete(r)
    eq(r["warnings"], [], "no warning")
    s = stack_of(r["tree"]["stacks"], "chain_d")
    check(s, f"the chain's stack: {[[f['function'] for f in x['frames']] for x in r['tree']['stacks']]}")
    eq([f["function"] for f in s["frames"]],
       ["chain_d", "chain_c", "chain_b", "chain_a", "run_chain", "main"] + LIBC_START,
       "every function of the chain, then main and libc's start-up, through rows in several tables")
    eq(s["partial"], False, "the stack reached the outermost frame")

    pt = peaktrace(["-q", "--max-unwind-rows", "16384", "--", victim("nofp_main")])
    r = pt.report
    eq(pt.returncode, 0, "exit status")
    full = [w for w in r["warnings"] if "unwind tables full (--max-unwind-rows 16384)" in w]
    check(len(full) == 1 and "libc.so.6" in full[0], f"the C library did not fit, said: {r['warnings']}")
    s = stack_of(r["tree"]["stacks"], "chain_d")
    eq([f["function"] for f in s["frames"]][:6],
       ["chain_d", "chain_c", "chain_b", "chain_a", "run_chain", "main"],
       "the chain, whose library fit, unwound by its table")


def test_unwind_python_interpreter():
    """Debian's python3 (no frame pointers): a bytearray's native stack (Python
    frames off: tests/e2e/test_python.py has them), from the preload
    library's site and from glibc's return probe."""
    for opts in ([], ["--no-preload"]):
        pt = peaktrace(["-q", "--python", "native"] + opts + ["--", "/usr/bin/python3", os.path.join(ROOT, "tests", "victims", "bytearray.py")])
        r = pt.report
        eq(pt.returncode, 0, f"{opts}: exit status")
        big = [s for s in r["tree"]["stacks"] if s["bytes"] >= 64 * MiB]
        eq(len(big), 1, f"{opts}: the bytearray's stack")
        names = [f["function"] for f in big[0]["frames"]]
        check("PyByteArray_Resize" in names[:4], f"{opts}: the allocation in bytearray code: {names[:4]}")
        i = names.index("_PyEval_EvalFrameDefault") if "_PyEval_EvalFrameDefault" in names else -1
        check(i > 0, f"{opts}: through the interpreter loop: {names}")
        # Debian's python3.11 main is "jmp Py_BytesMain": a tail call, so no
        # main frame exists between Py_BytesMain and libc's start-up code.
        # (with debug symbols installed, inlined frames may stand between them)
        outer = [n for n in names if n in ["Py_BytesMain"] + LIBC_START]
        eq(outer, ["Py_BytesMain"] + LIBC_START, f"{opts}: down to Py_BytesMain and _start")
        eq(names[-1], "_start", f"{opts}: the outermost frame")
        check(all(f["module"] for f in big[0]["frames"]), f"{opts}: every frame has its module")
        check(all(f["function"] or f["module_offset"] for f in big[0]["frames"]),
              f"{opts}: each frame named, or shown as module+offset (without debug symbols)")


def test_stack_depth_limit_is_counted():
    pt = peaktrace(["-q", "--stack-depth", "3", "--", victim("nofp_main")])
    r = pt.report
    eq(pt.returncode, 0, "exit status")
    s = stack_of(r["tree"]["stacks"], "chain_d")
    eq([f["function"] for f in s["frames"]], ["chain_d", "chain_c", "chain_b"], "cut at 3 frames")
    check(r["notes"]["truncated_stacks"] >= 1, f"truncated stacks counted: {r['notes']}")
    eq(s["truncated"], True, "the stack says it was cut")
    assert_complete(r)  # every byte was counted: a cut stack is a note, not a loss


def test_deep_native_stack_keeps_innermost_frames():
    """200 frames deep: cut at the 127-frame limit, innermost kept, still complete."""
    pt = peaktrace(["-q", "--", victim("deep")])
    r = pt.report
    eq(pt.returncode, 0, "exit status")
    assert_complete(r)
    eq(r["tree"]["peak_bytes"], 3 * MiB, "tree peak")
    (s,) = r["tree"]["stacks"]
    names = [f["function"] for f in s["frames"]]
    eq(names[:2], ["deep_alloc", "recurse"], "innermost frames kept")
    eq(len(s["frames"]), 127, "frames up to the limit")
    eq(s["truncated"], True, "marked as cut")
    check(r["notes"]["truncated_stacks"] >= 1, f"the cut counted: {r['notes']}")
    check("stacks cut at the depth limit" in peaktrace(["--", victim("deep")]).stderr, "a note in the text report")


def test_stacks_sharing_frames_with_the_last_one():
    """Each thread's next walk replays its last one from the frame where they meet
    (bpf/unwind/native.bpf.h): the stacks must be those a fresh walk finds.  The
    victim alternates two callers that differ only in one return address, stacks
    met at another frame number (1 to 7 frames of rec, spanning more than one
    stack copy) and the same stack twice, with frame pointers and without."""
    rounds, depths = 49, 7
    expected = {("leaf", "mid", "via_a", "main"): (rounds * 1000, rounds),
                ("leaf", "mid", "via_b", "main"): (rounds * 2000, rounds)}
    for d in range(depths):
        expected[("leaf",) + ("rec",) * (d + 1) + ("main",)] = (rounds // depths * (3000 + d),
                                                                rounds // depths)
    for name in ("memo_walks", "memo_walks_nofp"):
        pt = peaktrace(["-q", "--exact-stacks", "--", victim(name)])
        r = pt.report
        eq(pt.returncode, 0, f"exit status ({name})")
        assert_complete(r)
        eq(r["tree"]["peak_bytes"], sum(b for b, _ in expected.values()) + 2 * rounds * 500,
           f"tree peak ({name})")
        got, from_main = {}, []
        for s in r["tree"]["stacks"]:
            names = [f["function"] for f in s["frames"]]
            eq(names[-3:], LIBC_START, f"down to _start ({name}): {names}")
            eq(s["partial"] or s["truncated"], False, f"whole stack ({name}): {names}")
            if tuple(names[:-3]) == ("leaf", "main"):
                from_main.append((s["bytes"], s["allocations"]))
            else:
                got[tuple(names[:-3])] = (s["bytes"], s["allocations"])
        eq(got, expected, f"each stack with its bytes and blocks ({name})")
        eq(from_main, [(rounds * 500, rounds)] * 2, f"main's two calls of leaf, apart ({name})")


def test_unwind_after_exec_hop():
    """The frame-pointer-less chain started through env and through a shell, allocating
    at once: the whole chain.  Its tables (and those of the library it finds through
    $ORIGIN) are read before it runs: when the launcher's command line names it, or
    else while the exec gate holds its exec (the first time it is exec'd)."""
    hidden = victim("nofp_")  # named nowhere on a command line: the exec gate holds it
    for launcher in (["/usr/bin/env", victim("nofp_main")],
                     ["/bin/sh", "-c", victim("nofp_main") + "; true"],
                     ["/bin/sh", "-c", f"P={hidden}; ${{P}}main; true"],
                     # twice: the second exec goes on without asking (the gate
                     # remembers the file it was answered about)
                     ["/bin/sh", "-c", f"P={hidden}; ${{P}}main; ${{P}}main; true"]):
        # the gate asks about every exec with the preload library (the
        # default), only about files it was not answered about without
        for opts in ([], ["--no-preload"]):
            pt = peaktrace(["-q"] + opts + ["--"] + launcher)
            r = pt.report
            eq(pt.returncode, 0, f"exit status ({launcher[0]} {opts})")
            assert_complete(r)
            s = stack_of(r["tree"]["stacks"], "chain_d")
            eq([f["function"] for f in s["frames"]][:6],
               ["chain_d", "chain_c", "chain_b", "chain_a", "run_chain", "main"],
               f"whole chain ({launcher[0]} {opts})")
            eq(s["partial"], False, f"unwound to the end ({launcher[0]} {opts})")
            eq(r["notes"]["partial_stacks"], 0, f"no stack cut short ({launcher[0]} {opts})")
