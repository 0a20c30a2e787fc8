# `make demo` and `make test` each set up what they need (a virtualenv in .venv) on a fresh machine.
PYTHON ?= $(shell scripts/find_python.sh)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CHECKOV_STAMP := $(VENV)/checkov/.installed

.PHONY: demo test lint typecheck unit deep-test bench clean

$(STAMP): requirements.txt requirements-dev.txt
	@test -n "$(PYTHON)" || (echo "make: no Python 3.12+ found (see above)"; exit 1)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

# checkov pins packaging<24, which pytest cannot use: it gets a virtualenv of its own.
$(CHECKOV_STAMP):
	@test -n "$(PYTHON)" || (echo "make: no Python 3.12+ found (see above)"; exit 1)
	test -x $(VENV)/checkov/bin/python || $(PYTHON) -m venv $(VENV)/checkov
	$(VENV)/checkov/bin/python -m pip install --quiet checkov==3.3.30
	touch $(CHECKOV_STAMP)

demo: $(STAMP)
	$(BIN)/python scripts/demo.py

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy .

unit: $(STAMP) $(CHECKOV_STAMP)
	$(BIN)/pytest -q

test: lint typecheck unit

deep-test: $(STAMP)
	HYPOTHESIS_PROFILE=deep $(BIN)/pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
