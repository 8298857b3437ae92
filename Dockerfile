FROM python:3.11-slim

WORKDIR /app
COPY pyproject.toml setup.py README.md ./
COPY softswitch ./softswitch
COPY migrations ./migrations
COPY dialplans ./dialplans
# gcc only while installing: it compiles the protocol layers (setup.py)
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
    && pip install --no-cache-dir . \
    && apt-get purge -y gcc libc6-dev && apt-get autoremove -y && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /var/lib/softswitch softswitch \
    && mkdir -p /var/lib/softswitch && chown softswitch /var/lib/softswitch

USER softswitch
ENV SOFTSWITCH_DATA_DIR=/var/lib/softswitch \
    SOFTSWITCH_SIP_HOST=0.0.0.0 \
    SOFTSWITCH_SIP_PORT=5060
EXPOSE 5060/udp 5060/tcp
ENTRYPOINT ["softswitch"]
CMD ["serve"]
