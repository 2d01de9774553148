# Two commands on a fresh machine: `make demo` and `make test`. Each sets up .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test demo lint typecheck unit unit-fast bench mutation clean lock locked docs

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

test: $(STAMP) lint typecheck unit docs

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports  # the layering contracts in pyproject.toml

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -n auto

# The tests that touch no AWS API, not even moto's (no `aws` marker): a quick loop while coding.
unit-fast: $(STAMP)
	$(BIN)/pytest -m "not aws"

# The documentation site (MkDocs, Material theme) into site/; --strict fails on a broken link
# or anchor.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

demo: $(STAMP)
	$(BIN)/reconcile demo

bench: $(STAMP)
	$(BIN)/python benchmarks/validate.py
	$(BIN)/python benchmarks/plan.py
	$(BIN)/python benchmarks/executor.py
	$(BIN)/python benchmarks/report.py
	$(BIN)/python benchmarks/verify.py

# Mutation testing of the boundary modules (minutes; not part of `make test`): each module's
# score and surviving mutants. Configured in pyproject.toml's [tool.mutmut].
mutation: $(STAMP)
	$(BIN)/python benchmarks/mutation.py

# The lock files CI installs from: every package pinned with its hashes, for pyproject.toml's
# dependencies (requirements/runtime.txt) and with the dev extra (requirements/dev.txt), the
# build requirements included so `pip install --no-build-isolation` needs nothing else. Keeps
# the pins that still fit; `make lock LOCK_ARGS=--upgrade` takes the newest. Uses the index
# pip is configured with (pip.conf).
PIP_COMPILE = $(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	--all-build-deps --no-emit-index-url --no-emit-find-links $(LOCK_ARGS)

lock: $(STAMP)
	$(PIP_COMPILE) --output-file requirements/runtime.txt pyproject.toml
	$(PIP_COMPILE) --extra dev --output-file requirements/dev.txt pyproject.toml

# CI's install of .venv: exactly the locked versions, hashes checked; `make test` then finds it
# installed.
locked:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements/dev.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .import_linter_cache site mutants
