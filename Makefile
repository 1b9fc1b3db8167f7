# berth — build, test, install (paths as distro packagers expect).
# Directories come from `pkg-config systemd` when it is available.

CARGO        ?= cargo
PREFIX       ?= /usr
BINDIR       ?= $(PREFIX)/bin
LIBEXECDIR   ?= $(PREFIX)/libexec
DATADIR      ?= $(PREFIX)/share
MANDIR       ?= $(DATADIR)/man
DOCDIR       ?= $(DATADIR)/doc/berth
SYSCONFDIR   ?= /etc
PKGCONFIG    ?= pkg-config
SYSTEMD_UNIT_DIR      ?= $(or $(shell $(PKGCONFIG) --variable=systemdsystemunitdir systemd 2>/dev/null),$(PREFIX)/lib/systemd/system)
SYSTEMD_GENERATOR_DIR ?= $(or $(shell $(PKGCONFIG) --variable=systemdsystemgeneratordir systemd 2>/dev/null),$(PREFIX)/lib/systemd/system-generators)
RELEASE_DIR  ?= target/release

.PHONY: all build check test lint install uninstall vm-test demo bench clean

all: build

build:
	$(CARGO) build --release --workspace --locked

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

test:
	$(CARGO) test --workspace --locked

# The README's test command.
check: lint test

install: build
	install -Dm755 $(RELEASE_DIR)/berth-generator $(DESTDIR)$(SYSTEMD_GENERATOR_DIR)/berth-generator
	install -Dm755 $(RELEASE_DIR)/berth-proxy $(DESTDIR)$(LIBEXECDIR)/berth/berth-proxy
	install -Dm755 $(RELEASE_DIR)/berth $(DESTDIR)$(BINDIR)/berth
	for u in units/*.target units/*.slice units/*.service units/*.socket; do \
	  [ -e "$$u" ] || continue; install -Dm644 "$$u" $(DESTDIR)$(SYSTEMD_UNIT_DIR)/$$(basename $$u); done
	install -dm755 $(DESTDIR)$(SYSCONFDIR)/berth/containers
	install -Dm644 schema/berth-definition.schema.json $(DESTDIR)$(DATADIR)/berth/berth-definition.schema.json
	install -dm755 $(DESTDIR)$(DOCDIR)/examples
	install -m644 examples/*.json $(DESTDIR)$(DOCDIR)/examples/

clean:
	$(CARGO) clean
