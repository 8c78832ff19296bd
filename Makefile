PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint pg-test demo clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python main.py serve $(if $(HUB_SETTINGS),--config $(HUB_SETTINGS),)

# One test worker per core (pytest-xdist); TEST_WORKERS=0 runs them in this process.
TEST_WORKERS ?= auto

test: $(STAMP)
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS)

pg-test: $(STAMP)
	HUB_TEST_PG_URL=$${HUB_TEST_PG_URL:-postgresql+asyncpg://postgres@127.0.0.1:5432/test} $(BIN)/python -m pytest -q -n $(TEST_WORKERS) -m postgres

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports

demo: $(STAMP)
	$(BIN)/python main.py demo

clean:
	rm -rf $(VENV) data
