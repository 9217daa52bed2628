# peaktrace: `make` builds ./peaktrace, `make test` runs the test suite
# (as root: the end-to-end tests load the real BPF programs).
.DELETE_ON_ERROR:

CC ?= cc
CLANG ?= clang
BPFTOOL ?= bpftool
OUT := build
ARCH := x86

CFLAGS ?= -O2 -g
CFLAGS += -Wall -Wextra -Werror -std=gnu11 -D_GNU_SOURCE -I$(OUT) -Ibpf -Isrc \
	-DLDPRELOAD_PLATFORM_DIR='"$(OUT)/platform"'
BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -Wall -Wextra -Werror \
	-Wno-unused-parameter -Ivmlinux/$(ARCH) -Ibpf
LIBS := -lbpf -lelf -ldw -lz -lpthread -lstdc++

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

# src/<stage>/*.c: one folder per stage of a run (see README, "How it works").
SRCS := $(filter-out src/main.c src/preload/%,$(wildcard src/*/*.c))
OBJS := $(patsubst src/%.c,$(OUT)/obj/%.o,$(SRCS))
# Objects the unit tests link: everything that needs neither root nor BPF.
UNIT_OBJS := $(addprefix $(OUT)/obj/,util/paths.o util/utf8.o util/vec.o util/hindex.o model/model.o model/sampling.o python/layouts.o python/merge.o \
	model/frames.o collect/blocks.o collect/collected.o collect/proctable.o report/json.o report/report.o \
	report/report_json.o report/report_text.o report/report_pprof.o report/report_folded.o \
	report/report_html.o \
	report/pb.o report/writers.o probes/placement.o probes/turns.o collect/procrecs.o util/mapmem.o \
	run/launch.o util/ldpreload.o \
	files/procmaps.o files/elffile.o files/elfsym.o stacks/cfi.o stacks/ehframe.o stacks/symbolize.o stacks/symtab.o)

VICTIMS := $(OUT)/tests/musl_victim $(OUT)/tests/nofp_main $(OUT)/tests/m32_victim \
	$(OUT)/tests/ownalloc_main $(OUT)/tests/libfwd.so $(OUT)/tests/libfilter.so $(OUT)/tests/libaudit.so \
	$(OUT)/tests/memo_walks_nofp $(OUT)/tests/late_libc $(OUT)/tests/asan_victim \
	$(OUT)/tests/wrap_lib $(OUT)/tests/wrap_exe $(OUT)/tests/wrap_free $(OUT)/tests/wrap_mixed \
	$(patsubst tests/victims/%.c,$(OUT)/tests/%,$(wildcard tests/victims/*.c)) \
	$(patsubst tests/victims/%.cc,$(OUT)/tests/%,$(wildcard tests/victims/*.cc))
UNITS := $(patsubst tests/unit/%.c,$(OUT)/tests/%,$(wildcard tests/unit/*.c))

# glibc's names for $PLATFORM (see peaktrace-preload.so below)
PLATFORMS_64 := x86_64 haswell xeon_phi
PLATFORMS_32 := i586
PLATFORM_LIBS := $(foreach p,$(PLATFORMS_64) i686 $(PLATFORMS_32),$(OUT)/platform/$(p)/peaktrace-preload.so)

.PHONY: all clean test unit e2e bench
# The tool alone; `make test` builds what the tests need (victims: musl-gcc,
# gcc -m32).
all: peaktrace peaktrace-preload.so $(PLATFORM_LIBS)

$(OUT):
	$(Q)mkdir -p $@ $@/tests

# -MMD -MP: every object is rebuilt when a header it includes changes (the
# BPF object too: bpf/model/peak_model.h is the model the unit test checks).
DEPFLAGS = -MMD -MP

# One BPF object from one translation unit: bpf/peaktrace.bpf.c includes a
# header per concern (bpf/<concern>/*.bpf.h).  Not separate objects linked with
# `bpftool gen object`: the concerns call each other's small helpers on
# every allocation (model_apply, the scratch lookups), which one unit lets
# clang inline, and every map shared across objects would need an extern
# declaration kept in step with its definition; one unit also gives the
# verifier exactly the program we compiled.  The skeleton is the same.
$(OUT)/peaktrace.bpf.o: bpf/peaktrace.bpf.c | $(OUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(OUT)/peaktrace.skel.h: $(OUT)/peaktrace.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name peaktrace_bpf > $@

$(OUT)/obj/%.o: src/%.c | $(OUT)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

# The HTML report's style and script, compiled in (the page fetches nothing).
$(OUT)/html_assets.h: src/report/html/page.css src/report/html/page.js scripts/embed | $(OUT)
	$(call msg,EMBED,$@)
	$(Q)(scripts/embed html_page_css src/report/html/page.css && \
	     scripts/embed html_page_js src/report/html/page.js) > $@
$(OUT)/obj/report/report_html.o: $(OUT)/html_assets.h

# Only the stages that use the skeleton (loading, collecting) wait for it.
$(filter $(OUT)/obj/run/% $(OUT)/obj/collect/%,$(OBJS)): $(OUT)/peaktrace.skel.h

peaktrace: $(OUT)/obj/main.o $(OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ -o $@ $(LIBS)

# peaktrace-preload.so, beside the binary (src/preload/sites.S): it needs no
# library of its own, so that any C library's loader can map it
peaktrace-preload.so: src/preload/sites.S src/preload/forward.c src/preload/next.c src/preload/ledger.c \
		src/preload/uncover.c src/preload/next.h src/preload/sys.h bpf/peaktrace.h bpf/model/peak_model.h
	$(call msg,LINK,$@)
	$(Q)$(CC) -shared -fPIC -nostdlib -O2 -fno-stack-protector -fcf-protection=full \
		-Wl,-z,cet-report=error -Wall -Wextra -Werror -Ibpf -Isrc $(filter %.c %.S,$^) -o $@

# The command's LD_PRELOAD names build/platform/$PLATFORM/peaktrace-preload.so
# (src/util/ldpreload.h), one entry for every name glibc's loader gives
# $PLATFORM: in a 64-bit process x86_64, or haswell or xeon_phi on Intel
# CPUs (links to the library); in a 32-bit one i686 or i586: an empty
# 32-bit library, which its loader loads without a word where the 64-bit
# one would make it print an error.  Binutils alone: no multilib.

$(foreach p,$(PLATFORMS_64),$(OUT)/platform/$(p)/peaktrace-preload.so): peaktrace-preload.so
	$(Q)mkdir -p $(@D) && ln -sfn ../../../peaktrace-preload.so $@

$(OUT)/platform/i686/peaktrace-preload.so:
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D) && printf '' | as --32 -o $(@D)/empty.o && \
		ld -m elf_i386 -shared -z noexecstack $(@D)/empty.o -o $@ && rm -f $(@D)/empty.o

$(foreach p,$(PLATFORMS_32),$(OUT)/platform/$(p)/peaktrace-preload.so): \
		$(OUT)/platform/i686/peaktrace-preload.so
	$(Q)mkdir -p $(@D) && ln -sfn ../i686/peaktrace-preload.so $@

# --- tests ---------------------------------------------------------------

# Victims keep frame pointers so that the stacks asserted are complete.
VICTIM_CFLAGS := -D_GNU_SOURCE -O1 -g -fno-omit-frame-pointer -Wall -Wextra -Werror -pthread

# (bpf/peaktrace.h: lock_holder.c reads the records of the ABI)
$(OUT)/tests/%: tests/victims/%.c tests/victims/victim.h tests/victims/rss.h \
		tests/victims/ledger_maps.h bpf/peaktrace.h | $(OUT)
	$(call msg,VICTIM,$@)
	$(Q)$(CC) $(VICTIM_CFLAGS) $< -o $@

$(OUT)/tests/%: tests/victims/%.cc tests/victims/victim.h | $(OUT)
	$(call msg,VICTIM,$@)
	$(Q)$(CXX) $(VICTIM_CFLAGS) $< -o $@

# Built without frame pointers on purpose: unwinding must use .eh_frame.
NOFP_CFLAGS := -O2 -g -fomit-frame-pointer -Wall -Wextra -Werror
$(OUT)/tests/libchain.so: tests/victims/nofp/chain.c tests/victims/victim.h | $(OUT)
	$(call msg,VICTIM,$@)
	$(Q)$(CC) $(NOFP_CFLAGS) -fPIC -shared $< -o $@

$(OUT)/tests/nofp_main: tests/victims/nofp/nofp_main.c $(OUT)/tests/libchain.so | $(OUT)
	$(call msg,VICTIM,$@)
	$(Q)$(CC) $(NOFP_CFLAGS) $< -o $@ -L$(OUT)/tests -lchain -Wl,-rpath,'$$ORIGIN'

$(OUT)/tests/memo_walks_nofp: tests/victims/memo_walks.c tests/victims/victim.h | $(OUT)
	$(call msg,VICTIM,$@)
	$(Q)$(CC) $(NOFP_CFLAGS) $< -o $@

# A program linked with an allocator of its own (a DT_NEEDED library
# defining malloc), which --preload must leave its malloc
$(OUT)/tests/libownalloc.so: tests/victims/ownalloc/ownalloc.c | $(OUT)
	$(call msg,VICTIM,$@)
	$(Q)$(CC) $(VICTIM_CFLAGS) -fPIC -shared $< -o $@

$(OUT)/tests/libfwd.so: tests/victims/fwd/fwd.c | $(OUT)
	$(call msg,VICTIM,$@)
	$(Q)$(CC) $(VICTIM_CFLAGS) -fPIC -shared $< -o $@

$(OUT)/tests/libfilter.so: tests/victims/fwd/filter.c $(OUT)/tests/libfwd.so | $(OUT)
	$(call msg,VICTIM,$@)
	$(Q)$(CC) $(VICTIM_CFLAGS) -fPIC -shared $< -o $@ \
		-Wl,--auxiliary=$(abspath $(OUT))/tests/libfwd.so

$(OUT)/tests/libaudit.so: tests/victims/fwd/audit.c | $(OUT)
	$(call msg,VICTIM,$@)
	$(Q)$(CC) $(VICTIM_CFLAGS) -fPIC -shared $< -o $@

$(OUT)/tests/ownalloc_main: tests/victims/ownalloc/ownalloc_main.c $(OUT)/tests/libownalloc.so | $(OUT)
	$(call msg,VICTIM,$@)
	$(Q)$(CC) $(VICTIM_CFLAGS) $< -o $@ -L$(OUT)/tests -lownalloc -Wl,-rpath,'$$ORIGIN'

# Programs whose malloc is a wrapper ending in glibc's: in a library they
# link (which peaktrace-preload.so forwards to), and in the program itself
$(OUT)/tests/libwrap.so: tests/victims/wrap/wrap.c | $(OUT)
	$(call msg,VICTIM,$@)
	$(Q)$(CC) $(VICTIM_CFLAGS) -fPIC -shared $< -o $@

$(OUT)/tests/wrap_lib: tests/victims/wrap/wrap_main.c $(OUT)/tests/libwrap.so | $(OUT)
	$(call msg,VICTIM,$@)
	$(Q)$(CC) $(VICTIM_CFLAGS) $< -o $@ -L$(OUT)/tests -lwrap -Wl,-rpath,'$$ORIGIN'

# (wrap_free: free alone; wrap_mixed: no calloc)
$(OUT)/tests/wrap_free: WRAP_FLAGS := -DNO_WRAP_MALLOC
$(OUT)/tests/wrap_mixed: WRAP_FLAGS := -DNO_WRAP_CALLOC
$(OUT)/tests/wrap_exe $(OUT)/tests/wrap_free $(OUT)/tests/wrap_mixed: tests/victims/wrap/wrap_main.c \
		tests/victims/wrap/wrap.c | $(OUT)
	$(call msg,VICTIM,$@)
	$(Q)$(CC) $(VICTIM_CFLAGS) $(WRAP_FLAGS) -rdynamic $^ -o $@

# musl's own dynamic loader, so the program runs against musl's libc.so
$(OUT)/tests/musl_victim: tests/victims/musl/musl_victim.c tests/victims/victim.h | $(OUT)
	$(call msg,VICTIM,$@)
	$(Q)musl-gcc $(VICTIM_CFLAGS) -Wl,-dynamic-linker,/lib/ld-musl-x86_64.so.1 $< -o $@

# AddressSanitizer's runtime as a shared library (GCC's default), which must
# come first in the loader's list: --preload leaves such a command alone.
$(OUT)/tests/asan_victim: tests/victims/asan/asan_victim.c tests/victims/victim.h | $(OUT)
	$(call msg,VICTIM,$@)
	$(Q)$(CC) -fsanitize=address $(VICTIM_CFLAGS) $< -o $@

# A 32-bit program (gcc-multilib): peaktrace must refuse its heap, clearly.
$(OUT)/tests/m32_victim: tests/victims/m32/m32_victim.c tests/victims/victim.h | $(OUT)
	$(call msg,VICTIM,$@)
	$(Q)$(CC) -m32 $(VICTIM_CFLAGS) $< -o $@

# A dynamic program caught before its C library is mapped: its loader,
# freestanding, waits 0.5 s, then maps glibc, execs or exits
# (tests/victims/lateld/slow_loader.c)
$(OUT)/tests/slow_loader: tests/victims/lateld/slow_loader.c | $(OUT)
	$(call msg,VICTIM,$@)
	$(Q)$(CC) -O1 -Wall -Wextra -Werror -ffreestanding -fno-stack-protector -nostdlib \
		-static $< -o $@

$(OUT)/tests/late_libc: tests/victims/lateld/late_libc.c $(OUT)/tests/slow_loader | $(OUT)
	$(call msg,VICTIM,$@)
	$(Q)$(CC) $(VICTIM_CFLAGS) -Wl,--dynamic-linker,$(abspath $(OUT)/tests/slow_loader) $< -o $@

$(OUT)/tests/static_victim: tests/victims/static_victim.c tests/victims/victim.h tests/victims/rss.h | $(OUT)
	$(call msg,VICTIM,$@)
	$(Q)$(CC) $(VICTIM_CFLAGS) -static $< -o $@

# test_symtab's made-up symbol table (see the file)
$(OUT)/tests/symtab_cases.so: tests/unit/symtab_cases.s | $(OUT)
	$(call msg,AS,$@)
	$(Q)$(CC) -shared -nostdlib $< -o $@

$(OUT)/tests/test_symtab: $(OUT)/tests/symtab_cases.so

$(OUT)/tests/%: tests/unit/%.c $(UNIT_OBJS) | $(OUT)
	$(call msg,UNIT,$@)
	$(Q)$(CC) $(CFLAGS) $(DEPFLAGS) $< $(UNIT_OBJS) -o $@ $(LIBS)

unit: $(UNITS)
	$(Q)for t in $(UNITS); do $$t || exit 1; done

e2e: all $(VICTIMS)
	$(Q)python3 tests/run.py

test: all $(UNITS) $(VICTIMS)
	$(Q)python3 tests/run.py $(UNITS)

$(OUT)/bench/storm: scripts/storm.c | $(OUT)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(OUT)/bench
	$(Q)$(CC) -O2 -Wall -Wextra -Werror $< -o $@

$(OUT)/bench/cxx_work: scripts/workloads/cxx_work.cc | $(OUT)
	$(call msg,CXX,$@)
	$(Q)mkdir -p $(OUT)/bench
	$(Q)$(CXX) -O2 -Wall -Wextra -Werror $< -o $@

bench: all $(OUT)/bench/storm $(OUT)/bench/cxx_work
	$(Q)scripts/bench all

clean:
	$(Q)rm -rf $(OUT) peaktrace peaktrace-preload.so

-include $(wildcard $(OUT)/*.d $(OUT)/obj/*.d $(OUT)/obj/*/*.d $(OUT)/tests/*.d)
