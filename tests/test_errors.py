"""Error pages and request ids: a failure shows a reference to quote and nothing of itself;
the same reference is on the response header and on the server's log lines."""

from __future__ import annotations

import logging
import re

import pytest
from django.template import loader
from django.test import Client
from django.utils.module_loading import import_string
from rest_framework.authtoken.models import Token

from mentorship.settings import base as base_settings
from tests.support.failing_urls import SECRET

pytestmark = pytest.mark.urls("tests.support.failing_urls")

HEX_ID = re.compile(r"[0-9a-f]{32}")


def failing_client(user=None) -> Client:
    """A client that returns the 500 response instead of re-raising the view's exception."""
    client = Client(raise_request_exception=False)
    if user is not None:
        client.force_login(user)
    return client


class LogCapture(logging.Handler):
    """Keeps records and their lines, through the project's log filter and format."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []
        self.lines: list[str] = []
        log_filter = import_string(base_settings.LOGGING["filters"]["request_id"]["()"])
        self.addFilter(log_filter())
        self.setFormatter(logging.Formatter(base_settings.LOGGING["formatters"]["plain"]["format"]))

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.lines.append(self.format(record))

    def error_ids(self) -> list[str]:
        return [r.request_id for r in self.records if r.levelno >= logging.ERROR]


@pytest.fixture
def request_log():
    capture = LogCapture()
    logger = logging.getLogger("django.request")
    logger.addHandler(capture)
    try:
        yield capture
    finally:
        logger.removeHandler(capture)


def test_the_500_page_shows_the_request_id_and_nothing_of_the_failure(db, request_log):
    response = failing_client().get("/test-only/boom/")

    assert response.status_code == 500
    request_id = response["X-Request-ID"]
    assert HEX_ID.fullmatch(request_id)
    body = response.content.decode()
    assert f'Quote this reference: <code class="request-id">{request_id}</code>' in body
    assert "Something went wrong on our side" in body
    for leak in (SECRET, "hunter2", "Traceback", "RuntimeError", "failing_urls", 'File "'):
        assert leak not in body
    # The traceback went to the log instead, on a line carrying the same id.
    assert request_log.error_ids() == [request_id]
    [line] = request_log.lines
    assert f"ERROR django.request [{request_id}] Internal Server Error: /test-only/boom/" in line
    assert "Traceback" in line and SECRET in line


def test_the_500_page_uses_no_inline_script_or_style(db):
    body = failing_client().get("/test-only/boom/").content.decode()
    assert "<script" not in body and "<style" not in body and "style=" not in body
    assert 'rel="stylesheet" href="/static/css/app.css"' in body


def test_a_signed_in_persons_500_page_has_the_id_too(student):
    response = failing_client(student).get("/test-only/boom/")
    assert response.status_code == 500
    assert response["X-Request-ID"] in response.content.decode()
    assert SECRET not in response.content.decode()


def test_the_api_answers_an_unhandled_error_with_json_and_the_request_id(db, request_log):
    response = failing_client().get("/api/v1/test-only/boom/", HTTP_ACCEPT="application/json")

    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "message": "Something went wrong on our side.",
        "request_id": response["X-Request-ID"],
    }
    assert SECRET not in response.content.decode()
    assert request_log.error_ids() == [response["X-Request-ID"]]
    assert SECRET in request_log.lines[0]


def test_an_api_client_sending_any_accept_header_gets_json(student):
    """Token clients often send ``*/*`` or nothing: still JSON, still no traceback."""
    token = Token.objects.create(user=student)
    for accept in ("*/*", None):
        headers = {"HTTP_AUTHORIZATION": f"Token {token.key}"}
        if accept:
            headers["HTTP_ACCEPT"] = accept
        response = failing_client().get("/api/v1/test-only/boom/", **headers)
        assert response.status_code == 500
        assert response.json()["request_id"] == response["X-Request-ID"]
        assert "Traceback" not in response.content.decode()


def test_a_browser_opening_a_failing_api_url_gets_the_page(db):
    response = failing_client().get(
        "/api/v1/test-only/boom/", HTTP_ACCEPT="text/html,application/xhtml+xml,*/*;q=0.8"
    )
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")
    assert f">{response['X-Request-ID']}</code>" in response.content.decode()


def test_the_500_page_falls_back_to_plain_text_when_its_template_fails(db, monkeypatch):
    def broken(name, *args, **kwargs):
        raise OSError("template directory unreadable")

    monkeypatch.setattr(loader, "get_template", broken)
    response = failing_client().get("/test-only/boom/")
    assert response.status_code == 500
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.decode() == (
        "Something went wrong on our side. Quote this reference: " + response["X-Request-ID"]
    )


def test_unknown_api_urls_and_refusals_use_the_api_error_shape(db):
    client = failing_client()
    missing = client.get("/api/v1/no-such-endpoint/", HTTP_ACCEPT="application/json")
    assert missing.status_code == 404
    assert missing.json() == {"message": "Not found.", "fields": {}}
    refused = client.get("/api/v1/test-only/forbidden/", HTTP_ACCEPT="application/json")
    assert refused.status_code == 403
    assert refused.json() == {
        "message": "You do not have permission to perform this action.",
        "fields": {},
    }


def test_html_404_and_403_are_the_sites_pages(student):
    client = failing_client(student)
    missing = client.get("/no-such-page/")
    assert missing.status_code == 404
    assert "We couldn’t find that page" in missing.content.decode()
    refused = client.get("/programs/new/")
    assert refused.status_code == 403
    assert "You don’t have access to this" in refused.content.decode()


def test_every_request_gets_a_fresh_id(db):
    client = Client()
    first = client.get("/accounts/login/")["X-Request-ID"]
    second = client.get("/accounts/login/")["X-Request-ID"]
    assert HEX_ID.fullmatch(first) and HEX_ID.fullmatch(second)
    assert first != second


def test_a_proxys_safe_request_id_is_kept(db, request_log):
    incoming = "7f3c2a9e-1b4d-4e8a-9c61-0d2f5b7a8e10"
    response = failing_client().get("/test-only/boom/", HTTP_X_REQUEST_ID=incoming)
    assert response["X-Request-ID"] == incoming
    assert f">{incoming}</code>" in response.content.decode()
    assert request_log.error_ids() == [incoming]


@pytest.mark.parametrize(
    "incoming",
    [
        "short",  # too short to be anyone's id
        "a" * 65,  # too long
        "abc123def456\nERROR forged log line",  # would forge a log line
        "<script>alert(1)</script>",
        "abc def ghi jkl",
        "-leading-dash-1234",
    ],
)
def test_an_unsafe_incoming_request_id_is_replaced(db, incoming):
    response = Client().get("/accounts/login/", HTTP_X_REQUEST_ID=incoming)
    assert HEX_ID.fullmatch(response["X-Request-ID"])


def test_log_lines_outside_a_request_say_so(db):
    record = logging.LogRecord("celery", logging.INFO, __file__, 1, "tick", None, None)
    log_filter = import_string(base_settings.LOGGING["filters"]["request_id"]["()"])()
    assert log_filter.filter(record) is True
    assert record.request_id == "-"
