# A small image of hubcalls: build with the Rust toolchain, run on Debian slim.
#   docker build -t hubcalls .
#   docker run -p 8080:8080 -v hubcalls-data:/data hubcalls
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src src
COPY catalogue catalogue
COPY openapi openapi
COPY benches benches
RUN cargo build --release --locked --bin hubcalls

FROM debian:bookworm-slim
RUN useradd --system --home /data hubcalls && mkdir /data && chown hubcalls /data
COPY --from=build /src/target/release/hubcalls /usr/local/bin/hubcalls
USER hubcalls
VOLUME /data
EXPOSE 8080
ENTRYPOINT ["hubcalls", "serve", "--listen", "0.0.0.0:8080", "--data-dir", "/data"]
