# Two commands do all the set-up:
#   make run    install into .venv, start the embedded broker, a worker, web and the demo
#   make test   install into .venv (plus the Kafka jars) and run every test tier
PY ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: install run test test-fast test-broker bench schemas clean

$(BIN)/logwarden: pyproject.toml setup.py agents/extract/_scan.c
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

install: $(BIN)/logwarden

run: install
	$(BIN)/logwarden up --demo

kafka-jars: install
	$(BIN)/logwarden broker fetch-kafka-jars

# Two pytest workers (pytest-xdist, worksteal: an idle worker takes queued tests from the
# other, so long broker tests do not pile up on one); each starts its own brokers; every test uses free
# ports and its own topic namespace or broker, so the tiers run side by side.
test: install kafka-jars
	$(BIN)/python -m pytest -q -p no:cacheprovider -n 2 --dist worksteal --durations=25

test-fast: install
	$(BIN)/python -m pytest -q -m "not broker" -n 2

test-broker: install kafka-jars
	$(BIN)/python -m pytest -q -m broker -n 2 --dist worksteal

bench: install kafka-jars
	$(BIN)/python -m ops.bench.extract

schemas: install
	$(BIN)/python -m schemas.jsonschema

clean:
	rm -rf $(VENV) .logwarden build *.egg-info
