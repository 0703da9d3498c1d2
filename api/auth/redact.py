"""API tokens masked in the HTTP server's log lines (`?token=` and `Bearer` credentials)."""

from __future__ import annotations

import logging
import re


class RedactTokens(logging.Filter):
    """Masks API tokens in log records: the live channel's `?token=` (the HTTP server logs each
    WebSocket handshake with its query string) and `Bearer` credentials."""

    _SECRET = re.compile(r"(?i)(token=|bearer\s+)[^&\s\"']+")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self._SECRET.search(message):
            record.msg, record.args = self._SECRET.sub(r"\1[redacted]", message), ()
        return True


def redact_tokens_in_logs() -> None:
    """Install `RedactTokens` on the loggers that see request lines (once per process)."""
    for name in ("uvicorn.error", "uvicorn.access", "uvicorn"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())
