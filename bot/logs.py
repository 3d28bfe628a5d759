"""Logging that never shows the bot token.

Request URLs carry the token. The HTTP clients' loggers are quieted (httpx logs every URL
at INFO), and the formatter blanks the token out of every line, tracebacks included, in
case anything else repeats it.
"""

import logging

# alembic: its INFO lines ("Context impl SQLiteImpl.") would come before a start-up error.
QUIET = ("alembic", "aiohttp", "httpx", "httpcore", "apscheduler", "aiosqlite")
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class RedactingFormatter(logging.Formatter):
    """Formats as usual, then replaces the token wherever it appears."""

    def __init__(self, token: str, fmt: str = FORMAT) -> None:
        super().__init__(fmt)
        self._token = token

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        return line.replace(self._token, "<token>") if self._token else line


def configure_logging(*, token: str, level: int = logging.INFO) -> None:
    """Plain lines on standard error, the noisy libraries quieted, the token redacted."""
    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter(token))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    for name in QUIET:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
