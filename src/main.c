// SPDX-License-Identifier: GPL-2.0
/*
 * peaktrace: the exact heap peak of a process tree, and the stacks holding
 * memory at that moment.  main holds the lifecycle only: parse, open, start
 * the target, run, report, clean up.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include "run/launch.h"
#include "cli/options.h"
#include "util/outfile.h"
#include "run/session.h"

static volatile int stop_signal;

static void on_stop(int sig)
{
	stop_signal = sig;
}

static void install_handlers(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: the event loop's poll returns at once. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* a reader that goes away (| head) is a write error, not our death:
	 * the report file is still written (the command gets SIGPIPE back) */
	signal(SIGPIPE, SIG_IGN);
}

/* After a stop by signal, pass it on to the command and give it a moment. */
static void forward_and_wait(struct launch *l, int sig)
{
	int i;

	if (l->reaped)
		return;
	kill(l->pid, sig);
	for (i = 0; i < 200 && !launch__poll(l); i++)
		usleep(10000);
}

/*
 * What can be refused before anything loads, so that a typo is reported at
 * once: the command or pid, and the report file (created now, as a
 * temporary file, so a path that cannot be written stops us here).
 */
/*
 * peaktrace-preload.so by default for a command (options.h): a library
 * that cannot be used (not built beside peaktrace, a path LD_PRELOAD
 * cannot hold) leaves the command as with --no-preload, said unless -q.
 */
static void default_preload(struct options *o)
{
	char path[4096], err[4096 + 128];

	if (o->preload != PRELOAD_DEFAULT)
		return;
	if (launch__preload_path(path, sizeof(path), err, sizeof(err)))
		;
	else if (access(path, R_OK))
		snprintf(err, sizeof(err), "%s: %s", path, strerror(errno));
	else if (strpbrk(path, " :"))
		snprintf(err, sizeof(err), "%s: a space or a colon in its path, which LD_PRELOAD "
			 "cannot hold", path);
	else
		return;
	o->preload = 0;
	o->preload_missing = 1;
	if (!o->quiet)
		fprintf(stderr, "peaktrace: %s: the command runs without peaktrace-preload.so (as "
			"with --no-preload), each allocator call a breakpoint\n", err);
}

static int check_inputs(struct options *o, struct cgroup_scope *cg, struct outfile *out,
			char *err, size_t errlen)
{
	char path[4096];
	size_t i;
	int r;

	if (o->argv && launch__resolve(o->argv[0], path, sizeof(path))) {
		int e = errno;

		snprintf(err, errlen, "cannot run %s: %s", o->argv[0],
			 strchr(o->argv[0], '/') || e == EACCES ? strerror(e) : "command not found in PATH");
		return e == EACCES ? PT_EXIT_NOEXEC : PT_EXIT_NOTFOUND;
	}
	default_preload(o);
	if (o->cgroup && (r = scope__resolve_cgroup(o->cgroup, cg, err, errlen)))
		return r;
	if (o->pid && kill(o->pid, 0) && errno == ESRCH) {
		snprintf(err, errlen, "no process with pid %d", (int)o->pid);
		return PT_EXIT_NO_TARGET;
	}
	for (i = 0; i < report_nwriters; i++)
		if (o->out_path[i] && outfile__open(&out[i], o->out_path[i], err, errlen))
			return PT_EXIT_FAILED;
	return 0;
}

