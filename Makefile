# The two Quick start commands: `make demo` and `make test`.
VENV ?= .venv
PYTHON ?= python3
BIN = $(VENV)/bin
DEMO_TIMES = --at 2021-03-10T12:00Z --at 2021-03-12T12:00Z --at 2022-03-13T12:00Z --at 2022-03-14T12:00Z
DEMO_PLATFORMS = instagram,facebook,twitter,youtube,tiktok

$(BIN)/censorscope: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

.PHONY: install demo test lint bench fuzz
install: $(BIN)/censorscope

demo: install
	$(BIN)/censorscope lab run scenarios/russia-2022.toml $(DEMO_TIMES) --db demo.duckdb --sites --platform $(DEMO_PLATFORMS)

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

test: lint
	$(BIN)/pytest -q

# the parsers' property-based tests with many more examples (tests/conftest.py: "fuzz")
fuzz: install
	HYPOTHESIS_PROFILE=fuzz $(BIN)/pytest -q -m fuzz --hypothesis-show-statistics

bench: install
	$(BIN)/python bench/bench_lab.py
	$(BIN)/python bench/bench_unblock.py
