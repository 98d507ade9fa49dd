"""Structured logging as the collector's zap writes it: console or JSON, `output_paths`,
`initial_fields`, zap's level names. Quiet when healthy is the callers' part."""
from __future__ import annotations

import json
import logging
import os
import sys
import time

_STD_ATTRS = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


def _fields(record: logging.LogRecord) -> dict:
    return {k: v for k, v in vars(record).items() if k not in _STD_ATTRS and not k.startswith("_")}


def _ts(record: logging.LogRecord) -> str:
    """zap's ISO8601 time encoder, which otelcol uses for console and json alike."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"


def _level(record: logging.LogRecord) -> str:
    return "warn" if record.levelno == logging.WARNING else record.levelname.lower()  # zap's names


class ConsoleFormatter(logging.Formatter):
    """Like the collector's zap console encoder: time, level, logger, message, then JSON fields."""

    def format(self, record: logging.LogRecord) -> str:
        line = f"{_ts(record)}\t{_level(record)}\t{record.name}\t{record.getMessage()}"
        fields = _fields(record)
        if fields:
            line += "\t" + json.dumps(fields, default=str, sort_keys=True)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {"level": _level(record), "ts": _ts(record), "logger": record.name,
               "msg": record.getMessage(), **_fields(record)}
        if record.exc_info:
            out["error"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


class _InitialFields(logging.Filter):
    """service.telemetry.logs.initial_fields: on every record, as zap's root logger fields."""

    def __init__(self, fields: dict) -> None:
        super().__init__()
        self.fields = dict(fields)

    def filter(self, record: logging.LogRecord) -> bool:
        for k, v in self.fields.items():
            if not hasattr(record, k):
                setattr(record, k, v)
        return True


# zap's levels by Python name: dpanic/panic/fatal only log (the collector would also panic/exit)
_LEVELS = {"WARN": "WARNING", "DPANIC": "ERROR", "PANIC": "CRITICAL", "FATAL": "CRITICAL"}


def _open_output(path: str) -> logging.Handler:
    """zap's output_paths: stdout, stderr, a file path or a file: URL (appended to)."""
    if path == "stderr":
        return logging.StreamHandler(sys.stderr)
    if path == "stdout":
        return logging.StreamHandler(sys.stdout)
    if path.startswith("file://"):
        path = path[len("file://"):]
    elif path.startswith("file:"):
        path = path[len("file:"):]
    return logging.FileHandler(path, encoding="utf-8")


def setup_logging(level: str = "info", encoding: str = "console", stream=None,
                  output_paths=None, initial_fields=None) -> None:
    """Raises OSError when an output path cannot be opened (nothing is changed then)."""
    level = os.environ.get("SKUBER_LOG_LEVEL", level).upper()
    level = _LEVELS.get(level, level)
    if not isinstance(logging.getLevelName(level), int):
        level = "INFO"  # a bad SKUBER_LOG_LEVEL must not stop the collector
    if stream is not None:
        handlers = [logging.StreamHandler(stream)]
    else:
        handlers = []
        try:
            for path in output_paths or ["stderr"]:
                handlers.append(_open_output(path))
        except OSError:
            for h in handlers:
                h.close()
            raise
    formatter = JSONFormatter() if encoding == "json" else ConsoleFormatter()
    for h in handlers:
        h.setFormatter(formatter)
        h._skuber = True  # ours to close when replaced
        if initial_fields:
            h.addFilter(_InitialFields(initial_fields))
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
        if getattr(h, "_skuber", False):
            h.close()  # a log file of the previous setup
    for h in handlers:
        root.addHandler(h)
    root.setLevel(level)
    # Libraries are chatty at INFO; keep our logs quiet when healthy.
    for noisy in ("urllib3", "kubernetes", "grpc", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
