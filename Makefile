# Two commands for a fresh machine (see README.md):
#   make run   - the agent role on its embedded default config, exporting to a local sink
#   make test  - installs everything the tests need, then runs the whole test suite
PY ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
APT_PACKAGES := python3-bpfcc bpfcc-tools linux-headers-amd64 prometheus-node-exporter

.PHONY: run test deps apt venv bench soak

apt:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	  if [ -n "$$missing" ]; then apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; fi; \
	fi

venv:
	@test -x $(VPY) || $(PY) -m venv $(VENV)
	@$(VPY) -m pip install -q --upgrade pip >/dev/null 2>&1 || true
	$(VPY) -m pip install -q -e '.[test]'
	@# Debian installs BCC's Python module for its own python3 only; expose just that package.
	@if [ -d /usr/lib/python3/dist-packages/bcc ]; then \
	  mkdir -p $(VENV)/bcc-path && ln -sfn /usr/lib/python3/dist-packages/bcc $(VENV)/bcc-path/bcc && \
	  echo "$(CURDIR)/$(VENV)/bcc-path" > $$($(VPY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/debian_bcc.pth; \
	fi

deps: apt venv

test: deps
	$(VPY) -m pytest -q

bench: deps
	@# wrk drives the APM overhead benchmark.
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk; } || true
	$(VPY) -m pytest -q -m bench -s

soak: deps
	$(VPY) -m pytest -q -m slow -s

run: venv
	$(VPY) -m collector.demo
