# Two commands on a fresh machine: `make run` (the default study) and `make test`.
PYTHON ?= python3.12
VENV ?= .venv
BIN := $(VENV)/bin
CORES ?= 2
STAMP := $(VENV)/.installed

.PHONY: run test lint venv clean

venv: $(STAMP)

$(STAMP): requirements.txt constraints.txt pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 12), "essbench needs Python 3.12+; set PYTHON=..."'
	@# Stan (pystan) compiles its models with a C++ compiler: Debian's g++ where missing.
	@command -v g++ >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y -qq g++; } \
	  || { echo "essbench needs g++ to compile Stan models: install it (apt-get install g++)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt -c constraints.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# The default study's results go to results/<study>/ (study: in config/config.yaml).
STUDY = $(shell sed -n 's/^study: *\([A-Za-z0-9_.-]*\).*/\1/p' config/config.yaml)

run: $(STAMP)
	$(BIN)/snakemake --cores $(CORES)
	$(BIN)/snakemake --cores $(CORES) --report results/$(STUDY)/snakemake_report.html

# Two pytest-xdist workers: much of the suite waits (SLURM's polling, Snakemake's jobs,
# single-threaded compiles), so two overlap where one would idle. tests/conftest.py keeps a
# file's tests, and the tests of the tiny study's directory, on one worker each.
TEST_WORKERS ?= 2

test: $(STAMP)
	$(BIN)/python -m pytest -v -rs -n $(TEST_WORKERS) --dist loadgroup --durations=25

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/snakefmt --check .
	$(BIN)/snakemake --lint

clean:
	rm -rf results .snakemake
