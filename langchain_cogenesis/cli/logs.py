"""Logging for the command line: plain lines, or one JSON object per line."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message"}


class JsonFormatter(logging.Formatter):
    """Each record as one JSON line, with the fields passed in ``extra`` (e.g. ``egress``)."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as JSON."""
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure(level: str | None, as_json: bool) -> None:
    """Send the package's logs to stderr at ``level`` (nothing is configured without one)."""
    if level is None and not as_json:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter() if as_json else logging.Formatter("%(levelname)s %(name)s: %(message)s")
    )
    logger = logging.getLogger("langchain_cogenesis")
    logger.handlers[:] = [handler]
    logger.setLevel((level or "INFO").upper())
    logger.propagate = False
