# The sidecar and operator image: one binary (bin/triage), multi-stage, non-root, no build tools at run time.
FROM node:24-slim AS deps
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --no-fund --no-audit

FROM node:24-slim
ENV NODE_ENV=production
# The injected sidecar runs `triage` by name.
ENV PATH=/app/bin:$PATH
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY cli ./cli
COPY api ./api
COPY sidecar ./sidecar
COPY operator ./operator
# The builtin classifier: ONNX, tokenizer, manifest, reference scores.
COPY router/artifacts ./router/artifacts
# The proxy binds 127.0.0.1:4000; the admin listener (metrics, probes) 0.0.0.0:4001.
EXPOSE 4001
USER 65532:65532
ENTRYPOINT ["/app/bin/triage"]
CMD ["sidecar", "--config", "/etc/triage/triage.yaml"]
