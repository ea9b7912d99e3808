#!/usr/bin/env bash
# All benchmarks (run by hand or `make bench`; never part of the tests). Each prints its own figures.
set -uo pipefail
cd "$(dirname "$0")/.."
export RASA_TELEMETRY_ENABLED=false HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
KPY=".venv/knowledge/bin/python"
RPY=".venv/rasa/bin/python"
run() { echo; echo "==> $*"; "$@" || echo "(failed: $*)"; }
run "$RPY" bench/nlu_eval.py
run "$KPY" bench/search_quality.py
run "$KPY" bench/search_latency.py
run "$KPY" bench/answer_quality.py
run "$KPY" bench/scrub_quality.py
run "$KPY" bench/console_latency.py
run "$RPY" bench/rest_latency.py --turns 100
run "$RPY" bench/forms_bench.py
run "$RPY" bench/load.py
exit 0
