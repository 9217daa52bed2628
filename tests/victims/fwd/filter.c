// SPDX-License-Identifier: GPL-2.0
/*
 * A library that defines no malloc itself but is an auxiliary filter of
 * libfwd.so (-Wl,--auxiliary): the loader searches libfwd.so before it,
 * so preloaded, it brings a malloc of libfwd.so's all the same.
 */
int filter_marker(void)
{
	return 1;
}
