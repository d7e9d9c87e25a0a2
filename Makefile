# One command to set up and explore, one to set up and test. Both create .venv idempotently.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: lab app serve test lint bench bench-browser browser notebooks clean fuzz

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

## lab: set up and open JupyterLab on the explorer notebook
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

lab: $(STAMP)
	$(BIN)/jupyter lab $(ROOT_FLAG) --ServerApp.ip=127.0.0.1 notebooks/01_explore.ipynb

## app: set up and serve the explorer as a standalone Voila page on 127.0.0.1:8866, from two preheated kernels
## (serve/app/voila.py), so that the page is ready in about a second
app: $(STAMP)
	$(BIN)/voila notebooks/01_explore.ipynb --Voila.config_file_paths=serve/app --port=8866

## serve: serve the explorer to a class on 127.0.0.1:$(PORT): a preheated kernel pool, culling of closed pages,
## timeouts sized for load (serve/voila.py; README, "Serving a class")
PORT ?= 8866

serve: $(STAMP)
	$(BIN)/voila notebooks/01_explore.ipynb --Voila.config_file_paths=serve --port=$(PORT)

## browser: make sure Debian's Chromium is installed and axe-core (npm, pinned in package-lock.json) is in node_modules/
browser:
	@test -x /usr/bin/chromium || { echo "installing Debian chromium"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || { echo "ERROR: could not install chromium; the browser test needs /usr/bin/chromium" >&2; exit 1; }; }
	@test -f node_modules/axe-core/axe.min.js || { command -v npm >/dev/null || { echo "installing Debian npm"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null) \
	  || { echo "ERROR: could not install npm; the accessibility test needs axe-core from npm" >&2; exit 1; }; }; \
	  npm ci --no-audit --no-fund --silent; }

## lint: ruff over the package, tests and benchmarks
lint: $(STAMP)
	$(BIN)/ruff check twitchbn tests benchmarks scripts

## test: set up and run every test (unit, property, cross-engine, notebooks under nbval, browser)
test: $(STAMP) browser lint
	$(BIN)/python -m pytest

## bench: interactive latency and throughput, side by side with pyAgrum
bench: $(STAMP)
	$(BIN)/python -m benchmarks

## bench-browser: the explorer in Chromium: page ready, change -> results, busy state, axe-core counts per notebook
bench-browser: $(STAMP) browser
	$(BIN)/python -m benchmarks.browser

## fuzz: the fuzz test with 20 times its examples, randomized (make test runs the derandomized ~1,200)
fuzz: $(STAMP)
	TWITCHBN_FUZZ=20 $(BIN)/python -m pytest -q -o addopts="" tests/test_fuzz.py

## notebooks: re-run every notebook from a fresh kernel and save it as the nbval baseline
notebooks: $(STAMP)
	for nb in notebooks/*.ipynb; do $(BIN)/jupyter nbconvert --to notebook --execute --inplace "$$nb" || exit 1; done
	$(BIN)/python scripts/strip_notebook.py notebooks/*.ipynb

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
