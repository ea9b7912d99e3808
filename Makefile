# Kumpel: `make run` sets up (idempotent) and starts everything; `make test` runs all tests.
.PHONY: setup run chat train test test-fast bench clean

PYTHON ?= python3

setup:
	bash bot/setup.sh

run: setup
	$(PYTHON) bot/stack.py run

chat:
	$(PYTHON) bot/chat.py

train:
	RASA_TELEMETRY_ENABLED=false .venv/rasa/bin/rasa train --config config.yml --domain domain.yml --data nlu_data --out models

test: setup
	bash tests/run.sh

# Unit tests only (no stack start): quick feedback while coding.
test-fast:
	bash tests/run.sh -m "not integration and not browser"

bench:
	bash bench/run.sh

clean:
	rm -rf var models knowledge/models
