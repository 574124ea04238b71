# The pipelined container image: Debian 12 slim, the pipelined package,
# a user of its own. docs/operations.md ("Container") shows how to run it.
#
#   docker build -t pipelined .
#   docker run --rm -v $PWD/my.conf:/etc/pipelined/pipelined.conf:ro pipelined
#   docker run --rm -e PIPELINED_CONFIG="$(cat my.conf)" pipelined
#
# The build stage builds the .debs with scripts/build-deb, as
# tests/e2e/debian_package.sh does; the runtime stage installs only the
# pipelined package (apt brings the libraries it depends on).

# ---- build: the .debs ----
FROM debian:12-slim AS build
ENV DEBIAN_FRONTEND=noninteractive
# debian/control's Build-Depends, and what reads them.
COPY debian/control /src/debian/control
COPY scripts/build-deb /src/scripts/build-deb
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential dpkg-dev \
 && apt-get satisfy -y --no-install-recommends "$(/src/scripts/build-deb --build-deps)" \
 && rm -rf /var/lib/apt/lists/*
COPY . /src
RUN /src/scripts/build-deb /debs

# ---- runtime: the pipelined package and nothing to build with ----
FROM debian:12-slim
ENV DEBIAN_FRONTEND=noninteractive
COPY --from=build /debs/pipelined_*.deb /tmp/
# ca-certificates: the AWS plugins speak HTTPS.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates /tmp/pipelined_*.deb \
 && rm -rf /var/lib/apt/lists/* /tmp/pipelined_*.deb
# A user of its own; /var/lib/pipelined (the samples' state and dead
# letter) and /run/pipelined (where the entrypoint writes PIPELINED_CONFIG)
# are the only places it writes.
RUN useradd --system --user-group --home-dir /var/lib/pipelined --shell /usr/sbin/nologin pipelined \
 && install -d -o pipelined -g pipelined -m 0750 /var/lib/pipelined /run/pipelined
COPY container/entrypoint.sh /usr/local/bin/pipelined-entrypoint
COPY container/healthcheck.sh /usr/local/bin/pipelined-healthcheck
USER pipelined
WORKDIR /var/lib/pipelined
# The config: a file mounted at /etc/pipelined/pipelined.conf, or its text
# in PIPELINED_CONFIG (container/entrypoint.sh). The entrypoint runs
# `pipelined ARGS...`: `docker run IMAGE --once -c FILE` passes other
# arguments.
ENTRYPOINT ["pipelined-entrypoint"]
CMD ["-c", "/etc/pipelined/pipelined.conf"]
# GET /healthz at the config's metrics_listen (e.g. "0.0.0.0:9100", or
# what PIPELINED_METRICS_LISTEN adds to the config: container/entrypoint.sh);
# passes when the config has none (container/healthcheck.sh).
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
  CMD ["pipelined-healthcheck"]
# SIGTERM drains for up to shutdown_timeout (30 s): docker stop -t 45.
STOPSIGNAL SIGTERM
