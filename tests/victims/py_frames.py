"""Python frames at the peak, by construction (tests/e2e/test_python.py finds
the lines by their markers).  A worker thread allocates 20 MiB through
ctypes' malloc with the GIL released while a spinner thread holds it; then
Loader.load builds 5 x 10 MiB bytearrays in a list comprehension: the peak,
70 MiB.  Everything is dropped; a child Python then allocates 30 MiB at
<string>:1 and exits before the report.  Before the worker and before the
child's allocation, each waits for a byte on stdin (none at end of file):
the test sends it once peaktrace -v said it has what the stack needs."""
import ctypes
import os
import subprocess
import sys
import threading

# peaktrace reads a process's new modules when a stack walk meets one, and
# small blocks' stacks are sampled: a 1 MiB buffer that _ctypes allocates
# is walked for sure, through _ctypes, so that the tables of the modules
# ctypes mapped are read before the first wait (without it the test once
# waited 60 s for them in CI)
ctypes.create_string_buffer(1 << 20)
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
stop = False
held = []


def spin():
    n = 0
    while not stop:
        n += 1


def worker():
    held.append(libc.malloc(20 << 20))  # LINE:worker


class Loader:
    def load(self, n):
        return [bytearray(10 << 20) for _ in range(n)]  # LINE:load


def main():
    global stop
    # ctypes mapped libffi at import: peaktrace builds a module's unwind
    # table when it sees the mapping, and until then unwinds it by frame
    # pointer (ffi_call_unix64 has none).  The worker's stack must go
    # through libffi by its table: the test says when it is built.
    os.read(0, 1)
    spinner = threading.Thread(target=spin)
    spinner.start()
    w = threading.Thread(target=worker)
    w.start()
    w.join()
    stop = True
    spinner.join()
    blocks = Loader().load(5)  # LINE:main
    del blocks
    libc.free(held.pop())
    # the child's Python frames need peaktrace to have found its
    # interpreter's layout (README: a few ms after the exec; the start-up's
    # allocations wait for nobody): it allocates once the test says so,
    # still on <string>:1
    subprocess.run([sys.executable, "-c", "import os; os.read(0, 1); x = bytearray(30 << 20)"],
                   check=True)


main()  # LINE:module
