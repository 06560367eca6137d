# magpie - plain Makefile. `make`, `make check`, `make asan`, `make install`.

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
DATADIR ?= $(PREFIX)/share/magpie
SYSCONFDIR ?= /etc
DESTDIR ?=

CFLAGS ?= -O2 -g
WERROR ?=
PKG_CONFIG ?= pkg-config
PKGS = libetpan libcurl inih sqlite3 libical gnutls json-c zlib

override CFLAGS += -std=c11 -D_DEFAULT_SOURCE -D_XOPEN_SOURCE=700 \
	-Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wno-unused-parameter $(WERROR) -Iinclude \
	$(shell $(PKG_CONFIG) --cflags $(PKGS))
# libetpan's .pc adds Debian's no-pie link specs; keep only the -l/-L flags.
LIBS = $(filter -l% -L% -pthread,$(shell $(PKG_CONFIG) --libs $(PKGS)))
CHECK_LIBS = $(shell $(PKG_CONFIG) --libs check)
CHECK_CFLAGS = $(shell $(PKG_CONFIG) --cflags check)

B ?= build
SRC = $(filter-out src/main.c,$(wildcard src/*.c))
TEMPLATES = $(sort $(wildcard etc/templates/*.txt etc/templates/*.html))
OBJ = $(SRC:src/%.c=$(B)/obj/%.o) $(B)/obj/templates.o
TESTS = $(patsubst tests/%.c,$(B)/tests/%,$(wildcard tests/check_*.c))
HDR = $(wildcard include/*.h)

all: magpie

magpie: $(B)/magpie
	cp $(B)/magpie magpie

$(B)/magpie: $(B)/obj/main.o $(B)/libmagpie.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(B)/obj/main.o $(B)/libmagpie.a $(LIBS)

$(B)/libmagpie.a: $(OBJ)
	rm -f $@
	ar rcs $@ $(OBJ)

# The default templates, compiled in for `magpie init`.
$(B)/gen/templates.c: $(TEMPLATES) scripts/embed
	@mkdir -p $(B)/gen
	sh scripts/embed $(TEMPLATES) > $@

$(B)/obj/templates.o: $(B)/gen/templates.c include/embed.h
	@mkdir -p $(B)/obj
	$(CC) $(CFLAGS) -c -o $@ $(B)/gen/templates.c

$(B)/obj/%.o: src/%.c $(HDR)
	@mkdir -p $(B)/obj
	$(CC) $(CFLAGS) -c -o $@ $<

$(B)/tests/%: tests/%.c tests/testutil.h $(B)/libmagpie.a
	@mkdir -p $(B)/tests
	$(CC) $(CFLAGS) $(CHECK_CFLAGS) -Itests -o $@ $< $(B)/libmagpie.a $(LIBS) $(CHECK_LIBS)

tests: $(TESTS) $(B)/magpie

# Unit tests (one Check suite per module) then integration tests.
check: tests
	MAGPIE_BIN=$(CURDIR)/$(B)/magpie MAGPIE_B=$(B) sh tests/run-tests $(TESTS)

# The same under ASan + UBSan; the June simulation stops on the 18th there
# (961 runs, change notices and reminders included) to keep CI short.
asan:
	MAGPIE_SIM_END=2021-06-18T00:00:00Z \
	$(MAKE) B=build-asan CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
		LDFLAGS="-fsanitize=address,undefined" check

# The unit suites under valgrind (no fork, so leaks are seen).
valgrind: tests
	@for t in $(TESTS); do \
		CK_FORK=no MAGPIE_BIN=$(CURDIR)/$(B)/magpie valgrind -q --leak-check=full --child-silent-after-fork=yes \
		--errors-for-leak-kinds=definite --error-exitcode=99 $$t >$(B)/vg.log 2>&1; \
		rc=$$?; if [ $$rc -ne 0 ]; then echo "$$t: valgrind exit $$rc"; tail -30 $(B)/vg.log; exit 1; fi; \
		echo "$$t: valgrind clean"; done
	@d=$$(mktemp -d /tmp/magpie-vg-XXXXXX) && cp -R etc $$d/etc && \
	valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 \
		$(B)/magpie -q -c $$d/etc/example.ini --now 2021-06-14T12:00:00Z run; \
	rc=$$?; rm -rf $$d; [ $$rc -eq 0 ] || { echo "magpie run: valgrind exit $$rc"; exit 1; }; \
	echo "magpie run: valgrind clean"

deps:
	sh scripts/deps

# Import benchmark against mblaze and notmuch (tests/bench/import.sh).
bench: magpie
	sh tests/bench/import.sh

# libFuzzer targets (tests/fuzz/), built with clang under ASan/UBSan.
# `make fuzz` builds them and runs each, seeded by tests/fuzz/seed-NAME.sh
# when present, for FUZZ_TIME seconds (default 10; make fuzz FUZZ_TIME=120).
# Skipped cleanly when clang is not installed.
FUZZ_CC ?= clang
FUZZ_TIME ?= 10
FUZZ_FLAGS = -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=all -std=c11 -D_DEFAULT_SOURCE -D_XOPEN_SOURCE=700 -Iinclude \
	$(shell $(PKG_CONFIG) --cflags $(PKGS))
FUZZERS = $(patsubst tests/fuzz/%.c,build-fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_OBJ = $(SRC:src/%.c=build-fuzz/obj/%.o)

build-fuzz/obj/%.o: src/%.c $(HDR)
	@mkdir -p build-fuzz/obj
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

build-fuzz/libmagpie.a: $(FUZZ_OBJ)
	rm -f $@
	ar rcs $@ $(FUZZ_OBJ)

build-fuzz/%: tests/fuzz/%.c build-fuzz/libmagpie.a
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer -o $@ $< build-fuzz/libmagpie.a $(LIBS)

fuzz:
	@if ! command -v $(FUZZ_CC) >/dev/null 2>&1; then \
		echo "fuzz: $(FUZZ_CC) not installed, skipped"; exit 0; fi; \
	$(MAKE) $(FUZZERS) && \
	for f in $(FUZZERS); do \
		n=$${f##*/}; rm -rf build-fuzz/corpus-$$n build-fuzz/seed-$$n && \
		mkdir -p build-fuzz/corpus-$$n build-fuzz/seed-$$n && \
		{ [ ! -f tests/fuzz/seed-$$n.sh ] || sh tests/fuzz/seed-$$n.sh build-fuzz/seed-$$n; } && \
		ASAN_OPTIONS=detect_leaks=1 $$f -max_total_time=$(FUZZ_TIME) -max_len=262144 \
			-rss_limit_mb=2048 -timeout=20 -print_final_stats=1 \
			build-fuzz/corpus-$$n build-fuzz/seed-$$n || exit 1; \
	done

install: magpie
	mkdir -p $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(DATADIR)
	cp magpie $(DESTDIR)$(BINDIR)/magpie
	chmod 755 $(DESTDIR)$(BINDIR)/magpie
	cp man/magpie.1 $(DESTDIR)$(MANDIR)/man1/magpie.1
	cp man/magpie.ini.5 $(DESTDIR)$(MANDIR)/man5/magpie.ini.5
	cp -R etc/. $(DESTDIR)$(DATADIR)/
	cp -R cron $(DESTDIR)$(DATADIR)/cron
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/magpie ]; then \
		echo "keeping existing $(DESTDIR)$(SYSCONFDIR)/magpie"; \
	else \
		mkdir -p $(DESTDIR)$(SYSCONFDIR)/magpie && \
		cp -R etc/templates $(DESTDIR)$(SYSCONFDIR)/magpie/templates && \
		cp etc/example.ini $(DESTDIR)$(SYSCONFDIR)/magpie/magpie.ini.example; \
	fi

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/magpie $(DESTDIR)$(MANDIR)/man1/magpie.1 \
		$(DESTDIR)$(MANDIR)/man5/magpie.ini.5
	rm -rf $(DESTDIR)$(DATADIR)

clean:
	rm -rf build build-asan build-fuzz magpie

.PHONY: all magpie tests check asan valgrind deps install uninstall clean fuzz bench
