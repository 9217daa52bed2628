#!/usr/bin/env python3
"""Runs the whole suite: the unit tests (no root needed) given as
arguments, then the end-to-end tests of tests/e2e/ (root: they load the
real BPF programs).  Prints one closing line: 'N passed, N failed'.

    python3 tests/run.py [--only PATTERN]... [--list] [UNIT_BINARY]...

--only runs what a pattern selects: a theme of tests/e2e/ (rss, or
test_rss), 'unit' for the unit binaries, or else the tests and unit
binaries whose names contain it.  --list prints every test by theme.
"""
import argparse
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402


def unit_selected(unit, only):
    return not only or any(p == "unit" or (not e2e.theme_named(p) and p in os.path.basename(unit))
                           for p in only)


def main():
    ap = argparse.ArgumentParser(description="Runs the unit binaries given, then the end-to-end tests.")
    ap.add_argument("units", nargs="*", metavar="UNIT_BINARY")
    ap.add_argument("--only", action="append", metavar="PATTERN",
                    help="a theme (heap, rss, ...; 'unit'), or part of a test's name; repeatable")
    ap.add_argument("--list", action="store_true", help="list the end-to-end tests by theme")
    args = ap.parse_args()
    if args.list:
        for theme, tests in e2e.THEMES.items():
            print(f"{theme}: " + " ".join(t.__name__ for t in tests))
        return 0
    units = [u for u in args.units if unit_selected(u, args.only)]
    if args.only and not units and not any(e2e.selected(t, args.only) for t in e2e.TESTS):
        print(f"no test matches {' '.join(args.only)} (themes: {' '.join(e2e.THEMES)}, unit)")
        return 2
    passed = failed = 0
    for unit in units:
        p = subprocess.run([unit], capture_output=True, text=True)
        sys.stdout.write(p.stderr)
        m = re.search(r"(\d+) passed, (\d+) failed", p.stdout)
        ok = p.returncode == 0 and m and int(m.group(2)) == 0
        print(f"{'PASS' if ok else 'FAIL'} {os.path.basename(unit)}: "
              f"{m.group(0) if m else 'no result line'} checks", flush=True)
        passed += 1 if ok else 0
        failed += 0 if ok else 1
    p, f = e2e.main(args.only)
    passed += p
    failed += f
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
