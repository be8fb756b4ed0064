# syntax=docker/dockerfile:1
# nomad-promoter container image.
#   docker build -t nomad-promoter:0.1.0 .
#   docker run --read-only --tmpfs /tmp --cap-drop ALL --security-opt no-new-privileges \
#     -e NOMAD_ADDR -e NOMAD_TOKEN -v "$PWD/policies:/etc/nomad-promoter/policies:ro" \
#     -p 9646:9646 nomad-promoter:0.1.0
# .ci/image-steps.sh rehearses these steps without a Docker engine; each of its steps quotes
# the line below that it mirrors, and test/ship checks that the quotes still match.

# Node.js 24, an LTS line in support (README "Node.js versions"); build and runtime on the same
# major and the same Debian release.
ARG NODE_IMAGE=node:24-bookworm-slim
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs24-debian12:nonroot

# --- build: all dependencies, TypeScript compiled to dist/ ---------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Scripts off here: `prepare` would build before the sources are copied. This layer stays
# cached until the lockfile changes.
RUN npm ci --ignore-scripts
COPY . .
RUN npm run build

# --- prod-deps: production dependencies only, no install scripts ----------------------------
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
# Empty mount point for the operator's policies (distroless has no shell to mkdir in).
RUN mkdir -p /out/etc/nomad-promoter/policies

# --- runtime: distroless Node.js 24, no shell, no package manager, non-root -----------------
FROM ${RUNTIME_IMAGE}
# Re-declared to use the global value inside this stage (for the base.name label).
ARG RUNTIME_IMAGE
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG SOURCE=""
LABEL org.opencontainers.image.title="nomad-promoter" \
      org.opencontainers.image.description="Analysis-driven canary promotion for HashiCorp Nomad deployments" \
      org.opencontainers.image.licenses="MPL-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.base.name="${RUNTIME_IMAGE}"

WORKDIR /app
# Everything is owned by root and only readable by the runtime user: the process cannot alter
# its own code, and the image runs unchanged with a read-only root filesystem.
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/bin ./bin
COPY --from=build /app/dist ./dist
# Example policies, for reference and `validate`; the daemon reads only PROMOTER_POLICIES below.
COPY --from=build /app/examples/policies ./examples/policies
COPY --from=prod-deps /out/etc/nomad-promoter /etc/nomad-promoter

# Writes: the daemon keeps its state in memory and logs to stdout; it writes no file. The only
# writable path it may touch is /tmp (Node's os.tmpdir()): with --read-only, mount a tmpfs there.
ENV NODE_ENV=production \
    PROMOTER_LISTEN=0.0.0.0:9646 \
    PROMOTER_POLICIES=/etc/nomad-promoter/policies

# distroless :nonroot user, numeric so Kubernetes can verify runAsNonRoot.
USER 65532:65532
EXPOSE 9646
# Graceful stop: the daemon finishes or abandons in-flight requests and exits 0.
STOPSIGNAL SIGTERM
# No curl or wget in distroless: Node itself probes /healthz on the PROMOTER_LISTEN port.
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
  CMD ["/nodejs/bin/node", "-e", "const a=process.env.PROMOTER_LISTEN||'0.0.0.0:9646';const i=a.lastIndexOf(':');let h=a.slice(0,i).replace(/^\\[|\\]$/g,'');if(!h||h==='0.0.0.0'||h==='::')h='127.0.0.1';require('http').get({host:h,port:Number(a.slice(i+1)),path:'/healthz',timeout:4000},r=>process.exit(r.statusCode===200?0:1)).on('timeout',()=>process.exit(1)).on('error',()=>process.exit(1))"]

ENTRYPOINT ["/nodejs/bin/node", "/app/bin/nomad-promoter"]
CMD ["run"]
