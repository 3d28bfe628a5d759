# casewatch: the bot, long polling. Migrations are applied by `casewatch run` at start.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DATABASE_URL=sqlite:////var/lib/casewatch/casewatch.db

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY storage ./storage
RUN pip install . \
    && useradd --system --uid 10001 --home-dir /var/lib/casewatch --create-home casewatch

USER casewatch
VOLUME ["/var/lib/casewatch"]
CMD ["casewatch", "run"]
