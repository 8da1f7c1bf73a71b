"""The logging flags every daemon takes, and the one logging setup they lead to.

`--v N` is klog's verbosity: 0 to 3 log minik8s at INFO (from 2 on also every HTTP request the
client makes), 4 and more at DEBUG, 6 and more also the HTTP libraries at DEBUG. `--log-level`
(debug, info, warning, error, or another level name of `logging`) sets minik8s' threshold
outright and wins over `--v`. `--log-format text` writes `time LEVEL logger: message` lines;
`json` writes one JSON object per line with the keys time, level, logger and message (and
exception, with a traceback).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import UTC, datetime

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
HTTP_LIBRARIES = ("httpx", "httpcore")
DEBUG_VERBOSITY = 4  # klog's "debug-level" verbosity
HTTP_REQUESTS_VERBOSITY = 2
HTTP_DEBUG_VERBOSITY = 6


class JsonLines(logging.Formatter):
    """One JSON object per record: time (RFC 3339, UTC), level, logger, message[, exception]."""

    def format(self, record: logging.LogRecord) -> str:
        line = {"time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
                "level": record.levelname, "logger": record.name, "message": record.getMessage()}
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def add_logging_flags(parser: argparse.ArgumentParser, *, default_level: str | None = None) -> None:
    parser.add_argument("--v", type=int, default=0, metavar="N",
                        help="verbosity: 0-3 INFO (2+: also each HTTP request), 4+ DEBUG, 6+ HTTP libraries DEBUG")
    parser.add_argument("--log-format", choices=("text", "json"), default="text",
                        help="text lines, or one JSON object per line (time, level, logger, message)")
    parser.add_argument("--log-level", default=default_level, type=str.upper,
                        choices=sorted(logging.getLevelNamesMapping()), metavar="LEVEL",
                        help="minik8s' log threshold, overriding --v")


def library_level(verbosity: int) -> int:
    """The threshold of the HTTP libraries' loggers for this --v."""
    if verbosity >= HTTP_DEBUG_VERBOSITY:
        return logging.DEBUG
    return logging.INFO if verbosity >= HTTP_REQUESTS_VERBOSITY else logging.WARNING


def project_level(args: argparse.Namespace) -> int:
    """The root threshold: --log-level when given, else what --v says."""
    if args.log_level:
        return logging.getLevelNamesMapping()[args.log_level]
    return logging.DEBUG if args.v >= DEBUG_VERBOSITY else logging.INFO


def configure_logging(args: argparse.Namespace) -> None:
    """Send every record to stderr in the chosen format, at the chosen thresholds."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines() if args.log_format == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(project_level(args))
    for library in HTTP_LIBRARIES:
        logging.getLogger(library).setLevel(library_level(args.v))
