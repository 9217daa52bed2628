// SPDX-License-Identifier: GPL-2.0
/* CPython layouts and the location-table decoder (see layouts.h). */
#include <stdio.h>
#include <string.h>
#include "python/layouts.h"

/*
 * x86-64, default (GIL) builds, from ../shared/PYTHON.md (offsetof against
 * the internal headers, then read live).  3.11: tstate->cframe (56),
 * cframe's current_frame (8); _PyInterpreterFrame f_code 32, previous 48,
 * prev_instr 56, is_entry 68; code co_firstlineno 72, co_filename 112,
 * co_qualname 128, co_linetable 136, co_code_adaptive 184; str state 32,
 * compact ASCII data 48, other compact 72; bytes ob_size 16, ob_sval 32.
 * 3.12: cframe's current_frame at 0, frames begin with f_code and
 * previous, entries are marked by shim frames (owner 3, at 70), code and
 * str headers shrank.  3.13: the starting point for _Py_DebugOffsets
 * (py_layout__from_debug), which the interpreter carries itself.
 */
static const struct py_version_layout layouts[] = {
	{ 3, 11, 592, 184,
	  { .tstate_cframe = 56, .cframe_frame = 8, .frame_code = 32, .frame_previous = 48,
	    .frame_globals = 8,
	    .frame_instr = 56, .frame_entry = 68, .frame_owner = 69, .code_filename = 112,
	    .code_qualname = 128, .code_linetable = 136, .code_firstlineno = 72,
	    .str_state = 32, .str_ascii_data = 48, .str_compact_data = 72, .bytes_size = 16,
	    .bytes_data = 32, .version = 0x030b } },
	{ 3, 12, 1544, 192,
	  { .tstate_cframe = 56, .cframe_frame = 0, .frame_code = 0, .frame_previous = 8,
	    .frame_globals = 24,
	    .frame_instr = 56, .frame_owner = 70, .shim_owner = 3, .code_filename = 112,
	    .code_qualname = 128, .code_linetable = 136, .code_firstlineno = 68,
	    .str_state = 32, .str_ascii_data = 40, .str_compact_data = 56, .bytes_size = 16,
	    .bytes_data = 32, .version = 0x030c } },
	{ 3, 13, 2160, 200,
	  { .tstate_cframe = 0, .cframe_frame = 72, .frame_code = 0, .frame_previous = 8,
	    .frame_globals = 24,
	    .frame_instr = 56, .frame_owner = 70, .shim_owner = 3, .code_filename = 112,
	    .code_qualname = 128, .code_linetable = 136, .code_firstlineno = 68,
	    .str_state = 32, .str_ascii_data = 40, .str_compact_data = 56, .bytes_size = 16,
	    .bytes_data = 32, .version = 0x030d } },
};

/*
 * 3.13's _Py_DebugOffsets (at _PyRuntime, from the file's initialised
 * data): the u64 fields after the 8-byte cookie, by position in 3.13's
 * struct.  Later versions add fields, so their positions are not these.
 */
enum {
	DBG_VERSION = 0, DBG_FREE_THREADED = 1, DBG_TSTATE_FRAME = 22, DBG_FRAME_PREVIOUS = 28,
	DBG_FRAME_CODE = 29, DBG_FRAME_INSTR = 30, DBG_FRAME_OWNER = 32, DBG_CODE_FILENAME = 34,
	DBG_CODE_QUALNAME = 36, DBG_CODE_LINETABLE = 37, DBG_CODE_FIRSTLINENO = 38,
	DBG_CODE_ADAPTIVE = 42, DBG_BYTES_SIZE = 64, DBG_BYTES_DATA = 65, DBG_STR_STATE = 67,
	DBG_STR_ASCII_SIZE = 69, DBG_FIELDS = 70,
};

