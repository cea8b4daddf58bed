# Two commands on a fresh clone: `make run` (the app on embedded defaults) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python

.PHONY: run test bench clean-var

run: $(VENV)/.runtime
	$(PY) -m webapp.devserver

test: $(VENV)/.dev
	$(PY) -m pytest $(PYTEST_ARGS)

bench: $(VENV)/.dev
	$(PY) bench/run_all.py $(BENCH_ARGS)

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.runtime $@

clean-var:
	rm -rf var
