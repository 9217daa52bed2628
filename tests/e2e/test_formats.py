"""Report formats beyond the JSON, each checked by what reads it: the pprof
profile by go tool pprof and by a protobuf decoder here, the folded stacks
summed per process against the JSON's stacks.
"""
import collections
import gzip
import json
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
    """The samples ((values), {label: value}), the string table and the
    mappings ({field: value}) of a gzipped profile.proto."""
    strings, raw_samples, mappings = [], [], []
    for f, _, v in _fields(gzip.decompress(data)):
        if f == 6:
            strings.append(v.decode())
        elif f == 2:
            raw_samples.append(v)
        elif f == 3:
            mappings.append(dict((mf, mv) for mf, _, mv in _fields(v)))
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
    maps = [{"file": strings[m.get(5, 0)], "build_id": strings[m.get(6, 0)]} for m in mappings]
    return named, strings, maps


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
        samples, strings, maps = decode_pprof(open(pprof, "rb").read())
        victim_maps = [m for m in maps if m["file"] == victim("forktree")]
        eq(len(victim_maps), 1, f"the victim's mapping: {maps}")
        check(len(victim_maps[0]["build_id"]) == 40, f"its build id: {victim_maps[0]}")
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


def test_timeline_follows_a_known_shape():
    """Up 40 MiB, down, up 65 MiB, down: the timeline's maximum is the JSON's
    peak, it shows both levels, and it returns to where it started."""
    pt = peaktrace(["-q", "--", victim("shape")])
    r = pt.report
    eq(pt.returncode, 0, "exit status")
    assert_complete(r)
    t = r["timeline"]
    eq(t["interval_ns"], 20 * 1000 * 1000, "interval")
    heap, rss, ts = t["heap_bytes"], t["rss_bytes"], t["t_ns"]
    check(len(heap) > 40, f"samples over 1.5 s at 20 ms: {len(heap)}")
    eq(len(ts), len(heap), "one time per sample")
    check(all(a < b for a, b in zip(ts, ts[1:])), "times increase")
    base = heap[0]
    check(base < 1 * MiB, f"baseline before the first level: {base}")
    eq(max(heap), r["tree"]["peak_bytes"], "the timeline's maximum is the tree peak")
    eq(max(heap) - base, 65 * MiB, "the higher level")
    levels = [v - base for v in heap]
    first = levels.index(40 * MiB) if 40 * MiB in levels else -1
    second = levels.index(65 * MiB)
    check(0 < first < second, f"40 MiB held before 65 MiB: {first}, {second}")
    check(any(v == 0 for v in levels[first:second]), "down to the baseline between the levels")
    eq(heap[-1], base, "back to the baseline at the end")
    check(max(rss) >= 65 * MiB, f"RSS follows the touched blocks: {max(rss)}")
    peak_t = r["tree"]["peak_time_ns"]
    check(ts[second - 1] <= peak_t <= ts[second], f"the peak time {peak_t} falls where the "
          f"timeline reaches it ({ts[second - 1]}..{ts[second]})")
    (p,) = t["processes"]
    eq(max(p["heap_bytes"]), 65 * MiB + base, "the process's own series")


def test_timeline_stays_bounded():
    """At 1 ms a 3 s run makes more samples than are kept: pairs merge, the
    interval doubles, and the maximum (the peak) survives the merging."""
    shape = victim("shape")
    pt = peaktrace(["-q", "--interval", "1", "--", "/bin/sh", "-c", f"{shape}; {shape}"])
    r = pt.report
    t = r["timeline"]
    n = len(t["heap_bytes"])
    check(1024 <= n <= 2048, f"samples kept: {n}")
    check(t["interval_ns"] >= 2 * 1000 * 1000, f"interval doubled: {t['interval_ns']}")
    eq(max(t["heap_bytes"]), r["tree"]["peak_bytes"], "the peak survives the merging")
    check(all(p["first"] + len(p["heap_bytes"]) <= n for p in t["processes"]),
          "every process series within the samples")
    eq(max(max(p["heap_bytes"]) for p in t["processes"]), 65 * MiB,
       "a process's maximum survives too (shape's 65 MiB level)")


def test_html_report_renders_in_a_browser():
    """The page, opened from disk in headless Chromium with the network off:
    the summary's peak, the flame graph's widest allocating function, the
    timeline's peak marker, nothing fetched, no console error."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    artifacts = os.path.join(root, "build", "artifacts")
    os.makedirs(artifacts, exist_ok=True)

    def render(args, shot):
        with scratch() as d:
            html = os.path.join(d, "report.html")
            pt = peaktrace(["-q", "--html", html] + args)
            size = os.path.getsize(html)
            check(size < 200 * 1024, f"page size {size}")
            p = subprocess.run(["node", os.path.join(root, "tests", "browser", "check_html.js"),
                                html, os.path.join(artifacts, shot)],
                               capture_output=True, text=True, timeout=120)
            eq(p.returncode, 0, f"chromium run: {p.stderr[-2000:]}")
            return pt.report, json.loads(p.stdout)

    r, seen = render(["--", victim("forktree")], "html-report.png")
    assert_complete(r)
    eq(seen["errors"], [], "console errors")
    eq(seen["requests"], [], "requests other than the file")
    eq(seen["incomplete"], False, "no INCOMPLETE banner on a complete report")
    eq(seen["summaryPeakBytes"], r["tree"]["peak_bytes"], "summary: the tree's peak")
    check("40.0 MiB" in seen["summaryPeakText"], f"summary text: {seen['summaryPeakText']}")
    eq(seen["widestUnderRoot"]["name"], "child_alloc", "the widest allocating function")
    eq(seen["widestUnderRoot"]["bytes"], 30 * MiB, "its bytes at the peak")
    eq(seen["peakMarker"]["t"], r["tree"]["peak_time_ns"], "the timeline's peak marker: time")
    eq(seen["peakMarker"]["bytes"], r["tree"]["peak_bytes"], "the timeline's peak marker: bytes")
    check(seen["peakMarker"]["visible"], "the peak marker is drawn")
    eq(len(seen["views"]), 1 + sum(1 for p in r["processes"] if p["stacks"]),
       "a view for the tree's peak and for each process's own")
    check(seen["matches"] >= 1, "the search box highlights the matching frame")
    # a report with losses says so at the top, exactly then
    r, seen = render(["--max-allocs", "1024", "--no-preload", "--", victim("many")], "html-incomplete.png")
    eq(r["complete"], False, "the JSON: incomplete")
    eq(seen["incomplete"], True, "the INCOMPLETE banner")
    eq(seen["errors"], [], "console errors")
