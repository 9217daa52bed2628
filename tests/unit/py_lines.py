"""Dumps, for every code object of some standard modules, its first line,
line table and co_lines(), for test_pylines.c to decode and compare:
  C <firstlineno> <linetable hex>
  R <start byte> <end byte> <line, -1 for none>"""
import importlib
import sys


def walk(code):
    yield code
    for c in code.co_consts:
        if hasattr(c, "co_lines"):
            yield from walk(c)


for name in ("json.decoder", "ast", "typing", "email.message", "argparse", "collections"):
    mod = importlib.import_module(name)
    with open(mod.__file__) as f:
        top = compile(f.read(), mod.__file__, "exec")
    for code in walk(top):
        print("C", code.co_firstlineno, code.co_linetable.hex() or "-")
        for start, end, line in code.co_lines():
            print("R", start, end, -1 if line is None else line)
sys.stdout.flush()
