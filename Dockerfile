FROM python:3.11-slim

WORKDIR /app
COPY pyproject.toml README.md ./
COPY softswitch ./softswitch
COPY migrations ./migrations
COPY dialplans ./dialplans
RUN pip install --no-cache-dir . \
    && useradd --system --home /var/lib/softswitch softswitch \
    && mkdir -p /var/lib/softswitch && chown softswitch /var/lib/softswitch

USER softswitch
ENV SOFTSWITCH_DATA_DIR=/var/lib/softswitch \
    SOFTSWITCH_SIP_HOST=0.0.0.0 \
    SOFTSWITCH_SIP_PORT=5060
EXPOSE 5060/udp 5060/tcp
ENTRYPOINT ["softswitch"]
CMD ["serve"]
