"""Report formats beyond the JSON, each checked by what reads it: the pprof
profile by go tool pprof and by a protobuf decoder here, the folded stacks
summed per process against the JSON's stacks.
"""
import collections
import gzip
import os
import subprocess

from .lib import MiB, assert_complete, check, eq, peaktrace, scratch, victim


def _varint(b, i):
    v = shift = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7f) << shift
        shift += 7
        if c < 0x80:
            return v, i


def _fields(b):
    """(field, wire type, value) of one protobuf message; value is an int or bytes."""
    i = 0
    while i < len(b):
        k, i = _varint(b, i)
        if k & 7 == 0:
            v, i = _varint(b, i)
        elif k & 7 == 2:
            n, i = _varint(b, i)
            v, i = b[i:i + n], i + n
        else:
            raise AssertionError(f"unexpected wire type {k & 7}")
        yield k >> 3, k & 7, v


def _packed(b):
    out, i = [], 0
    while i < len(b):
        v, i = _varint(b, i)
        out.append(v)
    return out


def decode_pprof(data):
    """The samples ((values), {label: value}) and the string table of a
    gzipped profile.proto."""
    strings, raw_samples = [], []
    for f, _, v in _fields(gzip.decompress(data)):
        if f == 6:
            strings.append(v.decode())
        elif f == 2:
            raw_samples.append(v)
    samples = []
    for s in raw_samples:
        values, labels = [], {}
        for f, w, v in _fields(s):
            if f == 2:
                values += _packed(v) if w == 2 else [v]
            elif f == 3:
                lab = dict((lf, lv) for lf, _, lv in _fields(v))
                labels[lab.get(1, 0)] = lab.get(3) if 3 in lab else lab.get(2, 0)
        samples.append((tuple(values), labels))
    named = [(vals, {strings[k]: (strings[x] if strings[k] == "comm" else x)
                     for k, x in labels.items()}) for vals, labels in samples]
    return named, strings


def test_pprof_and_folded_match_the_json():
    with scratch() as d:
        pprof, folded = os.path.join(d, "peak.pb.gz"), os.path.join(d, "peak.folded")
        pt = peaktrace(["-q", "--top", "1", "--pprof", pprof, "--folded", folded, "--",
                        victim("forktree")])
        r = pt.report
        eq(pt.returncode, 0, "exit status")
        assert_complete(r)
        eq(r["tree"]["peak_bytes"], 40 * MiB, "tree peak")
        stacks = r["tree"]["stacks"]
        # the JSON is complete whatever --top says
        eq(len(stacks), r["tree"]["stacks_total"], "every stack in the JSON")
        eq(sum(s["bytes"] for s in stacks), 40 * MiB, "the JSON's stacks hold the peak")
        json_per_pid = collections.Counter()
        for s in stacks:
            json_per_pid[s["pid"]] += s["bytes"]
        comms = collections.defaultdict(set)  # a pid's images (fork, then exec)
        for p in r["processes"]:
            comms[p["pid"]].add(p["comm"])

        # folded: one line per stack, the process as the root frame
        lines = open(folded).read().splitlines()
        eq(len(lines), len(stacks), "folded lines")
        folded_per_pid = collections.Counter()
        for line in lines:
            frames, n = line.rsplit(" ", 1)
            root = frames.split(";")[0]
            comm, pid = root.rsplit(" ", 1)
            check(comm in comms[int(pid)], f"root frame of {line!r}: the comm of pid {pid}")
            folded_per_pid[int(pid)] += int(n)
        eq(dict(folded_per_pid), dict(json_per_pid), "folded bytes per process")
        child = [ln for ln in lines if ln.endswith(";child_alloc %d" % (30 * MiB))]
        eq(len(child), 1, "the exec'd child's stack, innermost frame last")
        check(";main;" in child[0], f"outer frames before it: {child[0]}")

        # pprof, decoded here: one sample per stack, exact values and labels
        samples, strings = decode_pprof(open(pprof, "rb").read())
        eq(sorted(v for v, _ in samples), sorted((s["bytes"], s["allocations"]) for s in stacks),
           "pprof samples (inuse_space, inuse_objects)")
        eq(sorted(lab["pid"] for _, lab in samples), sorted(s["pid"] for s in stacks), "pid labels")
        check(all(lab["comm"] in comms[lab["pid"]] for _, lab in samples), "comm labels")
        check("inuse_space" in strings and "child_alloc" in strings and "parent_hold" in strings,
              "sample types and functions in the string table")

        # pprof, read by go tool pprof: the same total and top function
        env = dict(os.environ, HOME=d, GOCACHE=os.path.join(d, "gocache"))
        p = subprocess.run(["go", "tool", "pprof", "-raw", pprof], capture_output=True,
                           text=True, env=env, timeout=120)
        eq(p.returncode, 0, f"go tool pprof -raw: {p.stderr}")
        raw = p.stdout.split("Samples:", 1)[1].split("Locations", 1)[0]
        values = [int(ln.split()[0]) for ln in raw.splitlines()[2:] if ln.strip()
                  and ln.split()[0].isdigit()]
        eq(sum(values), 40 * MiB, "go tool pprof: total inuse_space")
        p = subprocess.run(["go", "tool", "pprof", "-top", "-sample_index=inuse_space", pprof],
                           capture_output=True, text=True, env=env, timeout=120)
        eq(p.returncode, 0, f"go tool pprof -top: {p.stderr}")
        top = [ln.split() for ln in p.stdout.splitlines() if "%" in ln and "flat" not in ln
               and "Showing" not in ln]
        eq(top[0][-1], "child_alloc", f"go tool pprof's top function:\n{p.stdout}")
        check(any(t[-1] == "parent_hold" for t in top), f"parent_hold listed:\n{p.stdout}")
