# Candor service image. Builds from source on public base images:
#   docker build -t candor .
# See docs/admin.md for running it (compose.yaml is an example).

FROM docker.io/library/golang:1.26-bookworm AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOFLAGS=-trimpath
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN go build -ldflags "-s -w -X main.Version=${VERSION}" -o /out/candor ./cmd/candor

FROM docker.io/library/debian:bookworm-slim
# tor comes from Debian. policy-rc.d stops the package from starting a system tor during the build.
RUN printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d \
 && apt-get update \
 && apt-get install -y --no-install-recommends tor ca-certificates \
 && rm -rf /var/lib/apt/lists/* /usr/sbin/policy-rc.d \
 && useradd --system --uid 10001 --user-group --home-dir /var/lib/candor --no-create-home candor \
 && mkdir -p /var/lib/candor && chown candor:candor /var/lib/candor && chmod 0700 /var/lib/candor
COPY --from=build /out/candor /usr/local/bin/candor
USER 10001:10001
VOLUME ["/var/lib/candor"]
ENV CANDOR_DATA=/var/lib/candor
# candor health reads the heartbeat that candor serve writes; no shell is needed.
HEALTHCHECK --interval=30s --timeout=10s --start-period=3m --retries=3 \
  CMD ["/usr/local/bin/candor", "health", "--data", "/var/lib/candor"]
# SIGTERM: stop accepting, let uploads in progress finish (bounded), then abort the rest cleanly.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/candor"]
CMD ["serve", "--data", "/var/lib/candor"]
