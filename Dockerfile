# syntax=docker/dockerfile:1
# fleetsim's container image, for those with a Docker/BuildKit engine:
#   docker build -t fleetsim:dev --build-arg VERSION=$(git describe --tags --always) \
#     --build-arg REVISION=$(git rev-parse HEAD) .
# Without an engine, `make image` assembles the same layout offline
# (deploy/ociimage): the binary at /usr/local/bin/fleetsim, user 65532:65532,
# working directory and volume /data for state and reports.

ARG GO_VERSION=1.26

# Build a static binary (the SQLite driver is pure Go: no cgo, no libc) for
# the target platform on the build platform, so multi-platform builds
# (docker buildx build --platform linux/amd64,linux/arm64) cross-compile.
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG TARGETOS=linux
ARG TARGETARCH=amd64
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -buildvcs=false -ldflags='-s -w' -o /out/fleetsim ./cmd/fleetsim \
 && mkdir -p /out/data

# distroless static: CA certificates, /etc/passwd with nonroot (65532),
# /tmp with mode 1777, and nothing else (no shell).
FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="fleetsim" \
      org.opencontainers.image.description="Simulated cellular IoT devices on Twilio Super SIMs: REST API, virtual modems, scenario runner" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="https://github.com/fleetsim/fleetsim" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /out/fleetsim /usr/local/bin/fleetsim
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
WORKDIR /data
VOLUME /data
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/fleetsim"]
CMD ["--help"]
