// SPDX-License-Identifier: GPL-2.0
/*
 * A dynamic program whose interpreter is slow_loader (linked with
 * --dynamic-linker): its own code never runs, the loader's does.
 */
int main(void)
{
	return 0;
}
