# syntax=docker/dockerfile:1
# Build: docker build -t live-tipping .
# Run:   docker run -p 8080:8080 -e NODE_ENV=production -e JWT_SECRET=... \
#          -e DB1_URL=mysql://... -e DB2_URL=mysql://... -e REDIS_URL=redis://... live-tipping
# Migrate: docker run --rm -e ... live-tipping node dist/src/cli.js migrate

# Toolchain for native addons (better-sqlite3 compiles when no prebuilt binary fits).
FROM node:24-bookworm-slim AS toolchain
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./

# Production dependencies only.
FROM toolchain AS deps
RUN npm ci --omit=dev

# Everything, to compile TypeScript to dist/ (and copy the Redis Lua scripts next to the compiled code).
FROM toolchain AS build
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
COPY migrations ./migrations
RUN npm run build

FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production PORT=8080
WORKDIR /app
COPY --from=deps --chown=node:node /app/package.json ./
COPY --from=deps --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
USER node
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --retries=3 CMD node -e "fetch('http://127.0.0.1:8080/health').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"
CMD ["node", "dist/src/main.js"]
