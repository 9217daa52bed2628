"""End-to-end tests: run the real peaktrace (real BPF programs) on victims
whose peaks are known by construction, and assert exact figures from the
JSON report.  Needs root and a kernel with BTF; without them every test
fails and says why (none is skipped).

One module per theme, test_<theme>.py, each with its test_* functions;
lib.py holds what they share.  main() runs them all (or those selected), in
the order of their names, whatever their theme.
"""
import importlib
import os
import pkgutil
import time

from .lib import PEAKTRACE, Failure, end_unfinished_runs


def _discover():
    """{theme: [test functions]}, from every test_<theme>.py of this package."""
    themes, seen = {}, {}
    for m in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if not m.name.startswith("test_"):
            continue
        module = importlib.import_module(f"{__name__}.{m.name}")
        tests = [v for k, v in sorted(vars(module).items())
                 if k.startswith("test_") and callable(v) and v.__module__ == module.__name__]
        for t in tests:
            if t.__name__ in seen:
                raise RuntimeError(f"{t.__name__} in both {seen[t.__name__]} and {m.name}")
            seen[t.__name__] = m.name
        themes[m.name[len("test_"):]] = tests
    return themes


THEMES = _discover()
TESTS = sorted((t for tests in THEMES.values() for t in tests), key=lambda t: t.__name__)


def theme_of(test):
    return test.__module__.rsplit(".test_", 1)[1]


def theme_named(pattern):
    """The theme pattern names ('rss' or 'test_rss'), or None."""
    name = pattern[len("test_"):] if pattern.startswith("test_") else pattern
    return name if name in THEMES else None


def selected(test, only):
    """Whether the patterns of only select test: a pattern naming a theme
    selects that theme, any other one the tests whose names contain it.
    No patterns: every test."""
    return not only or any(theme_of(test) == theme_named(p) if theme_named(p) else p in test.__name__
                           for p in only)


def preflight():
    """Root and BTF are needed: say so instead of skipping."""
    problems = []
    if os.geteuid() != 0:
        problems.append("not running as root: the end-to-end tests load BPF programs (run: sudo make test)")
    if not os.path.exists("/sys/kernel/btf/vmlinux"):
        problems.append("no /sys/kernel/btf/vmlinux: this kernel has no BTF")
    if not os.access(PEAKTRACE, os.X_OK):
        problems.append(f"{PEAKTRACE} is not built (run: make)")
    return problems


def main(only=None):
    """Runs the tests only selects (a pattern or a list of them; see
    selected()), printing a PASS or FAIL line for each; returns (passed, failed)."""
    if isinstance(only, str):
        only = [only]
    problems = preflight()
    passed = failed = 0
    for t in TESTS:
        if not selected(t, only):
            continue
        start = time.time()
        try:
            if problems:
                raise Failure("; ".join(problems))
            t()
            passed += 1
            print(f"PASS {t.__name__} ({time.time() - start:.1f}s)", flush=True)
        except Exception as e:  # a broken test is a failure too
            failed += 1
            print(f"FAIL {t.__name__}: {type(e).__name__}: {e}", flush=True)
        finally:
            end_unfinished_runs()
    return passed, failed
