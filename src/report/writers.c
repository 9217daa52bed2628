// SPDX-License-Identifier: GPL-2.0
/* The table of report writers (see writers.h). */
#include "report/writers.h"

const struct report_writer report_writers[] = {
	{ "text", NULL, "the summary on stderr (unless -q)", 0, report__write_text },
	{ "json", "json", "Write the JSON report to FILE (- for stdout): every stack", 1,
	  report__write_json },
	{ "pprof", "pprof", "Write the stacks at the tree peak as a gzipped pprof profile to FILE "
	  "(go tool pprof, Pyroscope, Parca)", 1, report__write_pprof },
	{ "html", "html", "Write a self-contained HTML page to FILE: summary, timeline, flame graph "
	  "of the stacks at the tree peak and at each process's own", 1, report__write_html },
	{ "folded", "folded", "Write the stacks at the tree peak as folded stacks to FILE "
	  "(flamegraph.pl, inferno, speedscope)", 1, report__write_folded },
};

const size_t report_nwriters = sizeof(report_writers) / sizeof(report_writers[0]);

_Static_assert(sizeof(report_writers) / sizeof(report_writers[0]) <= REPORT_WRITERS_MAX,
	       "raise REPORT_WRITERS_MAX");
