# Kumpel: `make run` sets up (idempotent) and starts everything; `make test` runs all tests.
.PHONY: setup run chat train test test-fast lint format typecheck validate deploy-check check bench clean

RASA_VENV := .venv/rasa/bin
KNOWLEDGE_VENV := .venv/knowledge/bin
# Python code of each venv: the knowledge service and its tests run on 3.11, the Rasa side on 3.10;
# kumpel-forms (forms/) runs in both, so both check it.
KNOWLEDGE_CODE := knowledge/kumpel_knowledge knowledge/alembic forms/src/kumpel_forms tests/knowledge tests/browser \
	bench/search_quality.py bench/search_latency.py bench/answer_bench.py bench/webchat_browser.py \
	bench/answer_quality.py bench/scrub_quality.py bench/console_latency.py bench/knowledge_turn.py bench/xzufi_import.py bench/xzufi_generate.py deploy/check.py
RASA_CODE := bot actions forms/src/kumpel_forms stack/kumpel_stack tests/bot tests/actions tests/forms tests/channels tests/nlu \
	tests/integration tests/stack tests/production bench/nlu_eval.py bench/forms_bench.py bench/rest_latency.py bench/load.py

setup:
	bash bot/setup.sh

run: setup
	$(RASA_VENV)/kumpel-stack run

chat:
	$(RASA_VENV)/kumpel-chat

train:
	RASA_TELEMETRY_ENABLED=false $(RASA_VENV)/kumpel-rasa train --config config.yml --domain domain.yml --data nlu_data --out models

test: setup
	bash tests/run.sh

# Unit tests only (no stack start): quick feedback while coding.
test-fast:
	bash tests/run.sh -m "not integration and not browser"

# ruff (lint + format check) over the whole tree; the configuration is the root pyproject.toml.
lint:
	$(KNOWLEDGE_VENV)/ruff check .
	$(KNOWLEDGE_VENV)/ruff format --check .

format:
	$(KNOWLEDGE_VENV)/ruff check --fix .
	$(KNOWLEDGE_VENV)/ruff format .

# mypy in each venv, so that it sees the libraries that code really runs with.
typecheck:
	$(KNOWLEDGE_VENV)/mypy --config-file knowledge/pyproject.toml $(KNOWLEDGE_CODE)
	$(RASA_VENV)/mypy $(RASA_CODE)

# Rasa's own consistency check of domain, training data, rules and config; errors fail it. Its
# warnings are expected: choose_entry comes only from buttons, and utter_default, utter_out_of_scope,
# utter_out_of_scope_unless_chosen, utter_knowledge_unavailable and utter_action_unavailable are
# uttered by code (actions, bot/patches.py), not by rules.
validate:
	RASA_TELEMETRY_ENABLED=false $(RASA_VENV)/rasa data validate \
		--config config.yml --domain domain.yml --data nlu_data

# deploy/ validated offline (no cluster, no Docker daemon): Kubernetes manifests against the Kubernetes
# schemas, the compose file against the Compose spec, Dockerfiles (hadolint), HAProxy and systemd units.
# Its validators live in a small venv of their own, made from deploy/tools/requirements.lock.
TOOLS_VENV := .venv/tools
PYTHON3 ?= python3

$(TOOLS_VENV)/.kumpel-stamp: deploy/tools/requirements.lock
	[ -x $(TOOLS_VENV)/bin/python ] || $(PYTHON3) -m venv $(TOOLS_VENV)
	$(TOOLS_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r deploy/tools/requirements.lock
	$(TOOLS_VENV)/bin/python -m pip check
	touch $@

deploy-check: $(TOOLS_VENV)/.kumpel-stamp
	$(TOOLS_VENV)/bin/python deploy/check.py

# Everything CI runs before the tests.
check: lint typecheck validate deploy-check

bench:
	bash bench/run.sh

clean:
	rm -rf var models knowledge/models
