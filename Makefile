# The two commands: `make test` and `make demo`. Both create .venv and install
# the pinned requirements first (torch 2.13.0 is the CPU build where pip finds it).

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
ARGS ?=
PYTEST_ARGS ?=

.PHONY: install test demo protos check-protos bench clean

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP)

# The deploy tests run a real Prometheus; Debian's package provides it and promtool.
test: $(STAMP)
	sh deploy/install-prometheus.sh
	$(PY) -m pytest $(PYTEST_ARGS)

demo: $(STAMP)
	$(VENV)/bin/fashionrec demo $(ARGS)

protos: $(STAMP)
	$(PY) -m fashionrec.protogen

check-protos: $(STAMP)
	$(PY) -m fashionrec.protogen --check

clean:
	rm -rf $(VENV) .fashionrec demo-output .pytest_cache
