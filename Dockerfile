# Multi-stage build of the hookstorm binary.
#
#   docker build -t hookstorm .
#   docker run --rm -e HOOK_SECRET -v "$PWD:/work" -w /work hookstorm \
#     run scenarios/ci-gate-authgear.yaml --set target=http://receiver:8080/hooks --out report
#
# The runtime image holds the binary and the example scenarios (in
# /usr/share/hookstorm/scenarios), runs as an unprivileged user, and needs
# no shell or network tools.

FROM rust:1.89-bookworm AS build
WORKDIR /src
# Manifests first so dependency builds are cached across source edits.
COPY Cargo.toml Cargo.lock rustfmt.toml ./
COPY generators/Cargo.toml generators/Cargo.toml
COPY reports/Cargo.toml reports/Cargo.toml
COPY harness/Cargo.toml harness/Cargo.toml
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p hookstorm --bin hookstorm \
 && cp target/release/hookstorm /usr/local/bin/hookstorm

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home /work hookstorm
COPY --from=build /usr/local/bin/hookstorm /usr/local/bin/hookstorm
COPY scenarios /usr/share/hookstorm/scenarios
USER 10001
WORKDIR /work
ENTRYPOINT ["/usr/local/bin/hookstorm"]
CMD ["--help"]
