# The two commands: `make demo` and `make test`. Both create .venv and install what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# The lowest pandas/numpy we support (the lower bounds in pyproject.toml; tests/test_packaging.py
# checks they agree). `make test-lowest` builds a second venv with them and runs the pack matrix
# and the core tests there; `make test` runs everything on the newest releases.
# Why not lower: pandas 2.1 has no "Y-DEC" period aliases (amtools uses them), and the
# pyarrow releases pip picks need numpy 2 ("pyarrow requires NumPy 2.0 or newer").
LOWEST := $(VENV)/lowest
LOWEST_PINS := pandas==2.2.3 numpy==2.0.2
LOWEST_TESTS := tests/test_pack_matrix.py tests/test_io.py tests/test_mapping.py \
	tests/test_validate.py tests/test_kpi_compute.py tests/test_kpi_scoring.py \
	tests/test_forecast.py tests/test_budget.py

.PHONY: demo test test-lowest lint typecheck clean install

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/amtools demo
	$(BIN)/amtools run

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q

$(LOWEST)/.installed: pyproject.toml
	test -x $(LOWEST)/bin/python || $(PYTHON) -m venv $(LOWEST)
	$(LOWEST)/bin/python -m pip install --quiet --upgrade pip
	$(LOWEST)/bin/python -m pip install --quiet -e ".[dev]" $(LOWEST_PINS)
	$(LOWEST)/bin/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $@

test-lowest: $(LOWEST)/.installed
	$(LOWEST)/bin/python -c "import pandas, numpy; print('pandas', pandas.__version__, 'numpy', numpy.__version__)"
	$(LOWEST)/bin/python -m pytest -n 2 -q $(LOWEST_TESTS)

lint: $(STAMP)
	$(BIN)/ruff check amtools tests benchmarks notebooks
	$(BIN)/ruff format --check amtools tests benchmarks
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy amtools

clean:
	rm -rf $(VENV) data reports .pytest_cache
