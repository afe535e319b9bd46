# smar-ltr developer commands. Every target sets up its own virtual environment (.venv) first.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
JOBS   ?= 2

.PHONY: install run test test-all lint format typecheck bench bench-quality bench-speed clean clean-numba-cache

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install smar-ltr (editable) with test and dev tools

run: $(STAMP)  ## fit SMAR on the built-in synthetic default and report it next to every baseline
	$(VENV)/bin/smar-ltr eval --dataset synthetic
	@echo ""
	@echo "The table above is the built-in simulator (datasets/synthetic.py): a demo and a sanity check, not evidence."
	@cat benchmarks/results/protocol_headline.txt

test: $(STAMP)  ## the default test run (slow end-to-end tests excluded)
	$(PY) -m pytest -q -m "not slow" -n $(JOBS) --dist loadgroup -p no:cacheprovider

test-all: $(STAMP)  ## every test, slow ones included
	$(PY) -m pytest -q -n $(JOBS) --dist loadgroup -p no:cacheprovider

lint: $(STAMP)  ## ruff lint and format check
	$(VENV)/bin/ruff check ltr features datasets cli tests benchmarks
	$(VENV)/bin/ruff format --check ltr features datasets cli tests benchmarks

format: $(STAMP)
	$(VENV)/bin/ruff format ltr features datasets cli tests benchmarks
	$(VENV)/bin/ruff check --fix ltr features datasets cli tests benchmarks

# mypy cannot follow setuptools' editable finder (the package-dir mapping), so type-check a normal,
# non-editable install of the package into a scratch target directory.
typecheck: $(STAMP)  ## mypy on a normal (non-editable) install
	rm -rf build/typecheck build/lib  # setuptools stages the package in build/lib: a moved module would linger there
	$(PY) -m pip install --quiet --no-deps --target build/typecheck .
	cd build/typecheck && $(CURDIR)/$(VENV)/bin/mypy -p smar_ltr

bench: bench-quality bench-speed  ## all benchmarks (results under benchmarks/results/)

bench-quality: $(STAMP)
	$(PY) benchmarks/bench_quality.py $(ARGS)

bench-speed: $(STAMP) clean-numba-cache
	$(PY) benchmarks/bench_speed.py $(ARGS)

# numba's on-disk cache of a kernel is not invalidated when a function it inlines from another file changes:
# after editing one kernel file, timings (and values) can come from stale compiled code until this runs.
clean-numba-cache:
	find ltr features -name '*.nbi' -delete -o -name '*.nbc' -delete

clean:
	rm -rf build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
