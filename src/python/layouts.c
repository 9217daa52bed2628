// SPDX-License-Identifier: GPL-2.0
/* CPython layouts and the location-table decoder (see layouts.h). */
#include "python/layouts.h"

/*
 * x86-64, default (GIL) builds.  3.11: tstate->cframe (56), cframe's
 * current_frame (8); _PyInterpreterFrame f_code 32, previous 48,
 * prev_instr 56, is_entry 68; code co_firstlineno 72, co_filename 112,
 * co_qualname 128, co_linetable 136, co_code_adaptive 184; str state 32,
 * compact ASCII data 48, other compact 72; bytes ob_size 16, ob_sval 32.
 */
static const struct py_version_layout layouts[] = {
	{ 3, 11, 592, 184,
	  { .tstate_cframe = 56, .cframe_frame = 8, .frame_code = 32, .frame_previous = 48,
	    .frame_instr = 56, .frame_entry = 68, .frame_owner = 69, .code_filename = 112,
	    .code_qualname = 128, .code_linetable = 136, .code_firstlineno = 72,
	    .str_state = 32, .str_ascii_data = 48, .str_compact_data = 72, .bytes_size = 16,
	    .bytes_data = 32, .version = 0x030b } },
};

const struct py_version_layout *py_layout__find(unsigned major, unsigned minor)
{
	for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++)
		if (layouts[i].major == major && layouts[i].minor == minor)
			return &layouts[i];
	return NULL;
}

const char *py_layout__supported(void)
{
	return "3.11";
}

static unsigned varint(const uint8_t **p, const uint8_t *end)
{
	unsigned v = 0, shift = 0, b;

	do {
		if (*p >= end || shift > 28)
			return v;
		b = *(*p)++;
		v |= (b & 63) << shift;
		shift += 6;
	} while (b & 64);
	return v;
}

/*
 * The PEP 657 location table of 3.11 to 3.13: entries start with a byte
 * whose top bit is set, (code << 3) | (code units - 1); codes 13 and 14
 * begin with a signed varint line delta, 10-12 move 0-2 lines, 15 means no
 * line, the rest keep the line.  Walked as CPython's advance() does.
 */
int py_line(const uint8_t *table, size_t len, int firstlineno, uint32_t code_adaptive,
	    uint32_t instr_off)
{
	const uint8_t *p = table, *end = table + len;
	uint32_t unit, at = 0;
	int line = firstlineno;

	if (instr_off < code_adaptive)
		return 0;
	unit = (instr_off - code_adaptive) / 2;
	while (p < end) {
		uint8_t b = *p;
		unsigned code = (b >> 3) & 15, units = (b & 7) + 1;
		const uint8_t *q = p + 1;

		if (!(b & 128))
			return 0;	/* not an entry: a table we do not understand */
		if (code == 13 || code == 14) {
			unsigned v = varint(&q, end);

			line += (v & 1) ? -(int)(v >> 1) : (int)(v >> 1);
		} else if (code >= 10 && code <= 12) {
			line += code - 10;
		}
		if (unit < at + units)
			return code == 15 ? -1 : line;
		at += units;
		for (p++; p < end && !(*p & 128); p++)
			;
	}
	return 0;
}
