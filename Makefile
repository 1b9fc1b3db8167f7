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
MAN_BUILD    ?= build/man
GO_MD2MAN    ?= go-md2man

# podman comes from the distribution, not from berth's PREFIX: installing
# berth under /usr/local still runs /usr/bin/podman.
PODMAN       ?= /usr/bin/podman

# Paths compiled into the binaries (the units they write name them). The
# tests compare against units written with the standard layout
# (InstallPaths::standard), so any PREFIX passes `make check`.
export BERTH_PODMAN      = $(PODMAN)
export BERTH_LIBEXECDIR  = $(LIBEXECDIR)
export BERTH_BINDIR      = $(BINDIR)

MAN_SOURCES = generator/berth-generator.8.md proxy/berth-proxy.8.md api/berth-api.8.md definition/berth.json.5.md
SYSUSERS_DIR ?= $(or $(shell $(PKGCONFIG) --variable=sysusersdir systemd 2>/dev/null),$(PREFIX)/lib/sysusers.d)

.PHONY: all build man selinux deb deps check test lint install uninstall vm-test demo bench clean ansible-test

all: build man

build:
	$(CARGO) build --release --locked -p berth-generator -p berth-proxy -p berth-cli -p berth-api
	@mkdir -p build/units
	sed 's|@LIBEXECDIR@|$(LIBEXECDIR)|g' units/berth-api.service.in > build/units/berth-api.service

# Man pages are markdown next to the code, built into roff.
man:
	@mkdir -p $(MAN_BUILD)
	for src in $(MAN_SOURCES); do \
	  $(GO_MD2MAN) -in "$$src" -out "$(MAN_BUILD)/$$(basename "$$src" .md)" || exit 1; done

# The SELinux policy modules (selinux-policy/), built with the distro's policy
# development Makefile (selinux-policy-dev / selinux-policy-devel).
# berth_container.pp is built only for a policy without a container module
# (selinux-policy/detect-container-types). WITH_SELINUX=auto builds them when
# the development Makefile is installed, yes requires it, no skips them.
WITH_SELINUX      ?= auto
SELINUX_DEVEL     ?= /usr/share/selinux/devel/Makefile
SELINUX_BUILD     ?= build/selinux
SELINUX_ENABLED   := $(if $(filter yes,$(WITH_SELINUX)),yes,$(if $(filter auto,$(WITH_SELINUX)),$(if $(wildcard $(SELINUX_DEVEL)),yes),))
SELINUX_MODULES    = berth $(if $(filter provide,$(shell selinux-policy/detect-container-types)),berth_container)

