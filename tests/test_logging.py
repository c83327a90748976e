"""Structured logs (referwell/core/logging.py): JSON lines, one per request, nothing from the
client — no query string, no link token, no address."""

import json
import logging

import pytest
from django.core.exceptions import ImproperlyConfigured

from referwell.core.logging import REQUEST_LOGGER, JsonFormatter, MaskTokens, logging_config


def as_json(record: logging.LogRecord) -> dict:
    line = JsonFormatter().format(record)
    assert "\n" not in line
    return json.loads(line)


def test_a_plain_record_is_one_json_object():
    record = logging.LogRecord(
        "referwell.x", logging.WARNING, __file__, 1, "%s left", ("Bo",), None
    )
    line = as_json(record)
    assert line["level"] == "WARNING"
    assert line["logger"] == "referwell.x"
    assert line["message"] == "Bo left"
    assert line["time"].endswith("+00:00")


def test_an_exception_is_kept_in_the_same_line():
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.getLogger("x").makeRecord(
            "x", logging.ERROR, __file__, 1, "failed", (), exc_info=__import__("sys").exc_info()
        )
    line = as_json(record)
    assert "ValueError: boom" in line["exception"]


def test_each_request_logs_method_path_status_duration_and_user(alice_http, alice, caplog):
    caplog.set_level(logging.INFO, logger=REQUEST_LOGGER)
    alice_http.get("/partners/?q=Jones+back+pain")
    [record] = [r for r in caplog.records if r.name == REQUEST_LOGGER]
    line = as_json(record)
    assert line["method"] == "GET"
    assert line["path"] == "/partners/"
    assert line["status"] == 200
    assert line["duration_ms"] >= 0
    assert line["user_id"] == alice.user.pk
    assert "Jones" not in json.dumps(line)


def test_anonymous_requests_have_no_user_and_the_health_check_is_quiet(client, db, caplog):
    caplog.set_level(logging.INFO, logger=REQUEST_LOGGER)
    client.get("/health/")
    client.get("/accounts/login/")
    lines = [as_json(r) for r in caplog.records if r.name == REQUEST_LOGGER]
    assert [(line["path"], line["user_id"]) for line in lines] == [("/accounts/login/", None)]


def test_a_partner_links_token_is_never_logged(client, db, caplog):
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.INFO, logger=REQUEST_LOGGER)
    response = client.get("/l/a-secret-token-value/")
    assert response.status_code == 404
    mask = MaskTokens()
    lines = []
    for record in caplog.records:
        mask.filter(record)
        lines.append(as_json(record))
    loggers = {line["logger"] for line in lines}
    assert {REQUEST_LOGGER, "django.request"} <= loggers
    assert "a-secret-token-value" not in json.dumps(lines)
    assert all(line["path"] == "/l/<token>/" for line in lines)


def test_the_log_format_is_text_or_json():
    assert logging_config(fmt="text", level="INFO", requests=False)["formatters"]["main"] == {}
    config = logging_config(fmt="json", level="INFO", requests=True)
    assert config["formatters"]["main"]["()"].endswith("JsonFormatter")
    assert config["loggers"][REQUEST_LOGGER]["level"] == "INFO"
    with pytest.raises(ImproperlyConfigured):
        logging_config(fmt="yaml", level="INFO", requests=False)
