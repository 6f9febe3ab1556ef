# Set-up and entry points. `make demo` and `make test` each do the whole set-up on a fresh
# Debian machine (as root: apt-get installs the system packages that are missing).
VENV    := .venv
PY      := $(VENV)/bin/python
APT     := libegl1 libgl1-mesa-dri libosmesa6
APT_TEST := chromium jekyll
export VTK_DEFAULT_OPENGL_WINDOW ?= vtkEGLRenderWindow

.PHONY: demo test lint bench clean apt apt-test fuzz

demo: $(VENV)/.installed
	$(VENV)/bin/muscle-atlas demo -o demo-site

test: $(VENV)/.installed-test tests/js/node_modules/.installed
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(PY) -m pytest

# A long fuzz campaign of every reader (issue #14): random inputs, MUSCLE_ATLAS_FUZZ_EXAMPLES per reader.
# CI runs the same tests with a fixed seed and a few hundred inputs each.
FUZZ_EXAMPLES ?= 10000
fuzz: $(VENV)/.installed-test
	MUSCLE_ATLAS_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) nice -n 10 $(PY) -m pytest tests/test_fuzz.py -p no:cacheprovider \
		-q --hypothesis-show-statistics --durations=0

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
