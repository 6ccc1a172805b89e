# Bulwark in a container, built on the same production install test/cli/production-install.test.ts checks: the
# checkout is packed in a build stage, and the tarball is installed without devDependencies on Node 24 LTS.
# docs/deploy.md#a-container says how to run it. This file has not been built on the project's own machines, which
# have no Docker daemon.

FROM node:24-slim AS pack
WORKDIR /src
COPY package.json package-lock.json ./
# The compiler and the rest of the devDependencies; their install scripts (the repo's own pinned Node among them) are
# not needed to compile.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
# Node 24 runs the build script's TypeScript directly; --ignore-scripts because dist/ is already built.
RUN node scripts/build.ts && npm pack --ignore-scripts --pack-destination /tmp && mv /tmp/bulwark-*.tgz /tmp/bulwark.tgz

FROM node:24-slim
ENV NODE_ENV=production
WORKDIR /opt/bulwark
COPY --from=pack /tmp/bulwark.tgz /tmp/bulwark.tgz
RUN echo '{"private": true}' > package.json \
 && npm install --omit=dev --no-audit --no-fund /tmp/bulwark.tgz \
 && rm /tmp/bulwark.tgz \
 && npm cache clean --force \
 && mkdir -p /data && chown node:node /data
ENV PATH=/opt/bulwark/node_modules/.bin:$PATH \
    BULWARK_HOST=0.0.0.0 \
    BULWARK_PORT=4873 \
    BULWARK_DATA_DIR=/data
USER node
VOLUME /data
EXPOSE 4873
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
  CMD node -e "fetch('http://127.0.0.1:4873/-/ready').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
# SIGTERM (docker stop) finishes requests in flight and writes pending download counts before exiting.
STOPSIGNAL SIGTERM
CMD ["bulwark", "serve"]
