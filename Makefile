# cvisor build. Sources are found by directory: a new file under src/ is
# built without touching this file. src/cli/main.c holds main(); everything
# else also goes into a static library that unit tests link against.

CC       ?= cc
BUILD    ?= build
SAN      ?= 0
PKGS     := slirp libvncserver jansson libpng libcrypto libiscsi numa
CFLAGS   ?= -O2 -g
# Expanded only when a recipe needs them, so 'make deps' and 'make demo'
# work on a machine that does not have the libraries yet. libslirp,
# libvncserver and libiscsi are opened at run time when a VM uses them
# (src/vmm/dynlib.h): their headers are needed, but they are not linked.
PKG_LIBS  = $(or $(shell pkg-config --exists $(PKGS) 2>/dev/null && \
                         pkg-config --libs jansson libpng libcrypto numa),\
              $(error pkg-config finds no $(PKGS): run scripts/install-deps.sh))
CFLAGS   += -std=gnu11 -Wall -Wextra -Werror \
            -D_GNU_SOURCE -Isrc -pthread -MMD -MP \
            $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS   += -pthread -lz -ldeflate -lzstd -luring -lseccomp -lutil -lm $(PKG_LIBS)
ifeq ($(SAN),1)
CFLAGS   += -fsanitize=address,undefined -fno-omit-frame-pointer \
            -fno-sanitize-recover=undefined
LDFLAGS  += -fsanitize=address,undefined
endif
# libFuzzer builds (make fuzz): the library gets coverage instrumentation,
# each target links libFuzzer's main; checksums pass (src/vmm/state.c), so
# mutated inputs reach the parsers behind them.
ifeq ($(SAN),fuzz)
CFLAGS   += -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer \
            -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
LDFLAGS  += -fsanitize=fuzzer,address,undefined
endif

