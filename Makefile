# Two commands on a fresh clone: `make run` (the app on embedded defaults) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
# The French catalogue, compiled for the web app (the .po is committed, the .mo is built).
MO     := translations/fr/LC_MESSAGES/messages.mo

.PHONY: run test bench messages clean-var

run: $(VENV)/.runtime $(MO)
	$(PY) -m webapp.devserver

test: $(VENV)/.dev $(MO)
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

$(MO): translations/fr/LC_MESSAGES/messages.po $(VENV)/.runtime
	$(VENV)/bin/pybabel compile -d translations -l fr -i $< -o $@

# After changing a text: extract every marked message (babel.cfg) and merge it into the .po,
# then translate the new entries (tests/test_i18n_catalog.py says which are missing).
messages: $(VENV)/.runtime
	$(VENV)/bin/pybabel extract -F babel.cfg --no-location --sort-by-file --project=mdc --version=0.1.0 -o $(VENV)/messages.pot . >/dev/null
	$(VENV)/bin/pybabel update --no-fuzzy-matching --ignore-obsolete -i $(VENV)/messages.pot -d translations -l fr

clean-var:
	rm -rf var