int main(int argc, char **argv)
{
	struct session *s = NULL;
	struct options o;
	struct launch l = { .pid = 0, .gate_fd = -1, .status_fd = -1 };
	struct outfile out[REPORT_WRITERS_MAX] = { { 0 } };
	struct cgroup_scope cg = { .id = 0 };
	FILE *out_f[REPORT_WRITERS_MAX];
	char err[1024] = "", path[4096];
	sigset_t stops, unblocked;
	struct rlimit nofile;
	int ret, held_stop = 0, ledger_fds[2] = { -1, -1 };
	size_t i;

	ret = options__parse(argc, argv, &o);
	if (ret >= 0)
		return ret;
	ret = check_inputs(&o, &cg, out, err, sizeof(err));
	if (ret)
		goto out;
	install_handlers();
	/* Set-up is not interrupted half-way (a system call failing with
	 * EINTR): a SIGINT or SIGTERM now is taken when it is done. */
	sigemptyset(&stops);
	sigaddset(&stops, SIGINT);
	sigaddset(&stops, SIGTERM);
	sigprocmask(SIG_BLOCK, &stops, &unblocked);
	getrlimit(RLIMIT_NOFILE, &nofile); /* the command's, before session__open raises ours */
	s = session__open(&o, &cg, err, sizeof(err));
	if (!s) {
		ret = PT_EXIT_FAILED;
		goto out;
	}
	if (o.argv) {
		/* the command inherits it: every Python object from malloc */
		if (o.python_malloc)
			setenv("PYTHONMALLOC", "malloc", 1);
		ret = session__preload(s) ?
			      launch__preload(session__preload(s), o.argv[0], err, sizeof(err)) : 0;
		if (ret < 0) {
			ret = PT_EXIT_FAILED;
			goto out;
		}
		if (ret > 0 && !o.quiet)
			fprintf(stderr, "peaktrace: %s\n", err);
		err[0] = 0;
		/* the maps go to the command only if it loads the library */
		if (!ret && session__share_ledger(s, ledger_fds, err, sizeof(err))) {
			ret = PT_EXIT_FAILED;
			goto out;
		}
		/* --json -: the report has stdout, the command's output goes to stderr */
		ret = launch__start(&l, o.argv, options__stdout_report(&o), &nofile, err, sizeof(err));
		session__unshare_ledger(ledger_fds);
		if (ret) {
			ret = PT_EXIT_FAILED;
			goto out;
		}
		if (launch__resolve(o.argv[0], path, sizeof(path)) == 0)
			session__prepare_program(s, path, o.argv + 1);
		if (session__add_gated(s, l.pid, err, sizeof(err))) {
			/* a child that vanished while held was killed from outside:
			 * reaped (after its gate is closed), its status says so */
			launch__abort(&l);
			ret = launch__killed(&l, 0, err, sizeof(err));
			if (!ret)
				ret = PT_EXIT_FAILED;
			if (!err[0])
				snprintf(err, sizeof(err), "cannot attach the probes to the command");
			goto out;
		}
		sigprocmask(SIG_SETMASK, &unblocked, NULL);
		if (stop_signal) {
			/* stopped while the command was held: it never runs, and
			 * the report (of nothing) is still written */
			launch__abort(&l);
			held_stop = 1;
		} else {
			ret = launch__release(&l, o.argv, err, sizeof(err));
			if (ret) {
				launch__abort(&l);
				goto out;
			}
		}
	} else {
		ret = o.cgroup ? session__add_cgroup(s, err, sizeof(err)) :
		      o.all ? session__add_all(s, err, sizeof(err)) :
			      session__add_running(s, o.pid, err, sizeof(err));
		sigprocmask(SIG_SETMASK, &unblocked, NULL);
		if (ret)
			goto out;
		/* for scripts that must not act before the probes are in place */
		if (o.verbose && o.pid)
			fprintf(stderr, "peaktrace: attached to pid %d\n", (int)o.pid);
	}

	session__run(s, &stop_signal, l.pid, &l.wstatus, &l.reaped);
	for (i = 0; i < REPORT_WRITERS_MAX; i++)
		out_f[i] = out[i].f;
	if (session__report(s, out_f, err, sizeof(err))) {
		ret = PT_EXIT_FAILED;
		goto out;
	}
	for (i = 0; i < REPORT_WRITERS_MAX; i++) {
		if (outfile__commit(&out[i], err, sizeof(err))) {
			ret = PT_EXIT_FAILED;
			goto out;
		}
	}
	err[0] = 0;
	if (held_stop) {
		ret = 128 + stop_signal;
	} else if (o.argv) {
		if (stop_signal)
			forward_and_wait(&l, stop_signal);
		else if (!l.reaped)
			launch__abort(&l); /* --duration: wait, untraced, for its status */
		ret = l.reaped ? launch__exit_code(&l) : 128 + stop_signal;
	} else {
		ret = PT_EXIT_OK;
	}
	session__finish(s);
	return ret;
out:
	sigprocmask(SIG_SETMASK, &unblocked, NULL);
	for (i = 0; i < REPORT_WRITERS_MAX; i++)
		outfile__abort(&out[i]);
	if (err[0])
		fprintf(stderr, "peaktrace: %s\n", err);
	/* the probes' teardown is slow: a detached child does it, as after a report */
	session__finish(s);
	return ret;
}
