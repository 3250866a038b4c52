# The two commands a newcomer runs: `make run` and `make test`. Each sets up what it needs
# (a virtual environment in .venv with pinned dependencies) and is safe to run again.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.sitrep-installed
OUT ?= out/sample

.PHONY: setup browser run test lint bench clean

setup: $(STAMP)

$(STAMP): setup.py deploy/constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c deploy/constraints.txt -e '.[dev]'
	@touch $@

# The main job on the embedded defaults: DirectRunner, local files, no network, the shipped sample.
run: $(STAMP)
	rm -rf $(OUT)
	$(BIN)/sitrep run --sample --out $(OUT) --state $(OUT)/state

lint: $(STAMP)
	$(BIN)/ruff check .

# Headless Chromium for the report and dashboard tests: Debian's chromium package, where apt-get is here
# (elsewhere those tests skip and say why).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@test -x /usr/bin/chromium || ! command -v apt-get >/dev/null || \
	  $(SUDO) apt-get install -y -q chromium >/dev/null || \
	  { $(SUDO) apt-get update -q >/dev/null && $(SUDO) apt-get install -y -q chromium >/dev/null; }

test: lint browser
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	@for script in bench/bench_*.py; do [ -e "$$script" ] || continue; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) out build dist *.egg-info
