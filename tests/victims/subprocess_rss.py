# Exact RSS followed through Python's subprocess, which starts the child
# with vfork (CLONE_VM): touch 16 MiB, run /bin/true, touch 200 MiB more.
# Prints the kernel's exact anonymous RSS at the peak: anon_kb_peak <KiB>
import subprocess

a = b"x" * (16 << 20)
subprocess.run(["/bin/true"], check=True)
b = b"y" * (200 << 20)
with open("/proc/self/smaps_rollup") as f:
    kb = [line.split()[1] for line in f if line.startswith("Anonymous:")][0]
print("anon_kb_peak", kb, flush=True)
