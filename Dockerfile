# syntax=docker/dockerfile:1
#
# Two images from one file:
#   docker build -t pacifica-dispatcher:0.1.0 .                     # full: receiver + workers,
#                                                                    # with Python, configobj and proxymod
#   docker build --target slim -t pacifica-dispatcher:0.1.0-slim .  # receiver-only (no Python), ~20 MB
#
# Both run as a numeric user (uid:gid), so that Kubernetes can check runAsNonRoot:
# 65532:65532 (distroless's "nonroot") for slim, 10001:10001 for full.

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY cmd ./cmd
COPY pkg ./pkg
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/pacifica/pacifica-dispatcher-go/pkg/buildinfo.version=${VERSION}" -o /out/ ./cmd/dispatcher ./cmd/pacifica-sim

# slim: the dispatcher alone, for `dispatcher serve --role=receiver`, migrate and subscribe.
FROM gcr.io/distroless/static-debian12:nonroot AS slim
COPY --from=build /out/dispatcher /usr/local/bin/dispatcher
EXPOSE 8069
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/dispatcher"]
CMD ["serve"]

# full (default): workers run proxymod models, which need proxymod and configobj.
#
# proxymod is pinned to a commit (PROXYMOD_REF; it has no release tag). It opens its files
# in mode 'rU', which Python 3.11 removed; on Python 3 'U' (universal newlines) is what
# text mode does anyway, so the image rewrites 'rU' as 'r' in the installed package and
# checks that it imports, rather than run it on Python 3.10, which reached its end of life
# in October 2026.
FROM python:3.12-slim-bookworm AS full
ARG PROXYMOD_REF=28d268ac2cfa8bbaa8b999872c26452ef9d872c0
ARG CONFIGOBJ_VERSION=5.0.9
RUN apt-get update \
 && apt-get install -y --no-install-recommends git ca-certificates tini bubblewrap \
 && pip install --no-cache-dir "configobj==${CONFIGOBJ_VERSION}" "git+https://github.com/IMMM-SFA/proxymod.git@${PROXYMOD_REF}" \
 && pkg="$(python3 -c 'import os, importlib.util; print(os.path.dirname(importlib.util.find_spec("proxymod").origin))')" \
 && sed -i "s/'rU'/'r'/g; s/\"rU\"/\"r\"/g" "$pkg"/*.py \
 && ! grep -rnE "['\"]rU['\"]" "$pkg" \
 && python3 -c 'import proxymod, configobj' \
 && apt-get purge -y git && apt-get autoremove -y && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 dispatcher \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/dispatcher --create-home dispatcher \
 && mkdir -p /scripts.d && chown 10001:10001 /scripts.d
COPY --from=build /out/dispatcher /out/pacifica-sim /usr/local/bin/
# Models and scripts run in bubblewrap (SANDBOX=bwrap): the worker does not start without
# it. The container must be allowed user namespaces, unshare/mount (seccomp) and a /proc of
# its own: see the README's security model and deploy/kubernetes/README.md.
ENV DATA_DIR=/var/lib/dispatcher/jobs \
    PROXYMOD_PYTHON=/usr/local/bin/python3 \
    SANDBOX=bwrap
USER 10001:10001
WORKDIR /var/lib/dispatcher
EXPOSE 8069
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/dispatcher"]
CMD ["serve"]
