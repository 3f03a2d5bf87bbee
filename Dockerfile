# syntax=docker/dockerfile:1
# gridbot image: `docker build -t gridbot .` then `docker run --rm gridbot` trades the
# simulated exchange on the built-in generated market (no keys). See docs/docker.md.
# tests/integration/test_container.py checks this file and runs its entrypoint outside Docker;
# .ci/container-check builds and runs it for real with podman.

ARG PYTHON_IMAGE=python:3.11-slim

# ---------------------------------------------------------------- builder: a venv with gridbot
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
RUN python -m venv /opt/venv
# The runtime dependencies first, read from pyproject.toml, so that this layer stays cached
# while only the code changes.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && /opt/venv/bin/pip install -r /tmp/requirements.txt
COPY README.md ./
COPY domain ./domain
COPY application ./application
COPY adapters ./adapters
COPY proto ./proto
COPY bootstrap ./bootstrap
RUN /opt/venv/bin/pip install . \
    && /opt/venv/bin/gridbot --help > /dev/null \
    && /opt/venv/bin/gridctl --help > /dev/null

# ---------------------------------------------------------------- runtime: the venv, non-root
FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    GRIDBOT_DATA_DIR=/data \
    GRIDBOT_GRPC_ADDRESS=0.0.0.0:50051
RUN groupadd --system --gid 10001 gridbot \
    && useradd --system --uid 10001 --gid gridbot --home-dir /home/gridbot --create-home \
        --shell /usr/sbin/nologin gridbot \
    && mkdir -p /config /data \
    && chown gridbot:gridbot /data
COPY --from=builder /opt/venv /opt/venv
COPY docker/config.json /etc/gridbot/config.json
USER 10001:10001
WORKDIR /data
# /config: your config.json (read-only is fine); /data: journal, JSON-lines log, api-token.
VOLUME ["/config", "/data"]
EXPOSE 50051
# gridbot is PID 1 (exec form, no shell): it handles SIGTERM itself (flatten, then exit 0).
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["gridctl", "--address", "127.0.0.1:50051", "--timeout", "5", "health"]
ENTRYPOINT ["gridbot"]
CMD ["run", "--config", "/etc/gridbot/config.json"]
