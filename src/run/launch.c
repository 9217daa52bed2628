// SPDX-License-Identifier: GPL-2.0
/* fork, hold at a gate, exec; and the exit status of what ran. */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include "files/elffile.h"
#include "run/launch.h"
#include "util/ldpreload.h"
#include "cli/options.h"

int launch__start(struct launch *l, char **argv, int stdout_to_stderr,
		  const struct rlimit *nofile, char *err, size_t errlen)
{
	int gate[2], status[2];

	memset(l, 0, sizeof(*l));
	l->gate_fd = l->status_fd = -1;
	if (pipe2(gate, O_CLOEXEC) || pipe2(status, O_CLOEXEC)) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	l->pid = fork();
	if (l->pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		return -1;
	}
	if (l->pid == 0) {
		sigset_t none;
		char c;
		int e;

		close(gate[1]);
		close(status[0]);
		/* EOF without a byte: peaktrace gave up; never run CMD untraced. */
		if (read(gate[0], &c, 1) != 1)
			_exit(PT_EXIT_FAILED);
		/* peaktrace blocks SIGINT/SIGTERM while it sets up: not CMD */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (stdout_to_stderr && dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
			_exit(PT_EXIT_FAILED);
		signal(SIGPIPE, SIG_DFL); /* ignored in peaktrace, not in CMD */
		if (nofile)	/* peaktrace raised its own for the perf events */
			setrlimit(RLIMIT_NOFILE, nofile);
		execvp(argv[0], argv);
		e = errno;
		if (write(status[1], &e, sizeof(e)) < 0)
			_exit(PT_EXIT_FAILED);
		_exit(e == ENOENT ? PT_EXIT_NOTFOUND : PT_EXIT_NOEXEC);
	}
	close(gate[0]);
	close(status[1]);
	l->gate_fd = gate[1];
	l->status_fd = status[0];
	return 0;
}

int launch__release(struct launch *l, char **argv, char *err, size_t errlen)
{
	ssize_t n;
	int e = 0;

	if (write(l->gate_fd, "g", 1) != 1) {
		int e = errno, code = launch__killed(l, 1, err, errlen);

		if (code)
			return code;
		snprintf(err, errlen, "cannot release the command: %s", strerror(e));
		return PT_EXIT_FAILED;
	}
	close(l->gate_fd);
	l->gate_fd = -1;
	do
		n = read(l->status_fd, &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(l->status_fd);
	l->status_fd = -1;
	if (n != sizeof(e))
		return 0;
	snprintf(err, errlen, "cannot run %s: %s", argv[0], strerror(e));
	return e == ENOENT ? PT_EXIT_NOTFOUND : PT_EXIT_NOEXEC;
}

int launch__killed(struct launch *l, int wait, char *err, size_t errlen)
{
	if (!l->reaped && waitpid(l->pid, &l->wstatus, wait ? 0 : WNOHANG) == l->pid)
		l->reaped = 1;
	if (!l->reaped || !WIFSIGNALED(l->wstatus))
		return 0;
	snprintf(err, errlen, "the command's process (pid %d) was killed by signal %d before it "
		 "could start", (int)l->pid, WTERMSIG(l->wstatus));
	return 128 + WTERMSIG(l->wstatus);
}

void launch__abort(struct launch *l)
{
	if (l->gate_fd >= 0)
		close(l->gate_fd);
	if (l->status_fd >= 0)
		close(l->status_fd);
	l->gate_fd = l->status_fd = -1;
	if (l->pid > 0 && !l->reaped) {
		waitpid(l->pid, &l->wstatus, 0);
		l->reaped = 1;
	}
}

int launch__poll(struct launch *l)
{
	if (l->reaped)
		return 1;
	if (waitpid(l->pid, &l->wstatus, WNOHANG) == l->pid)
		l->reaped = 1;
	return l->reaped;
}

int launch__exit_code(const struct launch *l)
{
	if (WIFEXITED(l->wstatus))
		return WEXITSTATUS(l->wstatus);
	if (WIFSIGNALED(l->wstatus))
		return 128 + WTERMSIG(l->wstatus);
	return PT_EXIT_FAILED;
}

/*
 * Runtimes that stop the program unless they come first in the loader's
 * list (AddressSanitizer's, as built by GCC or Clang: "ASan runtime does
 * not come first in initial library list"), as ASan itself matches them.
 */
static const char *const first_runtimes[] = { "libasan.so", "libclang_rt.asan", NULL };

int launch__first_runtime(const char *path, char *rt, size_t len)
{
	struct elf_file f;
	int first = !elf_file__open(&f, path, 0, 0) && elf_file__needs(&f, first_runtimes, rt, len);

	elf_file__close(&f);
	return first;
}

/* AddressSanitizer's flag that makes its runtime stop a program whose
 * first library is not itself, and the setting that turns it off. */
#define ASAN_ORDER_FLAG "verify_asan_link_order="
#define ASAN_ORDER_OFF ASAN_ORDER_FLAG "0"

int launch__asan_order_unchecked(const char *opts)
{
	static const char seps[] = " \t\n\r,:";
	const char *p = opts, *name, *v;
	size_t n, vlen;
	int off = 0;

	/* name=value pairs, as its flag parser reads them (a value may be
	 * quoted); the last setting of the flag wins */
	while (p && *p) {
		p += strspn(p, seps);
		name = p;
		p += strcspn(p, "=");
		if (!*p)
			break;
		n = (size_t)(p - name);
		v = ++p;
		if (*v == '"' || *v == '\'') {
			p = strchr(v + 1, *v);
			if (!p)
				break;
			vlen = (size_t)(p - v - 1);
			v++;
			p++;
		} else {
			vlen = strcspn(v, seps);
			p = v + vlen;
		}
		if (n == strlen(ASAN_ORDER_FLAG) - 1 && !strncmp(name, ASAN_ORDER_FLAG, n))
			off = (vlen == 1 && !strncmp(v, "0", 1)) || (vlen == 2 && !strncmp(v, "no", 2)) ||
			      (vlen == 5 && !strncmp(v, "false", 5));
	}
	return off;
}

/* Sets name to old (if any) and then item, colon-separated: the one entry
 * of name the command gets.  0, or -1 with a message. */
static int env_append(const char *name, const char *old, const char *item, char *err,
		      size_t errlen)
{
	size_t n = (old ? strlen(old) : 0) + strlen(item) + 2;
	char *v = malloc(n);
	int r;

	if (!v) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	snprintf(v, n, "%s%s%s", old && *old ? old : "", old && *old ? ":" : "", item);
	r = unsetenv(name) ?: setenv(name, v, 1);
	free(v);
	if (r)
		snprintf(err, errlen, "cannot set %s for peaktrace-preload.so: %s", name,
			 strerror(errno));
	return r ? -1 : 0;
}

/* The user's ASAN_OPTIONS and then ASAN_ORDER_OFF, for the command: with
 * peaktrace-preload.so first in LD_PRELOAD, an AddressSanitizer program
 * it exec's would stop at its start otherwise.  The library forwards that
 * program's calls to ASan's allocator (src/preload/next.c), whose checks
 * stay whole.  0, or -1 with a message. */
static int asan_order_off(char *err, size_t errlen)
{
	const char *old = getenv("ASAN_OPTIONS");

	if (launch__asan_order_unchecked(old))
		return 0;
	return env_append("ASAN_OPTIONS", old, ASAN_ORDER_OFF, err, errlen);
}

int launch__preload_path(char *path, size_t len, char *err, size_t errlen)
{
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (n <= 0) {
		snprintf(err, errlen, "cannot read /proc/self/exe to find peaktrace-preload.so: %s",
			 strerror(errno));
		return -1;
	}
	exe[n] = 0;
	slash = strrchr(exe, '/');
	if (slash)
		*slash = 0;
	if ((size_t)snprintf(path, len, "%s/peaktrace-preload.so", exe) >= len) {
		snprintf(err, errlen, "the path of peaktrace's directory is too long for "
			 "peaktrace-preload.so's");
		return -1;
	}
	return 0;
}

int launch__preload(const char *lib, const char *cmd, char *err, size_t errlen)
{
	/* the loader reads the last LD_PRELOAD of an environment, getenv()
	 * the first: the last is kept, and is the only one the command gets */
	const char *old = ldpreload__getenv();
	char path[4096];

	if (launch__resolve(cmd, path, sizeof(path)) == 0) {
		char rt[256];

		if (launch__first_runtime(path, rt, sizeof(rt))) {
			snprintf(err, errlen, "%s needs %s, which stops it unless it comes first "
				 "in LD_PRELOAD: it runs without peaktrace-preload.so (as with "
				 "--no-preload), each allocator call a breakpoint", cmd, rt);
			return 1;
		}
	}
	/* build/platform/$PLATFORM/...: a 32-bit program loads an empty one */
	if (ldpreload__entry_for(path, sizeof(path), lib)) {
		snprintf(err, errlen, "the path of %s is too long for LD_PRELOAD", lib);
		return -1;
	}
	/* the loader splits the list at spaces and colons: a path holding one
	 * would be read as two */
	if (strpbrk(path, " :")) {
		snprintf(err, errlen, "%s has a space or a colon in its path, which "
			 "LD_PRELOAD cannot hold; move peaktrace elsewhere, or use --no-preload", path);
		return -1;
	}
	/* after what the user preloads: an allocator of theirs stays theirs
	 * (peaktrace-preload.so is then not first, and glibc is probed) */
	if (env_append("LD_PRELOAD", old, path, err, errlen))
		return -1;
	return asan_order_off(err, errlen);
}

/* execvp's search, to look at the file before it runs. */
int launch__resolve(const char *cmd, char *out, size_t outlen)
{
	const char *path = getenv("PATH"), *p;

	if (strchr(cmd, '/')) {
		snprintf(out, outlen, "%s", cmd);
		return access(out, X_OK);
	}
	if (!path)
		path = "/usr/local/bin:/bin:/usr/bin";
	for (p = path; *p;) {
		const char *end = strchrnul(p, ':');

		snprintf(out, outlen, "%.*s/%s", (int)(end - p), end == p ? "." : p, cmd);
		if (access(out, X_OK) == 0)
			return 0;
		p = *end ? end + 1 : end;
	}
	return -1;
}

int launch__exe_kind(const char *cmd)
{
	char path[PATH_MAX];
	size_t i, n;
	GElf_Phdr ph;
	int ret = LAUNCH_EXE_STATIC;
	struct elf_file f;

	if (launch__resolve(cmd, path, sizeof(path)))
		return -1;
	if (elf_file__open(&f, path, 0, 0)) {
		if (f.fd < 0)
			return -1;
		elf_file__close(&f);
		return LAUNCH_EXE_UNKNOWN; /* a script, say: its interpreter decides */
	}
	if (elf_getphdrnum(f.elf, &n))
		ret = LAUNCH_EXE_UNKNOWN;
	else if (!elf_file__x86_64(&f))
		ret = LAUNCH_EXE_FOREIGN;
	for (i = 0; ret == LAUNCH_EXE_STATIC && i < n; i++)
		if (gelf_getphdr(f.elf, i, &ph) && ph.p_type == PT_INTERP)
			ret = LAUNCH_EXE_DYNAMIC;
	elf_file__close(&f);
	return ret;
}
