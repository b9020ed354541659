# syntax=docker/dockerfile:1
#
# One image for the Home Assistant add-on and for standalone use (SPEC §8). docs/docker.md says
# why each part is as it is; test/image/dockerfile.test.ts parses and lints this file, and the
# scripts the image runs (docker/*.mjs) are tested directly in test/image/.
#
# The Node.js base image, pinned to a major version: Node 24 is a maintained LTS line until
# 2028-04-30 (Node 22 ends 2027-04-30). Alpine keeps the image small; the agent has no native
# modules. This argument is deliberately not called BUILD_FROM: Supervisors before 2026.04 pass
# BUILD_FROM=<Home Assistant's base image, which has no Node> to an add-on built without
# build.yaml, and that would replace Node.
ARG NODE_IMAGE=node:24-alpine

# ─── build: every dependency, TypeScript → dist/, then the production dependencies only ───
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: "prepare" would build before the sources are copied; no dependency has an
# install script (package-lock.json has no hasInstallScript).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# The status page (web/ → dist/web, by web/build.mjs in `npm run build`).
COPY web ./web
RUN npm run build \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

# ─── runtime ───
FROM ${NODE_IMAGE}

# The Supervisor passes BUILD_VERSION (config.yaml's version) and BUILD_ARCH (aarch64 or amd64);
# a plain `docker build` gets the package version and Docker's name for the target architecture.
ARG BUILD_VERSION=0.1.0
ARG TARGETARCH
ARG BUILD_ARCH=${TARGETARCH}

# tini: a real init as PID 1 (signals forwarded, orphans reaped; config.yaml has init: false).
# iputils ping for the router probe, run as the agent's user: it first tries an ICMP datagram
# socket (no privilege, allowed by Docker's default net.ipv4.ping_group_range), else a raw socket
# through the cap_net_raw file capability set here — permitted only, which iputils raises itself,
# so ping still starts when a runtime drops NET_RAW (then the agent falls back to TCP). The build
# stops if the ping found is not iputils' (BusyBox's would need privileges the user lacks).
# npm, npx, corepack and yarn are removed: nothing runs them at run time.
RUN apk add --no-cache tini iputils-ping \
 && apk add --no-cache --virtual .setcap libcap-setcap \
 && ping="$(command -v ping)" \
 && "$ping" -V | grep -q iputils \
 && chmod u-s "$ping" \
 && setcap cap_net_raw+p "$ping" \
 && apk del --no-network .setcap \
 && rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
      /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
      /usr/local/bin/yarn /usr/local/bin/yarnpkg /opt/yarn-* \
 && mkdir -p /data \
 && chown node:node /data

WORKDIR /app
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY docker/entrypoint.mjs docker/healthcheck.mjs ./docker/

# State lives in /data and nowhere else; HOME and the temp directory point at /tmp, so the root
# file system may be read-only (docker run --read-only). The add-on fixes state_dir, http_host and
# http_port through these (config.yaml: ingress_port equals HTTP_PORT).
ENV NODE_ENV=production \
    HOME=/tmp \
    TMPDIR=/tmp \
    TINI_SUBREAPER=1 \
    STATE_DIR=/data \
    HTTP_HOST=0.0.0.0 \
    HTTP_PORT=8080

LABEL io.hass.type="addon" \
      io.hass.name="DDNS Watchdog" \
      io.hass.description="Keeps Cloudflare DNS pointed at your home IP, watches the router and the internet connection, power-cycles the router through a smart plug." \
      io.hass.version="${BUILD_VERSION}" \
      io.hass.arch="${BUILD_ARCH}" \
      io.hass.url="https://github.com/ddns-watchdog/ddns-watchdog" \
      org.opencontainers.image.title="ddns-watchdog" \
      org.opencontainers.image.version="${BUILD_VERSION}" \
      org.opencontainers.image.source="https://github.com/ddns-watchdog/ddns-watchdog" \
      org.opencontainers.image.licenses="MIT"

VOLUME ["/data"]
EXPOSE 8080

# /healthz: 200 while the agent's loops are alive. No curl in the image: a Node script.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "/app/docker/healthcheck.mjs"]

# No USER here on purpose: the entrypoint starts as root only to give /data to the `node` user
# (uid 1000; PUID/PGID change it) — the Supervisor creates /data and writes options.json as root,
# mode 0600 — then drops to that user for good before the agent is loaded, as the official
# postgres and redis images do. `docker run --user 1000:1000` skips that step.
ENTRYPOINT ["/sbin/tini", "--", "node", "/app/docker/entrypoint.mjs"]
CMD ["run"]
