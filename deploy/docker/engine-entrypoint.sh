#!/bin/sh
# Starts Rasa through kumpel-rasa (applies bot/patches.py first), on all interfaces of the container.
# KUMPEL_CORS_ORIGINS (space separated) names the web pages that embed the widget; it is required
# because an empty --cors would refuse every browser.
set -eu
: "${KUMPEL_CORS_ORIGINS:?set KUMPEL_CORS_ORIGINS to the web pages that embed the chat widget}"
: "${KUMPEL_ACTION_SERVER_SECRET:?set KUMPEL_ACTION_SERVER_SECRET (the same value as the action server)}"
# shellcheck disable=SC2086 # one --cors argument per origin
exec kumpel-rasa run --model models --endpoints "${KUMPEL_RASA_ENDPOINTS}" --credentials credentials.yml \
    --interface 0.0.0.0 --port 5005 --cors ${KUMPEL_CORS_ORIGINS} "$@"
