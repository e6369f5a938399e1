# territorial-gis: two commands do all set-up on a fresh machine.
#   make run   installs into .venv and runs the full pipeline on the embedded region (data/) and the
#              rural Guaviare example
#   make test  installs into .venv with the test extras and runs the test suite offline
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
OUT    ?= outputs/porto_alegre
RURAL  ?= outputs/guaviare
STAMP  := $(VENV)/.installed
comma  := ,

.PHONY: run test lint typecheck bench install browser clean mutate

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -qq --upgrade pip

# compiled modules (territorial_gis/*.pyx) are rebuilt when a .pyx or the build files change
$(STAMP): $(BIN)/python pyproject.toml setup.py $(wildcard territorial_gis/*.pyx) $(wildcard territorial_gis/*.pxd)
	PYTHONWARNINGS=ignore::UserWarning $(BIN)/python -m pip install -qq -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

# Debian's chromium for the browser tests of maps and reports (CI starts without it).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null) \
	  || echo "warning: could not install chromium; browser tests will be skipped"; }

# the embedded demonstration region (Porto Alegre), then the rural example (Guaviare, Colombia)
run: $(STAMP)
	$(BIN)/tgis run -o $(OUT) --overwrite
	$(BIN)/tgis run examples/guaviare/study.toml -o $(RURAL) --overwrite

test: $(STAMP) browser
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

lint: $(STAMP)
	$(BIN)/ruff check territorial_gis cli tests benchmarks examples scripts
	$(BIN)/mypy

# benchmarks print ratios against osmnx / networkx / scipy / momepy; the scale runs take minutes
bench: $(STAMP)
	$(BIN)/python -m pip install -qq -e ".[test,bench]"
	for b in network access od layers corridors hubs map surfaces criticality scale; do $(BIN)/python benchmarks/bench_$$b.py || exit 1; done

# mutation testing of the core modules with mutmut (slow: tens of minutes; not part of `make test`);
# TARGETS=speeds,hubs runs some targets only (see scripts/mutate.py --list); SAMPLE=0.25 a seeded quarter
# of each target's mutants (a full run has ~10,000 mutants: hours on two cores)
$(VENV)/.mutate-installed: $(STAMP)
	$(BIN)/python -m pip install -qq -e ".[test,mutate]"
	touch $@

mutate: $(VENV)/.mutate-installed
	nice -n 10 $(BIN)/python scripts/mutate.py --sample $(or $(SAMPLE),1) $(subst $(comma), ,$(TARGETS))

clean:
	rm -rf $(VENV) outputs build mutants *.egg-info territorial_gis/*.c territorial_gis/*.so territorial_gis/*.html
