# esante — the two commands of the README are `make run` and `make test`.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
DSFR   := node_modules/@gouvfr/dsfr/dist
VENDOR := src/esante/web/static/vendor

.PHONY: install assets run serve worker demo test test-pg lint fmt clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 introuvable ($(PYTHON))"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@

install: $(VENV)/.installed assets

# Front-end assets from the npm registry (pinned in package-lock.json), copied into the
# package so that the app serves them itself (no CDN: the CSP allows only 'self').
$(VENDOR)/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	rm -rf $(VENDOR) && mkdir -p $(VENDOR)/dsfr/utility $(VENDOR)/htmx $(VENDOR)/swagger-ui $(VENDOR)/chartjs
	cp $(DSFR)/dsfr.min.css $(DSFR)/dsfr.module.min.js $(DSFR)/dsfr.nomodule.min.js $(VENDOR)/dsfr/
	cp -r $(DSFR)/fonts $(DSFR)/favicon $(DSFR)/icons $(VENDOR)/dsfr/ 2>/dev/null || cp -r $(DSFR)/fonts $(DSFR)/favicon $(VENDOR)/dsfr/
	cp -r $(DSFR)/utility/icons $(DSFR)/utility/utility.min.css $(VENDOR)/dsfr/utility/
	cp node_modules/htmx.org/dist/htmx.min.js $(VENDOR)/htmx/
	cp node_modules/swagger-ui-dist/swagger-ui-bundle.js node_modules/swagger-ui-dist/swagger-ui.css $(VENDOR)/swagger-ui/
	cp node_modules/chart.js/dist/chart.umd.min.js $(VENDOR)/chartjs/
	@touch $@

assets: $(VENDOR)/.installed

# First command of the README: install, migrate, seed the demo (with the test certificates
# of the messaging gateway), serve with the worker, the SMTP gateway and IMAP (Dovecot).
run: install
	$(BIN)/esante db upgrade
	$(BIN)/esante demo
	$(BIN)/esante run --host $(HOST) --port $(PORT)

serve: install
	$(BIN)/esante serve --host $(HOST) --port $(PORT)

worker: install
	$(BIN)/esante worker

demo: install
	$(BIN)/esante db upgrade && $(BIN)/esante demo

# Second command of the README: install and run the whole suite (SQLite by default;
# set ESANTE_DATABASE_URL to run it on PostgreSQL).
test: install
	$(BIN)/python -m pytest -q

test-pg: install
	ESANTE_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test $(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

fmt: install
	$(BIN)/ruff check --fix src tests bench

clean:
	rm -rf $(VENV) node_modules $(VENDOR) var .pytest_cache .mypy_cache .ruff_cache
