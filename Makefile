# Yunqiao: `make run` serves the whole stack locally; `make test` runs the test suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

export PORT ?= 8000
export SANDBOX_PORT ?= 8765

.PHONY: run test lint format bootstrap clean

$(STAMP): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $(STAMP)

bootstrap: $(STAMP)

# Served as in production (debug off: no URL list on a 404, no tracebacks), but over plain HTTP
# on 127.0.0.1, so the HTTPS redirect and secure-only cookies are off unless the caller sets
# DJANGO_HTTPS=1 (behind a TLS proxy). DJANGO_DEBUG=1 make run turns debug on for development.
run: export DJANGO_HTTPS ?= 0
run: $(STAMP)
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py createcachetable
	$(BIN)/python manage.py collectstatic --no-input --verbosity 0
	$(BIN)/python manage.py ensure_admin
	exec $(BIN)/python manage.py runstack

# The whole suite on SQLite + the ORM broker; again on PostgreSQL + Redis when
# TEST_DATABASE_URL / TEST_REDIS_URL are set. The exit code is pytest's (5 = no tests = failure).
# Whole-stack tests of the embedded default (marker first_pass_only: make run, the browser) run on the
# first pass only, the API fuzzer (marker fuzz) on the second only: each slow process-level test once.
test: $(STAMP)
	env -u DATABASE_URL -u REDIS_URL $(BIN)/python -m pytest $(PYTEST_ARGS)
	@if [ -n "$$TEST_DATABASE_URL$$TEST_REDIS_URL" ]; then \
		echo "== again on DATABASE_URL=$${TEST_DATABASE_URL:-sqlite} REDIS_URL=$${TEST_REDIS_URL:-orm broker} =="; \
		DATABASE_URL="$$TEST_DATABASE_URL" REDIS_URL="$$TEST_REDIS_URL" $(BIN)/python -m pytest $(PYTEST_ARGS); \
	fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
