# The two commands a fresh machine needs: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-test
STAMP_RUN := $(VENV)/.installed

.PHONY: demo test lint typecheck unit screenshots bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP_RUN): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(STAMP_RUN)

demo: $(STAMP_RUN)
	$(BIN)/python -m mjdash --demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check mjdash tests benchmarks
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest

test: lint typecheck unit

# The README's screenshots are the snapshot tests' SVGs: same fixtures, fixed clock, seed and terminal size.
screenshots: $(STAMP)
	$(BIN)/pytest tests/ui/test_snapshots.py --snapshot-update -q
	mkdir -p screenshots
	for f in tests/ui/__snapshots__/test_snapshots/*.svg; do \
		cp "$$f" "screenshots/$$(basename "$$f" .svg | sed 's/^test_//; s/\[/-/; s/\]//').svg"; done
	$(BIN)/python -m tests.browser.screenshots

bench: $(STAMP)
	for b in benchmarks/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
