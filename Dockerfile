# Build: docker build -t dropcast .
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -o /out/dropcast ./cmd/dropcast

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/dropcast /usr/local/bin/dropcast
RUN useradd --system --home /var/lib/dropcast dropcast && mkdir -p /var/lib/dropcast && chown dropcast /var/lib/dropcast
USER dropcast
WORKDIR /var/lib/dropcast
ENV DATA_DIR=/var/lib/dropcast LOG_FORMAT=json HTTP_ADDR=:8080
EXPOSE 8080 8554 8189/udp
HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["dropcast"]
CMD ["serve"]
