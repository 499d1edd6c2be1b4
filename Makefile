# kubectl-egress: the targets a newcomer guesses.
#   make demo   run both recipes and the probe on the local cluster (installs what it needs)
#   make test   the whole suite, the built binaries included (installs and builds what it needs)
#   make lint   byte-compile and check the package imports cleanly
#   make build  dist/kubectl-egress (one file) and dist/onedir/kubectl-egress/ (one folder)
#   make krew   the krew release archive, its sha256 written into plugin.yaml
#   make bench  speed and memory against kubectl on the local cluster
#   make mutate mutation testing of the modules that hold promises; a score per module
#               (ONLY='kubectl_egress.apply*' narrows it; not part of make test)
PYTHON  ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed-$(shell cat setup.cfg pyproject.toml | cksum | cut -d' ' -f1)
SOURCES := $(wildcard kubectl_egress/*.py kubectl_egress/*/*.py release/hooks/*.dat release/hooks/*/*.py) release/build.py release/entry.py
ONEFILE := dist/kubectl-egress
ONEDIR  := dist/onedir/kubectl-egress/kubectl-egress

.PHONY: venv demo test lint build krew bench mutate clean-venv

venv: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	rm -f $(VENV)/.installed-*
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,build]'
	touch $@

$(ONEFILE): $(STAMP) $(SOURCES)
	$(BIN)/python release/build.py onefile

$(ONEDIR): $(STAMP) $(SOURCES)
	$(BIN)/python release/build.py onedir

build: $(ONEFILE) $(ONEDIR)

krew: venv
	$(BIN)/python release/build.py krew

demo: venv
	PATH="$(CURDIR)/$(BIN):$$PATH" bash tests/demo.sh

test: venv build
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest -q

bench: venv build
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m tests.bench

mutate: venv
	rm -rf mutants  # a fresh run: results cached from older tests would not count new kills
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/mutmut run --max-children 2 $(ONLY)
	$(BIN)/python -m tests.mutation_score

lint: venv
	$(BIN)/python -m compileall -q kubectl_egress tests release
	$(BIN)/python -c "import kubectl_egress.cli"

clean-venv:
	rm -rf $(VENV)
