/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Report writers: one file each (report_<name>.c), one row each in the
 * table of writers.c.  A row with an option is written to the file that
 * option names (--json FILE); the text report is the one without, written
 * to stderr unless -q.  A new format is a new file and a new row: the
 * command line and the run pick it up from the table.
 */
#ifndef PT_WRITERS_H
#define PT_WRITERS_H

#include <stdio.h>
#include "report/report.h"

struct writer_options {
	unsigned top;		/* --top: stacks listed per view */
};

struct report_writer {
	const char *name;
	const char *option;	/* long option naming its file, or NULL */
	const char *help;	/* for --help */
	/* 1: lists every stack (its traces all symbolized); 0: the top only */
	int all_stacks;
	int (*write)(const struct report *r, FILE *out, const struct writer_options *o);
};

extern const struct report_writer report_writers[];
extern const size_t report_nwriters;
/* At most this many rows (options keep one file name per row). */
#define REPORT_WRITERS_MAX 8

int report__write_text(const struct report *r, FILE *out, const struct writer_options *o);
int report__write_json(const struct report *r, FILE *out, const struct writer_options *o);
int report__write_pprof(const struct report *r, FILE *out, const struct writer_options *o);
int report__write_html(const struct report *r, FILE *out, const struct writer_options *o);
int report__write_folded(const struct report *r, FILE *out, const struct writer_options *o);

#endif
