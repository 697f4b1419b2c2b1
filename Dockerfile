# syntax=docker/dockerfile:1
# One image, both programs: the recorder (default) and the node shim
# (args: /app/dist/shim/main.js run ...). deploy/ uses it for both.

FROM node:24-bookworm-slim AS build
WORKDIR /src
# node-pty compiles a native addon when no prebuilt binary fits.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY common ./common
COPY server ./server
COPY shim ./shim
COPY plugin ./plugin
RUN npm run build && npm prune --omit=dev

FROM node:24-bookworm-slim AS runtime
# tini: signals reach node (PID 1 ignores SIGTERM without a handler) and zombies are reaped.
# auditd: only for auditctl, used by the optional init container that loads the shim's rules.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini auditd \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY deploy/auditd/audited-exec.rules ./deploy/auditd/audited-exec.rules
# Numeric uid so the kubelet can verify runAsNonRoot; the shim DaemonSet overrides it with root.
USER 65532:65532
EXPOSE 8443
# A small young generation keeps RSS low with a thousand open sessions (bench: concurrency).
ENTRYPOINT ["/usr/bin/tini", "--", "node", "--enable-source-maps", "--max-semi-space-size=2"]
CMD ["/app/dist/server/main.js"]
