# kafka-pipe container image: one static binary in an otherwise empty image.
# Layout matches the old image, so a deployment switches by changing the image name:
#   /app/kafka-pipe       the binary (the entrypoint)
#   /app/config.yaml      the configuration (mount yours over it)
#   /app/data             the state store (mount a volume here)
#   port 8081             /health, /ready, /metrics
#
#   docker build -t kafka-pipe .
#   docker run -v $PWD/config.yaml:/app/config.yaml -v pipe-data:/app/data -p 8081:8081 kafka-pipe

FROM swift:6.3-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends libssl-dev zlib1g-dev file binutils \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Package.swift ./
COPY Sources ./Sources
# Package.swift declares the test targets too: their folders must be there to resolve the package.
COPY Tests ./Tests
COPY Tools ./Tools
COPY scripts/build-static.sh ./scripts/build-static.sh
RUN scripts/build-static.sh /out/kafka-pipe \
 && mkdir -p /out/data /out/etc \
 && printf '127.0.0.1 localhost\n::1 localhost\n' > /out/etc/hosts \
 && printf 'kafka-pipe:x:10001:10001::/app:/nonexistent\n' > /out/etc/passwd

FROM scratch
COPY --from=build /out/etc/passwd /etc/passwd
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build --chown=10001:10001 /out/data /app/data
COPY --from=build /out/kafka-pipe /app/kafka-pipe
COPY examples/pg-source.yaml /app/config.yaml
# The static OpenSSL looks for its CA bundle under /usr/lib/ssl; point it at the copied one.
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
USER 10001
WORKDIR /app
EXPOSE 8081
VOLUME ["/app/data"]
ENTRYPOINT ["/app/kafka-pipe"]
CMD ["/app/config.yaml"]
