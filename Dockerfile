# One image for every service of docker-compose.yml (the compose file picks the command):
# the Dagster webserver and daemon (and the runs the DockerRunLauncher starts), the live
# daemon, the venue processes and the operator console.
#
#   docker build -t execution-services:latest .
#
# Three stages so that neither Node nor a compiler reaches the final image:
#   ui     - node builds the operator console's React app into ui/dist
#   venv   - pip installs the project (pyproject.toml) into /opt/venv
#   final  - python slim + /opt/venv + the few runtime files, as the non-root user `exec`

# --- 1. the web UI ---------------------------------------------------------------------
FROM node:20-bookworm-slim AS ui
WORKDIR /src/ui
# the lock file first: `npm ci` is cached until the dependencies change
COPY ui/package.json ui/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY ui/ ./
RUN npm run build

# --- 2. the project's virtualenv -------------------------------------------------------
FROM python:3.11-slim-bookworm AS venv
# a compiler only here, for a dependency without a wheel; the final stage copies the venv
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
WORKDIR /src
# what `pip install .` reads: the build config, the readme it names, the four packages
COPY pyproject.toml README.md ./
COPY execution_core/ execution_core/
COPY pipelines/ pipelines/
COPY live_daemon/ live_daemon/
COPY operator_console/ operator_console/
# not editable: the packages live in the venv, the source tree stays behind in this stage
RUN /opt/venv/bin/pip install .

# --- 3. the runtime image --------------------------------------------------------------
FROM python:3.11-slim-bookworm AS final
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    DAGSTER_HOME=/opt/dagster/home \
    EXEC_CONSOLE_UI_DIR=/app/ui/dist
# uid 10001: not root, and unlikely to collide with a user on the host
RUN groupadd --system --gid 10001 exec \
    && useradd --system --uid 10001 --gid exec --home-dir /app --shell /usr/sbin/nologin exec
COPY --from=venv /opt/venv /opt/venv
WORKDIR /app
COPY --chown=exec:exec workspace.yaml /app/workspace.yaml
COPY --chown=exec:exec config/ /app/config/
COPY --chown=exec:exec --from=ui /src/ui/dist /app/ui/dist
COPY --chown=exec:exec deploy/dagster/dagster.yaml /opt/dagster/home/dagster.yaml
# runtime/ is where the defaults put state (stores, venue records); compose mounts named
# volumes over its subdirectories, which then start owned by `exec`
RUN mkdir -p /app/runtime/store /app/runtime/venues /app/runtime/logs \
    && chown -R exec:exec /app/runtime /opt/dagster
USER exec
EXPOSE 3000 8001 8080 8101 8102 7497
# no default service: compose names the command of each
CMD ["exec-services", "--help"]
