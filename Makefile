# SPDX-License-Identifier: GPL-2.0
# tcshaped: one non-recursive Makefile; everything it makes goes under build/.
# `make V=1` prints the commands.

PREFIX		?= /usr/local
SBINDIR		?= $(PREFIX)/sbin
MANDIR		?= $(PREFIX)/share/man
SYSCONFDIR	?= /etc
UNITDIR		?= /lib/systemd/system
DESTDIR		?=

CC		?= gcc
CLANG		?= clang
BPFTOOL		?= bpftool
PKG_CONFIG	?= pkg-config

B		:= build
# `make test SANITIZE=1`: daemon, tools and tests with ASan and UBSan, in their own
# build directory so they never mix with the normal objects
SANITIZE	?=
ifeq ($(SANITIZE),1)
B		:= build-san
SAN_FLAGS	:= -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
endif
LIBS_PC		:= libbpf libmnl libnl-route-3.0 yaml-0.1 libsystemd libmicrohttpd

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' $(1) $(2);
endif

CFLAGS		?= -O2 -g
CFLAGS		+= -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Wshadow -Wformat=2 \
		   -D_GNU_SOURCE -MMD -MP -I$(B) -Ibpf -Idaemon -Itests/lib
CFLAGS		+= $(SAN_FLAGS)
# CI (.ci/run sets CI=true) builds with -Werror; WERROR=1 does the same by hand
ifneq ($(filter true 1,$(CI) $(WERROR)),)
CFLAGS		+= -Werror
endif
LDFLAGS		+= $(SAN_FLAGS)
PC_CFLAGS	 = $(shell $(PKG_CONFIG) --cflags $(LIBS_PC) 2>/dev/null)
PC_LIBS		 = $(shell $(PKG_CONFIG) --libs $(LIBS_PC) 2>/dev/null)
BPF_CFLAGS	:= -O2 -g -target bpf -mcpu=v3 -Wall -Werror -MMD -MP -Ibpf \
		   -I/usr/include/$(shell uname -m)-linux-gnu

.DELETE_ON_ERROR:
.SUFFIXES:
.PHONY: all deps test test-unit test-bpf test-e2e test-system test-vm test-fleet demo bench install \
	uninstall clean deb image fuzz test-fuzz soak format-check

