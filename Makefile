# iotcard: `make test` and `make demo` do all the set-up on a fresh Debian machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# Debian packages the tests need (real servers on loopback); installed when missing and run as root.
# chromium and chromium-driver: the web console's browser tests (Selenium); fonts-wqy-microhei: Chinese text in its
# screenshots.
DEB_PACKAGES ?= dnsmasq mosquitto mosquitto-clients openssl iputils-ping systemd postgresql chromium chromium-driver \
	fonts-wqy-microhei
# What `make deb` and its tests use: file (every .so's architecture), lintian, binutils (readelf), and what the
# package itself depends on, to install it here (Debian's python3, adduser).
PACKAGING_DEB_PACKAGES ?= file lintian binutils adduser python3
PYTEST_ARGS ?=

.PHONY: test demo lint typecheck bench deb deb-deps clean help

help:
	@echo "make test       create .venv, install iotcard with test extras and system packages, run the tests"
	@echo "make demo       the whole system on this machine: Mosquitto, the pty modem simulator, 'iotcard info',"
	@echo "                the agent daemon reporting over MQTT, a cloud command, 'iotcard status'/'diag' through the"
	@echo "                agent's socket, and the collector's card record filled in from the reports"
	@echo "make lint       ruff"
	@echo "make typecheck  mypy (strict on iotcard/drivers/, checked on the rest of iotcard/)"
	@echo "make bench      run every benchmark under bench/, collector included (results go in docs/benchmarks.md)"
	@echo "make deb        dist/iotcard-agent_<version>_{amd64,arm64,armhf}.deb: the agent for Debian 12 devices"

$(STAMP): pyproject.toml
	@if ! $(PYTHON) -m venv --help >/dev/null 2>&1 || ! $(PYTHON) -c 'import ensurepip' >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq python3-venv python3-pip; \
	  else echo "python3-venv is missing: sudo apt-get install python3-venv" >&2; exit 1; fi; fi
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	@touch $@

deb-deps:
	@missing=""; for pkg in $(DEB_PACKAGES) $(PACKAGING_DEB_PACKAGES); do dpkg -s $$pkg >/dev/null 2>&1 || missing="$$missing $$pkg"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then echo "installing:$$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else echo "missing Debian packages:$$missing (run 'make test' as root to install them; their tests are skipped)" >&2; fi; \
	fi

test: $(STAMP) deb-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)

demo: $(STAMP) deb-deps
	$(BIN)/python -m iotcard.simulators.demo

lint: $(STAMP)
	$(BIN)/ruff check iotcard tests bench packaging packaging/iotcard
	$(BIN)/ruff format --check iotcard tests bench packaging packaging/iotcard

typecheck: $(STAMP)
	$(BIN)/mypy iotcard

# Target wheels are fetched once into build/deb/wheels (PyPI); later builds need no network.
deb: $(STAMP)
	$(BIN)/python packaging/build_deb.py

bench: $(STAMP) deb-deps
	$(BIN)/python bench/bench_info.py
	$(BIN)/python bench/bench_probe.py
	$(BIN)/python bench/bench_usage.py
	$(BIN)/python bench/bench_diag.py
	$(BIN)/python bench/bench_telemetry.py
	$(BIN)/python bench/bench_collector.py
	$(BIN)/python bench/bench_search.py
	$(BIN)/python bench/bench_console.py
	$(BIN)/python bench/bench_daemon.py --duration 600

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis build/deb dist
