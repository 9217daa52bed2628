"""What the build makes, read without loading it: the BPF object's stack.

A BPF program and the subprograms it calls (bpf_loop and bpf_find_vma
callbacks included) share 512 bytes of stack and at most 8 frames.  Kernels
that give tracing programs private stacks (x86-64, 6.13 and later, where the
JIT supports them) take big frames off that sum, others do not: peaktrace
loaded on the first kind and was refused on a 6.18 that had none ('combined
stack size of 6 calls is 688. Too large').  This reads the object as the
verifier does (each frame's deepest r10 offset, rounded up to 32 as
kernels before private stacks do) and asserts every program's deepest chain fits without private stacks,
so that a change that would only load on some kernels fails here.
"""
import functools
import os
import re
import subprocess

from .lib import ROOT, check

BPF_OBJECT = os.path.join(ROOT, "build", "peaktrace.bpf.o")
MAX_BPF_STACK = 512
MAX_CALL_FRAMES = 8


def _run(*argv):
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout


def bpf_call_graph(obj):
    """{function: (stack bytes, {callees})} and the programs' names."""
    sections = {m.group(1): m.group(2) for m in
                re.finditer(r"^\s*\[\s*(\d+)\]\s+(\S+)", _run("llvm-readelf", "-SW", obj), re.M)}
    funcs, at = {}, {}
    for line in _run("llvm-readelf", "-sW", obj).splitlines():
        f = line.split()
        if len(f) >= 8 and f[3] == "FUNC":
            sec, start = sections.get(f[6]), int(f[1], 16) // 8
            funcs[f[7]] = (sec, start, start + int(f[2]) // 8)
            at[(sec, start)] = f[7]
    insns, sec = {}, None
    lines = _run("llvm-objdump", "-dr", "--no-show-raw-insn", obj).splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^Disassembly of section (\S+):", line)
        if m:
            sec = m.group(1)
            continue
        m = re.match(r"^\s*(\d+):\t(.*)", line)
        if m and sec:
            reloc = re.search(r"R_BPF_64_(32|64)\s+(\S+)", lines[i + 1] if i + 1 < len(lines) else "")
            insns.setdefault(sec, []).append((int(m.group(1)), m.group(2).strip(), reloc))
    graph = {}
    for name, (sec, start, end) in funcs.items():
        depth, callees = 0, set()
        for idx, text, reloc in insns.get(sec, []):
            if not start <= idx < end:
                continue
            for off in re.findall(r"r10 (?:- |\+= -)(\d+)", text):
                depth = max(depth, int(off))
            call = re.fullmatch(r"call (-?\d+)", text)
            if call and reloc and reloc.group(1) == "32" and reloc.group(2) in funcs:
                callees.add(reloc.group(2))		# a global function
            elif call and not reloc and (sec, idx + 1 + int(call.group(1))) in at:
                callees.add(at[(sec, idx + 1 + int(call.group(1)))])  # a static one
            imm = re.search(r"= (\d+) ll$", text)
            if imm and reloc and reloc.group(1) == "64" and reloc.group(2) == ".text":
                cb = at.get((".text", int(imm.group(1)) // 8))	# a callback's address
                if cb:
                    callees.add(cb)
        # the verifier's rounding before private stacks (and without a
        # JIT): max(depth, 1) up to 32; the JIT's, later, up to 16
        graph[name] = ((max(depth, 1) + 31) // 32 * 32, callees)
    programs = [n for n, (sec, _, _) in funcs.items() if sec != ".text"]
    return graph, programs


def test_bpf_stack_fits_without_private_stacks():
    graph, programs = bpf_call_graph(BPF_OBJECT)
    check(len(programs) >= 8, f"programs found in {BPF_OBJECT}: {programs}")

    @functools.lru_cache(None)
    def deepest(f):
        """(bytes, chain) of the deepest chain of calls from f."""
        below = max((deepest(c) for c in graph[f][1]), default=(0, ()))
        return graph[f][0] + below[0], (f"{f}:{graph[f][0]}",) + below[1]

    for p in programs:
        total, chain = deepest(p)
        check(total <= MAX_BPF_STACK,
              f"{p}: {total} bytes of stack through {' -> '.join(chain)} (at most {MAX_BPF_STACK} "
              "without private stacks: move big locals to a per-CPU scratch map or out of the chain)")
        check(len(chain) <= MAX_CALL_FRAMES,
              f"{p}: {len(chain)} frames deep through {' -> '.join(chain)} (at most {MAX_CALL_FRAMES})")
    # the graph is read whole: the allocator probe reaches the unwinder's
    # mapping lookup and the tables' walks, which stack and callbacks lead to
    reached, todo = set(), ["pt_probe"]
    while todo:
        f = todo.pop()
        if f not in reached:
            reached.add(f)
            todo.extend(graph[f][1])
    for f in ("heap_alloc", "stack_id_current", "unwind_native", "unwind_find_vma",
              "unwind_vma_found", "block_find_in", "pt_block_probe_step"):
        check(f in reached, f"pt_probe's calls, as read from {BPF_OBJECT}, miss {f}")