# ---- sources -------------------------------------------------------------
LIB_SRCS	:= $(filter-out daemon/main.c daemon/tcshapectl.c,$(wildcard daemon/*.c))
LIB_OBJS	:= $(LIB_SRCS:%.c=$(B)/%.o)
UNIT_SRCS	:= $(wildcard tests/unit/test_*.c)
BPFT_SRCS	:= $(wildcard tests/bpf/test_*.c)
UNIT_BINS	:= $(UNIT_SRCS:%.c=$(B)/%)
BPFT_BINS	:= $(BPFT_SRCS:%.c=$(B)/%)
BENCH_BINS	:= $(patsubst %.c,$(B)/%,$(wildcard tests/bench/*.c))
BINS		:= $(B)/tcshaped $(if $(wildcard daemon/tcshapectl.c),$(B)/tcshapectl)
# the same daemon with TCSHAPED_FAULT honoured (daemon/fault.h), for the fault tests
FAULT_OBJS	:= $(patsubst %.c,$(B)/faults/%.o,daemon/main.c $(LIB_SRCS))

all: $(BINS) $(B)/tcshaped-faults $(UNIT_BINS) $(BPFT_BINS) $(BENCH_BINS)

# ---- BPF objects and skeletons --------------------------------------------
# tcshape: the tc classifier (UAPI headers only). sockpace: socket pacing
# (sock_ops and a tcp iterator), which reads kernel structs through CO-RE and
# so needs vmlinux.h, dumped from the build machine's BTF (libbpf relocates
# the field offsets to the running kernel's at load time).
BPF_OBJS	:= $(B)/tcshape.bpf.o $(B)/sockpace.bpf.o
SKELS		:= $(BPF_OBJS:.bpf.o=.skel.h)
.SECONDARY: $(BPF_OBJS) $(SKELS)

$(B)/vmlinux.h: | $(B)
	$(call msg,BTF,$@)
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp && mv $@.tmp $@

$(B)/sockpace.bpf.o: $(B)/vmlinux.h
$(B)/%.bpf.o: bpf/%.bpf.c | $(B)
	$(call msg,CLANG,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -I$(B) -MF $(B)/$*.bpf.d -MT $@ -c $< -o $(B)/$*.tmp.o
	$(Q)$(BPFTOOL) gen object $@ $(B)/$*.tmp.o
	$(Q)rm -f $(B)/$*.tmp.o

$(B)/%.skel.h: $(B)/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst .,_,$*)_bpf > $@

# ---- user space ----------------------------------------------------------
$(B)/%.o: %.c | $(SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(PC_CFLAGS) -c $< -o $@

$(B)/faults/%.o: %.c | $(SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -DTCS_FAULTS $(PC_CFLAGS) -c $< -o $@

$(B)/tcshaped-faults: $(FAULT_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(PC_LIBS)

$(B)/libtcs.a: $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(B)/tcshaped: $(B)/daemon/main.o $(B)/libtcs.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(PC_LIBS)

$(B)/tcshapectl: $(B)/daemon/tcshapectl.o $(B)/libtcs.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(PC_LIBS)

$(B)/tests/%: $(B)/tests/%.o $(B)/libtcs.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(PC_LIBS)

$(B):
	$(Q)mkdir -p $@

# ---- fuzzing: tests/fuzz/fuzz_X.c -> build/tests/fuzz/fuzz_X (libFuzzer) ----
# The daemon's modules are built again with clang and the sanitizers, apart
# from the normal objects; each target links what it uses from that archive.
FUZZ_SRCS	:= $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS	:= $(FUZZ_SRCS:%.c=$(B)/%)
FUZZ_SECONDS	?= 60
FUZZ_CFLAGS	 = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
		   -fno-sanitize-recover=undefined $(filter-out -O% -g,$(CFLAGS)) -Itests/fuzz

all: $(FUZZ_BINS)

$(B)/fuzz/%.o: %.c | $(SKELS)
	$(call msg,FUZZCC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(PC_CFLAGS) -c $< -o $@

$(B)/fuzz/libtcs.a: $(LIB_SRCS:%.c=$(B)/fuzz/%.o)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(B)/tests/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(B)/fuzz/libtcs.a | $(SKELS)
	$(call msg,FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(PC_CFLAGS) $< $(B)/fuzz/libtcs.a -o $@ \
		$(PC_LIBS) -lm

# ---- the two commands a newcomer runs ------------------------------------
deps:
	$(Q)scripts/install-deps.sh

# deps first, on its own: pkg-config only finds the libraries once they are there
ifneq ($(SANITIZE),1)
test: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tests/run.sh all
else
# the san tier: unit and e2e on the ASan/UBSan build, and valgrind on the normal daemon
test: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(MAKE) --no-print-directory SANITIZE= build/tcshaped
	$(Q)B=$(B) tests/run.sh san
endif

test-unit test-bpf test-fuzz test-e2e test-system test-vm test-fleet: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tests/run.sh $(@:test-%=%)

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/demo.sh

bench: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/bench.sh

# ---- packages: build/deb/tcshaped_VERSION_ARCH.deb, the OCI image -----------
# DEB_VERSION=X builds the package as version X (the fleet tier's upgrade test)
deb: deps
	$(Q)scripts/build-deb.sh

image: deb
	$(Q)scripts/build-image.sh

# churn for a few minutes (SOAK_SECONDS, default 240); not part of make test
soak: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tests/soak/soak.sh

# each target for FUZZ_SECONDS from its corpus; new finds go to build/fuzz/corpus/
fuzz: deps
	$(Q)$(MAKE) --no-print-directory $(FUZZ_BINS)
	$(Q)B=$(B) tests/fuzz/run.sh $(FUZZ_SECONDS)

# ---- style: the files held to .clang-format (the rest follows once formatted) ----
FORMAT_SRCS	:= daemon/array.h daemon/daemon.c daemon/hash.h daemon/hooks.c daemon/hooks.h \
		   daemon/host.c daemon/host.h daemon/paths.h daemon/pins.c daemon/pins.h \
		   daemon/policy.c daemon/policy_check.c daemon/policy_check.h \
		   daemon/policy_schema.c daemon/policy_schema.h daemon/policy_value.c \
		   daemon/policy_value.h daemon/roots.c daemon/roots.h daemon/strmap.c \
		   daemon/strmap.h daemon/yaml_walk.c daemon/yaml_walk.h tests/unit/test_links.c \
		   tests/unit/test_sha256.c daemon/out.c daemon/out.h daemon/tcshapectl.c \
		   tests/unit/test_out.c daemon/map_walk.h
CLANG_FORMAT	?= clang-format

format-check:
	$(Q)$(CLANG_FORMAT) --dry-run -Werror $(FORMAT_SRCS)

# ---- install --------------------------------------------------------------
install: $(BINS)
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/tcshaped \
		$(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5
	install -m 0755 $(BINS) $(DESTDIR)$(SBINDIR)/
	install -m 0644 docs/man/tcshaped.8 docs/man/tcshapectl.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 docs/man/tcshaped.policy.5 $(DESTDIR)$(MANDIR)/man5/
	sed 's|@SBINDIR@|$(SBINDIR)|g; s|@SYSCONFDIR@|$(SYSCONFDIR)|g' systemd/tcshaped.service \
		> $(DESTDIR)$(UNITDIR)/tcshaped.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/tcshaped.service
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/tcshaped/policy.yaml ]; then \
		echo "keeping existing $(DESTDIR)$(SYSCONFDIR)/tcshaped/policy.yaml"; \
	else \
		install -m 0644 conf/policy.yaml $(DESTDIR)$(SYSCONFDIR)/tcshaped/policy.yaml; \
	fi
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload; fi

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/tcshaped $(DESTDIR)$(SBINDIR)/tcshapectl
	rm -f $(DESTDIR)$(UNITDIR)/tcshaped.service
	rm -f $(DESTDIR)$(MANDIR)/man8/tcshaped.8 $(DESTDIR)$(MANDIR)/man8/tcshapectl.8
	rm -f $(DESTDIR)$(MANDIR)/man5/tcshaped.policy.5
	@echo "left $(DESTDIR)$(SYSCONFDIR)/tcshaped/ in place (your policy)"

clean:
	rm -rf build build-san

-include $(shell find $(B) -name '*.d' 2>/dev/null)
