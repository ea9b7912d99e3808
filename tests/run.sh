#!/usr/bin/env bash
# Runs every test suite in the venv it belongs to. Exit code: non-zero if any suite failed.
set -uo pipefail
cd "$(dirname "$0")/.."
export RASA_TELEMETRY_ENABLED=false SQLALCHEMY_SILENCE_UBER_WARNING=1 TF_CPP_MIN_LOG_LEVEL=2 \
       HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1

existing() { for d in "$@"; do [ -d "$d" ] && ls "$d"/test_*.py >/dev/null 2>&1 && echo "$d"; done; }

status=0
RASA_SUITES=$(existing tests/bot tests/actions tests/forms tests/channels tests/nlu tests/integration tests/stack tests/production)
KNOWLEDGE_SUITES=$(existing tests/knowledge tests/browser)

if [ -n "$KNOWLEDGE_SUITES" ]; then
  echo "==> knowledge venv: $KNOWLEDGE_SUITES"
  .venv/knowledge/bin/python -m pytest $KNOWLEDGE_SUITES "$@" || status=1
fi
if [ -n "$RASA_SUITES" ]; then
  echo "==> rasa venv: $RASA_SUITES"
  .venv/rasa/bin/python -m pytest $RASA_SUITES "$@" || status=1
fi
exit $status
