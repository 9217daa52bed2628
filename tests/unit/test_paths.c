// SPDX-License-Identifier: GPL-2.0
/* Source paths normalized and shortened. */
#include <string.h>
#include "check.h"
#include "util/paths.h"

static const char *norm(const char *in)
{
	static char buf[256];

	snprintf(buf, sizeof(buf), "%s", in);
	path__normalize(buf);
	return buf;
}

int main(void)
{
	char b[64];

	CHECK_STR(norm("/build/reproducible-path/python3.11-3.11.2/build-static/../Objects/methodobject.c"),
		  "/build/reproducible-path/python3.11-3.11.2/Objects/methodobject.c");
	CHECK_STR(norm("/a//b/./c/"), "/a/b/c");
	CHECK_STR(norm("/a/b/../../.."), "/");
	CHECK_STR(norm("/.."), "/");
	CHECK_STR(norm("a/../../b"), "../b");
	CHECK_STR(norm("../../x/../y"), "../../y");
	CHECK_STR(norm("./"), ".");
	CHECK_STR(norm("a/b/.."), "a");
	CHECK_STR(norm("/"), "/");
	CHECK_STR(path__tail("/short/x.c", 20, b, sizeof(b)), "/short/x.c");
	CHECK_STR(path__tail("/build/reproducible-path/python3.11/Objects/methodobject.c", 30, b,
			     sizeof(b)), ".../Objects/methodobject.c");
	CHECK_STR(path__tail("/a/averyveryverylongfilenamethatdoesnotfit.c", 10, b, sizeof(b)),
		  ".../averyveryverylongfilenamethatdoesnotfit.c");
	return check_report("test_paths");
}
