# Candor service image. Builds from source on public base images:
#   docker build -t candor .          (or: buildah bud -t candor .)
# See docs/admin.md for running it; compose.yaml is an example deployment.
#
# Runtime: Debian's tor + the static candor binary, running as an unprivileged user, with the store on the
# volume /var/lib/candor. Nothing in the image needs a shell: every command below is in exec form.

# Base images are pinned by digest, so that a rebuild gets the same bases until someone decides otherwise.
# To refresh them (for a Debian or Go security update), look up the current digest of each tag and replace it:
#   docker buildx imagetools inspect docker.io/library/golang:1.26-bookworm   (or: skopeo inspect --format
#   '{{.Digest}}' docker://docker.io/library/golang:1.26-bookworm), the same for debian:bookworm-slim,
# rebuild, run the smoke test (.ci/image) and commit the new digests in one change.
# CI cannot reach an image registry: .ci/image imports local bases and overrides these two arguments with
# them (--build-arg GO_IMAGE=… --build-arg DEBIAN_IMAGE=…); see docs/admin.md.
ARG GO_IMAGE=docker.io/library/golang:1.26-bookworm@sha256:a688600ca24f8a4d3ca77f95b0dd40704a9fc787c826660eb7ba0b641b8b175d
ARG DEBIAN_IMAGE=docker.io/library/debian:bookworm-slim@sha256:7b140f374b289a7c2befc338f42ebe6441b7ea838a042bbd5acbfca6ec875818

FROM ${GO_IMAGE} AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOFLAGS="-trimpath -buildvcs=false"
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN go build -ldflags "-s -w -X main.Version=${VERSION}" -o /out/candor ./cmd/candor \
 && /out/candor version

FROM ${DEBIAN_IMAGE}
# tor comes from Debian. policy-rc.d (exit 101) stops the package's scripts from starting a system tor
# during the build; it is removed again so that nothing of it stays in the image.
RUN printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends tor \
 && rm -rf /var/lib/apt/lists/* /usr/sbin/policy-rc.d \
 && useradd --system --uid 10001 --user-group --home-dir /var/lib/candor --no-create-home \
      --shell /usr/sbin/nologin candor \
 && mkdir -p /var/lib/candor && chown candor:candor /var/lib/candor && chmod 0700 /var/lib/candor
COPY --from=build /out/candor /usr/local/bin/candor
USER 10001:10001
VOLUME ["/var/lib/candor"]
# Admin commands (candor status, reviewer, backup …) default to this data directory.
ENV CANDOR_DATA=/var/lib/candor
# candor health reads the heartbeat that candor serve writes every 15 s (fresh + tor bootstrapped = healthy).
HEALTHCHECK --interval=30s --timeout=10s --start-period=3m --retries=3 \
  CMD ["/usr/local/bin/candor", "health", "--data", "/var/lib/candor"]
# SIGTERM: candor serve stops accepting, lets requests in progress finish (bounded), aborts unfinished
# uploads (nothing of them stays in the store) and stops tor. Give it time: see stop_grace_period.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/candor"]
CMD ["serve", "--data", "/var/lib/candor"]
