# syntax=docker/dockerfile:1
# Kumpel's action server (rasa-sdk 3.6.2, Python 3.10): thin, holds no data. Build from the repo root:
#   docker build -f deploy/docker/actions.Dockerfile -t kumpel-actions .
# Slimmer than the engine: only what actions/ imports, at exactly the versions of bot/requirements.lock
# (used as constraints), without Rasa and TensorFlow.
ARG PYTHON_IMAGE=python:3.10.13-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /app
RUN python -m venv .venv/rasa && .venv/rasa/bin/pip install pip==23.2.1
COPY bot/requirements.lock bot/requirements.lock
RUN .venv/rasa/bin/pip install -c bot/requirements.lock rasa-sdk httpx pydantic python-stdnum PyYAML
COPY pyproject.toml ./
COPY bot bot
COPY actions actions
COPY forms forms
RUN .venv/rasa/bin/pip install --no-deps -e . -e ./forms && .venv/rasa/bin/pip check

FROM ${PYTHON_IMAGE} AS actions
LABEL org.opencontainers.image.title="kumpel-actions" \
      org.opencontainers.image.description="Kumpel citizen chatbot: action server" \
      org.opencontainers.image.licenses="MIT"
ENV PATH=/app/.venv/rasa/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 HOME=/tmp \
    KUMPEL_ENV=production KUMPEL_KNOWLEDGE_URL=http://knowledge:8000
RUN groupadd --system --gid 10001 kumpel \
    && useradd --system --uid 10001 --gid kumpel --home-dir /nonexistent --shell /usr/sbin/nologin kumpel
WORKDIR /app
COPY --from=build /app /app
USER 10001:10001
EXPOSE 5055
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5055/health', timeout=4)"]
# KUMPEL_ACTION_SERVER_SECRET and KUMPEL_ACTION_TOKEN come from the environment at run time.
ENTRYPOINT ["kumpel-actions"]
CMD ["--host", "0.0.0.0", "--port", "5055"]
