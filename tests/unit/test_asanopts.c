// SPDX-License-Identifier: GPL-2.0
/* AddressSanitizer's options read as its own flag parser reads them: does
 * the last verify_asan_link_order setting turn its link-order check off? */
#include "check.h"
#include "run/launch.h"

int main(void)
{
	CHECK_U64(launch__asan_order_unchecked(NULL), 0);
	CHECK_U64(launch__asan_order_unchecked(""), 0);
	CHECK_U64(launch__asan_order_unchecked("verify_asan_link_order=0"), 1);
	CHECK_U64(launch__asan_order_unchecked("detect_leaks=1:verify_asan_link_order=0"), 1);
	CHECK_U64(launch__asan_order_unchecked("verify_asan_link_order=0,verify_asan_link_order=1"), 0);
	CHECK_U64(launch__asan_order_unchecked("verify_asan_link_order=1 verify_asan_link_order=false"), 1);
	CHECK_U64(launch__asan_order_unchecked("verify_asan_link_order=no"), 1);
	/* not values its parser takes for false */
	CHECK_U64(launch__asan_order_unchecked("verify_asan_link_order=f"), 0);
	CHECK_U64(launch__asan_order_unchecked("verify_asan_link_order=00"), 0);
	/* another flag's name ending like it; a quoted value holding it */
	CHECK_U64(launch__asan_order_unchecked("xverify_asan_link_order=0"), 0);
	CHECK_U64(launch__asan_order_unchecked("log_path='a:verify_asan_link_order=0'"), 0);
	CHECK_U64(launch__asan_order_unchecked("log_path=\"q\" verify_asan_link_order=\"0\""), 1);
	return check_report("test_asanopts");
}