int py_layout__from_debug(const void *runtime, size_t len, uint32_t py_version,
			  struct py_version_layout *out, char *why, size_t whylen)
{
	const struct py_version_layout *base = py_layout__find(3, 13);
	uint64_t v[DBG_FIELDS];
	struct pt_py_layout *L = &out->bpf;

	if (len < 8 + sizeof(v) || memcmp(runtime, "xdebugpy", 8)) {
		snprintf(why, whylen, "no _Py_DebugOffsets at _PyRuntime (cookie missing)");
		return -1;
	}
	memcpy(v, (const char *)runtime + 8, sizeof(v));
	if ((uint32_t)v[DBG_VERSION] != py_version) {
		snprintf(why, whylen, "_Py_DebugOffsets says version %#llx, Py_Version %#x",
			 (unsigned long long)v[DBG_VERSION], py_version);
		return -1;
	}
	if (v[DBG_FREE_THREADED]) {
		snprintf(why, whylen, "a free-threaded build (frames are kept another way): "
			 "not supported");
		return -1;
	}
	*out = *base;
	L->cframe_frame = (uint32_t)v[DBG_TSTATE_FRAME];
	L->frame_previous = (uint32_t)v[DBG_FRAME_PREVIOUS];
	L->frame_code = (uint32_t)v[DBG_FRAME_CODE];
	L->frame_instr = (uint32_t)v[DBG_FRAME_INSTR];
	L->frame_owner = (uint32_t)v[DBG_FRAME_OWNER];
	L->code_filename = (uint32_t)v[DBG_CODE_FILENAME];
	L->code_qualname = (uint32_t)v[DBG_CODE_QUALNAME];
	L->code_linetable = (uint32_t)v[DBG_CODE_LINETABLE];
	L->code_firstlineno = (uint32_t)v[DBG_CODE_FIRSTLINENO];
	out->code_adaptive = (uint32_t)v[DBG_CODE_ADAPTIVE];
	L->bytes_size = (uint32_t)v[DBG_BYTES_SIZE];
	L->bytes_data = (uint32_t)v[DBG_BYTES_DATA];
	L->str_state = (uint32_t)v[DBG_STR_STATE];
	L->str_ascii_data = (uint32_t)v[DBG_STR_ASCII_SIZE];
	/* a compact non-ASCII str adds utf8_length and utf8 */
	L->str_compact_data = L->str_ascii_data + 16;
	return py_layout__fits(L) ? 0 : (snprintf(why, whylen, "_Py_DebugOffsets gives offsets "
						   "beyond what peaktrace reads"), -1);
}

/* Every offset within what BPF reads (bpf/unwind/python.bpf.h). */
int py_layout__fits(const struct pt_py_layout *L)
{
	return L->cframe_frame < 4096 && L->tstate_cframe < 4096 &&
	       L->frame_code + 8 <= PT_PY_FRAME_READ && L->frame_previous + 8 <= PT_PY_FRAME_READ &&
	       L->frame_instr + 8 <= PT_PY_FRAME_READ && L->frame_owner < PT_PY_FRAME_READ &&
	       L->frame_entry < PT_PY_FRAME_READ && L->frame_globals + 8 <= PT_PY_FRAME_READ &&
	       L->code_filename + 8 <= PT_PY_CODE_READ &&
	       L->code_qualname + 8 <= PT_PY_CODE_READ &&
	       L->code_linetable + 8 <= PT_PY_CODE_READ &&
	       L->code_firstlineno + 4 <= PT_PY_CODE_READ && L->str_state + 4 <= 48 &&
	       L->bytes_size + 8 <= 48 && L->str_ascii_data < 256 && L->str_compact_data < 256 &&
	       L->bytes_data < 256;
}

const struct py_version_layout *py_layout__find(unsigned major, unsigned minor)
{
	for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++)
		if (layouts[i].major == major && layouts[i].minor == minor)
			return &layouts[i];
	return NULL;
}

const char *py_layout__supported(void)
{
	return "3.11, 3.12 and 3.13";
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
