# Two commands set everything up on a fresh Debian machine with Python 3.11:
#   make demo   # creates .venv if missing, then runs the main job
#   make test   # creates .venv if missing, then runs ruff, the docs build and pytest
#   make test-oldest  # the suite again in .venv-oldest, with every dependency at its floor
#   make docs   # the documentation site into site/, offline, failing on any warning
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: setup test test-oldest docs demo gallery clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml scripts/setup.sh scripts/debian.sh
	PYTHON=$(PYTHON) VENV=$(VENV) bash scripts/setup.sh
	touch $@

test: setup
	@# The deck's and the live page's tests open them in a real browser: Debian's Chromium.
	command -v chromium >/dev/null || bash scripts/debian.sh "a browser for the pages' tests" chromium
	@# reveal.js and the live page's libraries (d3, uPlot, plotly) come from their npm packages.
	command -v npm >/dev/null || bash scripts/debian.sh "npm for the pages' JavaScript" npm
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(MAKE) docs
	$(BIN)/python -m pytest -q

# --strict: a broken link or anchor, or a page left out of the nav, fails the build (not with
# --quiet, which hides the warnings that --strict counts). The command pages are generated from
# the CLI at each build.
docs: setup
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

test-oldest:
	PYTHON=$(PYTHON) bash scripts/test_oldest.sh

demo: setup
	$(BIN)/landscape render adam

gallery: setup
	$(BIN)/python scripts/gallery.py

clean:
	rm -rf $(VENV) .venv-oldest build site *.egg-info
