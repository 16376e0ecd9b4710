# Dalsbot: slim, non-root; applies the migrations, then runs the bot.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DALSBOT_DATA_DIR=/data \
    DALSBOT_SECRETS_DIR=/secrets

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY knowledge ./knowledge
COPY storage ./storage
RUN pip install . \
    && useradd --system --uid 10001 --home-dir /data dalsbot \
    && mkdir -p /data /secrets && chown dalsbot /data /secrets && chmod 700 /secrets

USER dalsbot
# The generated pulse secret lives apart from the data (or set DALSBOT_PULSE_SECRET).
VOLUME ["/data", "/secrets"]
# Webhook mode listens here when DALSBOT_WEBHOOK_URL is set; long polling needs no port.
EXPOSE 8443

# Healthy when the database answers (the bot process writes nothing else to check).
HEALTHCHECK --interval=60s --timeout=10s --start-period=30s --retries=3 \
    CMD ["python", "-c", "from bot.settings import load_settings; from storage.db import Database; Database(load_settings().database_url).check()"]

CMD ["sh", "-c", "dalsbot db upgrade && exec dalsbot run"]
