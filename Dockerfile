# dicom-gateway: the same Node major as the project pins (24 LTS), on Debian slim.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npx tsc -p tsconfig.build.json && npm prune --omit=dev --ignore-scripts

FROM node:24-bookworm-slim
# Runtime tools: ffmpeg renders cine loops; dcmtk for diagnostics (echoscu) from inside the container;
# curl for the health check.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg dcmtk curl ca-certificates tini \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system gateway && useradd --system --gid gateway --home /app --shell /usr/sbin/nologin gateway \
 && mkdir -p /data /app/config && chown gateway:gateway /data
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY config/gateway.example.yaml ./config/
ENV NODE_ENV=production \
    GATEWAY_DATA_DIR=/data \
    GATEWAY_DICOM_PORT=11112 \
    GATEWAY_HTTP_PORT=8080
USER gateway
VOLUME ["/data"]
EXPOSE 11112 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD curl -fsS "http://127.0.0.1:${GATEWAY_HTTP_PORT}/healthz" > /dev/null || exit 1
# tini forwards SIGTERM so that the gateway shuts down gracefully.
ENTRYPOINT ["/usr/bin/tini", "--", "node", "--disable-warning=ExperimentalWarning", "dist/main.js"]
CMD ["start"]
