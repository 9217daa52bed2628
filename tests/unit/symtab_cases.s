/* Symbols laid out for tests/unit/test_symtab.c: each case is one where
 * libdw's choice depends on the order of its table, on sizes or on
 * bindings (built by the Makefile into symtab_cases.so, -nostdlib). */
	.text
/* a local symbol inside a global one: libdw keeps the global one, found
 * in its first pass, though the local one is closer */
	.globl outer
	.type outer,@function
outer:
	.fill 16,1,0x90
inner:
	.fill 48,1,0x90
	.size outer, 64
	.type inner,@function
	.size inner, 8

/* two globals at one address: the smaller one */
	.globl big
	.type big,@function
	.globl small
	.type small,@function
big:
small:
	.fill 64,1,0x90
	.size big, 64
	.size small, 16

/* a weak symbol inside a farther global one */
	.globl g
	.type g,@function
	.weak w
	.type w,@function
g:
	.fill 32,1,0x90
w:
	.fill 32,1,0x90
	.size w, 8
	.size g, 64

/* labels only: a local and a global at one address */
	.fill 16,1,0x90
	.globl glab
llab:
glab:
	.fill 32,1,0x90

/* a static function covered by no global: libdw's second pass */
	.type static_fn,@function
static_fn:
	.fill 32,1,0x90
	.size static_fn, 32

/* a global label in the middle of a static function */
	.type static_two,@function
static_two:
	.fill 16,1,0x90
	.globl mid_label
mid_label:
	.fill 16,1,0x90
	.size static_two, 32

/* a weak and a global of one size at one address, and a local beside */
	.weak wk
	.type wk,@function
	.globl gb
	.type gb,@function
	.type lc,@function
wk:
gb:
lc:
	.fill 24,1,0x90
	.size wk, 24
	.size gb, 24
	.size lc, 24
	.section .note.GNU-stack,"",@progbits
