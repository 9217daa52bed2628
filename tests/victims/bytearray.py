# A 64 MiB bytearray made in a Python function, for the native stack at the
# peak: from the allocation through the interpreter to the start-up frames.
def make_big():
    return bytearray(64 * 1024 * 1024)


def outer():
    return len(make_big())


outer()
