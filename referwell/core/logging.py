"""Logs on standard error: plain text, or JSON lines for a log collector (LOG_FORMAT=json).

One JSON object per line — `time` (UTC, ISO 8601), `level`, `logger`, `message` — and, for the
line RequestLogMiddleware writes per request, `method`, `path`, `status`, `duration_ms` and
`user_id`. Never the query string, the body, the client's address or a link's token: a log
line must not carry client information out of the database (docs/privacy.md).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported by config/settings.py: nothing from Django at run time here
    from django.http import HttpRequest, HttpResponse

REQUEST_LOGGER = "referwell.request"
REQUEST_FIELDS = ("method", "path", "status", "duration_ms", "user_id")
LOG_FORMATS = ("text", "json")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in REQUEST_FIELDS:
            if hasattr(record, field):
                line[field] = getattr(record, field)
        # Django's own "django.request" records (4xx, 5xx) carry the request and its status.
        request = getattr(record, "request", None)
        if "path" not in line and request is not None and hasattr(request, "path"):
            line["method"] = request.method
            line["path"] = _logged_path(request)
        if "status" not in line and hasattr(record, "status_code"):
            line["status"] = record.status_code
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


class MaskTokens(logging.Filter):
    """Django's own "Not Found: /l/<the link's token>/" names the path: the token is masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        if request is not None and hasattr(request, "path") and isinstance(record.args, tuple):
            masked = _logged_path(request)
            if masked != request.path:
                record.args = tuple(masked if arg == request.path else arg for arg in record.args)
        return True


def logging_config(*, fmt: str, level: str, requests: bool) -> dict[str, Any]:
    """Django's LOGGING: everything to standard error, as text or JSON lines; one line per
    request (at INFO) when `requests` is on."""
    if fmt not in LOG_FORMATS:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(f"LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}.")
    formatter: dict[str, Any] = (
        {"()": "referwell.core.logging.JsonFormatter"} if fmt == "json" else {}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"main": formatter},
        "filters": {"mask_tokens": {"()": "referwell.core.logging.MaskTokens"}},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "main",
                "filters": ["mask_tokens"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {REQUEST_LOGGER: {"level": "INFO" if requests else "WARNING"}},
    }


def _logged_path(request: HttpRequest) -> str:
    """The path without its query string, a link's or a feed's token masked."""
    path = request.path
    match = getattr(request, "resolver_match", None)
    token = match.kwargs.get("token") if match is not None else None
    if token:
        path = path.replace(str(token), "<token>")
    return path


class RequestLogMiddleware:
    """One log line per request: method, path, status, duration and the member's user id."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.logger = logging.getLogger(REQUEST_LOGGER)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        start = time.perf_counter()
        response = self.get_response(request)
        # The health check is asked every few seconds by the proxy: only at DEBUG.
        level = logging.DEBUG if request.path == "/health/" else logging.INFO
        if self.logger.isEnabledFor(level):
            user = getattr(request, "user", None)
            duration_ms = round((time.perf_counter() - start) * 1000, 1)
            fields = {
                "method": request.method,
                "path": _logged_path(request),
                "status": response.status_code,
                "duration_ms": duration_ms,
                "user_id": user.pk if user is not None and user.is_authenticated else None,
            }
            self.logger.log(
                level,
                "%s %s %s %sms",
                fields["method"],
                fields["path"],
                fields["status"],
                duration_ms,
                extra=fields,
            )
        return response
