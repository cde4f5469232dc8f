# A worker and the workflow CLI. Build from the repository root:
#   docker build -f docker/worker.Dockerfile -t workflow-worker .
# Extend it with what your works run (Python, your pipeline's code) in a FROM line of your own:
# Python functions (pkg.module.func) need python3 there (apt-get install python3, or FROM a Python
# image with Node added); the runner they talk to, packages/worker/python, is in this image.

# --- build: every dependency, then tsc ---------------------------------------------------------
FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json turbo.json tsconfig.base.json ./
COPY packages/work/package.json packages/work/
COPY packages/buckets/package.json packages/buckets/
COPY packages/worker/package.json packages/worker/
RUN npm ci --ignore-scripts
COPY packages/work packages/work
COPY packages/worker packages/worker
RUN npx tsc -p packages/work/tsconfig.json && npx tsc -p packages/worker/tsconfig.json

# --- run: production dependencies only, as a non-root user ------------------------------------
FROM node:20-slim AS run
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/work/package.json packages/work/
COPY packages/buckets/package.json packages/buckets/
COPY packages/worker/package.json packages/worker/
RUN npm ci --omit=dev --ignore-scripts -w @workflow/work -w @workflow/worker && npm cache clean --force
COPY --from=build /app/packages/work/dist packages/work/dist
COPY --from=build /app/packages/worker/dist packages/worker/dist
COPY packages/worker/python packages/worker/python
USER node
WORKDIR /home/node
# Exec form: node is PID 1 and gets SIGTERM itself; running works get --grace seconds.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "/app/packages/worker/dist/cli.js"]
CMD ["run", "--help"]
