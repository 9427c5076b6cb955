# syntax=docker/dockerfile:1
#
# Two images from one file:
#   docker build -t pacifica-dispatcher .                 # full: receiver + workers, with
#                                                         # Python 3.10, configobj and proxymod
#   docker build --target slim -t pacifica-dispatcher:slim .  # receiver-only (no Python), ~20 MB

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY cmd ./cmd
COPY pkg ./pkg
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/pacifica/pacifica-dispatcher-go/pkg/buildinfo.version=${VERSION}" -o /out/ ./cmd/dispatcher ./cmd/pacifica-sim

# slim: the dispatcher alone, for `dispatcher serve --role=receiver`.
FROM gcr.io/distroless/static-debian12:nonroot AS slim
COPY --from=build /out/dispatcher /usr/local/bin/dispatcher
EXPOSE 8069
USER nonroot
ENTRYPOINT ["/usr/local/bin/dispatcher"]
CMD ["serve"]

# full (default): workers run proxymod models, which need Python <= 3.10 and configobj.
FROM python:3.10-slim-bookworm AS full
ARG PROXYMOD_REF=master
RUN apt-get update \
 && apt-get install -y --no-install-recommends git ca-certificates tini bubblewrap \
 && pip install --no-cache-dir configobj "git+https://github.com/IMMM-SFA/proxymod.git@${PROXYMOD_REF}" \
 && apt-get purge -y git && apt-get autoremove -y && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/dispatcher --create-home dispatcher \
 && mkdir -p /scripts.d && chown dispatcher /scripts.d
COPY --from=build /out/dispatcher /out/pacifica-sim /usr/local/bin/
# Models and scripts run in bubblewrap (SANDBOX=bwrap): the worker does not start without
# it. The container must be allowed user namespaces, unshare/mount (seccomp) and a /proc of
# its own: see the README's security model.
ENV DATA_DIR=/var/lib/dispatcher/jobs \
    PROXYMOD_PYTHON=/usr/local/bin/python3 \
    SANDBOX=bwrap
USER dispatcher
WORKDIR /var/lib/dispatcher
EXPOSE 8069
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/dispatcher"]
CMD ["serve"]
