# Two commands for a fresh Debian machine with Python 3.11:
#   make demo   installs everything into .venv and runs `hispatial demo` end-to-end
#   make test   installs everything into .venv and runs the test suite
PYTHON ?= python3.11
VENV   ?= .venv
ROOT   ?= data
BIN    := $(VENV)/bin
export DAGSTER_HOME ?= $(CURDIR)/dagster_home

.PHONY: install demo test bench e2e-deps scale-deps clean

$(BIN)/hispatial: pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (Debian: apt-get install python3.11 python3.11-venv)"; exit 1; }
	@ldconfig -p 2>/dev/null | grep -q libusb-1.0 || { echo "installing libusb-1.0-0 for open3d"; \
	  (apt-get install -y libusb-1.0-0 || (apt-get update && apt-get install -y libusb-1.0-0)) >/dev/null; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	@touch $@

install: $(BIN)/hispatial

demo: install
	$(BIN)/hispatial demo --root $(ROOT)

# The UI end-to-end tests drive Debian's Chromium (no browser download); install it when missing.
e2e-deps:
	@[ -x /usr/bin/chromium ] || { echo "installing chromium for the UI tests"; \
	  (apt-get install -y chromium || (apt-get update && apt-get install -y chromium)) >/dev/null; }

# The Postgres instance-storage test starts a throwaway server from Debian's packages.
scale-deps:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { echo "installing postgresql for the instance-storage test"; \
	  (apt-get install -y postgresql || (apt-get update && apt-get install -y postgresql)) >/dev/null; }

test: install e2e-deps scale-deps
	$(BIN)/python -m pytest -q

bench: install
	for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) $(ROOT)
