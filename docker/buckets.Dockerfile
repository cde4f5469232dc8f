# The buckets service. Build from the repository root:
#   docker build -f docker/buckets.Dockerfile -t buckets .

# --- build: every dependency, then tsc and the dashboard ------------------------------------------
FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json turbo.json tsconfig.base.json ./
COPY packages/work/package.json packages/work/
COPY packages/buckets/package.json packages/buckets/
COPY packages/worker/package.json packages/worker/
RUN npm ci --ignore-scripts
COPY packages/work packages/work
COPY packages/buckets packages/buckets
# The service, and the dashboard's bundle (esbuild) into packages/buckets/dist/ui.
RUN npx tsc -p packages/work/tsconfig.json && npx tsc -p packages/buckets/tsconfig.json \
  && node packages/buckets/scripts/build-ui.mjs

# --- run: production dependencies only, as a non-root user ------------------------------------
FROM node:20-slim AS run
ENV NODE_ENV=production PORT=8004
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/work/package.json packages/work/
COPY packages/buckets/package.json packages/buckets/
COPY packages/worker/package.json packages/worker/
RUN npm ci --omit=dev --ignore-scripts -w @workflow/work -w @workflow/buckets && npm cache clean --force
COPY --from=build /app/packages/work/dist packages/work/dist
COPY --from=build /app/packages/buckets/dist packages/buckets/dist
USER node
EXPOSE 8004
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT}/livez`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Exec form: node is PID 1 and gets SIGTERM itself; the service shuts down gracefully on it.
STOPSIGNAL SIGTERM
# The node flags of packages/buckets/bin/buckets.js (why: there).
ENTRYPOINT ["node", "--max-semi-space-size=32", "packages/buckets/dist/cli.js"]
CMD ["serve"]
