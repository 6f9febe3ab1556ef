# Set-up and entry points. `make demo` and `make test` each do the whole set-up on a fresh
# Debian machine (as root: apt-get installs the system packages that are missing).
VENV    := .venv
PY      := $(VENV)/bin/python
APT     := libegl1 libgl1-mesa-dri libosmesa6
APT_TEST := chromium jekyll
export VTK_DEFAULT_OPENGL_WINDOW ?= vtkEGLRenderWindow

.PHONY: demo test lint bench clean apt apt-test

demo: $(VENV)/.installed
	$(VENV)/bin/muscle-atlas demo -o demo-site

test: $(VENV)/.installed-test tests/js/node_modules/.installed
	$(VENV)/bin/ruff check src tests bench
	$(PY) -m pytest

bench: $(VENV)/.installed
	$(PY) bench/render_bench.py

apt:
	@./scripts/apt-ensure.sh $(APT)

apt-test:
	@./scripts/apt-ensure.sh $(APT) $(APT_TEST)

$(VENV)/bin/python:
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python apt
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed | apt-test
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

# Node tools the tests call (glTF validator, HTML checker, axe-core), from the npm registry.
tests/js/node_modules/.installed: tests/js/package.json
	cd tests/js && npm install --no-audit --no-fund --silent
	touch $@

clean:
	rm -rf $(VENV) demo-site .pytest_cache