selinux:
ifeq ($(SELINUX_ENABLED),yes)
	@mkdir -p $(SELINUX_BUILD)
	cp selinux-policy/*.te selinux-policy/*.fc selinux-policy/*.if $(SELINUX_BUILD)/
	$(MAKE) -C $(SELINUX_BUILD) -f $(SELINUX_DEVEL) $(addsuffix .pp,$(SELINUX_MODULES))
else
	@echo "selinux: skipped (WITH_SELINUX=$(WITH_SELINUX), $(SELINUX_DEVEL) absent)"
endif

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

# The verify tests run the built proxy and CLI, so build the workspace first.
test:
	$(CARGO) build --workspace --locked
	$(CARGO) test --workspace --locked
	$(MAKE) ansible-test

# The Ansible collection (ansible/): its modules against the debug berth
# (BERTH_ROOT, BERTH_SYSTEMD=none), and `ansible-galaxy collection build`.
# ansible-core and pytest come from PyPI into build/ansible-venv
# (tools/ansible-venv; ansible/requirements.txt pins them).
ansible-test:
	$(CARGO) build --locked -p berth-cli
	venv=$$(tools/ansible-venv) && \
	  "$$venv/bin/python" -m pytest -q ansible/tests/unit && \
	  (cd ansible && "$$venv/bin/ansible-galaxy" collection build --force --output-path ../build/)

# The packages `make check` needs (tools/install-deps: installed when run as
# root, else the apt-get line to run is printed and make stops).
deps:
	tools/install-deps check

# The README's test command.
check: deps
	$(MAKE) lint test

install: build man selinux
	install -Dm755 $(RELEASE_DIR)/berth-generator $(DESTDIR)$(SYSTEMD_GENERATOR_DIR)/berth-generator
	install -Dm755 $(RELEASE_DIR)/berth-proxy $(DESTDIR)$(LIBEXECDIR)/berth/berth-proxy
	install -Dm755 $(RELEASE_DIR)/berth-api $(DESTDIR)$(LIBEXECDIR)/berth/berth-api
	install -Dm755 $(RELEASE_DIR)/berth $(DESTDIR)$(BINDIR)/berth
	for u in units/*.target units/*.slice units/*.service units/*.socket build/units/*.service; do \
	  [ -e "$$u" ] || continue; install -Dm644 "$$u" $(DESTDIR)$(SYSTEMD_UNIT_DIR)/$$(basename $$u); done
	# The berth group of the API socket; systemd-sysusers creates it at boot
	# (after `make install` on a running host: run `systemd-sysusers berth.conf`).
	install -Dm644 sysusers/berth.conf $(DESTDIR)$(SYSUSERS_DIR)/berth.conf
	install -dm755 $(DESTDIR)$(SYSCONFDIR)/berth/containers
	install -Dm644 schema/berth-definition.schema.json $(DESTDIR)$(DATADIR)/berth/berth-definition.schema.json
	install -dm755 $(DESTDIR)$(DOCDIR)/examples
	install -m644 examples/*.json $(DESTDIR)$(DOCDIR)/examples/
	install -Dm644 $(MAN_BUILD)/berth-generator.8 $(DESTDIR)$(MANDIR)/man8/berth-generator.8
	install -Dm644 $(MAN_BUILD)/berth-proxy.8 $(DESTDIR)$(MANDIR)/man8/berth-proxy.8
	install -Dm644 $(MAN_BUILD)/berth-api.8 $(DESTDIR)$(MANDIR)/man8/berth-api.8
	install -Dm644 $(MAN_BUILD)/berth.json.5 $(DESTDIR)$(MANDIR)/man5/berth.json.5
	install -dm755 $(DESTDIR)$(MANDIR)/man1
	$(RELEASE_DIR)/berth internal man $(DESTDIR)$(MANDIR)/man1
	install -dm755 $(DESTDIR)$(DATADIR)/bash-completion/completions \
	  $(DESTDIR)$(DATADIR)/zsh/vendor-completions $(DESTDIR)$(DATADIR)/fish/vendor_completions.d
	$(RELEASE_DIR)/berth internal completions bash $(DESTDIR)$(DATADIR)/bash-completion/completions
	mv $(DESTDIR)$(DATADIR)/bash-completion/completions/berth.bash $(DESTDIR)$(DATADIR)/bash-completion/completions/berth
	$(RELEASE_DIR)/berth internal completions zsh $(DESTDIR)$(DATADIR)/zsh/vendor-completions
	$(RELEASE_DIR)/berth internal completions fish $(DESTDIR)$(DATADIR)/fish/vendor_completions.d
	install -dm755 $(DESTDIR)/var/lib/berth
ifeq ($(SELINUX_ENABLED),yes)
	for m in $(SELINUX_MODULES); do \
	  install -Dm644 $(SELINUX_BUILD)/$$m.pp $(DESTDIR)$(DATADIR)/selinux/packages/$$m.pp || exit 1; done
	install -Dm644 selinux-policy/berth.if $(DESTDIR)$(DATADIR)/selinux/devel/include/contrib/berth.if
endif

uninstall:
	rm -f $(DESTDIR)$(SYSTEMD_GENERATOR_DIR)/berth-generator $(DESTDIR)$(LIBEXECDIR)/berth/berth-proxy \
	  $(DESTDIR)$(BINDIR)/berth $(DESTDIR)$(SYSTEMD_UNIT_DIR)/berth.target \
	  $(DESTDIR)$(LIBEXECDIR)/berth/berth-api $(DESTDIR)$(SYSTEMD_UNIT_DIR)/berth-api.socket \
	  $(DESTDIR)$(SYSTEMD_UNIT_DIR)/berth-api.service $(DESTDIR)$(SYSUSERS_DIR)/berth.conf \
	  $(DESTDIR)$(MANDIR)/man8/berth-api.8 \
	  $(DESTDIR)$(MANDIR)/man8/berth-generator.8 $(DESTDIR)$(MANDIR)/man8/berth-proxy.8 \
	  $(DESTDIR)$(MANDIR)/man5/berth.json.5 $(DESTDIR)$(MANDIR)/man1/berth.1 $(DESTDIR)$(MANDIR)/man1/berth-*.1
	rm -rf $(DESTDIR)$(DATADIR)/berth $(DESTDIR)$(DOCDIR)
	rm -f $(DESTDIR)$(DATADIR)/selinux/packages/berth.pp $(DESTDIR)$(DATADIR)/selinux/packages/berth_container.pp \
	  $(DESTDIR)$(DATADIR)/selinux/devel/include/contrib/berth.if

# A Debian package built from this tree (debian/); cargo comes from the
# build machine's toolchain, so build dependencies are not checked (-d).
deb:
	dpkg-buildpackage -us -uc -b -d
	mkdir -p build/deb
	mv ../berth_*.deb ../berth_*.buildinfo ../berth_*.changes build/deb/

# The VM suite: a qemu guest with systemd as PID 1 runs tests/vm/scenarios
# against this build (`tests/vm/run 01 04` runs a subset).
vm-test:
	tests/vm/run

# The README's first command: installs the host tools, builds, boots the
# guest and shows a socket-activated nginx served through berth-proxy.
demo:
	tests/vm/demo

# Benchmarks print side-by-side figures against the peers (see README).
bench:
	bash bench/generator.sh
	bash bench/proxy.sh
	bash bench/jobs.sh

clean:
	$(CARGO) clean
	rm -rf build
