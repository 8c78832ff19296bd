"""Structured logs (one JSON object per line) with secrets and personal data scrubbed."""
from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime

_SCRUB = [
    (re.compile(r"(access_token|token|secret|password|api_key|appsecret_proof)=([^&\s\"']+)", re.I),
     r"\1=***"),
    (re.compile(r"(bot)\d+:[A-Za-z0-9_-]{20,}"), r"\1***"),
    (re.compile(r"\b\d{6,12}:[A-Za-z0-9_-]{30,}"), "<bot-token>"),  # a Telegram token on its own
    (re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"), "<email>"),
    # Vietnamese numbers in every common notation: +84/0084/(+84)/(0), dots, dashes, spaces.
    (re.compile(r"(?<!\d)(?:\(?\+?(?:00)?84\)?(?:\s*\(0\))?|0)(?:[\s.\-\u2013_,()]{0,2}\d){8,10}(?!\d)"),
     "<phone>"),
]


def scrub(text: str) -> str:
    for pattern, repl in _SCRUB:
        text = pattern.sub(repl, text)
    return text


class _Formatter(logging.Formatter):
    def __init__(self, fmt: str) -> None:
        super().__init__()
        self.json = fmt == "json"

    def format(self, record: logging.LogRecord) -> str:
        message = scrub(record.getMessage())
        if record.exc_info:
            message += "\n" + scrub(self.formatException(record.exc_info))
        if not self.json:
            return f"{datetime.now(UTC):%H:%M:%S} {record.levelname:7} {record.name}: {message}"
        return json.dumps({"ts": datetime.now(UTC).isoformat(timespec="milliseconds"),
                           "level": record.levelname, "logger": record.name, "msg": message},
                          ensure_ascii=False)


def setup_logging(level: str = "INFO", fmt: str = "json") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter(fmt))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiohttp.access", "alembic", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # httpx (python-telegram-bot) logs full URLs, which carry the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
