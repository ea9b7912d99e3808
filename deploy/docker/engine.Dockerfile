# syntax=docker/dockerfile:1
# Kumpel's Rasa engine: rasa 3.6.21 on Python 3.10 with bot/ (channels, tracker/lock stores, patches)
# and the trained model. Build from the repository root:
#   docker build -f deploy/docker/engine.Dockerfile -t kumpel-engine .
# The model is trained in the build stage from config.yml, domain.yml and nlu_data/, so an image is
# one model; a new model is a new image (rolling update).
ARG PYTHON_IMAGE=python:3.10.13-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1 \
    RASA_TELEMETRY_ENABLED=false SQLALCHEMY_SILENCE_UBER_WARNING=1 TF_CPP_MIN_LOG_LEVEL=2 \
    HOME=/tmp
# Compilers only here, for a locked package without a wheel for this platform; never in the final image.
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# The same two steps as bot/setup.sh: the runtime lock decides every version, then Kumpel's own
# packages editable (--no-deps) at the same paths as in a checkout.
RUN python -m venv .venv/rasa && .venv/rasa/bin/pip install pip==23.2.1
COPY bot/requirements.lock bot/requirements.lock
RUN .venv/rasa/bin/pip install -r bot/requirements.lock
COPY pyproject.toml ./
COPY bot bot
COPY actions actions
COPY forms forms
RUN .venv/rasa/bin/pip install --no-deps -e . -e ./forms && .venv/rasa/bin/pip check
COPY config.yml domain.yml credentials.yml endpoints.yml ./
COPY nlu_data nlu_data
RUN .venv/rasa/bin/kumpel-rasa train --config config.yml --domain domain.yml --data nlu_data --out models \
        --fixed-model-name kumpel \
    && rm -rf .rasa /tmp/*

FROM ${PYTHON_IMAGE} AS engine
LABEL org.opencontainers.image.title="kumpel-engine" \
      org.opencontainers.image.description="Kumpel citizen chatbot: Rasa engine with the trained model" \
      org.opencontainers.image.licenses="MIT"
# Telemetry off: a city's chatbot does not phone home. HOME and the caches point at /tmp, the only
# writable place when the root filesystem is mounted read-only.
ENV PATH=/app/.venv/rasa/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    RASA_TELEMETRY_ENABLED=false SQLALCHEMY_SILENCE_UBER_WARNING=1 TF_CPP_MIN_LOG_LEVEL=2 \
    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HOME=/tmp MPLCONFIGDIR=/tmp \
    KUMPEL_ENV=production KUMPEL_RASA_ENDPOINTS=bot/endpoints.redis.yml \
    KUMPEL_ACTION_ENDPOINT_URL=http://actions:5055/webhook
RUN groupadd --system --gid 10001 kumpel \
    && useradd --system --uid 10001 --gid kumpel --home-dir /nonexistent --shell /usr/sbin/nologin kumpel
WORKDIR /app
COPY --from=build /app /app
COPY deploy/docker/engine-entrypoint.sh /usr/local/bin/kumpel-engine
USER 10001:10001
EXPOSE 5005
# Readiness of Rasa: the REST channel answers once the model is loaded (GET / only says "process up").
HEALTHCHECK --interval=30s --timeout=5s --start-period=180s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5005/webhooks/rest/', timeout=4)"]
ENTRYPOINT ["/usr/local/bin/kumpel-engine"]
