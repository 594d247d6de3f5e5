# Prosody from Debian bookworm for docker/compose.yaml, with docker/prosody.cfg.lua.
# Accounts: docker compose exec prosody prosodyctl register alice library.test PASSWORD
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends prosody \
 && rm -rf /var/lib/apt/lists/* \
 && install -d -o prosody -g prosody /run/prosody
USER prosody
EXPOSE 5222 5347
ENTRYPOINT ["prosody", "-F"]
