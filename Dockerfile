# p2p-git in a container: a build stage that uses the same setup script as the README, and a
# small Debian 12 runtime with the two binaries and git (packs move through git's plumbing).
# (No container engine exists on the development machine: every step here is exercised by the
# test suite through scripts/setup.sh, scripts/build.sh and `cmake --install`.)
FROM debian:12 AS build
WORKDIR /src
COPY . .
RUN ./scripts/setup.sh && ./scripts/build.sh --target p2pgit git-remote-git+p2p \
    && cmake --install build --prefix /opt/p2pgit

FROM debian:12
RUN apt-get update && apt-get install -y --no-install-recommends \
      git ca-certificates libsodium23 libngtcp2-crypto-gnutls2 libngtcp2-9 libgnutls30 \
      libgit2-1.5 libsqlite3-0 libtomlplusplus3 \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /opt/p2pgit/bin/ /usr/local/bin/
ENV P2PGIT_HOME=/var/lib/p2pgit
VOLUME /var/lib/p2pgit
EXPOSE 8776/udp
ENTRYPOINT ["p2pgit"]
CMD ["relay", "--listen", "0.0.0.0:8776"]
