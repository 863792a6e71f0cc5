# One image for every service and for the one-shot setup; docker-compose.yml
# picks the entry point with `command`, e.g.
#   node --import tsx services/upload-api/src/main.ts

# Only the package manifests, so that `npm ci` below reruns when a manifest
# changes, not on every source edit (COPY --from is cached by content).
FROM node:24-bookworm-slim AS manifests
WORKDIR /src
COPY . .
RUN mkdir /manifests \
 && find . -name package.json -not -path '*/node_modules/*' -exec cp --parents {} /manifests \; \
 && cp package-lock.json /manifests/

# Node 24 LTS, the line .node-version pins for local runs.
FROM node:24-bookworm-slim
# ffmpeg for the transcoder and thumbnailer.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg ca-certificates \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY --from=manifests /manifests/ ./
# --ignore-scripts: as with npm 11 locally, no dependency install scripts run
# (Prisma's would download native engines the project does not use).
RUN npm ci --no-audit --no-fund --ignore-scripts

COPY . .
# Generate the Prisma client (libs/db/scripts/generate.mjs, when present).
RUN if [ -f libs/db/scripts/generate.mjs ]; then node libs/db/scripts/generate.mjs; fi
# The web app the upload API serves at / (services/web/dist).
RUN npm run build:web

USER node
# The upload API's Node flags, as in services/upload-api/package.json ("nodeFlags").
CMD ["node", "--max-semi-space-size=2", "--import", "tsx", "services/upload-api/src/main.ts"]
