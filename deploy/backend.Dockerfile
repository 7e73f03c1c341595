# The backend as a container: the server side of remote_slim, for when a team outgrows one
# machine. Build from the repository root:
#   docker build -f deploy/backend.Dockerfile -t desktop-runtime-backend:0.1.0 .
# It runs in the contract's server mode: it listens on 0.0.0.0:8080 and accepts the Host names in
# SIDECAR_PUBLIC_HOSTS (besides loopback), every call but health and identity needing the key in
# SIDECAR_API_KEY (a fixed secret here, not a per-launch one). PostgreSQL comes from DATABASE_URL.
# deploy/kubernetes/backend.yaml runs it with liveness and readiness probes on /health/live and
# /health/ready, the same endpoints the desktop runtime probes.

FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p backend

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --no-create-home backend
COPY --from=build /src/target/release/desktop-runtime-backend /usr/local/bin/desktop-runtime-backend
USER 10001
ENV SIDECAR_NAME=backend \
    SIDECAR_HOST=0.0.0.0 \
    SIDECAR_PORT=8080 \
    SIDECAR_RUNTIME_MODE=remote_slim
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/desktop-runtime-backend"]
