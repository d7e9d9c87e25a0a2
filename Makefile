# One command to set up and explore, one to set up and test. Both create .venv idempotently.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: lab app serve test lint bench browser notebooks clean fuzz

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

## lab: set up and open JupyterLab on the explorer notebook
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

lab: $(STAMP)
	$(BIN)/jupyter lab $(ROOT_FLAG) --ServerApp.ip=127.0.0.1 notebooks/01_explore.ipynb

## app: set up and serve the explorer as a standalone Voila page on 127.0.0.1:8866
app: $(STAMP)
	$(BIN)/voila notebooks/01_explore.ipynb --no-browser --Voila.ip=127.0.0.1 --port=8866 --VoilaExecutor.timeout=60

## serve: serve the explorer to a class on 127.0.0.1:$(PORT): a preheated kernel pool, culling of closed pages,
## timeouts sized for load (serve/voila.py; README, "Serving a class")
PORT ?= 8866

serve: $(STAMP)
	$(BIN)/voila notebooks/01_explore.ipynb --Voila.config_file_paths=serve --port=$(PORT)

## browser: make sure Debian's Chromium is installed (for the browser test)
browser:
	@test -x /usr/bin/chromium || { echo "installing Debian chromium"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || { echo "ERROR: could not install chromium; the browser test needs /usr/bin/chromium" >&2; exit 1; }; }

## lint: ruff over the package, tests and benchmarks
lint: $(STAMP)
	$(BIN)/ruff check twitchbn tests benchmarks scripts

## test: set up and run every test (unit, property, cross-engine, notebooks under nbval, browser)
test: $(STAMP) browser lint
	$(BIN)/python -m pytest

## bench: interactive latency and throughput, side by side with pyAgrum
bench: $(STAMP)
	$(BIN)/python -m benchmarks

## fuzz: the fuzz test with 20 times its examples, randomized (make test runs the derandomized ~1,200)
fuzz: $(STAMP)
	TWITCHBN_FUZZ=20 $(BIN)/python -m pytest -q -o addopts="" tests/test_fuzz.py

## notebooks: re-run every notebook from a fresh kernel and save it as the nbval baseline
notebooks: $(STAMP)
	for nb in notebooks/*.ipynb; do $(BIN)/jupyter nbconvert --to notebook --execute --inplace "$$nb" || exit 1; done
	$(BIN)/python scripts/strip_notebook.py notebooks/*.ipynb

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
