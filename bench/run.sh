#!/usr/bin/env bash
# All benchmarks (run by hand or `make bench`; never part of the tests). Each prints its own figures.
set -uo pipefail
cd "$(dirname "$0")/.."
export RASA_TELEMETRY_ENABLED=false HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
KPY=".venv/knowledge/bin/python"
RPY=".venv/rasa/bin/python"
run() { echo; echo "==> $*"; "$@" || echo "(failed: $*)"; }
[ -f bench/nlu_eval.py ] && run "$RPY" bench/nlu_eval.py
[ -f bench/search_quality.py ] && PYTHONPATH=knowledge run "$KPY" bench/search_quality.py
[ -f bench/search_latency.py ] && PYTHONPATH=knowledge run "$KPY" bench/search_latency.py
run python3 bench/rest_latency.py --turns 100
[ -f bench/forms_bench.py ] && run "$RPY" bench/forms_bench.py
exit 0
