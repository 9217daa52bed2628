#!/usr/bin/env python3
"""Runs the whole suite: the unit tests (no root needed) given as
arguments, then the end-to-end tests (root: they load the real BPF
programs).  Prints one closing line: 'N passed, N failed'."""
import re
import subprocess
import sys
import os

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402


def main():
    passed = failed = 0
    for unit in sys.argv[1:]:
        p = subprocess.run([unit], capture_output=True, text=True)
        sys.stdout.write(p.stderr)
        m = re.search(r"(\d+) passed, (\d+) failed", p.stdout)
        ok = p.returncode == 0 and m and int(m.group(2)) == 0
        print(f"{'PASS' if ok else 'FAIL'} {os.path.basename(unit)}: "
              f"{m.group(0) if m else 'no result line'} checks", flush=True)
        passed += 1 if ok else 0
        failed += 0 if ok else 1
    p, f = e2e.main()
    passed += p
    failed += f
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