SRCS      := $(shell find src -name '*.c' | sort)
LIB_SRCS  := $(filter-out src/cli/main.c,$(SRCS))
OBJS      := $(SRCS:%.c=$(BUILD)/%.o)
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/%.o)
TEST_SRCS := $(wildcard tests/unit/test_*.c)
TESTS     := $(TEST_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
GUEST_SRCS := $(wildcard tests/guests/*.S)
GUESTS    := $(GUEST_SRCS:tests/guests/%.S=$(BUILD)/guests/%.elf)
FUZZ_SRCS := $(wildcard tests/fuzz/*_fuzz.c)
# The integration tests' VNC client (libvncclient, libpng).
VNC_CLIENT := $(BUILD)/tests/vnc_client
FUZZERS   := $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/fuzz/%)

.PHONY: all test test-nested unit-tests guests demo deps assets clean fuzz fuzzers \
	vnc-client install uninstall

all: $(BUILD)/cvisor

$(BUILD)/cvisor: $(OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/libcvisor.a: $(LIB_OBJS)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libcvisor.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit $(LDFLAGS) -o $@ $< $(BUILD)/libcvisor.a $(LDLIBS)

# Test guests: small ELF programs entered in long mode like a vmlinux
# (see tests/guests/guest.h for their conventions).
$(BUILD)/guests/%.elf: tests/guests/%.S $(wildcard tests/guests/*.h) tests/guests/guest.ld
	@mkdir -p $(dir $@)
	$(CC) -nostdlib -static -no-pie -Wl,-T,tests/guests/guest.ld \
		-Wl,--build-id=none -Itests/guests -o $@ $<

# Built without libFuzzer (make test), a target gets a main() that runs
# it on the files it is given (tests/integration/fuzz_targets.sh).
FUZZ_MAIN := $(if $(filter fuzz,$(SAN)),,$(BUILD)/tests/fuzz/run_files.o)
$(BUILD)/fuzz/%: tests/fuzz/%.c $(FUZZ_MAIN) $(BUILD)/libcvisor.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(FUZZ_MAIN) $(BUILD)/libcvisor.a $(LDLIBS)

$(BUILD)/bench/%: bench/%.c $(BUILD)/libcvisor.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libcvisor.a $(LDLIBS)

# A test tool, not part of cvisor: built without the sanitizers, whose
# leak report at exit would be its exit status.
$(VNC_CLIENT): tests/vnc/vnc_client.c
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -fsanitize% -fno-sanitize%,$(CFLAGS)) \
		$(filter-out -fsanitize%,$(LDFLAGS)) -o $@ $< \
		$(shell pkg-config --libs libvncclient libpng)

unit-tests: $(TESTS)
vnc-client: $(VNC_CLIENT)
guests: $(GUESTS)
fuzzers: $(FUZZERS)

# make fuzz: every libFuzzer target in tests/fuzz/ into build-fuzz/fuzz/,
# built with clang; run one with e.g. build-fuzz/fuzz/qcow2_fuzz -runs=100000.
fuzz:
	$(MAKE) CC=clang SAN=fuzz BUILD=build-fuzz fuzzers

deps:
	./scripts/install-deps.sh

assets:
	./tests/guest/make-assets.sh

# make test: sanitized build (the fuzz targets too, without libFuzzer),
# unit tests, then integration tests.
test:
	$(MAKE) SAN=1 BUILD=build-san all unit-tests guests vnc-client fuzzers
	./tests/run.sh build-san

# make test-nested: Linux guests on cvisor's KVM path over a real kvm_intel,
# in a Bochs-emulated VT-x machine (tests/nested/run.sh; its host kernel
# comes from tests/guest/make-assets.sh --nested). Slow: see README.
test-nested: all guests vnc-client
	./tests/nested/run.sh

# Each step in turn: the build needs what install-deps brings.
demo:
	./scripts/install-deps.sh
	$(MAKE) all
	./tests/guest/make-assets.sh
	./scripts/demo.sh

clean:
	rm -rf build build-san build-fuzz

# make install [PREFIX=/usr/local] [DESTDIR=...]: the binary, the autostart
# unit (with the binary's path), the man page and the docs. It installs what
# was built ('make' first) and builds nothing, so it never relinks a binary
# with other flags (config.sh installs the sanitized one of make test).
PREFIX     ?= /usr/local
BINDIR     := $(PREFIX)/bin
MANDIR     := $(PREFIX)/share/man
DOCDIR     := $(PREFIX)/share/doc/cvisor
UNITDIR    ?= $(PREFIX)/lib/systemd/system
DOCS       := README.md $(wildcard docs/*.md)

install:
	@test -x $(BUILD)/cvisor || { echo "no $(BUILD)/cvisor: run make first"; exit 1; }
	install -D -m 755 $(BUILD)/cvisor $(DESTDIR)$(BINDIR)/cvisor
	install -d $(DESTDIR)$(UNITDIR)
	sed 's|/usr/local/bin/cvisor|$(BINDIR)/cvisor|g' \
		systemd/cvisor-autostart.service \
		>$(DESTDIR)$(UNITDIR)/cvisor-autostart.service
	chmod 644 $(DESTDIR)$(UNITDIR)/cvisor-autostart.service
	install -D -m 644 docs/cvisor.1 $(DESTDIR)$(MANDIR)/man1/cvisor.1
	install -d $(DESTDIR)$(DOCDIR)
	install -m 644 $(DOCS) $(DESTDIR)$(DOCDIR)/

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/cvisor \
	      $(DESTDIR)$(UNITDIR)/cvisor-autostart.service \
	      $(DESTDIR)$(MANDIR)/man1/cvisor.1
	rm -f $(addprefix $(DESTDIR)$(DOCDIR)/,$(notdir $(DOCS)))
	-rmdir $(DESTDIR)$(DOCDIR)

# -MMD writes each object's and each linked-in-one-step program's headers
# next to it (build/tests/test_bus.d): a changed header rebuilds its users.
-include $(OBJS:.o=.d) $(TESTS:=.d) $(VNC_CLIENT).d $(FUZZERS:=.d) $(wildcard $(BUILD)/bench/*.d)
